//! The lessons' "try it yourself" (t), run for real: each step's demo, then
//! its host and inside commands, as the lab runs them (DemoRunner, this
//! glassbox first on $PATH, $PID/$CONTAINER/$GLASSBOX_ROOT/$ASSETS set).
//! Each test checks that the screen shows what its text says it shows.

mod common;

use std::path::PathBuf;

use common::{TestRoot, have_root};
use glassbox::lab::demo::{DemoEvent, DemoRunner, LineKind, LogLine, TryJob};
use glassbox::lab::{Lesson, check};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn lesson(topic: u32) -> Lesson {
    check::load_dir(&repo().join("lessons"))
        .expect("lessons/ loads")
        .into_iter()
        .find(|l| *l.topic.get_ref() == topic)
        .expect("the topic")
}

fn runner(root: &TestRoot) -> DemoRunner {
    DemoRunner {
        exe: PathBuf::from(env!("CARGO_BIN_EXE_glassbox")),
        root: root.path.clone(),
        base: repo(),
        is_root: true,
    }
}

/// Runs the demos of `topic`'s steps up to `step_id`, in order, then that
/// step's try; returns the host and inside output as text.
fn try_step(root: &TestRoot, topic: u32, step_id: &str) -> (String, String) {
    let lesson = lesson(topic);
    let runner = runner(root);
    let at = lesson
        .step
        .iter()
        .position(|s| s.id.get_ref() == step_id)
        .expect("the step");
    for step in &lesson.step[..=at] {
        let mut failed = Vec::new();
        runner.run_actions(&step.actions, &mut |e| {
            if let DemoEvent::Line(l) = e
                && l.kind == LineKind::Fail
            {
                failed.push(l.text);
            }
        });
        assert!(failed.is_empty(), "step {}: {failed:?}", step.id.get_ref());
    }
    let step = &lesson.step[at];
    let focus = step.focus.as_ref().map(|f| f.get_ref().clone());
    let pid = focus.as_ref().map(|f| {
        root.ok(&["inspect", "-f", "{{.State.Pid}}", f])
            .trim()
            .parse::<u32>()
            .expect("a pid")
    });
    let mut out = None;
    runner.run_try(
        &TryJob {
            host: &step.try_host,
            inside: &step.try_inside,
            focus: focus.as_deref(),
            pid,
            columns: 100,
        },
        &mut |e| {
            if let DemoEvent::Try(t) = e {
                out = Some(t);
            }
        },
    );
    let t = out.expect("a try result");
    let text = |lines: &[LogLine]| {
        lines
            .iter()
            .map(|l| format!("{}\n", l.text))
            .collect::<String>()
    };
    (text(&t.host), text(&t.inside))
}

/// Topic 3: the queue made inside is in the container's /dev/mqueue, seen
/// from the host through its root, and not among the host's own queues.
#[test]
fn topic3_ipc_step_shows_a_queue_the_host_namespace_lacks() {
    if !have_root("topic3_ipc_step_shows_a_queue_the_host_namespace_lacks") {
        return;
    }
    let root = TestRoot::new("try-ipc");
    let (host, inside) = try_step(&root, 3, "ipc");
    assert!(inside.contains("lab-queue"), "{inside}");
    assert!(inside.contains("QSIZE:0"), "{inside}");
    let mut parts = host.split("$ unshare");
    let through_root = parts.next().unwrap_or_default();
    let host_ns = parts.next().expect("the host namespace's listing");
    assert!(through_root.contains("lab-queue"), "{host}");
    assert!(!host_ns.contains("lab-queue"), "{host}");
    assert!(host_ns.contains("(the host IPC namespace:"), "{host}");
}

/// Topic 6: the mountinfo line shown is the container's root mount alone
/// (one line, mount point /, overlay), the upper dir has the whiteout, the
/// image's layer still has group.
#[test]
fn topic6_try_selects_the_root_mount_and_shows_upper_against_lower() {
    if !have_root("topic6_try_selects_the_root_mount_and_shows_upper_against_lower") {
        return;
    }
    let root = TestRoot::new("try-cow");
    let (host, _) = try_step(&root, 6, "change");
    let blocks: Vec<&str> = host.split("$ ").collect();
    // blocks[0] is empty; then one block per command.
    let mount = blocks[1];
    let lines: Vec<&str> = mount.lines().skip(1).collect();
    assert_eq!(lines.len(), 1, "one root mount: {mount}");
    assert!(lines[0].starts_with("mount ID "), "{mount}");
    assert!(
        lines[0].contains(" / / ") && lines[0].contains("overlay"),
        "{mount}"
    );
    let upper = blocks[2];
    assert!(
        upper
            .lines()
            .any(|l| l.starts_with('c') && l.contains("0,") && l.ends_with(" group")),
        "whiteout in the upper dir: {upper}"
    );
    assert!(upper.lines().any(|l| l.ends_with(" motd")), "{upper}");
    let lower = blocks[3];
    assert!(lower.contains("/etc/group"), "{lower}");
    assert!(
        !lower.contains("changed"),
        "the image's motd is unchanged: {lower}"
    );
}

/// Topic 9: runc runs lab-bundle's config.json; both sides print the same
/// hostname and seccomp mode, and the cgroups differ.
#[test]
fn topic9_runc_runs_the_bundle_beside_the_container() {
    if !have_root("topic9_runc_runs_the_bundle_beside_the_container") {
        return;
    }
    let root = TestRoot::new("try-runc");
    let (host, inside) = try_step(&root, 9, "bundle");
    let have = |tool: &str| !common::sh(&format!("command -v {tool}")).trim().is_empty();
    if !have("runc") || !have("jq") {
        assert!(host.contains("is not installed"), "{host}");
        assert!(host.contains("apt-get install"), "{host}");
        if std::env::var_os("CI").is_some() {
            panic!("runc or jq is not installed; .ci/run installs them");
        }
        return;
    }
    assert!(host.contains("(runc exit 0)"), "{host}");
    let hostname = inside.lines().nth(1).expect("hostname inside");
    assert!(
        host.lines().any(|l| l == hostname),
        "runc's container has lab-bundle's hostname {hostname}: {host}"
    );
    assert!(
        host.contains("Seccomp:    2") || host.contains("Seccomp:\t2"),
        "{host}"
    );
    assert!(
        inside.contains("Seccomp:    2") || inside.contains("Seccomp:\t2"),
        "{inside}"
    );
    assert!(
        host.contains("/glassbox-lab-runc-"),
        "runc's own cgroup: {host}"
    );
    assert!(!inside.contains("glassbox-lab-runc"), "{inside}");
}

/// Topic 17: the two Dockerfiles side by side, bad-1's COPY . . against
/// good-1's COPY deps.txt.
#[test]
fn topic17_try_shows_the_two_dockerfiles_side_by_side() {
    let root = TestRoot::new("try-order");
    let lesson = lesson(17);
    let step = lesson
        .step
        .iter()
        .find(|s| s.id.get_ref() == "bad")
        .expect("step bad");
    let mut out = None;
    runner(&root).run_try(
        &TryJob {
            host: &step.try_host,
            inside: &step.try_inside,
            focus: None,
            pid: None,
            columns: 90,
        },
        &mut |e| {
            if let DemoEvent::Try(t) = e {
                out = Some(t);
            }
        },
    );
    let host: Vec<String> = out
        .expect("a try")
        .host
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert!(
        host.iter()
            .any(|l| l.contains("COPY . .") && l.contains('|') && l.contains("COPY deps.txt")),
        "{host:#?}"
    );
    assert!(
        host.iter()
            .filter(|l| !l.starts_with("$ "))
            .all(|l| l.chars().count() <= 90),
        "the output fits $COLUMNS: {host:#?}"
    );
}
