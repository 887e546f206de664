//! Fault 5: no invisible container. Two runs racing for one name: exactly
//! one wins. A run killed part way shows in `ps -a` (as Created or Dead) for
//! as long as it holds a name or a port, and `rm -f NAME` removes it.

mod common;
mod faults_util;
use common::{TestRoot, have_root};
use faults_util::*;
use std::os::fd::AsRawFd;
use std::process::Stdio;
use std::time::Duration;

#[test]
fn runs_racing_for_one_name_exactly_one_wins() {
    if !have_root("runs_racing_for_one_name_exactly_one_wins") {
        return;
    }
    let root = TestRoot::new("faults-name-race");
    root.ok(&["run", "--rm", "--network", "none", "busybox", "true"]);
    for round in 0..30 {
        let name = format!("race{round}");
        // Every other round, a crash left the name behind: a link to a
        // container that no longer exists, which either run may take over.
        if round % 2 == 1 {
            std::os::unix::fs::symlink(
                "0000000000000000000000000000000000000000000000000000000000000000",
                root.path().join("names").join(&name),
            )
            .unwrap();
        }
        let spawn = || {
            root.cmd(&[
                "run",
                "-d",
                "--name",
                &name,
                "--network",
                "none",
                "busybox",
                "sleep",
                "600",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        };
        let racers: Vec<_> = (0..4).map(|_| spawn()).collect();
        let outs: Vec<_> = racers
            .into_iter()
            .map(|r| r.wait_with_output().unwrap())
            .collect();
        let wins = outs.iter().filter(|o| o.status.success()).count();
        let listed = root
            .ok(&["ps", "-a"])
            .lines()
            .filter(|l| l.split_whitespace().last() == Some(name.as_str()))
            .count();
        assert_eq!(
            (wins, listed),
            (1, 1),
            "round {round}: {wins} runs won the name {name}, {listed} listed; stderr: {:?}",
            outs.iter()
                .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
                .collect::<Vec<_>>()
        );
        for loser in outs.iter().filter(|o| !o.status.success()) {
            assert!(
                String::from_utf8_lossy(&loser.stderr).contains("is already in use"),
                "{}",
                String::from_utf8_lossy(&loser.stderr)
            );
        }
        root.ok(&["rm", "-f", &name]);
    }
}

/// Holds the host-wide network allocator's lock, as a long start does.
struct NetLock(#[allow(dead_code)] std::fs::File);
impl NetLock {
    fn take() -> NetLock {
        std::fs::create_dir_all(NET_STATE).unwrap();
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(format!("{NET_STATE}/lock"))
            .unwrap();
        // SAFETY: flock on a descriptor this test owns.
        assert_eq!(unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) }, 0);
        NetLock(f)
    }
}

#[test]
fn a_run_killed_part_way_is_listed_and_removed_by_rm_f() {
    if !have_root("a_run_killed_part_way_is_listed_and_removed_by_rm_f") {
        return;
    }
    let root = TestRoot::new("faults-name-killed");
    root.ok(&["run", "--rm", "--network", "none", "busybox", "true"]);
    // The run blocks on the allocator's lock, after its name and directory
    // are made, and is killed there.
    let lock = NetLock::take();
    let mut run = root
        .cmd(&["run", "-d", "--name", "half", "busybox", "sleep", "600"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let names = root.path().join("names").join("half");
    let waited = std::time::Instant::now();
    while names.symlink_metadata().is_err() || mounts_under(&root).is_empty() {
        if waited.elapsed() > Duration::from_secs(10) {
            let _ = run.kill();
            let out = run.wait_with_output().unwrap();
            panic!(
                "the run never got as far as its overlay: {:?} {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(100));
    let _ = run.kill();
    let _ = run.wait();
    drop(lock);

    let ps = root.ok(&["ps", "-a"]);
    let line = ps
        .lines()
        .find(|l| l.split_whitespace().last() == Some("half"))
        .unwrap_or_else(|| {
            panic!("the half-made container holds its name but is not listed:\n{ps}")
        });
    assert!(line.contains("Created") || line.contains("Dead"), "{line}");
    let out = root.glassbox(&["rm", "-f", "half"]);
    assert!(
        out.status.success(),
        "rm -f half: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(root.ok(&["ps", "-aq"]), "");
    assert!(mounts_under(&root).is_empty(), "{:?}", mounts_under(&root));
    assert!(container_cgroups(&root).is_empty());
    // The name is free again.
    root.ok(&[
        "run",
        "-d",
        "--name",
        "half",
        "--network",
        "none",
        "busybox",
        "sleep",
        "600",
    ]);
    root.ok(&["rm", "-f", "half"]);
}

#[test]
fn runs_killed_at_any_moment_leave_nothing_that_ps_does_not_show() {
    if !have_root("runs_killed_at_any_moment_leave_nothing_that_ps_does_not_show") {
        return;
    }
    let root = TestRoot::new("faults-name-kill-any");
    root.ok(&["run", "--rm", "--network", "none", "busybox", "true"]);
    for (i, delay) in [5u64, 15, 25, 40, 60, 90].iter().enumerate() {
        let port = 29220 + i as u16;
        let mut run = root
            .cmd(&[
                "run",
                "-d",
                "--name",
                &format!("k{i}"),
                "-p",
                &format!("{port}:80"),
                "busybox",
                "sleep",
                "600",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(*delay));
        let _ = run.kill();
        let _ = run.wait();
    }
    // Every name and every lease belongs to a container that ps -a lists.
    let listed = root.ok(&["ps", "-a"]);
    for e in std::fs::read_dir(root.path().join("names"))
        .unwrap()
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        assert!(
            listed
                .lines()
                .any(|l| l.split_whitespace().last() == Some(name.as_str())),
            "the name {name} is held by a container ps -a does not list:\n{listed}"
        );
    }
    for (path, text) in leases_of(&root) {
        let id = text
            .lines()
            .find_map(|l| l.strip_prefix("container="))
            .unwrap()
            .to_string();
        assert!(
            listed.contains(&id[..12]),
            "{} is held by {id}, which ps -a does not list:\n{listed}",
            path.display()
        );
    }
    // And rm -f removes every one of them.
    for i in 0..6 {
        let name = format!("k{i}");
        if listed
            .lines()
            .any(|l| l.split_whitespace().last() == Some(name.as_str()))
        {
            root.ok(&["rm", "-f", &name]);
        }
    }
    assert_eq!(root.ok(&["ps", "-aq"]), "");
    assert!(leases_of(&root).is_empty(), "{:?}", leases_of(&root));
    assert!(container_cgroups(&root).is_empty());
    assert!(mounts_under(&root).is_empty());
}

#[test]
fn a_start_killed_part_way_is_dead_and_a_later_start_undoes_it() {
    if !have_root("a_start_killed_part_way_is_dead_and_a_later_start_undoes_it") {
        return;
    }
    let root = TestRoot::new("faults-start-killed");
    root.ok(&["run", "--rm", "--network", "none", "busybox", "true"]);
    // `create` makes the container and names no process: Created, startable.
    root.ok(&[
        "create", "--name", "later", "-p", "29240:80", "busybox", "sleep", "600",
    ]);
    let ps = root.ok(&["ps", "-a"]);
    assert!(ps.contains("Created"), "{ps}");
    // Its start is held on the allocator's lock once it has passed the
    // port check (its record names it as the process starting it), and is
    // killed there, its overlay mounted. A start that wins the race to the
    // lock is stopped and tried again.
    let record = || -> serde_json::Value {
        let dir = std::fs::read_dir(root.path().join("containers"))
            .unwrap()
            .flatten()
            .find(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .unwrap();
        std::fs::read(dir.path().join("state.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    };
    let mut held = false;
    for _ in 0..20 {
        let mut start = root
            .cmd(&["start", "later"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = start.id() as i64;
        let waited = std::time::Instant::now();
        while record()["state"]["monitor_pid"].as_i64() != Some(pid)
            && waited.elapsed() < Duration::from_secs(10)
        {
            std::thread::sleep(Duration::from_micros(200));
        }
        let lock = NetLock::take();
        std::thread::sleep(Duration::from_millis(200));
        if start.try_wait().unwrap().is_some() {
            drop(lock);
            root.ok(&["stop", "-t", "0", "later"]);
            continue;
        }
        assert!(
            !mounts_under(&root).is_empty(),
            "the start holds no overlay"
        );
        let _ = start.kill();
        let _ = start.wait();
        drop(lock);
        held = true;
        break;
    }
    assert!(held, "no start was ever held on the allocator's lock");
    let ps = root.ok(&["ps", "-a"]);
    let line = ps
        .lines()
        .find(|l| l.split_whitespace().last() == Some("later"))
        .unwrap_or_else(|| panic!("not listed:\n{ps}"));
    assert!(
        line.contains("Dead"),
        "a killed start is not Created: {line}"
    );
    // A later start undoes what the killed one left (its mount, its port's
    // lease) and starts it.
    root.ok(&["start", "later"]);
    // One overlay, not the killed start's with a second on top.
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let overlays = mounts
        .lines()
        .filter(|l| l.contains(&canon(&root).display().to_string()) && l.contains("/rootfs "))
        .count();
    assert_eq!(overlays, 1, "{:?}", mounts_under(&root));
    let ps = root.ok(&["ps"]);
    assert!(ps.contains("Up") && ps.contains("29240"), "{ps}");
    root.ok(&["rm", "-f", "later"]);
    assert!(mounts_under(&root).is_empty());
    assert!(leases_of(&root).is_empty(), "{:?}", leases_of(&root));
    assert!(container_cgroups(&root).is_empty());
}
