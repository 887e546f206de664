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

use super::panels::{self, fit};
use super::{App, Pane};
use crate::lab::demo::{LineKind, LogLine};
use crate::lab::lesson::{ActionKind, PanelKind, Source};

/// Smallest height one panel gets before the panels go into tabs.
const PANEL_MIN_HEIGHT: u16 = 7;

/// The screen's three rows: header, body, footer; `None` when too small.
fn screen_rows(app: &App, area: Rect) -> Option<[Rect; 3]> {
    if area.width < 20 || area.height < 6 {
        return None;
    }
    // The presenter's framed heading takes three rows where there are rows
    // to spare; at 24 it is one line, and the room goes to the content.
    let head = if app.present && area.height >= 30 {
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
    // The shell's place whether or not it is open yet (its pty is sized
    // before it opens).
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
        body(self, &layout(self, area), buf);
        footer(self, rows[2], buf);
        if self.help {
            help(self, area, buf);
        }
        if let Some(map) = &self.map {
            map_overlay(self, map, area, buf);
        }
    }
}

/// A cleared `w` x `h` box over `area`, centred across it, one row below
/// its top: where the map and the help draw.
fn popup(area: Rect, w: u16, h: u16, buf: &mut Buffer) -> Rect {
    let popup = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + 1,
        width: w,
        height: h,
    };
    Clear.render(popup, buf);
    popup
}

/// The map of the topics (`m`): each with its exercises' standing, the
/// current one marked; or the search (`/`): the words typed and every place
/// they occur. The highlighted line stays in view.
fn map_overlay(app: &App, map: &super::MapView, area: Rect, buf: &mut Buffer) {
    let w = area.width.saturating_sub(2).min(120);
    let h = area.height.saturating_sub(2);
    if w < 10 || h < 4 {
        return;
    }
    let popup = popup(area, w, h, buf);
    let title = match &map.query {
        None => " map: ↑↓ choose · Enter opens · / search · Esc closes ",
        Some(_) => " search: type words · ↑↓ choose · Enter opens · Esc closes ",
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(ratatui::widgets::BorderType::Thick)
        .title(title);
    let inner = block.inner(popup);
    block.render(popup, buf);
    let width = inner.width as usize;
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let mut head: Vec<Line> = Vec::new();
    let mut rows: Vec<Line> = Vec::new();
    match &map.query {
        None => {
            head.push(Line::from(Span::styled(
                fit(
                    "The twenty topics · exercises: ✓ passed  ✗ failed  – skipped  · open"
                        .to_string(),
                    width,
                ),
                bold,
            )));
            for (i, l) in app.lessons.iter().enumerate() {
                let st = app.topic_status(i);
                let marks: String = std::iter::repeat_n('✓', st.passed)
                    .chain(std::iter::repeat_n('✗', st.failed))
                    .chain(std::iter::repeat_n('–', st.skipped))
                    .chain(std::iter::repeat_n(
                        '·',
                        st.total - st.passed - st.failed - st.skipped,
                    ))
                    .collect();
                let status = if st.total == 0 {
                    "no exercise".to_string()
                } else {
                    format!("{marks} {}/{} passed", st.passed, st.total)
                };
                let here = if i == app.topic { "▸" } else { " " };
                let name = format!("{here} {:02} {}", l.topic(), l.title);
                let room = width.saturating_sub(status.chars().count() + 2);
                let name = fit(name, room);
                let pad = width
                    .saturating_sub(name.chars().count() + status.chars().count())
                    .max(1);
                rows.push(Line::from(format!("{name}{}{status}", " ".repeat(pad))));
            }
        }
        Some(q) => {
            let hits = app.search(q);
            let said = if q.trim().is_empty() {
                "type a word: titles, steps, commands, corrections, exercises".to_string()
            } else if hits.is_empty() {
                "no topic says that".to_string()
            } else {
                format!(
                    "{} place{}",
                    hits.len(),
                    if hits.len() == 1 { "" } else { "s" }
                )
            };
            head.push(Line::from(vec![
                Span::styled(format!("/{q}▏ "), bold),
                Span::raw(said),
            ]));
            for hit in hits {
                let number = app.lessons.get(hit.topic).map_or(0, |l| l.topic());
                rows.push(Line::from(vec![
                    Span::styled(format!("{number:02} {}: ", hit.place), bold),
                    Span::raw(hit.context),
                ]));
            }
        }
    }
    let shown = (inner.height as usize).saturating_sub(head.len());
    let selected = map.selected.min(rows.len().saturating_sub(1));
    let first = (selected + 1).saturating_sub(shown);
    let mut lines = head;
    for (i, mut line) in rows.into_iter().enumerate().skip(first).take(shown) {
        if i == selected {
            line = line.style(Style::default().add_modifier(Modifier::REVERSED));
        }
        lines.push(line);
    }
    Paragraph::new(lines).render(inner, buf);
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
    if let Some(map) = &app.map {
        return if map.query.is_some() {
            vec![
                ("", "type the words", 0),
                ("↑↓", "choose", 0),
                ("Enter", "open", 0),
                ("Esc", "close", 0),
            ]
        } else {
            vec![
                ("↑↓", "choose", 0),
                ("Enter", "open the topic", 0),
                ("/", "search", 0),
                ("Esc", "close", 0),
            ]
        };
    }
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
        ("Tab", "focus", 3),
        ("PgDn", "scroll", 3),
        ("m", "map", 1),
        ("/", "search", 2),
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
    // The lab's containers pile up from topic to topic: say how many run
    // (and how many exited), and which key removes them; the count shrinks
    // before a rank-0 key (e, x) leaves the line.
    let up = app.sample.lab_running.len();
    let down = app.sample.lab_stopped.len();
    let s = |n: usize| if n == 1 { "" } else { "s" };
    let counts: Vec<String> = match (up, down) {
        _ if app.busy => vec![String::new()],
        (0, 0) => vec![String::new()],
        (n, 0) => vec![
            format!("[{n} lab container{} up · r removes] ", s(n)),
            format!("[{n} running · r removes] "),
            format!("[{n} up] "),
        ],
        (0, m) => vec![
            format!("[{m} lab container{} exited · r removes] ", s(m)),
            format!("[{m} exited · r removes] "),
            format!("[{m} exited] "),
        ],
        (n, m) => vec![
            format!("[{n} lab container{} up, {m} exited · r removes] ", s(n)),
            format!("[{n} up {m} exited · r removes] "),
            format!("[{n} up {m} exited] "),
        ],
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

/// Where each part of the body goes on this screen: the lesson text (or the
/// exercise), the demo output, the shell, and the panels (each with its
/// index in the step; with a tab line above when they do not all fit).
#[derive(Debug, Default, Clone)]
pub struct BodyLayout {
    pub text: Option<Rect>,
    pub output: Option<Rect>,
    pub shell: Option<Rect>,
    pub panels: Vec<(usize, Rect)>,
    /// The tab line, when one panel shows at a time.
    pub tabs: Option<Rect>,
}

impl BodyLayout {
    /// The area of `pane`, where it is on screen.
    pub fn rect(&self, pane: Pane) -> Option<Rect> {
        match pane {
            Pane::Text => self.text,
            Pane::Output => self.output,
            Pane::Panel(i) => self.panels.iter().find(|(j, _)| *j == i).map(|(_, r)| *r),
        }
    }
}

/// The body's layout for a screen of `area` (the whole terminal).
pub fn layout(app: &App, area: Rect) -> BodyLayout {
    let show_output = !app.log.is_empty() || app.tried.is_some();
    layout_with(app, area, show_output)
}

/// The width a try's host output gets: the output pane's inside, or the
/// left half of it when the inside commands take the right half.
pub fn try_columns(app: &App, area: Rect, host_only: bool) -> u16 {
    let Some(out) = layout_with(app, area, true).output else {
        return 80;
    };
    // No side borders but a column of padding on the right (see
    // [`pane_frame`]); one column between the halves.
    let width = if host_only {
        out.width
    } else {
        out.width.saturating_sub(1) / 2
    };
    width.saturating_sub(1).max(20)
}

/// [`layout`], with the output pane shown or not.
fn layout_with(app: &App, area: Rect, show_output: bool) -> BodyLayout {
    let mut out = BodyLayout::default();
    let Some([_, body, _]) = screen_rows(app, area) else {
        return out;
    };
    if app.show_log {
        // The whole body, so that wide output (ps -a, history) reads unwrapped.
        out.output = Some(body);
        return out;
    }
    if app.shell.is_some() {
        let (shell, panels) = shell_split(app, body);
        out.shell = Some(shell);
        if let Some(p) = panels {
            panel_layout(app, p, &mut out);
        }
        return out;
    }
    let has_panels = app.current_step().is_some_and(|s| !s.panels.is_empty());
    let wide = body.width >= 100;
    let parts = match (wide, has_panels) {
        (_, false) => Layout::default()
            .direction(if wide {
                Direction::Horizontal
            } else {
                Direction::Vertical
            })
            .constraints([Constraint::Percentage(50), Constraint::Percentage(50)])
            .split(body),
        (true, true) => {
            Layout::horizontal([Constraint::Percentage(42), Constraint::Percentage(58)]).split(body)
        }
        (false, true) => {
            Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).split(body)
        }
    };
    if has_panels && !wide {
        // Narrow: text, output and panels one above the other; the focused
        // one (Tab; Enter and t focus the output) gets the room the others
        // leave: a page of text, a demo's errors, a long panel.
        // A focused output takes from the panels too (at 80x24: nine lines,
        // topic 12's three refused calls with their errors); unfocused, it
        // keeps three lines, enough to see a try's first answers.
        let h = body.height;
        let panels_h = match app.pane {
            Pane::Output if show_output => (h / 3).max(PANEL_MIN_HEIGHT),
            _ => (h * 2 / 5).max(PANEL_MIN_HEIGHT + 2),
        };
        let (text_h, out_h) = (4, if show_output { 5 } else { 0 });
        let rows = match app.pane {
            Pane::Output if show_output => Layout::vertical([
                Constraint::Length(text_h),
                Constraint::Fill(1),
                Constraint::Length(panels_h),
            ])
            .split(body),
            Pane::Panel(_) => Layout::vertical([
                Constraint::Length(text_h),
                Constraint::Length(out_h),
                Constraint::Fill(1),
            ])
            .split(body),
            _ => Layout::vertical([
                Constraint::Fill(1),
                Constraint::Length(out_h),
                Constraint::Length(panels_h),
            ])
            .split(body),
        };
        out.text = Some(rows[0]);
        out.output = show_output.then_some(rows[1]);
        panel_layout(app, rows[2], &mut out);
    } else if has_panels && show_output && app.pane == Pane::Output {
        // Wide, the output focused (Enter, t, Tab): it takes the lower half
        // across the whole width, so that errors and a try's two sides read
        // unwrapped; the text and the panels share the upper half.
        let rows = Layout::vertical([Constraint::Fill(1), Constraint::Percentage(50)]).split(body);
        let top = Layout::horizontal([Constraint::Percentage(42), Constraint::Percentage(58)])
            .split(rows[0]);
        out.text = Some(top[0]);
        out.output = Some(rows[1]);
        panel_layout(app, top[1], &mut out);
    } else if has_panels {
        if show_output {
            let out_h = 10.min(parts[0].height / 2);
            let v =
                Layout::vertical([Constraint::Min(3), Constraint::Length(out_h)]).split(parts[0]);
            out.text = Some(v[0]);
            out.output = Some(v[1]);
        } else {
            out.text = Some(parts[0]);
        }
        panel_layout(app, parts[1], &mut out);
    } else {
        out.text = Some(parts[0]);
        out.output = Some(parts[1]);
    }
    out
}

/// The panels' places: stacked where each gets [`PANEL_MIN_HEIGHT`], else
/// one at a time under a tab line.
fn panel_layout(app: &App, area: Rect, out: &mut BodyLayout) {
    let n = app.current_step().map_or(0, |s| s.panels.len());
    if n == 0 {
        return;
    }
    if area.height >= PANEL_MIN_HEIGHT * n as u16 {
        let constraints: Vec<Constraint> = (0..n).map(|_| Constraint::Fill(1)).collect();
        let areas = Layout::vertical(constraints).split(area);
        out.panels = areas.iter().copied().enumerate().collect();
    } else {
        let v = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).split(area);
        out.tabs = Some(v[0]);
        out.panels = vec![(app.panel_tab.min(n - 1), v[1])];
    }
}

/// The panes Tab visits, in order: the text, the output, then every panel
/// of the step (a tabbed one too: focusing it shows it).
pub fn panes(app: &App, area: Rect) -> Vec<Pane> {
    let l = layout(app, area);
    let mut out = Vec::new();
    if l.text.is_some() {
        out.push(Pane::Text);
    }
    if l.output.is_some() {
        out.push(Pane::Output);
    }
    if !l.panels.is_empty() {
        let n = app.current_step().map_or(0, |s| s.panels.len());
        out.extend((0..n).map(Pane::Panel));
    }
    out
}

/// How far `pane` can scroll on a screen of `area`, and its page: (the
/// most lines it can be scrolled by, the lines it shows at once).
pub fn scroll_room(app: &App, area: Rect, pane: Pane) -> (u16, u16) {
    let l = layout(app, area);
    let Some(rect) = l.rect(pane) else {
        return (0, 0);
    };
    let inner = pane_frame(pane, false).inner(rect);
    let total = match pane {
        Pane::Text => text_paragraph(app).line_count(inner.width),
        Pane::Output => match &app.tried {
            Some(t) => {
                let half = if t.host.is_empty() || t.inside.is_empty() {
                    inner.width
                } else {
                    (inner.width.saturating_sub(1) / 2).max(1)
                };
                tried_count(&t.host, half).max(tried_count(&t.inside, half))
            }
            None => output_rows(app, inner.width as usize).len(),
        },
        Pane::Panel(i) => app
            .current_step()
            .and_then(|s| s.panel_kinds().nth(i))
            .map_or(0, |kind| panels::line_count(kind, app, inner.width)),
    };
    let total = u16::try_from(total).unwrap_or(u16::MAX);
    (total.saturating_sub(inner.height), inner.height)
}

/// The title's note on a pane whose lines do not all fit: which lines show,
/// of how many, and the key that scrolls them.
pub fn position(first: usize, shown: usize, total: usize, focused: bool) -> Option<String> {
    if total <= shown || shown == 0 {
        return None;
    }
    let last = (first + shown).min(total);
    let key = if focused { "PgDn/PgUp" } else { "Tab" };
    Some(format!(" {}-{last} of {total} · {key} ", first + 1))
}

/// Puts [`position`] in `block`'s top border, right-aligned, shortened so
/// that the pane's own title keeps its place in a narrow frame.
fn with_position(
    block: Block<'static>,
    title_len: usize,
    width: u16,
    first: usize,
    shown: usize,
    total: usize,
    focused: bool,
) -> Block<'static> {
    let Some(long) = position(first, shown, total, focused) else {
        return block;
    };
    let room = (width as usize).saturating_sub(title_len + 3);
    let last = (first + shown).min(total);
    let short = format!(" {}-{last}/{total} ", first + 1);
    let pos = [long, short]
        .into_iter()
        .find(|p| p.chars().count() <= room);
    match pos {
        Some(p) => block.title(Line::from(p).right_aligned()),
        None => block,
    }
}

/// The frame of `pane`: the text and the output, where the commands are,
/// have no side borders, so that a mouse selection of a command's line
/// copies the command alone; the panels have [`frame`]'s.
pub fn pane_frame(pane: Pane, focused: bool) -> Block<'static> {
    match pane {
        Pane::Text | Pane::Output => frame(focused)
            .borders(Borders::TOP | Borders::BOTTOM)
            .padding(ratatui::widgets::Padding::right(1)),
        Pane::Panel(_) => frame(focused),
    }
}

/// A pane's frame: thick when it has the focus (Tab), which PgDn scrolls.
pub fn frame(focused: bool) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            ratatui::widgets::BorderType::Thick
        } else {
            ratatui::widgets::BorderType::Plain
        })
}

fn body(app: &App, l: &BodyLayout, buf: &mut Buffer) {
    if let Some(shell) = l.shell {
        shell_pane(app, shell, buf);
    }
    if let Some(text) = l.text {
        if app.show_exercise {
            exercise_pane(app, text, buf);
        } else {
            lesson_text(app, text, buf);
        }
    }
    if let Some(out) = l.output {
        output(app, out, buf);
    }
    if let Some(tabs) = l.tabs {
        tab_line(app, tabs, buf);
    }
    if let Some(step) = app.current_step() {
        let kinds: Vec<PanelKind> = step.panel_kinds().collect();
        for (i, rect) in &l.panels {
            if let Some(&kind) = kinds.get(*i) {
                panels::render_panel(kind, app, *i, *rect, buf);
            }
        }
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
    let p = Paragraph::new(super::exercise::lines(
        &app.exercises,
        app.topic_number(),
        app.present,
    ))
    .wrap(Wrap { trim: false });
    scrolled(
        p,
        " exercise ".into(),
        app,
        Pane::Text,
        app.scroll,
        area,
        buf,
    );
}

/// Draws `p` in a frame titled `title`, scrolled down by `offset` lines (at
/// most to its last line), with the position in the frame when it does not
/// all fit.
pub fn scrolled(
    p: Paragraph<'_>,
    title: String,
    app: &App,
    pane: Pane,
    offset: u16,
    area: Rect,
    buf: &mut Buffer,
) {
    let focused = app.pane == pane;
    let inner = pane_frame(pane, focused).inner(area);
    let total = p.line_count(inner.width);
    let room = total.saturating_sub(inner.height as usize);
    let first = (offset as usize).min(room);
    let title_len = title.chars().count();
    let block = with_position(
        pane_frame(pane, focused).title(title),
        title_len,
        area.width,
        first,
        inner.height as usize,
        total,
        focused,
    );
    p.block(block)
        .scroll((u16::try_from(first).unwrap_or(u16::MAX), 0))
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

/// The lesson text as drawn (wrapped), for drawing and for its length.
fn text_paragraph(app: &App) -> Paragraph<'static> {
    if app.show_exercise {
        Paragraph::new(super::exercise::lines(
            &app.exercises,
            app.topic_number(),
            app.present,
        ))
        .wrap(Wrap { trim: false })
    } else {
        Paragraph::new(lesson_lines(app)).wrap(Wrap { trim: false })
    }
}

fn lesson_text(app: &App, area: Rect, buf: &mut Buffer) {
    let title = app
        .current_step()
        .map(|s| format!(" {} ", s.title))
        .unwrap_or_default();
    scrolled(
        text_paragraph(app),
        title,
        app,
        Pane::Text,
        app.scroll,
        area,
        buf,
    );
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

/// The try-it output of one side: its lines, wrapped to `width`.
fn tried_count(lines: &[LogLine], width: u16) -> usize {
    Paragraph::new(lines.iter().map(styled).collect::<Vec<_>>())
        .wrap(Wrap { trim: false })
        .line_count(width)
}

/// The demo output wrapped by hand to `inner_w`, so that the last lines
/// shown are the last lines printed.
fn output_rows(app: &App, inner_w: usize) -> Vec<LogLine> {
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
    rows
}

/// The demo output (latest lines, or scrolled up from them), or the try-it
/// output side by side (from its first line, or scrolled down).
fn output(app: &App, area: Rect, buf: &mut Buffer) {
    let focused = app.pane == Pane::Output;
    if let Some(tried) = &app.tried {
        // Side by side; a side with no commands leaves the other the width.
        let split = match (tried.host.is_empty(), tried.inside.is_empty()) {
            (false, true) => [Constraint::Percentage(100), Constraint::Length(0)],
            (true, false) => [Constraint::Length(0), Constraint::Percentage(100)],
            _ => [Constraint::Percentage(50), Constraint::Percentage(50)],
        };
        let gap = u16::from(!tried.host.is_empty() && !tried.inside.is_empty());
        let halves = Layout::horizontal(split).spacing(gap).split(area);
        for (half, title, lines) in [
            (halves[0], " on the host ", &tried.host),
            (halves[1], " inside the container ", &tried.inside),
        ] {
            if half.width == 0 {
                continue;
            }
            let shown: Vec<Line> = lines.iter().map(styled).collect();
            scrolled(
                Paragraph::new(shown).wrap(Wrap { trim: false }),
                title.into(),
                app,
                Pane::Output,
                app.log_scroll,
                half,
                buf,
            );
        }
        return;
    }
    let inner_h = area.height.saturating_sub(2) as usize;
    let inner_w = area.width.max(1) as usize;
    let rows = output_rows(app, inner_w);
    let back = (app.log_scroll as usize).min(rows.len().saturating_sub(inner_h));
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
        (false, 0) => " output (o: all of it) ".to_string(),
        (false, n) => format!(" output, {n} lines up "),
        (true, 0) => " output (PgUp/PgDn scroll, o: back) ".to_string(),
        (true, n) => format!(" output, {n} lines up (PgUp/PgDn scroll, o: back) "),
    };
    let title_len = title.chars().count();
    let block = with_position(
        pane_frame(Pane::Output, focused || app.show_log).title(title),
        title_len,
        area.width,
        start,
        inner_h,
        rows.len(),
        focused || app.show_log,
    );
    Paragraph::new(lines).block(block).render(area, buf);
}

/// The tab line over a panel shown alone: the step's panels, the shown one
/// marked.
fn tab_line(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(step) = app.current_step() else {
        return;
    };
    let kinds: Vec<PanelKind> = step.panel_kinds().collect();
    if kinds.is_empty() {
        return;
    }
    let sel = app.panel_tab.min(kinds.len() - 1);
    let mut spans = vec![Span::raw("Tab: ")];
    for (i, n) in kinds.iter().enumerate() {
        let style = if i == sel {
            Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        } else {
            Style::default()
        };
        spans.push(Span::styled(format!(" {} ", n.name()), style));
    }
    Paragraph::new(Line::from(spans)).render(area, buf);
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
        ("g G m /", "first, last topic; m map + exercises, / search"),
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
        (
            "Tab",
            "focus the next pane: text, output, each panel (Shift-Tab: back); the focused one has a thick frame, and a panel shown one at a time comes to the front",
        ),
        (
            "PgDn J",
            "scroll the focused pane a page down (PgUp K: up); a frame says which lines show, of how many",
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

/// The panels of the step on screen, what each reads and where from, then a
/// blank line; nothing for a step without panels.
fn help_step_panels(app: &App, width: usize) -> Vec<Line<'static>> {
    let kinds: Vec<PanelKind> = app
        .current_step()
        .map(|s| s.panel_kinds().collect())
        .unwrap_or_default();
    if kinds.is_empty() {
        return Vec::new();
    }
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let mut lines = vec![Line::from(Span::styled(
        "Panels on this screen (all of them below the keys)",
        bold,
    ))];
    for p in kinds {
        let from = match p.source() {
            Source::Kernel => "the kernel, now",
            Source::Records => "glassbox's records",
        };
        lines.extend(hang(
            &format!("  {:<11} ", p.name()),
            &format!("{} (from {from})", p.shows()),
            width,
        ));
    }
    lines.push(Line::from(""));
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
    let popup = popup(area, w, h, buf);
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
    // One column: the panels on screen first, so that the overlay still
    // says what they read before the keys push the full list down.
    let width = inner.width as usize;
    let mut lines = help_step_panels(app, width);
    lines.extend(help_keys(width));
    lines.push(Line::from(""));
    lines.extend(help_panels(width));
    lines.extend(help_actions(width));
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((app.help_scroll, 0))
        .render(inner, buf);
}
