//! clone3(CLONE_INTO_CGROUP): a child born inside a cgroup v2 group.
//!
//! Runs on any cgroup2 mount: /sys/fs/cgroup on a pure v2 host, or the
//! "unified" one of a hybrid host like the development VM.

mod common;
use common::have_root;
use glassbox::runtime::namespaces::{Forked, clone_into_cgroup};
use std::os::fd::AsFd;

#[test]
fn a_child_is_born_in_its_cgroup() {
    if !have_root("a_child_is_born_in_its_cgroup") {
        return;
    }
    let mounts = glassbox::inspect::mountinfo::read_mountinfo(std::process::id()).unwrap();
    let Some(v2) = mounts.iter().find(|m| m.fs_type == "cgroup2") else {
        panic!("no cgroup2 mount on this host");
    };
    let name = format!("glassbox-clone3-test-{}", std::process::id());
    let dir = v2.mount_point.join(&name);
    std::fs::create_dir(&dir).unwrap();
    let fd = std::fs::File::open(&dir).unwrap();
    let forked = clone_into_cgroup(0, fd.as_fd())
        .unwrap()
        .expect("clone3 with CLONE_INTO_CGROUP");
    match forked {
        Forked::Child => loop {
            // SAFETY: pause is async-signal-safe; the parent kills us.
            unsafe { libc::pause() };
        },
        Forked::Parent(pid) => {
            let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
            // SAFETY: kill and reap our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
            let _ = std::fs::remove_dir(&dir);
            let line = cgroups.lines().find(|l| l.starts_with("0::")).unwrap();
            assert!(line.ends_with(&format!("/{name}")), "{cgroups}");
        }
    }
}
