//! A whole container on cgroup v2, for real, on any host with a cgroup2 mount.
//!
//! On a pure v2 host this is an ordinary run. On a hybrid host (v1 controllers
//! plus a cgroup2 mount at /sys/fs/cgroup/unified, like the development VM) the
//! test runs glassbox in a private mount namespace where that cgroup2
//! hierarchy is mounted at /sys/fs/cgroup: glassbox then detects v2, starts the
//! container with clone3(CLONE_INTO_CGROUP), gives it a cgroup namespace and
//! mounts its cgroup2 view inside. Controllers stay bound to v1 there, so this
//! run sets no limits; limits on v2 are tested on fixtures (cgroup_v2_fixture.rs).

mod common;
use common::{TestRoot, have_root};
use std::path::Path;

#[test]
fn a_container_on_cgroup_v2() {
    if !have_root("a_container_on_cgroup_v2") {
        return;
    }
    let root = TestRoot::new("v2live");
    let pure_v2 = Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    if !pure_v2 && !Path::new("/sys/fs/cgroup/unified/cgroup.controllers").exists() {
        panic!("this host has no cgroup2 mount to test on");
    }
    let script = format!(
        "{setup} {bin} --root {root} run --rm --pids-limit -1 --name v2 busybox sh -c \
         'cat /proc/self/cgroup; grep -c cgroup2 /proc/self/mountinfo'",
        setup = if pure_v2 {
            ""
        } else {
            "umount -R /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup &&"
        },
        bin = env!("CARGO_BIN_EXE_glassbox"),
        root = root.path().display(),
    );
    let out = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Inside its cgroup namespace the container sees its own group as the root.
    // (A hybrid kernel also lists its v1 hierarchies; the v2 line is "0::".)
    let v2_line = stdout.lines().find(|l| l.starts_with("0::"));
    assert_eq!(v2_line, Some("0::/"), "{stdout}");
    assert_eq!(
        stdout.lines().last(),
        Some("1"),
        "its cgroup2 view is mounted at /sys/fs/cgroup: {stdout}"
    );
}

/// Every container's group sits in one shared parent (`glassbox`), and the
/// reaper of the last container in it removes it, so a start may find the
/// parent gone at any step of `prepare_parent`: between its mkdir and the
/// read of `cgroup.controllers` (ENOENT), or before its write to
/// `cgroup.subtree_control` (ENODEV: the group is offline). The start makes
/// it again rather than fail. Here a thread removes the parent whenever it
/// is empty while this one prepares it, on the real cgroup2 hierarchy
/// (/sys/fs/cgroup on a pure v2 host; /sys/fs/cgroup/unified on a hybrid
/// one, whose write is skipped since it hands down none of the controllers).
#[test]
fn a_parent_group_removed_while_it_is_prepared_is_made_again() {
    use glassbox::runtime::cgroups::{self, Layout};
    use glassbox::runtime::journal::Journal;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::time::{Duration, Instant};

    if !have_root("a_parent_group_removed_while_it_is_prepared_is_made_again") {
        return;
    }
    let mount = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .into_iter()
        .map(Path::new)
        .find(|m| m.join("cgroup.controllers").exists())
        .expect("this host has no cgroup2 mount to test on");
    let layout = Layout::V2 {
        mount: mount.to_path_buf(),
    };
    let root = TestRoot::new("v2race");
    let journal = Journal::open(&root.path().join("journal")).unwrap();
    let rel = format!("glassbox-race-{}", std::process::id());
    let parent = mount.join(&rel);

    let done = Arc::new(AtomicBool::new(false));
    let removed = Arc::new(AtomicU32::new(0));
    let remover = {
        let (done, removed, parent) = (done.clone(), removed.clone(), parent.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if std::fs::remove_dir(&parent).is_ok() {
                    removed.fetch_add(1, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    // Until the parent has been removed 200 times, most of them while
    // nobody was preparing it; some land inside a `prepare_parent`.
    let started = Instant::now();
    let mut failure = None;
    let mut calls = 0;
    while removed.load(Ordering::Relaxed) < 200 && started.elapsed() < Duration::from_secs(60) {
        calls += 1;
        if let Err(e) = cgroups::prepare_parent(&layout, &rel, &journal) {
            failure = Some(format!("prepare_parent #{calls}: {e}"));
            break;
        }
    }
    done.store(true, Ordering::Relaxed);
    remover.join().unwrap();
    let _ = std::fs::remove_dir(&parent);
    assert_eq!(failure, None);
    assert!(
        removed.load(Ordering::Relaxed) >= 200,
        "the parent was removed only {} times in {calls} calls: too few races were tried",
        removed.load(Ordering::Relaxed)
    );
}
