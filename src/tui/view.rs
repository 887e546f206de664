//! The screen's layout: header, lesson text, output, panels, key line, help.
//!
//! From 100 columns on, the lesson text sits left of the panels; below that,
//! above them. When the step's panels do not all fit, one shows at a time
//! with a tab line (Tab switches). Meaning never rests on colour alone: state
//! is written in words and marks (✓ ✗ same own), colour only adds to it.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};

use super::App;
use super::panels;
use crate::lab::demo::{LineKind, LogLine};
use crate::lab::lesson::{ActionKind, PanelKind, Source};

/// Smallest height one panel gets before the panels go into tabs.
const PANEL_MIN_HEIGHT: u16 = 7;

/// The screen's three rows: header, body, footer; `None` when too small.
fn screen_rows(app: &App, area: Rect) -> Option<[Rect; 3]> {
    if area.width < 20 || area.height < 6 {
        return None;
    }
    let head = if app.present && area.height >= 16 {
        3
    } else {
        1
    };
    let rows = Layout::vertical([
        Constraint::Length(head),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .split(area);
    Some([rows[0], rows[1], rows[2]])
}

/// Where the shell pane goes in the body: the text's place, the panels
/// beside (wide) or below (narrow) it, with more room than the text gets.
fn shell_split(app: &App, body: Rect) -> (Rect, Option<Rect>) {
    let has_panels = app.current_step().is_some_and(|s| !s.panels.is_empty());
    if !has_panels {
        return (body, None);
    }
    let parts = if body.width >= 100 {
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).split(body)
    } else {
        Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)]).split(body)
    };
    (parts[0], Some(parts[1]))
}

/// The shell's terminal inside its frame, for a screen of `area`: the size
/// its pty gets.
pub fn shell_inner(app: &App, area: Rect) -> Option<Rect> {
    let [_, body, _] = screen_rows(app, area)?;
    let (outer, _) = shell_split(app, body);
    let inner = Block::default().borders(Borders::ALL).inner(outer);
    (inner.width >= 10 && inner.height >= 3).then_some(inner)
}

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let Some(rows) = screen_rows(self, area) else {
            Paragraph::new("glassbox lab: make the terminal larger (at least 80x24)")
                .wrap(Wrap { trim: true })
                .render(area, buf);
            return;
        };
        if self.present {
            present_header(self, rows[0], buf);
        } else {
            header(self, rows[0], buf);
        }
        body(self, rows[1], buf);
        footer(self, rows[2], buf);
        if self.help {
            help(self, area, buf);
        }
    }
}

fn header(app: &App, area: Rect, buf: &mut Buffer) {
    let total = app.lessons.len();
    let (title, steps) = app
        .lesson()
        .map(|l| {
            (
                format!("{:02}/{total:02} {}", l.topic(), l.title),
                l.step.len(),
            )
        })
        .unwrap_or_else(|| ("no lessons".into(), 0));
    let live = if app.sample.seq > 0 {
        format!("live #{}", app.sample.seq)
    } else {
        "waiting for the kernel".into()
    };
    let root = if app.is_root { "" } else { " · no root" };
    let text = format!(
        " glassbox lab · {title} · step {}/{steps} · {live}{root} ",
        app.step + 1
    );
    Paragraph::new(Line::from(Span::styled(
        text,
        Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD),
    )))
    .render(area, buf);
}

/// Presenter mode's heading: the topic's title, large enough for the back
/// row: upper case, bold, in a thick frame, centred.
fn present_header(app: &App, area: Rect, buf: &mut Buffer) {
    let (title, step) = app
        .lesson()
        .map(|l| {
            let step = app
                .current_step()
                .map(|s| s.title.clone())
                .unwrap_or_default();
            (format!("{} · {}", l.topic(), l.title.to_uppercase()), step)
        })
        .unwrap_or_else(|| ("NO LESSONS".into(), String::new()));
    let strong = Style::default().add_modifier(Modifier::BOLD);
    let line = Line::from(vec![
        Span::styled(title, strong),
        Span::raw(if step.is_empty() { "" } else { "   " }),
        Span::styled(step, strong.add_modifier(Modifier::UNDERLINED)),
    ])
    .centered();
    let block = if area.height >= 3 {
        Block::default()
            .borders(Borders::ALL)
            .border_type(ratatui::widgets::BorderType::Thick)
    } else {
        Block::default()
    };
    Paragraph::new(line)
        .block(block)
        .style(strong)
        .render(area, buf);
}

/// The footer's keys for the current mode: (key, what, rank), in the order
/// shown; when they do not all fit, the highest ranks go first.
fn footer_keys(app: &App) -> Vec<(&'static str, &'static str, u8)> {
    if app.shell.as_ref().is_some_and(|s| s.focused) {
        return vec![
            ("", "keys go to the shell", 0),
            ("Ctrl-]", "back to the lab", 0),
            ("exit", "or Ctrl-D closes it", 1),
        ];
    }
    if app.exercises.answering.is_some() {
        return vec![
            ("", "type your answer", 0),
            ("Enter", "keep it", 0),
            ("Esc", "cancel", 0),
        ];
    }
    if app.present && app.playing {
        return vec![
            ("", "playing the topic…", 0),
            ("Esc", "stop the play", 0),
            ("r", "stop and reset all", 0),
            ("Space", "next", 1),
            ("←→", "topic (stops it)", 2),
            ("q", "quit", 0),
        ];
    }
    if app.present {
        return vec![
            ("Space", "next", 0),
            ("Enter", "run", 0),
            ("A", "play topic", 0),
            ("e", "exercise", 0),
            ("x", "check", 0),
            ("r", "reset all", 0),
            ("←→", "topic", 0),
            ("↑↓", "step", 1),
            ("q", "quit", 1),
        ];
    }
    if app.show_exercise {
        return vec![
            ("x", "check", 0),
            ("i", "hint", 0),
            ("s", "solution", 1),
            ("S", "skip", 1),
            ("a", "answer", 0),
            ("e", "next/close", 0),
            ("←→", "topic", 2),
            ("q", "quit", 0),
        ];
    }
    vec![
        ("←→", "topic", 0),
        ("↑↓", "step", 2),
        ("Enter", "run", 0),
        ("t", "try", 1),
        ("!", "shell", 1),
        ("e", "exercise", 0),
        ("x", "check", 0),
        ("r", "reset", 1),
        ("c", "request", 4),
        ("o", "output", 3),
        ("Tab", "panel", 3),
        ("PgDn", "scroll", 3),
        ("?", "help", 0),
        ("q", "quit", 0),
    ]
}

/// The keys that fit in `width` columns: two spaces between entries, then
/// one, then the lowest-ranked entries left out (`?` lists them all).
pub fn fit_keys(keys: &[(&str, &str, u8)], width: usize) -> String {
    try_fit_keys(keys, width).unwrap_or_else(|| render_keys(keys, 0, " "))
}

fn render_keys(keys: &[(&str, &str, u8)], max_rank: u8, sep: &str) -> String {
    keys.iter()
        .filter(|(_, _, rank)| *rank <= max_rank)
        .map(|(k, what, _)| {
            if k.is_empty() {
                what.to_string()
            } else {
                format!("{k} {what}")
            }
        })
        .collect::<Vec<_>>()
        .join(sep)
}

/// As [`fit_keys`], or `None` when not even the rank-0 keys fit.
fn try_fit_keys(keys: &[(&str, &str, u8)], width: usize) -> Option<String> {
    let top = keys.iter().map(|k| k.2).max().unwrap_or(0);
    for max_rank in (0..=top).rev() {
        for sep in ["  ", " "] {
            let line = render_keys(keys, max_rank, sep);
            if line.chars().count() <= width {
                return Some(line);
            }
        }
    }
    None
}

fn footer(app: &App, area: Rect, buf: &mut Buffer) {
    let busy = if app.busy { "[running…] " } else { "" };
    // The lab's containers pile up from topic to topic: say how many run,
    // and which key removes them; the count shrinks before a rank-0 key
    // (e, x) leaves the line.
    let n = app.sample.lab_running.len();
    let counts: Vec<String> = if n > 0 && !app.busy {
        vec![
            format!(
                "[{n} lab container{} up · r removes] ",
                if n == 1 { "" } else { "s" }
            ),
            format!("[{n} running · r removes] "),
            format!("[{n} up] "),
        ]
    } else {
        vec![String::new()]
    };
    let keys = footer_keys(app);
    let width = (area.width as usize).saturating_sub(busy.chars().count());
    let (running, keys) = counts
        .iter()
        .find_map(|c| {
            try_fit_keys(&keys, width.saturating_sub(c.chars().count())).map(|k| (c.clone(), k))
        })
        .unwrap_or_else(|| {
            let c = counts.last().cloned().unwrap_or_default();
            let k = fit_keys(&keys, width.saturating_sub(c.chars().count()));
            (c, k)
        });
    Paragraph::new(Line::from(vec![
        Span::styled(busy, Style::default().add_modifier(Modifier::BOLD)),
        Span::styled(running, Style::default().add_modifier(Modifier::BOLD)),
        Span::raw(keys),
    ]))
    .style(Style::default().add_modifier(Modifier::REVERSED))
    .render(area, buf);
}

fn body(app: &App, area: Rect, buf: &mut Buffer) {
    if app.show_log {
        // The whole body, so that wide output (ps -a, history) reads unwrapped.
        output(app, area, buf);
        return;
    }
    if app.shell.is_some() {
        let (shell, panels) = shell_split(app, area);
        shell_pane(app, shell, buf);
        if let Some(p) = panels {
            panel_stack(app, p, buf);
        }
        return;
    }
    let has_panels = app.current_step().is_some_and(|s| !s.panels.is_empty());
    let wide = area.width >= 100;
    let parts = match (wide, has_panels) {
        (_, false) => Layout::default()
            .direction(if wide {
                Direction::Horizontal
            } else {
                Direction::Vertical
            })
            .constraints([Constraint::Percentage(50), Constraint::Percentage(50)])
            .split(area),
        (true, true) => {
            Layout::horizontal([Constraint::Percentage(42), Constraint::Percentage(58)]).split(area)
        }
        (false, true) => {
            Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).split(area)
        }
    };
    if has_panels {
        let show_output = !app.log.is_empty() || app.tried.is_some();
        let (text_area, out_area) = if show_output {
            // Narrow: one line of output under the text (o shows it all).
            let out_h = if wide { 10 } else { 3 }.min(parts[0].height / 2);
            let v =
                Layout::vertical([Constraint::Min(3), Constraint::Length(out_h)]).split(parts[0]);
            (v[0], Some(v[1]))
        } else {
            (parts[0], None)
        };
        if app.show_exercise {
            exercise_pane(app, text_area, buf);
        } else {
            lesson_text(app, text_area, buf);
        }
        if let Some(out) = out_area {
            output(app, out, buf);
        }
        panel_stack(app, parts[1], buf);
    } else {
        if app.show_exercise {
            exercise_pane(app, parts[0], buf);
        } else {
            lesson_text(app, parts[0], buf);
        }
        output(app, parts[1], buf);
    }
}

/// The shell pane: the screen of `glassbox exec -it NAME sh`, as the vt100
/// parser holds it.
fn shell_pane(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(shell) = &app.shell else {
        return;
    };
    let title = if shell.focused {
        format!(
            " sh in {} · typing here · Ctrl-] lab keys · exit closes ",
            shell.container
        )
    } else {
        format!(" sh in {} · ! to type here ", shell.container)
    };
    let style = if shell.focused {
        Style::default().add_modifier(Modifier::BOLD)
    } else {
        Style::default()
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(if shell.focused {
            ratatui::widgets::BorderType::Thick
        } else {
            ratatui::widgets::BorderType::Plain
        })
        .title(Span::styled(title, style));
    match &shell.screen {
        Some(screen) => {
            let mut cursor = tui_term::widget::Cursor::default();
            if !shell.focused {
                cursor.hide();
            }
            tui_term::widget::PseudoTerminal::new(screen)
                .block(block)
                .cursor(cursor)
                .render(area, buf);
        }
        None => Paragraph::new(format!(
            "$ glassbox exec -it {} sh\nstarting…",
            shell.container
        ))
        .block(block)
        .render(area, buf),
    }
}

/// The current topic's exercise: task, answer, verdict, hints (see
/// [`super::exercise`]).
fn exercise_pane(app: &App, area: Rect, buf: &mut Buffer) {
    Paragraph::new(super::exercise::lines(
        &app.exercises,
        app.topic_number(),
        app.present,
    ))
    .block(Block::default().borders(Borders::ALL).title(" exercise "))
    .wrap(Wrap { trim: false })
    .render(area, buf);
}

/// The step's text, what Enter and t do, and what really happens.
pub fn lesson_lines(app: &App) -> Vec<Line<'static>> {
    let mut lines: Vec<Line> = Vec::new();
    let Some(lesson) = app.lesson() else {
        lines.push(Line::from("no lessons loaded"));
        return lines;
    };
    let bold = Style::default().add_modifier(Modifier::BOLD);
    for m in app.missing_for_topic() {
        lines.push(Line::from(Span::styled(format!("✗ {m}"), bold)));
    }
    if !app.is_root {
        lines.push(Line::from(Span::styled(
            "✗ demos need root: quit (q) and run `sudo glassbox lab`",
            bold,
        )));
    }
    if app.present {
        // One paragraph at a time (Space), for the room to read together,
        // then the topic's corrections of the seed, one at a time too.
        let paragraphs = app.paragraphs();
        let shown = app.revealed.min(paragraphs.len());
        let really = app.corrections();
        let told = app
            .revealed
            .saturating_sub(paragraphs.len())
            .min(really.len());
        // Once the corrections start, they have the text area to themselves
        // (the room has read the step), so that they fit at 80x24 too.
        let skip = if told > 0 { shown } else { 0 };
        for (i, para) in paragraphs.iter().take(shown).skip(skip).enumerate() {
            if i > 0 {
                lines.push(Line::from(""));
            }
            lines.push(Line::from(Span::styled(para.clone(), bold)));
        }
        if shown < paragraphs.len() {
            lines.push(Line::from(""));
            lines.push(Line::from(format!(
                "… Space for more ({} of {})",
                shown,
                paragraphs.len()
            )));
            return lines;
        }
        if let Some(step) = app.current_step()
            && !step.actions.is_empty()
            && told == 0
        {
            lines.push(Line::from(""));
            lines.push(Line::from(Span::styled("Enter runs:", bold)));
            for a in &step.actions {
                lines.push(Line::from(format!("  {}", a.display())));
            }
        }
        if told > 0 {
            lines.push(Line::from(Span::styled("What really happens", bold)));
            for r in &really[..told] {
                lines.push(Line::from(format!("• {r}")));
            }
        }
        if told < really.len() {
            lines.push(Line::from(""));
            lines.push(Line::from(if told == 0 {
                format!(
                    "… Space: what really happens ({} correction{} of the seed)",
                    really.len(),
                    if really.len() == 1 { "" } else { "s" }
                )
            } else {
                format!("… Space for more ({told} of {})", really.len())
            }));
        }
        return lines;
    }
    if app.step == 0 && !lesson.summary.is_empty() {
        lines.push(Line::from(Span::styled(
            lesson.summary.clone(),
            Style::default().add_modifier(Modifier::ITALIC),
        )));
        lines.push(Line::from(""));
    }
    if let Some(step) = app.current_step() {
        for para in step.text.trim().split('\n') {
            lines.push(Line::from(para.to_string()));
        }
        if !step.actions.is_empty() {
            lines.push(Line::from(""));
            lines.push(Line::from(Span::styled("Enter runs:", bold)));
            for a in &step.actions {
                lines.push(Line::from(format!("  {}", a.display())));
            }
        }
        if !step.try_host.is_empty() || !step.try_inside.is_empty() {
            lines.push(Line::from(""));
            lines.push(Line::from(Span::styled(
                "t tries, on the host and inside:",
                bold,
            )));
            for c in &step.try_host {
                lines.push(Line::from(format!("  $ {c}")));
            }
            for c in &step.try_inside {
                lines.push(Line::from(format!("  # {c}")));
            }
        }
    }
    if !lesson.really.is_empty() {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled("What really happens", bold)));
        for r in &lesson.really {
            lines.push(Line::from(format!("• {r}")));
        }
    }
    lines
}

fn lesson_text(app: &App, area: Rect, buf: &mut Buffer) {
    let title = app
        .current_step()
        .map(|s| format!(" {} ", s.title))
        .unwrap_or_default();
    Paragraph::new(lesson_lines(app))
        .block(Block::default().borders(Borders::ALL).title(title))
        .wrap(Wrap { trim: false })
        .scroll((app.scroll, 0))
        .render(area, buf);
}

fn styled(line: &LogLine) -> Line<'static> {
    let (mark, style) = match line.kind {
        LineKind::Command => ("", Style::default().add_modifier(Modifier::BOLD)),
        LineKind::Out => ("", Style::default()),
        LineKind::Err => ("", Style::default().fg(Color::Yellow)),
        LineKind::Ok => ("✓ ", Style::default().fg(Color::Green)),
        LineKind::Fail => (
            "✗ ",
            Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
        ),
        LineKind::Note => ("· ", Style::default().add_modifier(Modifier::DIM)),
    };
    Line::from(Span::styled(format!("{mark}{}", line.text), style))
}

/// The demo output (latest lines), or the try-it output side by side.
fn output(app: &App, area: Rect, buf: &mut Buffer) {
    if let Some(tried) = &app.tried {
        let halves = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .split(area);
        for (half, title, lines) in [
            (halves[0], " on the host ", &tried.host),
            (halves[1], " inside the container ", &tried.inside),
        ] {
            let shown: Vec<Line> = lines.iter().map(styled).collect();
            Paragraph::new(shown)
                .block(Block::default().borders(Borders::ALL).title(title))
                .wrap(Wrap { trim: false })
                .render(half, buf);
        }
        return;
    }
    let inner_h = area.height.saturating_sub(2) as usize;
    let inner_w = area.width.saturating_sub(2).max(1) as usize;
    // Wrap by hand, so that the last lines shown are the last lines printed.
    let mut rows: Vec<LogLine> = Vec::new();
    for line in &app.log {
        let chars: Vec<char> = line.text.chars().collect();
        if chars.is_empty() {
            rows.push(line.clone());
        }
        for (i, chunk) in chars.chunks(inner_w.saturating_sub(2).max(1)).enumerate() {
            let text: String = chunk.iter().collect();
            let kind = if i == 0 { line.kind } else { LineKind::Out };
            let text = if i == 0 { text } else { format!("  {text}") };
            rows.push(LogLine { kind, text });
        }
    }
    let back = if app.show_log {
        (app.log_scroll as usize).min(rows.len().saturating_sub(inner_h))
    } else {
        0
    };
    let end = rows.len() - back;
    let start = end.saturating_sub(inner_h);
    let lines: Vec<Line> = if rows.is_empty() {
        vec![Line::from(
            "Enter runs this step's demo; its output shows here.",
        )]
    } else {
        rows[start..end].iter().map(styled).collect()
    };
    let title = match (app.show_log, back) {
        (false, _) => " output (o: all of it) ".to_string(),
        (true, 0) => " output (PgUp/PgDn scroll, o: back) ".to_string(),
        (true, n) => format!(" output, {n} lines up (PgUp/PgDn scroll, o: back) "),
    };
    Paragraph::new(lines)
        .block(Block::default().borders(Borders::ALL).title(title))
        .render(area, buf);
}

fn panel_stack(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(step) = app.current_step() else {
        return;
    };
    let kinds: Vec<PanelKind> = step.panel_kinds().collect();
    if kinds.is_empty() {
        return;
    }
    let fits = area.height >= PANEL_MIN_HEIGHT * kinds.len() as u16;
    if fits {
        let constraints: Vec<Constraint> = kinds.iter().map(|_| Constraint::Fill(1)).collect();
        let areas = Layout::vertical(constraints).split(area);
        for (&kind, a) in kinds.iter().zip(areas.iter()) {
            panels::render_panel(kind, app, *a, buf);
        }
    } else {
        let sel = app.panel_tab.min(kinds.len() - 1);
        let v = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).split(area);
        let mut spans = vec![Span::raw("Tab: ")];
        for (i, n) in kinds.iter().enumerate() {
            let style = if i == sel {
                Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
            } else {
                Style::default()
            };
            spans.push(Span::styled(format!(" {} ", n.name()), style));
        }
        Paragraph::new(Line::from(spans)).render(v[0], buf);
        panels::render_panel(kinds[sel], app, v[1], buf);
    }
}

/// `head` then `text` word-wrapped to `width`, the continuation lines
/// indented to where `text` starts (a hanging indent, so that an entry reads
/// as one block).
fn hang(head: &str, text: &str, width: usize) -> Vec<Line<'static>> {
    let indent = head.chars().count();
    let width = width.max(indent + 10);
    let mut lines = Vec::new();
    let mut line = head.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        let len = line.chars().count();
        if !empty && len + 1 + word.chars().count() > width {
            lines.push(Line::from(std::mem::replace(&mut line, " ".repeat(indent))));
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    lines.push(Line::from(line));
    lines
}

/// The help's key lines.
fn help_keys(width: usize) -> Vec<Line<'static>> {
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let mut lines = vec![Line::from(Span::styled("Keys", bold))];
    for (keys, what) in [
        ("→ l n", "next topic (← h p: previous)"),
        ("↓ j", "next step (↑ k: previous)"),
        ("g G", "first topic, last topic (Home, End)"),
        (
            "Enter",
            "run the step's demo (real containers, named lab-…)",
        ),
        ("t", "try it: the step's commands on the host and inside"),
        (
            "!",
            "a shell inside the focused container (glassbox exec -it NAME sh); keys go to it, Ctrl-] gives them back, exit or Ctrl-D closes it",
        ),
        ("c", "send GET / to the published port (topic 11)"),
        ("r", "reset: remove every lab- container"),
        ("Tab", "next panel, when they do not all fit"),
        (
            "PgDn J",
            "scroll the lesson text down (PgUp K: up); in the output view, the output",
        ),
        ("o", "all the demo output over the whole screen, and back"),
        ("e", "the topic's exercises, one after another, then back"),
        (
            "x",
            "check the exercises against the kernel now (also redone on each change)",
        ),
        (
            "i s S a",
            "in the exercise: next hint, solution, skip, type an answer",
        ),
        (
            "Space A",
            "presenter mode (--present): next paragraph, then what really happens; play the topic (Esc stops the play, r stops it and resets)",
        ),
        ("?", "this help (↑↓ scroll it, any other key closes it)"),
        ("q Ctrl-C", "quit (removes the lab's containers)"),
    ] {
        lines.extend(hang(&format!("  {keys:<8} "), what, width));
    }
    lines
}

/// The help's panel and action lines.
fn help_panels(width: usize) -> Vec<Line<'static>> {
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let mut lines = Vec::new();
    for (source, heading) in [
        (
            Source::Kernel,
            "Panels that read the kernel now, at every sample",
        ),
        (
            Source::Records,
            "Panels that read glassbox's records: what it wrote down as it worked",
        ),
    ] {
        lines.push(Line::from(Span::styled(heading, bold)));
        for p in PanelKind::ALL.iter().filter(|p| p.source() == source) {
            lines.extend(hang(&format!("  {:<11} ", p.name()), p.shows(), width));
        }
    }
    lines
}

/// The help's demo action lines, after a blank line.
fn help_actions(width: usize) -> Vec<Line<'static>> {
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let mut lines = vec![
        Line::from(""),
        Line::from(Span::styled("Demo actions", bold)),
    ];
    for a in ActionKind::ALL {
        lines.extend(hang(&format!("  {:<8} ", a.name()), a.does(), width));
    }
    lines
}

/// Every key, panel and action, over the screen: two columns where they
/// fit, else one that scrolls (↑↓), so that nothing is cut off at 80x24.
fn help(app: &App, area: Rect, buf: &mut Buffer) {
    let w = area.width.saturating_sub(2).min(160);
    let h = area.height.saturating_sub(2);
    let popup = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + 1,
        width: w,
        height: h,
    };
    Clear.render(popup, buf);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" help: ↑↓ scroll · any other key closes ");
    let inner = block.inner(popup);
    block.render(popup, buf);
    if inner.width >= 100 {
        let cols = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .spacing(2)
            .split(inner);
        let width = cols[0].width as usize;
        let mut left = help_keys(width);
        left.extend(help_actions(width));
        for (col, lines) in [(cols[0], left), (cols[1], help_panels(width))] {
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .scroll((app.help_scroll, 0))
                .render(col, buf);
        }
        return;
    }
    let width = inner.width as usize;
    let mut lines = help_keys(width);
    lines.push(Line::from(""));
    lines.extend(help_panels(width));
    lines.extend(help_actions(width));
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((app.help_scroll, 0))
        .render(inner, buf);
}
