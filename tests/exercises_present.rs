//! The lab's exercise pane and presenter mode, drawn in a TestBackend: the
//! presenter screen at 80x24 (an insta snapshot), hints hidden there, one
//! paragraph revealed at a time, and the keys' intents (check, answer,
//! play the topic, progress saved on a topic change).

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use glassbox::exercises::pane::Pane;
use glassbox::exercises::progress::Progress;
use glassbox::exercises::{Graded, Kind, Status};
use glassbox::lab::check;
use glassbox::tui::{App, Effect, Event};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn app(topic: usize) -> App {
    let lessons = check::load_dir(&repo().join("lessons")).expect("lessons/ loads");
    let exercises = glassbox::exercises::load(&repo().join("lessons")).expect("exercises load");
    App::new(lessons, topic, true).with_exercises(Pane::new(exercises, Progress::default()))
}

fn key(app: &mut App, c: KeyCode) -> Vec<Effect> {
    app.handle(Event::Key(KeyEvent::new(c, KeyModifiers::NONE)))
}

fn screen(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| f.render_widget(app, f.area())).expect("draw");
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        for x in 0..w {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

fn passed(id: &str, topic: u32) -> Graded {
    Graded {
        id: id.into(),
        topic,
        title: "t".into(),
        kind: Kind::Task,
        status: Status::Pass,
        message: "memory.max is 209715200; pids.max is 64".into(),
        seconds: 0.01,
    }
}

#[test]
fn presenter_screen_80x24() {
    let mut app = app(3).presenting();
    let first = screen(&app, 80, 24);
    assert!(first.contains("CGROUPS"), "large heading:\n{first}");
    assert!(
        first.contains("Space for more"),
        "one paragraph at a time:\n{first}"
    );
    let before = first.matches('\n').count();
    key(&mut app, KeyCode::Char(' '));
    let second = screen(&app, 80, 24);
    assert_ne!(first, second, "Space reveals the next paragraph");
    assert_eq!(before, second.matches('\n').count());
    insta::assert_snapshot!("presenter_80x24", screen(&app, 80, 24));
}

#[test]
fn presenter_mode_hides_hints_and_solutions() {
    let mut app = app(3).presenting();
    app.exercises.progress.next_hint("topic4-capped", 2);
    app.exercises.progress.show_solution("topic4-capped");
    let effects = key(&mut app, KeyCode::Char('e'));
    assert_eq!(effects, vec![Effect::Check(vec!["topic4-capped".into()])]);
    key(&mut app, KeyCode::Char('i'));
    let s = screen(&app, 80, 24);
    assert!(s.contains("Cap a container"), "{s}");
    assert!(
        !s.contains("hint 1") && !s.contains("--pids-limit 64"),
        "{s}"
    );
    app.handle(Event::Checked(vec![passed("topic4-capped", 4)]));
    insta::assert_snapshot!("presenter_exercise_80x24", screen(&app, 80, 24));
}

#[test]
fn exercise_pane_keys_hint_solution_skip_and_check() {
    let mut app = app(3);
    assert_eq!(
        key(&mut app, KeyCode::Char('e')),
        vec![Effect::Check(vec!["topic4-capped".into()])]
    );
    assert!(app.exercises.checking);
    let e = key(&mut app, KeyCode::Char('i'));
    assert!(
        matches!(e.as_slice(), [Effect::SaveProgress(p)] if p.exercise("topic4-capped").hints_shown == 1)
    );
    let s = screen(&app, 120, 40);
    assert!(s.contains("hint 1: -m takes a size with a unit."), "{s}");
    assert!(s.contains("checking the kernel"), "{s}");
    // A verdict arrives: shown, and the pass goes to the progress file.
    let e = app.handle(Event::Checked(vec![passed("topic4-capped", 4)]));
    assert!(matches!(e.as_slice(), [Effect::SaveProgress(_)]));
    assert!(screen(&app, 120, 40).contains("✓ PASS memory.max is 209715200"));
    key(&mut app, KeyCode::Char('s'));
    assert!(screen(&app, 120, 40).contains("$ glassbox run -d --name capped"));
    // x re-checks on demand.
    assert_eq!(
        key(&mut app, KeyCode::Char('x')),
        vec![Effect::Check(vec!["topic4-capped".into()])]
    );
    // e past the last exercise closes the pane.
    key(&mut app, KeyCode::Char('e'));
    assert!(!app.show_exercise);
}

#[test]
fn a_predict_answer_is_typed_saved_and_graded() {
    let mut app = app(0);
    key(&mut app, KeyCode::Char('e'));
    key(&mut app, KeyCode::Char('e')); // the second exercise of topic 1: the prediction
    assert!(screen(&app, 120, 40).contains("Which PID inside?"));
    key(&mut app, KeyCode::Char('a'));
    // While typing, keys are characters: q does not quit.
    key(&mut app, KeyCode::Char('q'));
    key(&mut app, KeyCode::Backspace);
    key(&mut app, KeyCode::Char('1'));
    assert!(!app.quitting);
    let e = key(&mut app, KeyCode::Enter);
    assert!(matches!(e.as_slice(),
        [Effect::SaveProgress(p), Effect::Check(ids)]
            if p.exercise("topic1-pid-inside").answer.as_deref() == Some("1") && ids.len() == 2));
    assert!(screen(&app, 120, 40).contains("your answer: 1"));
}

#[test]
fn a_topic_change_saves_where_to_resume_and_a_presenter_plays_the_topic() {
    let mut app = app(0);
    let e = key(&mut app, KeyCode::Right);
    assert!(matches!(e.as_slice(), [Effect::SaveProgress(p)] if p.current_topic == Some(2)));
    let mut app = self::app(3).presenting();
    match key(&mut app, KeyCode::Char('A')).as_slice() {
        [Effect::Script { steps, pause_ms }] => {
            assert_eq!(steps.len(), app.lesson().unwrap().step.len());
            assert!(*pause_ms >= 1000, "a pause between steps");
        }
        other => panic!("A plays the topic: {other:?}"),
    }
    assert!(app.busy);
    app.handle(Event::GoStep(1));
    assert_eq!(app.step, 1);
}
