//! The demo runner's judgement, without a kernel: a step whose program is
//! not in the image does not run, and exit 127 ("not found") never passes
//! for the failure a step expects.
//!
//! The data root holds a fixture image named busybox, as glassbox assembles
//! it on a host without busybox (a few host tools, the history's fallback
//! marker); the "glassbox" the runner starts is a script that records that
//! it ran and answers as a shell does for a missing program.

mod common;

use std::path::{Path, PathBuf};

use common::TestRoot;
use glassbox::image::ImageStore;
use glassbox::image::busybox::FALLBACK_MARKER;
use glassbox::image::store::{History, ImageConfig, RootFs, RunDefaults};
use glassbox::lab::demo::{DemoEvent, DemoRunner, LineKind, LogLine};
use glassbox::lab::lesson::{Action, ActionKind};

const BUSYBOX_MESSAGE: &str = "is not in this image: install busybox-static and run `glassbox rmi busybox` so it is assembled again";

fn action(verb: ActionKind, args: &[&str], expect_failure: bool) -> Action {
    Action {
        verb: toml::Spanned::new(0..0, verb),
        args: args.iter().map(|a| a.to_string()).collect(),
        asset: None,
        tag: None,
        port: None,
        expect_failure,
    }
}

/// A busybox image with only `sh` and `sleep`, tagged in `root`'s store.
fn fallback_busybox(root: &Path) {
    let store = ImageStore::new(root);
    let diff_id = format!("sha256:{}", "ab".repeat(32));
    let bin = store.layer_diff(&diff_id).join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir bin");
    for tool in ["sh", "sleep"] {
        std::fs::write(bin.join(tool), b"").expect("write a tool");
    }
    let config = ImageConfig {
        architecture: "amd64".into(),
        os: "linux".into(),
        config: RunDefaults {
            env: vec!["PATH=/usr/sbin:/usr/bin:/sbin:/bin".into()],
            cmd: Some(vec!["sh".into()]),
            ..Default::default()
        },
        rootfs: RootFs {
            typ: "layers".into(),
            diff_ids: vec![diff_id],
        },
        history: vec![History {
            created_by: format!(
                "COPY host tools (sh sleep) and their shared libraries {FALLBACK_MARKER}"
            ),
            ..Default::default()
        }],
        ..Default::default()
    };
    let id = store.put_config(&config).expect("put config");
    store.tag("busybox:latest", &id).expect("tag");
}

/// Writes an executable script at `path` from a child process (`sh -c
/// 'cat > PATH'`), never through a descriptor of this one: a test thread
/// that forks while this process holds the file open for writing would
/// hand that descriptor to its child, and running the script would then
/// fail with ETXTBSY (Text file busy) until the child execs.
fn write_script(path: &Path, text: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new("sh")
        .args(["-c", "cat > \"$1\" && chmod 755 \"$1\"", "sh"])
        .arg(path)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("sh writes the script");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .expect("the script's text");
    assert!(
        child.wait().unwrap().success(),
        "writing {}",
        path.display()
    );
}

/// A stand-in for the glassbox binary: notes each run, then fails as
/// `sh: mount: not found` does.
fn not_found_exe(root: &Path) -> PathBuf {
    let exe = root.join("fake-glassbox");
    write_script(
        &exe,
        &format!(
            "#!/bin/sh\necho \"$@\" >> {}\necho 'sh: mount: not found' >&2\nexit 127\n",
            root.join("ran").display()
        ),
    );
    exe
}

fn run_step(root: &TestRoot, actions: &[Action]) -> (Vec<LogLine>, bool) {
    let runner = DemoRunner {
        exe: not_found_exe(root.path()),
        root: root.path().to_path_buf(),
        base: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        is_root: true,
    };
    let mut lines = Vec::new();
    let mut done = None;
    runner.run_actions(actions, &mut |e| match e {
        DemoEvent::Line(l) => lines.push(l),
        DemoEvent::Done { ok } => done = Some(ok),
        _ => {}
    });
    (lines, done.expect("the job ends with Done"))
}

fn fails_with(lines: &[LogLine], text: &str) -> bool {
    lines
        .iter()
        .any(|l| l.kind == LineKind::Fail && l.text.contains(text))
}

#[test]
fn a_program_missing_from_the_image_stops_the_step_before_it_runs() {
    let root = TestRoot::new("lab-demo-missing");
    fallback_busybox(root.path());
    let web = action(
        ActionKind::Run,
        &[
            "-d", "--name", "lab-web", "-p", "8080:80", "busybox", "httpd", "-f",
        ],
        false,
    );
    let (lines, ok) = run_step(&root, &[web]);
    assert!(!ok);
    assert!(
        fails_with(&lines, &format!("busybox's httpd {BUSYBOX_MESSAGE}")),
        "{lines:#?}"
    );
    assert!(!root.path().join("ran").exists(), "nothing was run");

    // An exec into the container the step's own run starts: checked against
    // that run's image, before the run.
    let steps = [
        action(
            ActionKind::Run,
            &["-d", "--name", "lab-root", "busybox", "sleep", "3600"],
            false,
        ),
        action(
            ActionKind::Exec,
            &[
                "lab-root",
                "sh",
                "-c",
                "for i in $(seq 3); do sleep 1; done",
            ],
            true,
        ),
    ];
    let (lines, ok) = run_step(&root, &steps);
    assert!(!ok);
    assert!(
        fails_with(&lines, &format!("busybox's seq {BUSYBOX_MESSAGE}")),
        "{lines:#?}"
    );
    assert!(!root.path().join("ran").exists(), "nothing was run");
}

#[test]
fn not_found_is_never_the_expected_failure() {
    let root = TestRoot::new("lab-demo-127");
    // No such container: the lab cannot look, so the action runs.
    let mount = action(
        ActionKind::Exec,
        &["lab-gone", "mount", "-t", "tmpfs", "none", "/tmp"],
        true,
    );
    let (lines, ok) = run_step(&root, &[mount]);
    assert!(root.path().join("ran").exists(), "the action ran");
    assert!(!ok, "{lines:#?}");
    assert!(fails_with(&lines, "exit 127 (not found)"), "{lines:#?}");
    assert!(
        !lines.iter().any(|l| l.kind == LineKind::Ok),
        "127 passed for the expected failure: {lines:#?}"
    );
}

/// The engine's "No such container" is not the kernel's refusal that a step
/// expects: topic 12's step 2 run before step 1 says to start lab-root.
#[test]
fn no_such_container_is_never_the_expected_failure() {
    let root = TestRoot::new("lab-demo-gone");
    let exe = root.path().join("fake-glassbox");
    write_script(
        &exe,
        "#!/bin/sh\necho 'Error response from daemon: No such container: lab-root' >&2\nexit 1\n",
    );
    let runner = DemoRunner {
        exe,
        root: root.path().to_path_buf(),
        base: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        is_root: true,
    };
    let mount = action(
        ActionKind::Exec,
        &["lab-root", "mount", "-t", "tmpfs", "none", "/tmp"],
        true,
    );
    let mut lines = Vec::new();
    let mut done = None;
    runner.run_actions(&[mount.clone(), mount], &mut |e| match e {
        DemoEvent::Line(l) => lines.push(l),
        DemoEvent::Done { ok } => done = Some(ok),
        _ => {}
    });
    assert_eq!(done, Some(false), "{lines:#?}");
    assert!(
        fails_with(
            &lines,
            "there is no container lab-root, so the kernel was never asked"
        ),
        "{lines:#?}"
    );
    assert!(
        !lines.iter().any(|l| l.kind == LineKind::Ok),
        "a missing container passed for the expected failure: {lines:#?}"
    );
}
