//! Helpers for the exercise tests: `glassbox check` against the repository's
//! lessons, with a progress file inside the test's own data root.
#![allow(dead_code)]

use crate::common::TestRoot;
use std::path::PathBuf;
use std::process::{Command, Output};

pub fn lessons_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("lessons")
}

/// `glassbox --root ROOT ARGS…` with the repository's lessons and a private progress file.
pub fn gb(root: &TestRoot, args: &[&str]) -> Command {
    let mut c = root.cmd(args);
    c.env("GLASSBOX_LESSONS", lessons_dir())
        .env("GLASSBOX_PROGRESS", root.path.join("progress.toml"))
        .env_remove("SUDO_USER");
    c
}

pub fn run(root: &TestRoot, args: &[&str]) -> Output {
    gb(root, args).output().expect("run glassbox")
}

/// Grades one exercise as JSON; returns (exit code, the exercise's entry).
pub fn grade(root: &TestRoot, id: &str) -> (i32, serde_json::Value) {
    let out = run(root, &["check", id, "--format", "json"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "check {id}: not JSON ({e}):\n{text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let entry = doc["exercises"][0].clone();
    assert_eq!(entry["id"], id, "{doc:#}");
    (out.status.code().unwrap_or(-1), entry)
}

/// Asserts the exercise fails with a message containing every one of `parts`.
pub fn assert_fails(root: &TestRoot, id: &str, parts: &[&str]) {
    let (code, e) = grade(root, id);
    assert_eq!(code, 1, "check {id} must exit 1 on a fail: {e:#}");
    assert_eq!(e["status"], "fail", "{e:#}");
    let msg = e["message"].as_str().unwrap_or_default();
    for p in parts {
        assert!(msg.contains(p), "check {id}: reason {msg:?} lacks {p:?}");
    }
}

pub fn assert_passes(root: &TestRoot, id: &str) -> String {
    let (code, e) = grade(root, id);
    assert_eq!(e["status"], "pass", "check {id} must pass: {e:#}");
    assert_eq!(code, 0, "check {id} must exit 0 on a pass: {e:#}");
    e["message"].as_str().unwrap_or_default().to_string()
}

/// True when this glassbox publishes ports (`run -p`). Without it, the
/// networking exercises cannot pass: said loudly, and a failure in CI.
pub fn have_publish(test: &str) -> bool {
    let out = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(["run", "--help"])
        .output()
        .expect("glassbox run --help");
    if String::from_utf8_lossy(&out.stdout).contains("--publish") {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test} needs port publishing (glassbox run -p), and CI must run it");
    }
    eprintln!("SKIPPED {test}: this glassbox has no `run -p` yet (port publishing)");
    false
}

/// Serialises the tests that publish host port 8081 (a host-wide resource),
/// across test binaries: an exclusive flock on a file in /tmp.
pub fn port_8081_lock() -> nix::fcntl::Flock<std::fs::File> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open("/tmp/glassbox-test-port-8081.lock")
        .expect("open the port lock");
    nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive).expect("lock port 8081")
}

/// Waits (up to 20 s) until a TCP socket listens on `port` in the network
/// namespace of container `name`, as its /proc/PID/net/tcp{,6} tell: a server
/// that has not yet called listen() is not what an exercise test is about.
pub fn wait_listening(root: &TestRoot, name: &str, port: u16) {
    let pid = root.pid_of(name);
    let wanted = format!(":{port:04X} ");
    let start = std::time::Instant::now();
    loop {
        let table = ["tcp", "tcp6"]
            .map(|t| std::fs::read_to_string(format!("/proc/{pid}/net/{t}")).unwrap_or_default())
            .concat();
        // Columns: sl local_address rem_address st …; st 0A is LISTEN.
        let listening = table.lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 3 && format!("{} ", f[1]).ends_with(&wanted) && f[3] == "0A"
        });
        if listening {
            return;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "nothing listens on port {port} in container {name} after 20 s:\n{table}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
