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
