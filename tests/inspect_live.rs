//! The inspect readers against the live kernel, through this test process's
//! own /proc entries (no root needed; the netfilter and veth tests need it).

use std::path::Path;

use glassbox::inspect::namespaces::{self, NsType};
use glassbox::inspect::{cgroup, mountinfo, netdev, proc_stat, proc_status, processes};

fn me() -> u32 {
    std::process::id()
}

#[test]
fn status_and_stat_of_self() {
    let status = proc_status::read_proc_status(me()).unwrap();
    assert_eq!(status.pid, me());
    assert_eq!(status.nspid.first(), Some(&me()));
    let self_status = proc_status::read_proc_status_at(Path::new("/proc/self/status")).unwrap();
    assert_eq!(self_status.pid, me());

    let stat = proc_stat::read_proc_stat(me()).unwrap();
    assert_eq!((stat.pid, stat.ppid), (me(), status.ppid));
    assert!(stat.num_threads >= 1);
    assert_eq!(proc_stat::process_start_time(me()), Some(stat.starttime));
    assert_eq!(proc_stat::process_start_time(u32::MAX), None);
    assert!(proc_stat::clock_ticks_per_second() > 0);
}

#[test]
fn namespaces_of_self_and_parent() {
    let mine = namespaces::read_namespaces(me()).unwrap();
    assert!(mine.net.is_some() && mine.pid.is_some() && mine.mnt.is_some());
    let parent = proc_status::read_proc_status(me()).unwrap().ppid;
    if let Ok(theirs) = namespaces::read_namespaces(parent) {
        let rows = namespaces::compare_namespaces(&mine, &theirs);
        assert!(rows.iter().find(|r| r.kind == NsType::Net).unwrap().shared);
    }
    let error = namespaces::read_namespaces(u32::MAX).unwrap_err();
    assert!(error.is_not_found(), "{error}");

    let listing = namespaces::list_namespaces().unwrap();
    let net = listing
        .iter()
        .find(|s| s.kind == NsType::Net && Some(s.inode) == mine.net)
        .unwrap();
    assert!(net.nprocs >= 1 && net.pid <= me());
}

#[test]
fn mountinfo_of_self_has_a_root() {
    let mounts = mountinfo::read_mountinfo(me()).unwrap();
    assert!(mountinfo::find_mount(&mounts, Path::new("/")).is_some());
    assert!(mounts.iter().any(|m| m.fs_type == "proc"));
}

#[test]
fn cgroup_membership_of_self() {
    let entries = cgroup::read_proc_cgroup(me()).unwrap();
    assert!(!entries.is_empty());
    assert!(entries.iter().all(|e| e.path.starts_with('/')));
}

#[test]
fn processes_include_self() {
    let me_info = processes::read_process(me()).unwrap();
    assert!(
        me_info.cmdline.contains("inspect_live"),
        "{}",
        me_info.cmdline
    );
    let all = processes::list_processes().unwrap();
    assert!(all.iter().any(|p| p.pid == me()));

    let pid_ns = me_info.pid_ns.unwrap();
    let in_ns = processes::processes_in_pid_ns(pid_ns).unwrap();
    let entry = in_ns.iter().find(|p| p.host_pid == me()).unwrap();
    assert_eq!(entry.ns_pid, *me_info.nspid.last().unwrap());

    let tree = processes::ProcessTree::from_processes(&all);
    let chain = tree.ancestors(me());
    assert_eq!(chain[0], me());
    assert_eq!(chain.get(1), Some(&me_info.ppid));
}

#[test]
fn network_interfaces_of_this_namespace() {
    let sys = Path::new("/sys/class/net");
    let devs = netdev::list_netdevs(sys).unwrap();
    let from_proc = netdev::read_proc_net_dev(me()).unwrap();
    assert!(devs.iter().any(|d| d.name == "lo"));
    assert!(from_proc.iter().any(|d| d.name == "lo"));
}

#[test]
fn iptables_save_as_root() {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED iptables_save_as_root: reading netfilter rules needs root");
        return;
    }
    let save = glassbox::inspect::iptables::read_iptables_save(None).unwrap();
    for table in &save.tables {
        assert!(!table.name.is_empty());
    }
}

/// An interface being deleted answers reads of its attributes with EINVAL or
/// ENODEV while its directory is still listed (the kernel's `dev_isalive`
/// check in net-sysfs), not only with ENOENT once it is gone. Listing the
/// interfaces must leave it out, not fail: the lab's network panel and
/// `veth_ends` list the host's interfaces while other containers stop.
/// Here a private network namespace creates and deletes a veth pair in a
/// loop, and its interfaces are listed through /proc/PID/root/sys/class/net.
#[test]
fn interfaces_deleted_meanwhile_are_left_out() {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        if std::env::var_os("CI").is_some() {
            panic!("interfaces_deleted_meanwhile_are_left_out needs root, and CI must run it");
        }
        eprintln!("SKIPPED interfaces_deleted_meanwhile_are_left_out: making veths needs root");
        return;
    }
    let mut churn = std::process::Command::new("unshare")
        .args(["--net", "--mount", "--propagation", "private", "sh", "-c"])
        .arg(
            "mount -t sysfs sysfs /sys && \
             while :; do ip link add lane-a type veth peer name lane-b; ip link del lane-a; done",
        )
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("unshare");
    let sys = std::path::PathBuf::from(format!("/proc/{}/root/sys/class/net", churn.id()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let (mut lists, mut with_veth, mut failure) = (0, 0, None);
    while std::time::Instant::now() < deadline && with_veth < 300 && failure.is_none() {
        match netdev::list_netdevs(&sys) {
            Ok(devs) => {
                lists += 1;
                with_veth += usize::from(devs.iter().any(|d| d.name.starts_with("lane-")));
            }
            Err(e) => failure = Some(format!("{e:#}: {:?}", std::error::Error::source(&e))),
        }
    }
    let _ = churn.kill();
    let _ = churn.wait();
    assert_eq!(failure, None, "after {lists} good listings");
    assert!(
        with_veth > 0,
        "{lists} listings never saw the veth: the churn did not run"
    );
}
