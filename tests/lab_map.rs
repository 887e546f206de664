//! Findability, drawn in a TestBackend: `m` opens the map of the twenty
//! topics from anywhere, each with its exercises' standing from the
//! student's progress; Enter opens the chosen topic; `/` searches every
//! topic's text and Enter opens the step a hit is in.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use glassbox::exercises::pane::Pane;
use glassbox::exercises::progress::Progress;
use glassbox::lab::check;
use glassbox::tui::{App, Effect, Event};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The lab at `topic` (0-based) with the real lessons and exercises, and a
/// progress in which topic 1's first exercise passed, topic 2's was
/// skipped and topic 4's failed.
fn app(topic: usize) -> App {
    let lessons = check::load_dir(&repo().join("lessons")).expect("lessons/ loads");
    let exercises = glassbox::exercises::load(&repo().join("lessons")).expect("exercises load");
    let mut progress = Progress::default();
    progress.record("topic1-host-pid", true);
    progress.skip("topic2-sys-admin");
    progress.record("topic4-capped", false);
    App::new(lessons, topic, true).with_exercises(Pane::new(exercises, progress))
}

fn key(app: &mut App, c: KeyCode) -> Vec<Effect> {
    app.handle(Event::Key(KeyEvent::new(c, KeyModifiers::NONE)))
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn screen(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| f.render_widget(app, f.area())).expect("draw");
    t.backend().to_string()
}

#[test]
fn m_shows_the_twenty_topics_with_their_exercises_and_enter_opens_one() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut a = app(5);
        // From the exercise pane too: m is not one of its keys.
        key(&mut a, KeyCode::Char('e'));
        key(&mut a, KeyCode::Char('m'));
        assert!(a.map.is_some(), "m opens the map");
        let s = screen(&a, w, h);
        assert!(s.contains("The twenty topics"), "{w}x{h}:\n{s}");
        assert!(s.contains("▸ 06 Copy-on-write"), "the current topic: {s}");
        let line = |n: &str| {
            s.lines()
                .find(|l| l.contains(n))
                .unwrap_or_else(|| panic!("{n} not on the map at {w}x{h}:\n{s}"))
                .to_string()
        };
        assert!(line(" 01 ").contains("1/2 passed"), "{}", line(" 01 "));
        assert!(line(" 01 ").contains('✓'), "{}", line(" 01 "));
        assert!(line(" 02 ").contains('–'), "{}", line(" 02 "));
        assert!(line(" 04 ").contains('✗'), "{}", line(" 04 "));
        assert!(line(" 04 ").contains("0/1 passed"), "{}", line(" 04 "));
        insta::assert_snapshot!(format!("map_{w}x{h}"), s);
        if h == 24 {
            // 20 topics do not fit in 21 rows with the heading: the
            // highlighted one stays in view.
            for _ in 0..19 {
                key(&mut a, KeyCode::Down);
            }
            let s = screen(&a, w, h);
            assert!(s.contains("20 "), "the last topic scrolled into view:\n{s}");
        } else {
            for _ in 0..14 {
                key(&mut a, KeyCode::Down);
            }
        }
        let effects = key(&mut a, KeyCode::Enter);
        assert!(a.map.is_none(), "Enter closes the map");
        assert_eq!(a.topic, 19, "{w}x{h}");
        assert!(
            effects.iter().any(|e| matches!(e, Effect::SaveProgress(_))),
            "{effects:?}"
        );
    }
}

#[test]
fn esc_and_m_close_the_map_where_it_was() {
    let mut a = app(2);
    key(&mut a, KeyCode::Char('m'));
    key(&mut a, KeyCode::Down);
    key(&mut a, KeyCode::Esc);
    assert!(a.map.is_none());
    assert_eq!(a.topic, 2);
    key(&mut a, KeyCode::Char('m'));
    key(&mut a, KeyCode::Char('m'));
    assert!(a.map.is_none());
    assert_eq!(a.topic, 2);
}

#[test]
fn slash_searches_every_topic_and_enter_opens_the_step() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut a = app(0);
        key(&mut a, KeyCode::Char('/'));
        // Typed letters are the search's, not the lab's keys (m, j, q…).
        typed(&mut a, "mqueue");
        let hits = a.search("mqueue");
        assert!(!hits.is_empty());
        assert!(
            hits.iter().all(|h| a.lessons[h.topic].topic() == 3),
            "{hits:#?}"
        );
        let s = screen(&a, w, h);
        assert!(s.contains("/mqueue"), "{s}");
        assert!(s.contains("03 step 3 · A message queue"), "{w}x{h}:\n{s}");
        insta::assert_snapshot!(format!("search_{w}x{h}"), s);
        key(&mut a, KeyCode::Enter);
        assert!(a.map.is_none());
        assert_eq!((a.topic, a.step), (2, hits[0].step.expect("a step")));
    }
}

#[test]
fn search_is_without_case_and_says_when_nothing_matches() {
    let mut a = app(0);
    assert_eq!(a.search("OOMKILLED"), a.search("oomkilled"));
    assert!(
        a.search("oomkilled")
            .iter()
            .any(|h| a.lessons[h.topic].topic() == 19)
    );
    key(&mut a, KeyCode::Char('/'));
    typed(&mut a, "zzqx-no-such-word");
    let s = screen(&a, 80, 24);
    assert!(s.contains("no topic says that"), "{s}");
    for _ in 0.."zzqx-no-such-word".len() {
        key(&mut a, KeyCode::Backspace);
    }
    let s = screen(&a, 80, 24);
    assert!(s.contains("type a word"), "{s}");
    // Enter with nothing chosen keeps the search open.
    key(&mut a, KeyCode::Enter);
    assert!(a.map.is_some());
    key(&mut a, KeyCode::Esc);
    assert!(a.map.is_none());
    assert_eq!(a.topic, 0);
}

/// The commands in the text and the output have no border on their line:
/// what a mouse selects from the command's first character to its last is
/// the command, and in the narrow layout the whole line is.
#[test]
fn a_commands_line_carries_no_border() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut a = app(2);
        a.handle(Event::Resize(w, h));
        key(&mut a, KeyCode::Enter);
        let command = "$ glassbox run -d --name lab-ns -h lab-host busybox sleep 3600";
        a.handle(Event::Demo(glassbox::lab::demo::DemoEvent::Line(
            glassbox::lab::demo::LogLine::new(glassbox::lab::demo::LineKind::Command, command),
        )));
        let s = screen(&a, w, h);
        let rows: Vec<String> = s.lines().map(|l| l.trim_matches('"').to_string()).collect();
        let row = rows
            .iter()
            .find(|r| r.contains(command))
            .unwrap_or_else(|| panic!("{w}x{h}: the command is not on screen:\n{s}"));
        let borders = ['│', '┃', '║'];
        assert!(
            !row.chars().any(|c| borders.contains(&c)),
            "{w}x{h}: a border on the command's line: {row:?}"
        );
        // The text's "Enter runs:" line (beside the panels at 120x40; the
        // output has the room at 80x24): the command starts the screen's line.
        let listed = rows
            .iter()
            .find(|r| r.trim_start().starts_with("glassbox run -d --name lab-ns"));
        if w == 120 {
            let listed = listed.expect("the step's command in the text");
            assert!(
                listed.starts_with("  glassbox run"),
                "{w}x{h}: the text's command line: {listed:?}"
            );
        }
    }
}
