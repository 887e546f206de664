//! Topic 7's `starts` action against the real kernel: a program with no C
//! library, a plain process, the kernel's floor, glassbox, and crun and runc
//! where installed, each started and timed now; what the timeline shows is
//! that run's numbers, and nothing of the comparison stays.

mod common;

use std::path::{Path, PathBuf};

use common::{TestRoot, have_root};
use glassbox::lab::demo::{DemoEvent, DemoRunner, LineKind, LogLine, STARTS_ROUNDS};
use glassbox::lab::lesson::{Action, ActionKind};
use glassbox::lab::starts::StartTime;
use glassbox::tui::{App, Event};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn action(verb: ActionKind, args: &[&str]) -> Action {
    Action {
        verb: toml::Spanned::new(0..0, verb),
        args: args.iter().map(|a| a.to_string()).collect(),
        asset: None,
        tag: None,
        port: None,
        expect_failure: false,
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

/// Runs `actions`; the starts it timed, its lines, and whether it succeeded.
fn run(runner: &DemoRunner, actions: &[Action]) -> (Vec<StartTime>, Vec<LogLine>, Option<bool>) {
    let (mut starts, mut lines, mut done) = (Vec::new(), Vec::new(), None);
    runner.run_actions(actions, &mut |e| match e {
        DemoEvent::Starts(s) => starts = s,
        DemoEvent::Line(l) => lines.push(l),
        DemoEvent::Done { ok } => done = Some(ok),
        _ => {}
    });
    (starts, lines, done)
}

/// Containers glassbox started in `root`: its `start` events.
fn starts_recorded(root: &Path) -> usize {
    std::fs::read_to_string(root.join("events.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("\"Action\":\"start\""))
        .count()
}

#[test]
fn topic7_times_every_start_live_and_leaves_nothing() {
    if !have_root("topic7_times_every_start_live_and_leaves_nothing") {
        return;
    }
    let root = TestRoot::new("labstarts");
    let runner = DemoRunner {
        exe: PathBuf::from(env!("CARGO_BIN_EXE_glassbox")),
        root: root.path().to_path_buf(),
        base: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        is_root: true,
    };
    let (_, lines, done) = run(
        &runner,
        &[action(
            ActionKind::Run,
            &["--name", "lab-fast", "busybox", "true"],
        )],
    );
    assert_eq!(done, Some(true), "{lines:#?}");
    let mut expected = vec!["no C library", "plain process", "kernel floor", "glassbox"];
    expected.extend(["crun", "runc"].into_iter().filter(|r| on_path(r)));
    let mut measured = Vec::new();
    for _ in 0..2 {
        let before = starts_recorded(root.path());
        let (starts, lines, done) = run(&runner, &[action(ActionKind::Starts, &["lab-fast"])]);
        let text: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(done, Some(true), "{text:#?}");
        let who: Vec<&str> = starts.iter().map(|s| s.who.as_str()).collect();
        assert_eq!(who, expected, "{text:#?}");
        for s in &starts {
            assert!(s.ms > 0.0 && s.runs == STARTS_ROUNDS, "{s:?}");
            assert!(
                lines
                    .iter()
                    .any(|l| l.kind == LineKind::Ok && l.text.contains(&s.who)),
                "no line for {}: {text:#?}",
                s.who
            );
        }
        // glassbox's figure is of starts made just now: one container each.
        assert_eq!(
            starts_recorded(root.path()) - before,
            STARTS_ROUNDS,
            "{text:#?}"
        );
        measured.push(starts);
    }
    // Timed, not stored: two runs of the action give other numbers.
    for (a, b) in measured[0].iter().zip(&measured[1]) {
        assert_ne!(a.ms, b.ms, "{} measured the same twice", a.who);
    }
    // The timeline shows the numbers of the last run.
    let lessons = glassbox::lab::check::load_dir(&runner.base.join("lessons")).expect("lessons");
    let mut app = App::new(lessons, 6, true);
    app.handle(Event::Demo(DemoEvent::Starts(measured[1].clone())));
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    terminal
        .draw(|f| f.render_widget(&app, f.area()))
        .expect("draw");
    let screen = terminal.backend().to_string();
    for s in &measured[1] {
        let line = format!(
            "{:<22} {:>7.2} ms",
            format!("{} (×{})", s.who, s.runs),
            s.ms
        );
        assert!(screen.contains(&line), "{line}:\n{screen}");
    }

    // Nothing of the comparison stays: its cgroups, its bundle, crun's and runc's state.
    let mounts: Vec<PathBuf> = std::fs::read_dir("/sys/fs/cgroup")
        .expect("/sys/fs/cgroup")
        .flatten()
        .map(|e| e.path())
        .chain([PathBuf::from("/sys/fs/cgroup")])
        .collect();
    for m in mounts {
        for e in std::fs::read_dir(&m).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            assert!(
                !name.starts_with("lab-starts-"),
                "{} is left",
                e.path().display()
            );
        }
    }
    let tmp: Vec<_> = std::fs::read_dir(root.path().join("tmp"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(tmp.is_empty(), "left in tmp/: {tmp:?}");
    for state in ["/run/crun", "/run/runc"] {
        for e in std::fs::read_dir(state).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            assert!(
                !name.starts_with("lab-starts-"),
                "{} is left",
                e.path().display()
            );
        }
    }
}
