//! Limits that the kernel enforces: an OOM kill, a fork bomb stopped by pids.max.

mod common;
use common::{TestRoot, have_root};
use std::time::{Duration, Instant};

#[test]
fn a_memory_hog_is_oom_killed_and_reported() {
    if !have_root("a_memory_hog_is_oom_killed_and_reported") {
        return;
    }
    let root = TestRoot::new("oom");
    // `tail /dev/zero` keeps one endless line in memory: it grows until the
    // cgroup's limit, and the kernel's OOM killer ends it.
    let out = root.glassbox(&[
        "run",
        "--name",
        "hog",
        "-m",
        "32m",
        "busybox",
        "tail",
        "/dev/zero",
    ]);
    assert_eq!(
        out.status.code(),
        Some(137),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = root.inspect("hog");
    assert_eq!(doc["State"]["OOMKilled"], true);
    assert_eq!(doc["State"]["ExitCode"], 137);
    assert!(root.ok(&["ps", "-a"]).contains("Exited (137)"));
}

#[test]
fn a_stop_is_not_an_oom_kill() {
    if !have_root("a_stop_is_not_an_oom_kill") {
        return;
    }
    let root = TestRoot::new("nooom");
    root.ok(&[
        "run", "-d", "--name", "calm", "-m", "32m", "busybox", "sleep", "600",
    ]);
    root.ok(&["stop", "-t", "1", "calm"]);
    let doc = root.inspect("calm");
    assert_eq!(doc["State"]["OOMKilled"], false);
    assert_eq!(doc["State"]["ExitCode"], 137);
}

#[test]
fn a_fork_bomb_stops_at_the_pids_limit() {
    if !have_root("a_fork_bomb_stops_at_the_pids_limit") {
        return;
    }
    let root = TestRoot::new("forkbomb");
    // How long a process takes to start and end on this machine, without a
    // bomb: milliseconds on a host, up to a second on the emulated CPU of the
    // cgroup v2 lane (tests/vm/cgroup-v2.sh).
    let start_true = || {
        let t = Instant::now();
        assert!(
            std::process::Command::new("true")
                .status()
                .unwrap()
                .success()
        );
        t.elapsed()
    };
    let before = start_true();
    root.ok(&[
        "run",
        "-d",
        "--name",
        "bomb",
        "--pids-limit",
        "32",
        "busybox",
        "sh",
        "-c",
        "b() { b | b & }; b & exec sleep 600",
    ]);
    std::thread::sleep(Duration::from_secs(2));
    // The host stays responsive: a process starts and ends at once.
    let during = start_true();
    let bound = Duration::from_secs(1).max(before * 10);
    assert!(
        during < bound,
        "true took {during:?} during the bomb ({before:?} before it)"
    );
    let stats = root.ok(&["stats", "--no-stream", "bomb"]);
    let pids: u64 = stats
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .last()
        .unwrap()
        .parse()
        .unwrap();
    assert!(pids <= 32, "{stats}");
    root.ok(&["rm", "-f", "bomb"]);
}
