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

/// This root's attach sockets (`/run/glassbox/attach/<key>-*.sock`).
fn attach_sockets(root: &TestRoot) -> Vec<String> {
    let prefix = format!("{}-", root.key());
    std::fs::read_dir("/run/glassbox/attach")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&prefix))
                .collect()
        })
        .unwrap_or_default()
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// A detached shim lives as long as its container: a resize (one per
/// change of a terminal's size) must not cost it a descriptor for good. And
/// `cleanup`, which kills shims, removes their attach sockets, as well as
/// the socket of any container already gone.
#[test]
fn resizes_and_cleanup_leave_no_socket_or_descriptor() {
    if !have_root("resizes_and_cleanup_leave_no_socket_or_descriptor") {
        return;
    }
    use std::io::{Read, Write};
    let root = TestRoot::new("faults-attach-sockets");
    for name in ["sized", "other"] {
        root.ok(&[
            "run",
            "-dit",
            "--name",
            name,
            "--network",
            "none",
            "busybox",
            "sh",
        ]);
    }
    let id = id_of(&root, "sized");
    let shim = state(&root, &id)["state"]["monitor_pid"].as_u64().unwrap() as u32;
    let socket = format!("/run/glassbox/attach/{}-{}.sock", root.key(), &id[..16]);
    let resize = |rows: u16| {
        let mut s = std::os::unix::net::UnixStream::connect(&socket).unwrap();
        s.write_all(format!("resize {rows} 90\n").as_bytes())
            .unwrap();
        // The shim closes it once the size is set.
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).unwrap();
    };
    resize(20);
    let before = open_fds(shim);
    for rows in 21..61 {
        resize(rows);
    }
    resize(61);
    // The shim closes a finished client at the end of the round that read
    // it, a moment after its answer.
    let settled = Instant::now() + Duration::from_secs(5);
    while open_fds(shim) > before && Instant::now() < settled {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        open_fds(shim) <= before,
        "the shim held {before} descriptors, {} after 41 resizes: {:?}",
        open_fds(shim),
        std::fs::read_dir(format!("/proc/{shim}/fd"))
            .unwrap()
            .flatten()
            .map(|e| std::fs::read_link(e.path()).unwrap_or_default())
            .collect::<Vec<_>>()
    );
    let out = root.ok(&["exec", "sized", "sh", "-c", "stty size < /proc/1/fd/0"]);
    assert_eq!(
        out.trim(),
        "61 90",
        "the last resize is the terminal's size"
    );

    // A container whose shim died with the socket left, and one that is gone.
    let other = id_of(&root, "other");
    let other_shim = state(&root, &other)["state"]["monitor_pid"]
        .as_u64()
        .unwrap() as u32;
    kill(other_shim, libc::SIGKILL);
    let gone = format!(
        "/run/glassbox/attach/{}-{}.sock",
        root.key(),
        "0123456789abcdef"
    );
    drop(std::os::unix::net::UnixListener::bind(&gone).unwrap());
    assert_eq!(
        attach_sockets(&root).len(),
        3,
        "{:?}",
        attach_sockets(&root)
    );
    let out = root.ok(&["cleanup"]);
    assert!(
        out.contains("removed 1 attach socket(s) of containers already gone"),
        "{out}"
    );
    assert_eq!(attach_sockets(&root), Vec::<String>::new());
}
