//! The lab's screens, drawn in ratatui's TestBackend from fixture data: every
//! topic at 80x24 and 120x40 (insta snapshots under tests/snapshots/), the
//! help screen, tiny areas that must not panic, and the keys' intents.
//!
//! The fixture [`Sample`] is what the sampler would read for a container
//! named lab-demo; its kernel text comes from tests/fixtures/inspect/ through
//! the same parsers the sampler uses.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use glassbox::inspect::cgroup::CgroupUsage;
use glassbox::inspect::iptables::parse_iptables_save;
use glassbox::inspect::namespaces::{Namespaces, compare_namespaces};
use glassbox::inspect::netdev::NetStats;
use glassbox::inspect::proc_status::parse_proc_status;
use glassbox::lab::demo::{BuildRun, BuildStep, DemoEvent, LineKind, LogLine};
use glassbox::lab::sample::*;
use glassbox::lab::{Lesson, check};
use glassbox::runtime::trace::Event as TraceEvent;
use glassbox::tui::{App, Effect, Event, Pane};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn lessons() -> Vec<Lesson> {
    check::load_dir(&repo().join("lessons")).expect("lessons/ loads")
}

fn fixture(path: &str) -> String {
    std::fs::read_to_string(repo().join("tests/fixtures/inspect").join(path)).expect("fixture")
}

fn ns(base: u64) -> Namespaces {
    Namespaces {
        cgroup: Some(base),
        ipc: Some(base + 1),
        mnt: Some(base + 2),
        net: Some(base + 3),
        pid: Some(base + 4),
        time: Some(4026531834),
        user: Some(4026531837),
        uts: Some(base + 5),
    }
}

/// What the sampler would read for a running container `lab-demo`.
fn fixture_sample() -> Sample {
    let host = ns(4026531835);
    let mut ctr = ns(4026532600);
    ctr.cgroup = host.cgroup;
    let nat = parse_iptables_save(&fixture("iptables/docker_and_glassbox.txt")).expect("iptables");
    let nat_rules = nat
        .table("nat")
        .map(|t| {
            t.chains
                .iter()
                .flat_map(|c| c.rules.iter())
                .filter(|r| {
                    r.chain.contains("GLASSBOX")
                        || r.target.as_deref().is_some_and(|t| t.contains("GLASSBOX"))
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let trace_steps = [
        ("engine", "create_bundle_dirs", 150_000),
        ("engine", "mount_overlay", 240_000),
        ("engine", "write_config_json", 130_000),
        ("runtime", "create_cgroup", 160_000),
        ("runtime", "clone", 730_000),
        ("init", "join_cgroup", 1_980_000),
        ("init", "pivot_root", 90_000),
        ("init", "drop_capabilities", 20_000),
        ("init", "execve", 400_000),
    ];
    let mut at = 1_000_000_000u64;
    let trace = trace_steps
        .iter()
        .map(|(actor, step, dur)| {
            let e = TraceEvent {
                actor: actor.to_string(),
                step: step.to_string(),
                detail: format!("{step} (fixture)"),
                start_ns: at,
                dur_ns: *dur,
            };
            at += dur + 50_000;
            e
        })
        .collect();
    Sample {
        seq: 42,
        container: Reading::Ready(ContainerInfo {
            name: "lab-demo".into(),
            short_id: "4d96fc1ebdf7".into(),
            status: "Up 12 seconds".into(),
            running: true,
            pid: 48213,
            image: "busybox".into(),
            exit_code: 0,
            oom_killed: false,
        }),
        namespaces: Reading::Ready(NsView {
            host: "pid 1".into(),
            rows: compare_namespaces(&host, &ctr),
        }),
        processes: Reading::Ready(ProcessesView {
            rows: vec![
                ProcRow {
                    host_pid: 48190,
                    ns_pid: None,
                    uid: 0,
                    command: "glassbox --root /var/lib/glassbox run -d --name lab-demo busybox sleep 3600".into(),
                },
                ProcRow {
                    host_pid: 48213,
                    ns_pid: Some(1),
                    uid: 0,
                    command: "sleep 3600".into(),
                },
                ProcRow {
                    host_pid: 48250,
                    ns_pid: Some(7),
                    uid: 0,
                    command: "sleep 20".into(),
                },
            ],
            host_total: 143,
        }),
        cgroup: Reading::Ready(CgroupView {
            version: 2,
            dir: "/sys/fs/cgroup/glassbox/default/4d96fc1ebdf7".into(),
            usage: CgroupUsage {
                memory_bytes: 127 << 20,
                memory_limit: Some(200 << 20),
                oom_kills: 1,
                cpu_usage_usec: 2_310_000,
                cpu_quota: Some((50_000, 100_000)),
                nr_throttled: 46,
                throttled_usec: 2_690_000,
                pids_current: 4,
                pids_max: Some(64),
            },
            memory_history: (0..60).map(|i| (i % 20) * (6 << 20)).collect(),
            cpu_percent: 48.5,
        }),
        layers: Reading::Ready(LayersView {
            image: "lab-layers:1".into(),
            lower: vec![
                LayerRow {
                    dir: "/var/lib/glassbox/layers/9b1c0a7e55d2f00e4d7c1b6e3a2f9d8c7b6a5e4d3c2b1a0f9e8d7c6b5a4f3e2d/diff".into(),
                    size: 2560,
                    created_by: "COPY app.sh /app/app.sh".into(),
                },
                LayerRow {
                    dir: "/var/lib/glassbox/layers/f9655d1e2751dd2f076180b6f828b928a7119c0066305fa4f43706df4efe1e0f/diff".into(),
                    size: 2_097_152,
                    created_by: "COPY /bin/busybox /bin/busybox # + 268 applet links".into(),
                },
            ],
            upperdir: "/var/lib/glassbox/containers/4d96fc1ebdf799192f1de8443f7a5da4dd42707d297e860ff2659bfb943156a9/upper".into(),
            empty_history: vec!["ENV GREETING=hello".into(), "CMD [\"sh\"]".into()],
        }),
        upper: Reading::Ready(UpperView {
            dir: "/var/lib/glassbox/containers/4d96fc1ebdf799192f1de8443f7a5da4dd42707d297e860ff2659bfb943156a9/upper".into(),
            entries: vec![
                UpperEntry {
                    path: "/etc/group".into(),
                    kind: UpperKind::Whiteout,
                    size: 0,
                },
                UpperEntry {
                    path: "/etc/motd".into(),
                    kind: UpperKind::CopyUp,
                    size: 84,
                },
                UpperEntry {
                    path: "/tmp/new".into(),
                    kind: UpperKind::Added,
                    size: 4,
                },
            ],
            total_bytes: 88,
        }),
        network: Reading::Ready(NetworkView {
            ifaces: vec![
                IfaceRow {
                    name: "glassbox0".into(),
                    side: "host".into(),
                    state: "up".into(),
                    peer: String::new(),
                    addresses: vec!["172.29.0.1/16".into()],
                    stats: NetStats {
                        rx_bytes: 1680,
                        rx_packets: 20,
                        tx_bytes: 2240,
                        tx_packets: 24,
                    },
                },
                IfaceRow {
                    name: "gb4d96fc1e".into(),
                    side: "host".into(),
                    state: "up".into(),
                    peer: "eth0".into(),
                    addresses: vec![],
                    stats: NetStats {
                        rx_bytes: 1960,
                        rx_packets: 22,
                        tx_bytes: 2520,
                        tx_packets: 26,
                    },
                },
                IfaceRow {
                    name: "lo".into(),
                    side: "container".into(),
                    state: String::new(),
                    peer: String::new(),
                    addresses: vec!["127.0.0.1/8".into()],
                    stats: NetStats::default(),
                },
                IfaceRow {
                    name: "eth0".into(),
                    side: "container".into(),
                    state: String::new(),
                    peer: "gb4d96fc1e".into(),
                    addresses: vec!["172.29.0.2/16".into()],
                    stats: NetStats {
                        rx_bytes: 2520,
                        rx_packets: 26,
                        tx_bytes: 1960,
                        tx_packets: 22,
                    },
                },
            ],
            routes: vec![
                "default via 172.29.0.1 dev eth0".into(),
                "172.29.0.0/16 dev eth0".into(),
            ],
        }),
        nat: Reading::Ready(nat_rules),
        security: Reading::Ready(
            parse_proc_status(&fixture("proc_status/container_init.txt")).expect("status"),
        ),
        devices: Reading::Ready(DevicesView {
            source: "/sys/fs/cgroup/devices/glassbox/default/4d96fc1ebdf7/devices.list".into(),
            lines: ["c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 136:* rwm"]
                .iter()
                .map(|l| l.to_string())
                .collect(),
        }),
        trace: Reading::Ready(trace),
        chain: Reading::Ready(vec![
            ChainRow {
                pid: 48213,
                comm: "sleep".into(),
                command: "sleep 3600".into(),
                role: "the container's main process: PID 1 inside".into(),
            },
            ChainRow {
                pid: 48190,
                comm: "glassbox-shim".into(),
                command: "glassbox run -d --name lab-demo busybox sleep 3600".into(),
                role: "glassbox's shim".into(),
            },
            ChainRow {
                pid: 1,
                comm: "systemd".into(),
                command: "/sbin/init".into(),
                role: "the host's init".into(),
            },
        ]),
        bundle: Reading::Ready(vec![
            "ociVersion: 1.0.2".into(),
            "process.args: sleep 3600".into(),
            "linux.namespaces: pid, ipc, uts, mount, network".into(),
        ]),
        dataroot: Reading::Ready(vec![
            TreeRow {
                depth: 0,
                name: "/var/lib/glassbox".into(),
                bytes: 9_700_000,
                is_dir: true,
            },
            TreeRow {
                depth: 1,
                name: "containers".into(),
                bytes: 5_400_000,
                is_dir: true,
            },
            TreeRow {
                depth: 2,
                name: "4d96fc1ebdf7 (lab-demo)".into(),
                bytes: 5_300_000,
                is_dir: true,
            },
            TreeRow {
                depth: 1,
                name: "layers".into(),
                bytes: 4_200_000,
                is_dir: true,
            },
        ]),
        api: Reading::Absent,
        lab_running: Vec::new(),
        lab_stopped: Vec::new(),
    }
}

/// An app at `topic` (1-based) with the fixture sample, demo output and builds.
fn app_at(topic: usize) -> App {
    let mut app = App::new(lessons(), topic - 1, true);
    app.handle(Event::Sample(Box::new(fixture_sample())));
    for line in [
        LogLine::new(
            LineKind::Command,
            "$ glassbox run -d --name lab-demo busybox sleep 3600",
        ),
        LogLine::new(
            LineKind::Out,
            "4d96fc1ebdf799192f1de8443f7a5da4dd42707d297e860ff2659bfb943156a9",
        ),
        LogLine::new(LineKind::Ok, "exit 0 (31 ms)"),
    ] {
        app.handle(Event::Demo(DemoEvent::Line(line)));
    }
    app.handle(Event::Demo(DemoEvent::PlainMs(0.92)));
    for (tag, cached) in [("lab-cache:1", false), ("lab-cache:2", true)] {
        app.handle(Event::Demo(DemoEvent::Build(BuildRun {
            tag: tag.into(),
            steps: vec![
                BuildStep {
                    instruction: "FROM busybox".into(),
                    cached: false,
                    ms: 3.0,
                },
                BuildStep {
                    instruction: "RUN sleep 2 && echo \"dependencies installed\" > /deps".into(),
                    cached,
                    ms: if cached { 4.0 } else { 2012.0 },
                },
                BuildStep {
                    instruction: "COPY app.sh /app.sh".into(),
                    cached: false,
                    ms: 9.0,
                },
            ],
            total_ms: if cached { 40.0 } else { 2051.0 },
            ok: true,
        })));
    }
    app
}

fn draw(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    terminal
        .draw(|f| f.render_widget(app, f.area()))
        .expect("draw");
    terminal
}

#[test]
fn every_topic_at_80x24_and_120x40() {
    let n = lessons().len();
    assert_eq!(n, 20);
    for topic in 1..=n {
        let app = app_at(topic);
        for (w, h) in [(80, 24), (120, 40)] {
            let terminal = draw(&app, w, h);
            insta::assert_snapshot!(format!("topic{topic:02}_{w}x{h}"), terminal.backend());
        }
    }
}

#[test]
fn help_and_output_views() {
    let mut app = app_at(4);
    app.on_key(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE));
    assert!(app.help);
    insta::assert_snapshot!("help_120x40", draw(&app, 120, 40).backend());
    // At 80x24 one column; arrows scroll it down to the panels.
    insta::assert_snapshot!("help_80x24", draw(&app, 80, 24).backend());
    app.on_key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
    app.on_key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
    app.on_key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
    assert!(app.help, "arrows scroll the help");
    let scrolled = draw(&app, 80, 24).backend().to_string();
    assert!(scrolled.contains("Panels that read"), "{scrolled}");
    app.on_key(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE));
    assert!(!app.help, "any key closes help");
    app.on_key(KeyEvent::new(KeyCode::Char('o'), KeyModifiers::NONE));
    insta::assert_snapshot!("output_view_80x24", draw(&app, 80, 24).backend());
}

#[test]
fn help_says_which_panels_read_the_kernel_and_which_glassboxs_records() {
    let mut app = app_at(4);
    app.on_key(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE));
    let screen = draw(&app, 120, 40).backend().to_string();
    let lines: Vec<&str> = screen.lines().collect();
    let at = |heading: &str| {
        lines
            .iter()
            .position(|l| l.contains(heading))
            .unwrap_or_else(|| panic!("no heading {heading:?}:\n{screen}"))
    };
    let kernel = at("Panels that read the kernel now");
    let records = at("Panels that read glassbox's records");
    let demo = at("Demo actions");
    let listed = |from: usize, to: usize, panel: &str| {
        lines[from + 1..to]
            .iter()
            .any(|l| l.contains(&format!("  {panel} ")))
    };
    for panel in ["timeline", "bundle", "build", "trace"] {
        assert!(listed(records, demo, panel), "{panel}:\n{screen}");
        assert!(!listed(kernel, records, panel), "{panel}:\n{screen}");
    }
    for panel in ["namespaces", "cgroup", "network", "chain"] {
        assert!(listed(kernel, records, panel), "{panel}:\n{screen}");
    }
}

#[test]
fn the_screens_show_the_sampled_values() {
    // Values, not just layout: the host PID, the limit, a DNAT counter.
    let screen = |topic, w, h| draw(&app_at(topic), w, h).backend().to_string();
    assert!(screen(1, 120, 40).contains("48213"));
    assert!(screen(4, 80, 24).contains("127.0 MiB of 200.0 MiB"));
    let nat = screen(11, 120, 40);
    assert!(nat.contains("DNAT"), "{nat}");
    // Each interface with its own address: the bridge's gateway, loopback's, eth0's.
    let net = screen(10, 120, 40);
    for (iface, address) in [
        ("glassbox0", "172.29.0.1/16"),
        ("lo", "127.0.0.1/8"),
        ("eth0", "172.29.0.2/16"),
    ] {
        assert!(
            net.lines()
                .any(|l| l.contains(&format!(" {iface} ")) && l.contains(address)),
            "{iface} with {address}:\n{net}"
        );
    }
}

#[test]
fn tiny_areas_do_not_panic() {
    let n = lessons().len();
    for topic in 1..=n {
        let mut app = app_at(topic);
        let steps = app.lesson().map_or(1, |l| l.step.len());
        for step in 0..steps {
            app.step = step;
            for (w, h) in [
                (0, 0),
                (1, 1),
                (3, 2),
                (10, 3),
                (19, 5),
                (20, 6),
                (30, 8),
                (45, 12),
                (79, 23),
                (200, 7),
                (7, 200),
            ] {
                draw(&app, w, h);
            }
            app.help = true;
            draw(&app, 25, 9);
            app.help = false;
        }
    }
}

#[test]
fn panels_say_why_they_are_empty() {
    let mut app = App::new(lessons(), 3, true);
    app.handle(Event::Sample(Box::new(Sample {
        seq: 1,
        container: Reading::Missing(
            "no container lab-capped yet: press Enter to run this step's demo".into(),
        ),
        ..Sample::default()
    })));
    let screen = draw(&app, 120, 40).backend().to_string();
    assert!(screen.contains("no container lab-capped yet"), "{screen}");
}

/// A step without the demo that starts its container says which step has
/// it (not "press Enter", which would run this step's own actions, or none).
#[test]
fn a_missing_container_names_the_step_that_starts_it() {
    let lessons = lessons();
    let at = lessons
        .iter()
        .position(|l| l.topic() == 3)
        .expect("topic 3");
    let mut app = App::new(lessons, at, true);
    // Step 1 starts lab-ns: its own Enter does.
    assert_eq!(app.want().focus.as_deref(), Some("lab-ns"));
    assert_eq!(app.want().how_to_start, None);
    // Step 2 has no demo, step 3's execs into lab-ns: both point back.
    for step in [2, 3] {
        app.handle(Event::Key(key(KeyCode::Down)));
        assert_eq!(
            app.current_step().map(|_| app.want().focus),
            Some(Some("lab-ns".into()))
        );
        assert_eq!(
            app.want().how_to_start.as_deref(),
            Some("step 1's demo starts it (↑ to that step, then Enter)"),
            "step {step}"
        );
    }
    // The sampler puts it into the panels' message.
    let dir = std::env::temp_dir().join(format!("glassbox-test-howto-{}", std::process::id()));
    let root = glassbox::engine::DataRoot::open(&dir).expect("data root");
    let mut sampler = glassbox::lab::sampler::Sampler::new(Some(root));
    let sample = sampler.sample(&app.want());
    let _ = std::fs::remove_dir_all(&dir);
    match sample.container {
        Reading::Missing(m) => assert_eq!(
            m,
            "no container lab-ns yet: step 1's demo starts it (↑ to that step, then Enter)"
        ),
        other => panic!("{other:?}"),
    }
}

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

#[test]
fn keys_map_to_intents() {
    let mut app = App::new(lessons(), 0, true);
    app.on_key(key(KeyCode::Right));
    assert_eq!(app.topic, 1);
    app.on_key(key(KeyCode::Char('l')));
    assert_eq!(app.topic, 2);
    app.on_key(key(KeyCode::Char('h')));
    app.on_key(key(KeyCode::Left));
    app.on_key(key(KeyCode::Left));
    assert_eq!(app.topic, 0, "stops at the first topic");
    app.on_key(key(KeyCode::Char('G')));
    assert_eq!(app.topic, 19);
    app.on_key(key(KeyCode::Char('g')));
    app.on_key(key(KeyCode::Down));
    assert_eq!(app.step, 1);
    app.on_key(key(KeyCode::Char('j')));
    assert_eq!(app.step, 1, "topic 1 has two steps");
    app.on_key(key(KeyCode::Char('k')));
    assert_eq!(app.step, 0);

    // Enter asks the runner to run the step's actions, once at a time.
    let effects = app.on_key(key(KeyCode::Enter));
    assert!(
        matches!(effects.as_slice(), [Effect::RunActions(a)] if a[0].verb() == glassbox::lab::lesson::ActionKind::Run)
    );
    assert!(app.busy);
    assert!(app.on_key(key(KeyCode::Enter)).is_empty());
    app.handle(Event::Demo(DemoEvent::Started("lab-sleeper".into())));
    app.handle(Event::Demo(DemoEvent::Done { ok: true }));
    assert!(!app.busy);
    assert_eq!(app.want().focus.as_deref(), Some("lab-sleeper"));
    assert!(
        app.want()
            .panels
            .contains(&glassbox::lab::lesson::PanelKind::Processes)
    );

    // t runs the try-it commands beside the focused container.
    let effects = app.on_key(key(KeyCode::Char('t')));
    assert!(
        matches!(effects.as_slice(), [Effect::RunTry { focus: Some(f), .. }] if f == "lab-sleeper")
    );
    app.handle(Event::Demo(DemoEvent::Done { ok: true }));

    // r resets, q and Ctrl-C quit.
    assert_eq!(app.on_key(key(KeyCode::Char('r'))), vec![Effect::Reset]);
    app.handle(Event::Demo(DemoEvent::Done { ok: true }));
    assert_eq!(app.on_key(key(KeyCode::Char('q'))), vec![Effect::Quit]);
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(app.on_key(ctrl_c), vec![Effect::Quit]);
}

#[test]
fn c_sends_a_request_only_where_a_port_is_published() {
    let mut app = App::new(lessons(), 10, true);
    assert_eq!(
        app.on_key(key(KeyCode::Char('c'))),
        vec![Effect::Curl(8080)]
    );
    let mut app = App::new(lessons(), 0, true);
    assert!(app.on_key(key(KeyCode::Char('c'))).is_empty());
    assert!(app.log.iter().any(|l| l.text.contains("topic (11)")));
}

#[test]
fn a_missing_feature_is_one_line_and_the_demo_does_not_run() {
    let mut app = App::new(lessons(), 10, true);
    app.missing.insert(
        "publish".into(),
        "this glassbox cannot publish ports yet".into(),
    );
    assert!(app.on_key(key(KeyCode::Enter)).is_empty());
    assert!(
        app.log
            .iter()
            .any(|l| l.kind == LineKind::Fail && l.text.contains("publish"))
    );
    let screen = draw(&app, 80, 24).backend().to_string();
    assert!(screen.contains("cannot publish ports yet"), "{screen}");
}

#[test]
fn without_root_the_lessons_read_and_demos_say_why_not() {
    let app = App::new(lessons(), 0, false);
    let screen = draw(&app, 120, 40).backend().to_string();
    assert!(screen.contains("demos need root"), "{screen}");
    assert!(screen.contains("A container is an ordinary Linux process"));
}

/// A real `glassbox run -d` trace (cgroup v1, bridge network): 61 steps.
fn run_trace() -> Vec<TraceEvent> {
    let text = std::fs::read_to_string(repo().join("tests/fixtures/lab/run_trace.jsonl"))
        .expect("tests/fixtures/lab/run_trace.jsonl");
    glassbox::runtime::trace::Trace::from_json_lines(&text).events
}

/// Tab until `pane` has the focus.
fn focus(app: &mut App, pane: Pane) {
    for _ in 0..12 {
        if app.pane == pane {
            return;
        }
        app.on_key(key(KeyCode::Tab));
    }
    panic!("Tab never focused {pane:?}; at {:?}", app.pane);
}

/// Each screen `k` shows, from this one until the screen stops changing.
fn pages(app: &mut App, w: u16, h: u16, k: KeyCode) -> Vec<String> {
    let mut out: Vec<String> = vec![draw(app, w, h).backend().to_string()];
    for _ in 0..100 {
        app.on_key(key(k));
        let s = draw(app, w, h).backend().to_string();
        if out.last() == Some(&s) {
            return out;
        }
        out.push(s);
    }
    panic!("{k:?} never stopped");
}

/// An app at `topic`, `step` (both 1-based) on a `w`x`h` terminal, with the
/// real run trace in its sample.
fn app_sized(topic: usize, step: usize, w: u16, h: u16) -> App {
    let mut app = app_at(topic);
    app.handle(Event::Resize(w, h));
    app.handle(Event::Sample(Box::new(Sample {
        trace: Reading::Ready(run_trace()),
        ..fixture_sample()
    })));
    for _ in 1..step {
        app.on_key(key(KeyCode::Down));
    }
    app
}

#[test]
fn topic2_trace_scrolls_to_every_event() {
    let events = run_trace();
    assert_eq!(events.len(), 61);
    for (w, h) in [(80, 24), (120, 40)] {
        let mut app = app_sized(2, 2, w, h);
        let first = draw(&app, w, h).backend().to_string();
        // Unfocused, the panel says that more follows and which key.
        assert!(first.contains(" of ") && first.contains("· Tab"), "{first}");
        focus(&mut app, Pane::Panel(0));
        let seen = pages(&mut app, w, h, KeyCode::PageDown);
        assert!(seen.len() > 3, "{w}x{h}: {} pages", seen.len());
        let all = seen.join("\n");
        for e in &events {
            assert!(all.contains(&e.step), "{w}x{h}: {} never shown", e.step);
        }
        let last = seen.last().expect("a page");
        assert!(last.contains("save_state"), "{last}");
        assert!(!last.contains("seal "), "the first event has scrolled away");
        insta::assert_snapshot!(format!("topic02_trace_end_{w}x{h}"), last);
        // PgUp goes back to the first event.
        let back = pages(&mut app, w, h, KeyCode::PageUp);
        let top = back.last().expect("a page");
        assert!(top.contains("seal "), "{top}");
        assert!(top.contains(" 1-"), "{top}");
    }
}

#[test]
fn topic7_timeline_reaches_the_isolation_phases() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut app = app_sized(7, 1, w, h);
        let first = draw(&app, w, h).backend().to_string();
        assert!(!first.contains("install_seccomp"), "{w}x{h}: fits already?");
        focus(&mut app, Pane::Panel(0));
        let seen = pages(&mut app, w, h, KeyCode::PageDown);
        let all = seen.join("\n");
        for phase in [
            "clone",
            "join_cgroup",
            "set_hostname",
            "mount_proc",
            "pivot_root",
            "install_seccomp",
            "drop_privileges",
            "plain process (true)",
        ] {
            assert!(all.contains(phase), "{w}x{h}: {phase} never shown");
        }
        insta::assert_snapshot!(
            format!("topic07_timeline_end_{w}x{h}"),
            seen.last().expect("a page")
        );
    }
}

#[test]
fn topic19_output_ends_with_the_fields_and_scrolls_to_the_record() {
    let json = std::fs::read_to_string(repo().join("tests/fixtures/lab/inspect_oom.json"))
        .expect("tests/fixtures/lab/inspect_oom.json");
    for (w, h) in [(80, 24), (120, 40)] {
        let mut app = app_sized(19, 2, w, h);
        app.log.clear();
        let mut lines = vec![
            LogLine::new(
                LineKind::Command,
                "$ glassbox run --name lab-oom -m 32m busybox sh -c 'head -c 200m /dev/zero | tail >/dev/null'",
            ),
            LogLine::new(LineKind::Ok, "exit 137, as expected (412 ms)"),
            LogLine::new(LineKind::Command, "$ glassbox inspect lab-oom"),
        ];
        lines.extend(json.lines().map(|l| LogLine::new(LineKind::Out, l)));
        lines.extend([
            LogLine::new(LineKind::Ok, "exit 0 (9 ms)"),
            LogLine::new(
                LineKind::Command,
                "$ glassbox inspect -f 'OOMKilled={{.State.OOMKilled}} ExitCode={{.State.ExitCode}}' lab-oom",
            ),
            LogLine::new(LineKind::Out, "OOMKilled=true ExitCode=137"),
            LogLine::new(LineKind::Ok, "exit 0 (8 ms)"),
        ]);
        for l in lines {
            app.handle(Event::Demo(DemoEvent::Line(l)));
        }
        let s = draw(&app, w, h).backend().to_string();
        assert!(s.contains("OOMKilled=true ExitCode=137"), "{w}x{h}:\n{s}");
        insta::assert_snapshot!(format!("topic19_oom_{w}x{h}"), s);
        focus(&mut app, Pane::Output);
        let up = pages(&mut app, w, h, KeyCode::PageUp);
        let all = up.join("\n");
        for field in [
            "\"OOMKilled\": true",
            "\"ExitCode\": 137",
            "\"Memory\": 33554432",
        ] {
            assert!(all.contains(field), "{w}x{h}: {field} never shown");
        }
        assert!(
            up.last()
                .expect("a page")
                .contains("$ glassbox run --name lab-oom")
        );
    }
}

#[test]
fn tab_focuses_each_pane_and_a_tabbed_panel_comes_to_the_front() {
    // Topic 2's first step at 80x24: four panels, one shown at a time.
    let mut app = app_sized(2, 1, 80, 24);
    assert_eq!(app.pane, Pane::Text);
    let mut order = vec![app.pane];
    for _ in 0..6 {
        app.on_key(key(KeyCode::Tab));
        order.push(app.pane);
    }
    assert_eq!(
        order,
        vec![
            Pane::Text,
            Pane::Output,
            Pane::Panel(0),
            Pane::Panel(1),
            Pane::Panel(2),
            Pane::Panel(3),
            Pane::Text
        ]
    );
    app.on_key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT));
    assert_eq!(app.pane, Pane::Panel(3));
    let s = draw(&app, 80, 24).backend().to_string();
    // The focused panel is shown, in a thick frame.
    assert!(s.contains("┏ security"), "{s}");
    // A new step starts at the text, scrolled to the top.
    app.on_key(key(KeyCode::Down));
    assert_eq!(app.pane, Pane::Text);
    assert_eq!(app.panel_scroll(0), 0);
}

#[test]
fn topic7_timeline_ends_with_the_starts_timed_live() {
    use glassbox::lab::starts::StartTime;
    let start = |who: &str, ms| StartTime {
        who: who.into(),
        ms,
        runs: 5,
    };
    let timed = vec![
        start("plain process", 0.91),
        start("kernel floor", 2.13),
        start("glassbox", 11.37),
        start("crun", 14.52),
        start("runc", 31.08),
    ];
    for (w, h) in [(80, 24), (120, 40)] {
        let mut app = app_sized(7, 1, w, h);
        app.handle(Event::Demo(DemoEvent::Starts(timed.clone())));
        focus(&mut app, Pane::Panel(0));
        let seen = pages(&mut app, w, h, KeyCode::PageDown);
        let last = seen.last().expect("a page");
        assert!(last.contains("timed just now"), "{w}x{h}: {last}");
        for s in &timed {
            let line = format!("{:<22} {:>7.2} ms █", format!("{} (×5)", s.who), s.ms);
            assert!(last.contains(&line), "{w}x{h}: {line}:\n{last}");
        }
        insta::assert_snapshot!(format!("topic07_timeline_starts_{w}x{h}"), last);
    }
}

/// Topic 12, step 2 after Enter: its three refused calls and the kernel's
/// three errors all show, at 80x24 as at 120x40, for a student and in
/// presenter mode.
#[test]
fn topic12_step2_shows_the_three_kernel_errors() {
    let lines = [
        (
            LineKind::Command,
            "$ glassbox run -d --name lab-root busybox sleep 3600",
        ),
        (
            LineKind::Out,
            "1b2ac5f7d9e04c43d1a6f1f1e0d6d0b8b1ae2f1cd2c15e37f3f0b3e4e2d1c0aa",
        ),
        (LineKind::Ok, "exit 0 (31 ms)"),
        (
            LineKind::Command,
            "$ glassbox exec lab-root mount -t tmpfs none /tmp",
        ),
        (LineKind::Err, "mount: permission denied (are you root?)"),
        (LineKind::Ok, "exit 1: failed, as this step expects (21 ms)"),
        (
            LineKind::Command,
            "$ glassbox exec lab-root sh -c 'echo evil > /proc/sys/kernel/hostname'",
        ),
        (
            LineKind::Err,
            "sh: can't create /proc/sys/kernel/hostname: Read-only file system",
        ),
        (LineKind::Ok, "exit 1: failed, as this step expects (6 ms)"),
        (
            LineKind::Command,
            "$ glassbox exec lab-root unshare -U true",
        ),
        (
            LineKind::Err,
            "unshare: unshare(0x10000000): Operation not permitted",
        ),
        (LineKind::Ok, "exit 1: failed, as this step expects (13 ms)"),
    ];
    for (w, h, present) in [
        (80, 24, false),
        (120, 40, false),
        (80, 24, true),
        (120, 40, true),
    ] {
        let mut app = app_sized(12, 2, w, h);
        app.present = present;
        app.log.clear();
        let effects = app.on_key(key(KeyCode::Enter));
        assert!(
            matches!(effects.as_slice(), [Effect::RunActions(_)]),
            "{effects:?}"
        );
        for (kind, text) in lines {
            app.handle(Event::Demo(DemoEvent::Line(LogLine::new(kind, text))));
        }
        app.handle(Event::Demo(DemoEvent::Done { ok: true }));
        let s = draw(&app, w, h).backend().to_string();
        for error in [
            "mount: permission denied",
            "Read-only file system",
            "Operation not permitted",
        ] {
            assert!(
                s.contains(error),
                "{w}x{h} (present: {present}): {error} hidden:\n{s}"
            );
        }
        let mode = if present { "_present" } else { "" };
        insta::assert_snapshot!(format!("topic12_errors{mode}_{w}x{h}"), s);
    }
}

/// At 80x24 a try's output keeps three lines when another pane has the
/// focus, and the panels keep theirs.
#[test]
fn at_80x24_an_unfocused_try_shows_three_lines() {
    let mut app = app_sized(3, 2, 80, 24);
    app.handle(Event::Demo(DemoEvent::Try(
        glassbox::lab::demo::TryOutput {
            host: vec![
                LogLine::new(LineKind::Command, "$ hostname"),
                LogLine::new(LineKind::Out, "vm"),
            ],
            inside: vec![
                LogLine::new(LineKind::Command, "# hostname"),
                LogLine::new(LineKind::Out, "lab-host"),
                LogLine::new(LineKind::Command, "# cat /proc/sys/kernel/hostname"),
                LogLine::new(LineKind::Out, "lab-host"),
            ],
        },
    )));
    focus(&mut app, Pane::Text);
    let l = glassbox::tui::view::layout(&app, ratatui::layout::Rect::new(0, 0, 80, 24));
    let out = l.output.expect("the try's pane");
    assert!(out.height >= 5, "three lines inside its frame: {out:?}");
    let s = draw(&app, 80, 24).backend().to_string();
    assert!(s.contains("lab-host") && s.contains("vm"), "{s}");
    assert!(s.contains("# cat /proc/sys/kernel/hostname"), "{s}");
    let panel = l.panels.first().expect("a panel").1;
    assert!(panel.height >= 7, "{panel:?}");
}

/// The help at 80 columns starts with the panels on screen and what they
/// read; the keys and the full list follow.
#[test]
fn help_at_80_columns_keeps_the_panels_on_screen() {
    let mut app = app_sized(8, 1, 80, 24);
    app.on_key(key(KeyCode::Char('?')));
    let s = draw(&app, 80, 24).backend().to_string();
    assert!(s.contains("Panels on this screen"), "{s}");
    assert!(s.contains("chain"), "{s}");
    assert!(s.contains("the kernel, now"), "{s}");
    assert!(s.contains("Keys"), "{s}");
}

/// `$COLUMNS` for a try's host commands is the width their side of the
/// output shows: a `diff -y -W "$COLUMNS"` line (topic 17) never wraps.
#[test]
fn a_trys_columns_are_the_width_its_side_shows() {
    use ratatui::layout::Rect;
    for (w, h) in [(80, 24), (120, 40)] {
        let mut app = app_sized(17, 1, w, h);
        let area = Rect::new(0, 0, w, h);
        let effects = app.on_key(key(KeyCode::Char('t')));
        let Some(Effect::RunTry { columns, .. }) = effects.first() else {
            panic!("t runs the try: {effects:?}");
        };
        let line = "x".repeat(*columns as usize);
        app.handle(Event::Demo(DemoEvent::Try(
            glassbox::lab::demo::TryOutput {
                host: vec![LogLine::new(LineKind::Out, line.clone())],
                inside: Vec::new(),
            },
        )));
        let s = draw(&app, w, h).backend().to_string();
        assert!(
            s.lines().any(|l| l.contains(&line)),
            "{w}x{h}: a line of $COLUMNS={columns} wraps:\n{s}"
        );
        let out = glassbox::tui::view::layout(&app, area)
            .output
            .expect("output");
        assert!(*columns + 2 >= out.width, "{w}x{h}: {columns} for {out:?}");
    }
}
