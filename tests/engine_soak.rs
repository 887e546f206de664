//! 1,000 `run --rm busybox true` in a row: no hang, nothing left.
//!
//! A runtime that starts waiting for its child only after the child may have
//! exited can miss the exit and wait forever; glassbox opens a pidfd before
//! the child can be reaped. Each run must also take everything down with it
//! (its overlay and files at most a few milliseconds after it returns).

mod common;
use common::{TestRoot, have_root};
use std::time::{Duration, Instant};

#[test]
fn a_thousand_runs_in_a_row() {
    if !have_root("a_thousand_runs_in_a_row") {
        return;
    }
    let root = TestRoot::new("soak");
    let n: usize = std::env::var("GLASSBOX_SOAK_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let t = Instant::now();
    for i in 0..n {
        let mut child = root
            .cmd(&["run", "--rm", "--network", "none", "busybox", "true"])
            .spawn()
            .unwrap();
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "run {i} failed: {status}");
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(20), "run {i} hangs");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    eprintln!("{n} runs in {:?}", t.elapsed());
    assert_eq!(root.ok(&["ps", "-aq"]), "");
    assert_eq!(root.container_cgroups(), Vec::<std::path::PathBuf>::new());
    // The last run's overlay and files are removed by a child that goes on
    // after the CLI exits (engine::run::finish): gone within milliseconds.
    let left = || {
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let trash = std::fs::read_dir(root.path().join("trash")).map_or(0, |d| d.count());
        (mounts.contains(&root.path().display().to_string()), trash)
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while left() != (false, 0) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        left(),
        (false, 0),
        "(a mount left, entries in trash/) after 5 s"
    );
}
