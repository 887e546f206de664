//! The lab's workshop screens, drawn in ratatui's TestBackend (insta
//! snapshots at 80x24 and 120x40): the shell pane, and the keys that drive
//! it, without a terminal or a container. The shell's screen comes from the
//! same terminal emulator the lab uses (vt100), fed the bytes `sh` printed.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use glassbox::lab::sample::{ContainerInfo, ProcRow, ProcessesView, Reading, Sample};
use glassbox::lab::shell::ShellEvent;
use glassbox::lab::{Lesson, check};
use glassbox::tui::{App, Effect, Event};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tui_term::vt100;

fn lessons() -> Vec<Lesson> {
    check::load_dir(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("lessons"))
        .expect("lessons/ loads")
}

/// What the sampler reads for a running lab-sleeper, with a shell beside it.
fn sleeper_sample() -> Sample {
    Sample {
        seq: 7,
        container: Reading::Ready(ContainerInfo {
            name: "lab-sleeper".into(),
            short_id: "4d96fc1ebdf7".into(),
            status: "Up 20 seconds".into(),
            running: true,
            pid: 48213,
            image: "busybox".into(),
            exit_code: 0,
            oom_killed: false,
        }),
        processes: Reading::Ready(ProcessesView {
            rows: vec![
                ProcRow {
                    host_pid: 48213,
                    ns_pid: Some(1),
                    uid: 0,
                    command: "sleep 3600".into(),
                },
                ProcRow {
                    host_pid: 48301,
                    ns_pid: Some(2),
                    uid: 0,
                    command: "sh".into(),
                },
            ],
            host_total: 131,
        }),
        ..Sample::default()
    }
}

fn draw(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    terminal
        .draw(|f| f.render_widget(app, f.area()))
        .expect("draw");
    terminal
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

/// An app on topic 1 at `w` x `h` with lab-sleeper running and `!` pressed;
/// the shell printed `output`.
fn with_shell(w: u16, h: u16, output: &[u8]) -> (App, Vec<Effect>) {
    let mut app = App::new(lessons(), 0, true);
    app.handle(Event::Resize(w, h));
    app.handle(Event::Sample(Box::new(sleeper_sample())));
    let effects = app.on_key(key(KeyCode::Char('!')));
    let (rows, cols) = app.shell_size().expect("room for a shell");
    let mut parser = vt100::Parser::new(rows, cols, 100);
    parser.process(output);
    app.handle(Event::Shell(ShellEvent::Screen(Box::new(
        parser.screen().clone(),
    ))));
    (app, effects)
}

const SESSION: &[u8] = b"\r\n\r\nBusyBox v1.36.1 built-in shell (ash)\r\n\r\n/ # ps\r\nPID   USER     COMMAND\r\n    1 root     sleep 3600\r\n    2 root     sh\r\n    3 root     ps\r\n/ # echo hi > /file; cat /file\r\nhi\r\n/ # ";

#[test]
fn the_shell_pane_at_80x24_and_120x40() {
    for (w, h) in [(80, 24), (120, 40)] {
        let (app, effects) = with_shell(w, h, SESSION);
        let (rows, cols) = app.shell_size().expect("size");
        assert_eq!(
            effects,
            vec![Effect::OpenShell {
                container: "lab-sleeper".into(),
                rows,
                cols
            }],
            "`!` opens `glassbox exec -it lab-sleeper sh` on a pty of the pane's size"
        );
        let terminal = draw(&app, w, h);
        let screen = terminal.backend().to_string();
        assert!(screen.contains("sh in lab-sleeper"), "{screen}");
        assert!(screen.contains("    3 root     ps"), "{screen}");
        assert!(screen.contains("sleep 3600"), "the panels stay beside it");
        insta::assert_snapshot!(format!("shell_{w}x{h}"), terminal.backend());
    }
}

#[test]
fn keys_go_to_the_shell_until_ctrl_bracket() {
    let (mut app, _) = with_shell(120, 40, SESSION);
    // Lab keys are the shell's now: q, arrows, Ctrl-C, Enter.
    assert_eq!(
        app.on_key(key(KeyCode::Char('q'))),
        vec![Effect::ShellInput(b"q".to_vec())]
    );
    assert_eq!(
        app.on_key(ctrl('c')),
        vec![Effect::ShellInput(vec![3])],
        "Ctrl-C interrupts the shell's command, not the lab"
    );
    assert_eq!(
        app.on_key(key(KeyCode::Up)),
        vec![Effect::ShellInput(b"\x1b[A".to_vec())]
    );
    assert_eq!(
        app.on_key(key(KeyCode::Enter)),
        vec![Effect::ShellInput(b"\r".to_vec())]
    );
    assert!(!app.quitting);
    // Ctrl-] (crossterm reads 0x1d as Ctrl-5) hands the keys back.
    assert_eq!(app.on_key(ctrl('5')), vec![]);
    assert!(app.shell.as_ref().is_some_and(|s| !s.focused));
    app.on_key(key(KeyCode::Down));
    assert_eq!(app.step, 1, "lab keys work again");
    assert_eq!(app.on_key(key(KeyCode::Char('!'))), vec![]);
    assert!(app.shell.as_ref().is_some_and(|s| s.focused), "! refocuses");
    // exit: the pane closes and says so.
    app.handle(Event::Shell(ShellEvent::Exited {
        container: "lab-sleeper".into(),
        code: Some(0),
    }));
    assert!(app.shell.is_none());
    let screen = draw(&app, 120, 40).backend().to_string();
    assert!(
        screen.contains("the shell in lab-sleeper ended"),
        "{screen}"
    );
}

#[test]
fn without_a_running_container_bang_says_which_step_starts_one() {
    let mut app = App::new(lessons(), 0, true);
    app.handle(Event::Sample(Box::new(Sample {
        seq: 1,
        container: Reading::Missing("no container lab-sleeper yet".into()),
        ..Sample::default()
    })));
    app.on_key(key(KeyCode::Down));
    assert_eq!(app.on_key(key(KeyCode::Char('!'))), vec![]);
    assert!(app.shell.is_none());
    let said = &app.log.last().expect("a line").text;
    assert!(
        said.contains("step 1 (Start a container) starts lab-sleeper"),
        "{said}"
    );
    app.on_key(key(KeyCode::Up));
    app.on_key(key(KeyCode::Char('!')));
    let said = &app.log.last().expect("a line").text;
    assert!(
        said.contains("Enter runs this step's demo, which starts lab-sleeper"),
        "{said}"
    );
    let resize = app.handle(Event::Resize(100, 30));
    assert!(resize.is_empty(), "no shell, nothing to resize");
}

#[test]
fn a_resize_resizes_the_shells_pty() {
    let (mut app, _) = with_shell(120, 40, SESSION);
    let effects = app.handle(Event::Resize(80, 24));
    let (rows, cols) = app.shell_size().expect("size");
    assert_eq!(effects, vec![Effect::ShellResize { rows, cols }]);
    assert!(cols < 80 && rows < 24);
}

/// Presenter mode on topic 4 (cgroups), with every step paragraph shown.
fn presenter_at_end_of_step() -> App {
    let mut app = App::new(lessons(), 3, true).presenting();
    let n = app.paragraphs().len();
    for _ in 1..n {
        app.on_key(key(KeyCode::Char(' ')));
    }
    assert_eq!(app.revealed, n);
    app
}

#[test]
fn presenter_reveals_what_really_happens_with_space() {
    let mut app = presenter_at_end_of_step();
    let really = app.corrections().to_vec();
    assert!(really.len() >= 2, "topic 4 corrects the seed");
    let screen = draw(&app, 120, 40).backend().to_string();
    assert!(
        screen.contains("Space: what really happens"),
        "the room is told there is more:\n{screen}"
    );
    assert!(!screen.contains("What really happens"), "{screen}");
    for told in 1..=really.len() {
        app.on_key(key(KeyCode::Char(' ')));
        let lines: Vec<String> = glassbox::tui::view::lesson_lines(&app)
            .iter()
            .map(|l| l.to_string())
            .collect();
        assert!(lines.iter().any(|l| l == "What really happens"));
        let shown = lines.iter().filter(|l| l.starts_with("• ")).count();
        assert_eq!(shown, told, "one correction per Space:\n{lines:#?}");
    }
    // Past the last one, Space changes nothing.
    let before = app.revealed;
    app.on_key(key(KeyCode::Char(' ')));
    assert_eq!(app.revealed, before);
    for (w, h) in [(80, 24), (120, 40)] {
        // First correction only, so that both sizes show it.
        let mut app = presenter_at_end_of_step();
        app.on_key(key(KeyCode::Char(' ')));
        let terminal = draw(&app, w, h);
        let screen = terminal.backend().to_string();
        assert!(screen.contains("What really happens"), "{w}x{h}:\n{screen}");
        insta::assert_snapshot!(format!("present_really_{w}x{h}"), terminal.backend());
    }
}

#[test]
fn a_play_moves_steps_but_leaves_the_corrections_for_space() {
    let mut app = App::new(lessons(), 3, true).presenting();
    let effects = app.on_key(key(KeyCode::Char('A')));
    assert!(matches!(effects.as_slice(), [Effect::Script { .. }]));
    assert!(app.playing && app.busy);
    app.handle(Event::GoStep(1));
    assert_eq!(app.step, 1);
    assert_eq!(
        app.revealed,
        app.paragraphs().len(),
        "the step's text, all of it"
    );
    let text: Vec<String> = glassbox::tui::view::lesson_lines(&app)
        .iter()
        .map(|l| l.to_string())
        .collect();
    assert!(
        !text.iter().any(|l| l == "What really happens"),
        "{text:#?}"
    );
}

#[test]
fn r_during_a_play_stops_it_and_resets_without_waiting() {
    let mut app = App::new(lessons(), 3, true).presenting();
    app.on_key(key(KeyCode::Char('A')));
    // r: stop the play now, then the reset (not queued behind the topic).
    assert_eq!(
        app.on_key(key(KeyCode::Char('r'))),
        vec![Effect::StopPlay, Effect::Reset]
    );
    assert!(!app.playing && app.busy);
    // A GoStep already on its way is ignored once the play stopped.
    app.handle(Event::GoStep(2));
    assert_eq!(app.step, 0);
    // The play's end, then the reset's: only then is the lab idle.
    app.handle(Event::Demo(glassbox::lab::demo::DemoEvent::Done {
        ok: false,
    }));
    assert!(app.busy, "the reset still runs");
    app.handle(Event::Demo(glassbox::lab::demo::DemoEvent::Done {
        ok: true,
    }));
    assert!(!app.busy);
    // Outside a play, r while a demo runs says to wait.
    app.on_key(key(KeyCode::Enter));
    assert!(app.busy);
    assert_eq!(app.on_key(key(KeyCode::Char('r'))), vec![]);
    assert!(
        app.log
            .last()
            .is_some_and(|l| l.text.contains("r resets once it ends"))
    );
}

#[test]
fn esc_or_leaving_the_topic_stops_a_play() {
    let mut app = App::new(lessons(), 3, true).presenting();
    app.on_key(key(KeyCode::Char('A')));
    let screen = draw(&app, 120, 40).backend().to_string();
    assert!(screen.contains("Esc stop the play"), "{screen}");
    assert_eq!(app.on_key(key(KeyCode::Esc)), vec![Effect::StopPlay]);
    assert!(!app.playing);
    assert!(
        app.log
            .last()
            .is_some_and(|l| l.text.contains("play stopped"))
    );
    app.handle(Event::Demo(glassbox::lab::demo::DemoEvent::Done {
        ok: false,
    }));
    assert!(!app.busy);
    app.on_key(key(KeyCode::Char('A')));
    let effects = app.on_key(key(KeyCode::Right));
    assert_eq!(effects.first(), Some(&Effect::StopPlay), "{effects:?}");
    assert_eq!(app.topic, 4);
}

#[test]
fn the_footer_counts_the_labs_containers_and_fits_80_columns() {
    let mut app = App::new(lessons(), 0, true);
    app.handle(Event::Sample(Box::new(Sample {
        seq: 3,
        lab_running: vec!["lab-capped".into(), "lab-sleeper".into(), "lab-web".into()],
        ..sleeper_sample()
    })));
    for (w, h) in [(80, 24), (120, 40)] {
        let screen = draw(&app, w, h).backend().to_string();
        let footer = screen.lines().last().expect("a footer").to_string();
        // Wide, the count in words; at 80 columns it shrinks before a key
        // the student needs leaves the line.
        let count = if w >= 120 {
            "[3 lab containers up · r removes]"
        } else {
            "[3 running · r removes]"
        };
        assert!(footer.contains(count), "{footer}");
        for k in ["Enter run", "e exercise", "x check", "? help", "q quit"] {
            assert!(footer.contains(k), "{w}x{h}: {k:?} in {footer:?}");
        }
    }
    // Exited ones are counted apart: their records and upper dirs stay too.
    app.handle(Event::Sample(Box::new(Sample {
        seq: 4,
        lab_running: vec!["lab-capped".into(), "lab-sleeper".into()],
        lab_stopped: vec!["lab-oom".into()],
        ..sleeper_sample()
    })));
    for (w, h, count) in [
        (120, 40, "[2 lab containers up, 1 exited · r removes]"),
        (80, 24, "[2 up 1 exited · r removes]"),
    ] {
        let screen = draw(&app, w, h).backend().to_string();
        let footer = screen.lines().last().expect("a footer").to_string();
        assert!(footer.contains(count), "{w}x{h}: {footer}");
        assert!(footer.contains("e exercise"), "{w}x{h}: {footer}");
    }
    // Without them, 80 columns hold the shell and reset too.
    let app = App::new(lessons(), 0, true);
    let screen = draw(&app, 80, 24).backend().to_string();
    let footer = screen.lines().last().expect("a footer").to_string();
    for k in ["e exercise", "x check", "r reset", "! shell"] {
        assert!(footer.contains(k), "{k:?} in {footer:?}");
    }
    // Presenter mode keeps e and x at 80 columns, with containers up too.
    let mut app = App::new(lessons(), 0, true).presenting();
    for running in [vec![], vec!["lab-capped".to_string()]] {
        app.handle(Event::Sample(Box::new(Sample {
            seq: 4,
            lab_running: running.clone(),
            ..sleeper_sample()
        })));
        let screen = draw(&app, 80, 24).backend().to_string();
        let footer = screen.lines().last().expect("a footer").to_string();
        for k in ["e exercise", "x check", "Space next", "r reset all"] {
            assert!(footer.contains(k), "{running:?}: {k:?} in {footer:?}");
        }
        if !running.is_empty() {
            assert!(footer.contains("[1 up]"), "{footer:?}");
        }
    }
}
