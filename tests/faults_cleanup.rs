//! Fault 7: cleanup is exclusive. `cleanup` while runs are starting: each
//! run either finished starting before cleanup (and cleanup then removed it
//! whole) or started after it (and runs); a run whose container cleanup
//! killed reports failure. No run reports a container that is not there, and
//! no lease, cgroup or mount is left without a container.

mod common;
mod faults_util;
use common::{TestRoot, have_root};
use faults_util::*;
use std::process::{Child, Output, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Waits for a started glassbox on its own thread: when it ended, and how.
fn finish_in_background(child: Child) -> JoinHandle<(Instant, Output)> {
    std::thread::spawn(move || {
        let out = child.wait_with_output().unwrap();
        (Instant::now(), out)
    })
}

fn spawn(root: &TestRoot, args: &[&str]) -> JoinHandle<(Instant, Output)> {
    let child = root
        .cmd(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    finish_in_background(child)
}

#[test]
fn cleanup_racing_runs_leaves_nothing_without_a_container() {
    if !have_root("cleanup_racing_runs_leaves_nothing_without_a_container") {
        return;
    }
    let root = TestRoot::new("faults-cleanup-race");
    root.ok(&["run", "--rm", "--network", "none", "busybox", "true"]);
    for round in 0..3u16 {
        let detached: Vec<_> = (0..5u16)
            .map(|i| {
                let publish = format!("{}:80", 29240 + round * 10 + i);
                spawn(
                    &root,
                    &["run", "-d", "-p", &publish, "busybox", "sleep", "600"],
                )
            })
            .collect();
        // A foreground run whose container cleanup kills must not end well.
        let foreground = spawn(
            &root,
            &["run", "--network", "none", "busybox", "sleep", "600"],
        );
        std::thread::sleep(Duration::from_millis(40 + 30 * round as u64));
        let cleanup = root.glassbox(&["cleanup"]);
        let cleanup_ended = Instant::now();
        assert!(
            cleanup.status.success(),
            "{}",
            String::from_utf8_lossy(&cleanup.stderr)
        );
        let finished: Vec<_> = detached.into_iter().map(|h| h.join().unwrap()).collect();
        let listed = root.ok(&["ps", "-a"]);
        for (ended, out) in &finished {
            let stderr = String::from_utf8_lossy(&out.stderr);
            if !out.status.success() {
                assert!(
                    !stderr.trim().is_empty(),
                    "round {round}: a run failed silently"
                );
                continue;
            }
            // A run that printed an ID names a container that is listed and
            // up, unless it had printed it before cleanup ended (cleanup
            // then removed it whole).
            let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
            match listed.lines().find(|l| l.starts_with(&id[..12])) {
                Some(line) => assert!(line.contains("Up"), "round {round}: {line}"),
                None => assert!(
                    *ended <= cleanup_ended,
                    "round {round}: run printed {id} and exited 0 {:?} after cleanup ended, but the container is gone:\n{listed}",
                    ended.duration_since(cleanup_ended)
                ),
            }
        }
        // Nothing is held for a container that is not there.
        for (path, text) in leases_of(&root) {
            let id = text
                .lines()
                .find_map(|l| l.strip_prefix("container="))
                .unwrap()
                .to_string();
            assert!(
                listed.contains(&id[..12]),
                "round {round}: {} is held by {id}, which is not listed:\n{listed}",
                path.display()
            );
        }
        for cg in container_cgroups(&root) {
            let name = cg.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                listed.contains(&name),
                "round {round}: cgroup {} has no container:\n{listed}",
                cg.display()
            );
        }
        for e in std::fs::read_dir(root.path().join("containers"))
            .unwrap()
            .flatten()
        {
            let id = e.file_name().to_string_lossy().into_owned();
            assert!(
                listed.contains(&id[..12]),
                "round {round}: containers/{id} is not listed:\n{listed}"
            );
        }
        // The foreground run either lost to cleanup or started after it;
        // the second cleanup ends it if it still runs. Either way its
        // container was killed: it reports failure, never success.
        root.ok(&["cleanup"]);
        let (_, fg) = foreground.join().unwrap();
        assert!(
            !fg.status.success(),
            "round {round}: a foreground run whose container cleanup killed exited 0"
        );
        assert!(leases_of(&root).is_empty(), "{:?}", leases_of(&root));
        assert!(mounts_under(&root).is_empty());
    }
}
