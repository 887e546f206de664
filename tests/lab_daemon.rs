//! Topic 8's live chain: the `daemon` and `docker` actions, and the api
//! panel, which lists the requests glassbox's daemon logged beside the
//! chain docker CLI → socket → daemon → shim → container.
//!
//! The panel is drawn from fixture data in TestBackend (an insta snapshot
//! at 80x24 and 120x40); then the topic's own step runs against a real
//! daemon and the sampler's rows are checked against that daemon's log,
//! line by line, and against the kernel's pids.

mod common;

use common::{TestRoot, have_root};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use glassbox::engine::DataRoot;
use glassbox::lab::demo::{DemoEvent, DemoRunner};
use glassbox::lab::lesson::PanelKind;
use glassbox::lab::sample::*;
use glassbox::lab::sampler::Sampler;
use glassbox::lab::{Lesson, check};
use glassbox::tui::{App, Event};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::path::PathBuf;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn lessons() -> Vec<Lesson> {
    check::load_dir(&repo().join("lessons")).expect("lessons/ loads")
}

/// What the sampler reads after the step's `docker run -d` and `docker ps`.
fn fixture_sample() -> Sample {
    let request = |time: &str, method: &str, path: &str, status: u16, ms: f64| ApiRequest {
        time: time.into(),
        method: method.into(),
        path: path.into(),
        status,
        ms,
    };
    Sample {
        seq: 9,
        container: Reading::Ready(ContainerInfo {
            name: "lab-api".into(),
            short_id: "6b1f0c2d9e4a".into(),
            status: "Up 2 seconds".into(),
            running: true,
            pid: 51240,
            image: "busybox".into(),
            exit_code: 0,
            oom_killed: false,
        }),
        api: Reading::Ready(ApiView {
            links: vec![
                ApiLink {
                    what: "docker CLI",
                    pid: None,
                    detail: "none runs now: each docker command connects, sends its requests, reads the answers and exits".into(),
                },
                ApiLink {
                    what: "socket",
                    pid: None,
                    detail: "/var/lib/glassbox/lab-docker.sock: listening (inode 5350285), 0 connections open now".into(),
                },
                ApiLink {
                    what: "glassbox daemon",
                    pid: Some(51190),
                    detail: "glassbox --root /var/lib/glassbox daemon --host unix:///var/lib/glassbox/lab-docker.sock (holds the listening socket)".into(),
                },
                ApiLink {
                    what: "shim",
                    pid: Some(51236),
                    detail: "glassbox-shim 6b1f0c2d9e4a; its parent is 1 systemd, not the daemon: the container outlives a daemon restart".into(),
                },
                ApiLink {
                    what: "container",
                    pid: Some(51240),
                    detail: "sleep 3600".into(),
                },
            ],
            log: "/var/lib/glassbox/daemon-requests.log".into(),
            requests: vec![
                request("21:05:15.101", "HEAD", "/_ping", 200, 0.2),
                request(
                    "21:05:15.104",
                    "POST",
                    "/v1.43/containers/create?name=lab-api",
                    201,
                    14.3,
                ),
                request(
                    "21:05:15.121",
                    "POST",
                    "/v1.43/containers/6b1f0c2d9e4a/start",
                    204,
                    41.7,
                ),
                request("21:05:15.402", "HEAD", "/_ping", 200, 0.1),
                request(
                    "21:05:15.405",
                    "GET",
                    "/v1.43/containers/json?filters=%7B%22name%22%3A%7B%22lab-api%22%3Atrue%7D%7D",
                    200,
                    2.9,
                ),
                request("21:05:16.010", "GET", "/v1.43/containers/nosuch/json", 404, 0.4),
            ],
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

#[test]
fn topic8_daemon_step_at_80x24_and_120x40() {
    let lessons = lessons();
    let topic = lessons
        .iter()
        .position(|l| l.id() == "daemon-architecture")
        .expect("topic 8");
    let step = lessons[topic]
        .step
        .iter()
        .position(|s| s.id() == "daemon")
        .expect("topic 8 has the daemon step");
    assert!(
        lessons[topic].step[step]
            .panels
            .iter()
            .any(|p| *p.get_ref() == PanelKind::Api),
        "the daemon step shows the api panel"
    );
    let mut app = App::new(lessons, topic, true);
    for _ in 0..step {
        app.on_key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
    }
    app.handle(Event::Sample(Box::new(fixture_sample())));
    for (w, h) in [(80, 24), (120, 40)] {
        let terminal = draw(&app, w, h);
        insta::assert_snapshot!(format!("topic08_daemon_{w}x{h}"), terminal.backend());
    }
    let screen = draw(&app, 120, 40).backend().to_string();
    for want in ["glassbox daemon", "POST", "/containers/create", "201"] {
        assert!(screen.contains(want), "{want:?} in\n{screen}");
    }
}

#[test]
fn tiny_areas_do_not_panic() {
    let mut app = App::new(lessons(), 7, true);
    app.on_key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
    app.handle(Event::Sample(Box::new(fixture_sample())));
    for (w, h) in [(1, 1), (20, 5), (40, 10)] {
        draw(&app, w, h);
    }
}

/// Runs actions through the lab's runner; returns the lines and whether all passed.
fn run(runner: &DemoRunner, actions: &[glassbox::lab::lesson::Action]) -> (bool, String) {
    let mut text = String::new();
    let mut ok = false;
    runner.run_actions(actions, &mut |e| match e {
        DemoEvent::Line(l) => {
            text.push_str(&format!("{:?} {}\n", l.kind, l.text));
        }
        DemoEvent::Done { ok: o } => ok = o,
        _ => {}
    });
    (ok, text)
}

/// The daemon's request log, parsed as the panel parses it.
fn logged(root: &DataRoot) -> Vec<ApiRequest> {
    std::fs::read_to_string(root.daemon_requests_log())
        .unwrap_or_default()
        .lines()
        .filter_map(ApiRequest::parse)
        .collect()
}

#[test]
fn the_api_panel_lists_the_requests_a_real_daemon_answered() {
    let test = "the_api_panel_lists_the_requests_a_real_daemon_answered";
    if !have_root(test) {
        return;
    }
    let docker_on_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("docker").is_file()));
    if !docker_on_path {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test} needs the docker CLI, and CI must run it: .ci/run installs docker.io"
        );
        eprintln!("SKIPPED {test}: no docker CLI on PATH (apt-get install docker.io)");
        return;
    }
    let t = TestRoot::new("lab-daemon");
    let root = DataRoot::open(t.path()).unwrap();
    let runner = DemoRunner {
        exe: PathBuf::from(env!("CARGO_BIN_EXE_glassbox")),
        root: root.path.clone(),
        base: repo(),
        is_root: true,
    };
    let lessons = lessons();
    let step = lessons
        .iter()
        .find(|l| l.id() == "daemon-architecture")
        .and_then(|l| l.step.iter().find(|s| s.id() == "daemon"))
        .expect("topic 8's daemon step")
        .clone();
    let (ok, said) = run(&runner, &step.actions);
    let cleanup = |runner: &DemoRunner| {
        runner.reset(&["lab-api".to_string()], &mut |_| {});
        runner.stop_daemon();
    };
    if !ok {
        cleanup(&runner);
        panic!("the daemon step failed:\n{said}");
    }
    assert!(said.contains("lab-api"), "docker ps shows it:\n{said}");
    let mut sampler = Sampler::new(Some(root.clone()));
    let want = Want {
        focus: Some("lab-api".into()),
        panels: [PanelKind::Api].into_iter().collect(),
        how_to_start: None,
    };
    let sample = sampler.sample(&want);
    let view = match &sample.api {
        Reading::Ready(v) => v.clone(),
        other => {
            cleanup(&runner);
            panic!("no api reading: {other:?}");
        }
    };
    // Every row is a line of the daemon's own log, in order: the last ones.
    let log = logged(&root);
    assert!(!log.is_empty(), "the daemon logged nothing");
    assert_eq!(view.requests, log[log.len().saturating_sub(40)..]);
    let has = |method: &str, part: &str, status: u16| {
        view.requests
            .iter()
            .any(|r| r.method == method && r.path.contains(part) && r.status == status)
    };
    assert!(
        has("POST", "/containers/create?name=lab-api", 201),
        "{view:#?}"
    );
    assert!(has("POST", "/start", 204), "{view:#?}");
    assert!(has("GET", "/containers/json", 200), "{view:#?}");
    // The chain, from the kernel: the daemon is the process the pid file
    // names, the shim and the container are the record's.
    let pid_of = |what: &str| {
        view.links
            .iter()
            .find(|l| l.what == what)
            .and_then(|l| l.pid)
    };
    let daemon_pid: u32 = std::fs::read_to_string(root.path.join("lab-daemon.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(pid_of("glassbox daemon"), Some(daemon_pid), "{view:#?}");
    let record = t.inspect("lab-api");
    let pid = record["State"]["Pid"].as_u64().unwrap() as u32;
    assert_eq!(pid_of("container"), Some(pid), "{view:#?}");
    assert!(pid_of("shim").is_some(), "{view:#?}");
    let socket_line = &view
        .links
        .iter()
        .find(|l| l.what == "socket")
        .unwrap()
        .detail;
    assert!(socket_line.contains("listening"), "{socket_line}");
    // A new request shows at the bottom at the next sample: the same line
    // the daemon just wrote.
    let not_there: glassbox::lab::lesson::Action = toml::from_str(
        "do = \"docker\"\nargs = [\"inspect\", \"lab-nosuch\"]\nexpect_failure = true",
    )
    .unwrap();
    let (_, said) = run(&runner, std::slice::from_ref(&not_there));
    assert!(said.contains("No such"), "{said}");
    let sample = sampler.sample(&want);
    let sample = if matches!(sample.api, Reading::Ready(ref v) if v.requests == view.requests) {
        sampler.sample(&want)
    } else {
        sample
    };
    let view = sample.api.ready().cloned().unwrap();
    let last = view.requests.last().unwrap();
    assert_eq!(Some(last), logged(&root).last());
    assert_eq!(
        (last.method.as_str(), last.status),
        ("GET", 404),
        "{last:?}"
    );
    assert!(last.path.contains("lab-nosuch"), "{last:?}");
    // The lab's end stops the daemon: its socket goes, the container stays
    // with its shim until the reset removes it.
    runner.stop_daemon();
    assert!(!root.path.join("lab-docker.sock").exists());
    assert!(t.inspect("lab-api")["State"]["Running"].as_bool().unwrap());
    cleanup(&runner);
}
