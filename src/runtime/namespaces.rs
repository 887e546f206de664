//! Namespaces: each one gives a process its own copy of one global resource.
//!
//! A PID namespace gives it its own process numbers (its first process is PID 1),
//! a mount namespace its own list of mounts, UTS its own hostname, IPC its own
//! System V IPC objects and POSIX message queues, a network namespace its own
//! interfaces, routes and ports, a cgroup namespace its own view of
//! /proc/self/cgroup. A process gets new ones at birth, from the flags of
//! `clone(2)` (CLONE_NEWPID, CLONE_NEWNS, …), and joins existing ones with
//! `setns(2)` on a file of /proc/PID/ns/ (that is how `exec` enters a container).
//! Each namespace is identified by the inode number of that file: two processes
//! share a namespace exactly when the inodes match (`ls -l /proc/PID/ns`).

use super::spec::Spec;
use nix::sched::CloneFlags;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// A namespace type: the spec's name, the clone flag, the file in /proc/PID/ns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    pub spec_name: &'static str,
    pub flag: libc::c_int,
    pub proc_name: &'static str,
}

/// The namespace types glassbox creates, in the order `exec` joins them.
/// The mount namespace comes last: once joined, host paths are out of reach.
pub const KINDS: [Kind; 6] = [
    Kind {
        spec_name: "cgroup",
        flag: libc::CLONE_NEWCGROUP,
        proc_name: "cgroup",
    },
    Kind {
        spec_name: "ipc",
        flag: libc::CLONE_NEWIPC,
        proc_name: "ipc",
    },
    Kind {
        spec_name: "uts",
        flag: libc::CLONE_NEWUTS,
        proc_name: "uts",
    },
    Kind {
        spec_name: "network",
        flag: libc::CLONE_NEWNET,
        proc_name: "net",
    },
    Kind {
        spec_name: "pid",
        flag: libc::CLONE_NEWPID,
        proc_name: "pid",
    },
    Kind {
        spec_name: "mount",
        flag: libc::CLONE_NEWNS,
        proc_name: "mnt",
    },
];

pub fn kind(spec_name: &str) -> Option<Kind> {
    KINDS.iter().copied().find(|k| k.spec_name == spec_name)
}

/// The clone flags for the namespaces the spec asks to create. The cgroup
/// namespace is left out: the init first joins its cgroup, then unshares, so
/// that its own cgroup becomes the root of what it sees (runc does the same).
pub fn clone_flags(spec: &Spec) -> libc::c_int {
    spec.linux
        .namespaces
        .iter()
        .filter(|ns| ns.path.is_none() && ns.typ != "cgroup")
        .filter_map(|ns| kind(&ns.typ))
        .fold(0, |flags, k| flags | k.flag)
}

/// Human-readable flags, for the trace: `CLONE_NEWPID|CLONE_NEWNS|…`.
pub fn describe_flags(flags: libc::c_int) -> String {
    let names = [
        (libc::CLONE_NEWPID, "CLONE_NEWPID"),
        (libc::CLONE_NEWNS, "CLONE_NEWNS"),
        (libc::CLONE_NEWUTS, "CLONE_NEWUTS"),
        (libc::CLONE_NEWIPC, "CLONE_NEWIPC"),
        (libc::CLONE_NEWNET, "CLONE_NEWNET"),
        (libc::CLONE_NEWCGROUP, "CLONE_NEWCGROUP"),
    ];
    let parts: Vec<&str> = names
        .iter()
        .filter(|(f, _)| flags & f != 0)
        .map(|(_, n)| *n)
        .collect();
    if parts.is_empty() {
        "no new namespaces".into()
    } else {
        parts.join("|")
    }
}

/// Which side of a `clone` we are on.
pub enum Forked {
    Child,
    Parent(libc::pid_t),
}

/// `clone(2)` with namespace flags, used like `fork`: both processes return here.
///
/// The caller must be single-threaded (glassbox's CLI and monitor are).
pub fn clone_process(flags: libc::c_int) -> io::Result<Forked> {
    // SAFETY: a raw clone without CLONE_VM and with a NULL stack behaves as
    // fork(2): the child runs on a copy of the caller's address space and stack.
    // The caller is single-threaded, so no lock can be held by a thread that does
    // not exist in the child.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags | libc::SIGCHLD) as libc::c_ulong,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_int>(),
            std::ptr::null_mut::<libc::c_int>(),
            0 as libc::c_ulong,
        )
    };
    match ret {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid as libc::pid_t)),
    }
}

/// `clone3(2)` with `CLONE_INTO_CGROUP` (Linux 5.7+, cgroup v2 only): the child
/// is *born* in the cgroup whose directory `cgroup_dir` refers to. Moving a
/// running process into a cgroup instead takes a lock that waits for an RCU
/// grace period, often the slowest single step of a container start.
/// Returns `Ok(None)` when the kernel does not support it (the caller then
/// falls back to [`clone_process`] and a write to `cgroup.procs`).
pub fn clone_into_cgroup(
    flags: libc::c_int,
    cgroup_dir: std::os::fd::BorrowedFd,
) -> io::Result<Option<Forked>> {
    #[repr(C)]
    #[derive(Default)]
    struct CloneArgs {
        flags: u64,
        pidfd: u64,
        child_tid: u64,
        parent_tid: u64,
        exit_signal: u64,
        stack: u64,
        stack_size: u64,
        tls: u64,
        set_tid: u64,
        set_tid_size: u64,
        cgroup: u64,
    }
    const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
    let args = CloneArgs {
        flags: flags as u64 | CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cgroup_dir.as_raw_fd() as u64,
        ..Default::default()
    };
    // SAFETY: as in clone_process: no CLONE_VM and no stack, so the child runs
    // on a copy of the caller's memory, like fork. The args struct outlives the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match ret {
        -1 => {
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::ENOSYS)
                | Some(libc::EINVAL)
                | Some(libc::E2BIG)
                | Some(libc::EOPNOTSUPP) => Ok(None),
                _ => Err(e),
            }
        }
        0 => Ok(Some(Forked::Child)),
        pid => Ok(Some(Forked::Parent(pid as libc::pid_t))),
    }
}

/// `unshare(2)`: moves the caller into new namespaces of the given types.
pub fn unshare(flags: libc::c_int) -> io::Result<()> {
    nix::sched::unshare(CloneFlags::from_bits_retain(flags)).map_err(io::Error::from)
}

/// `setns(2)` into the namespace behind `path` (e.g. /proc/1234/ns/net).
pub fn join_path(path: &str, flag: libc::c_int) -> io::Result<()> {
    let file = File::open(path)?;
    nix::sched::setns(&file, CloneFlags::from_bits_retain(flag)).map_err(io::Error::from)
}

/// Opens the namespace files of `pid` that differ from our own, in join order.
/// They must be opened before any is joined: after the mount namespace, the
/// host's /proc is gone from view.
pub fn open_all_of(pid: i32) -> io::Result<Vec<(Kind, File)>> {
    let mut out = Vec::new();
    for k in KINDS {
        let theirs = format!("/proc/{pid}/ns/{}", k.proc_name);
        let ours = format!("/proc/self/ns/{}", k.proc_name);
        let (a, b) = (std::fs::read_link(&theirs)?, std::fs::read_link(&ours)?);
        if a != b {
            out.push((k, File::open(&theirs)?));
        }
    }
    Ok(out)
}

/// `setns(2)` into one namespace opened by [`open_all_of`].
pub fn join(kind: Kind, file: &File) -> io::Result<()> {
    nix::sched::setns(file, CloneFlags::from_bits_retain(kind.flag)).map_err(io::Error::from)
}

/// Brings `lo` up: a new network namespace starts with only a loopback
/// interface, and it is down. (SIOCSIFFLAGS on any socket in the namespace.)
pub fn loopback_up() -> io::Result<()> {
    // SAFETY: socket/ioctl/close on a descriptor we own; the ifreq is ours and
    // zero-initialised, with a NUL-terminated name.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        req.ifr_name[0] = b'l' as libc::c_char;
        req.ifr_name[1] = b'o' as libc::c_char;
        let mut rc = libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req);
        if rc == 0 {
            req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
            rc = libc::ioctl(fd, libc::SIOCSIFFLAGS, &req);
        }
        let err = io::Error::last_os_error();
        libc::close(fd);
        if rc != 0 {
            return Err(err);
        }
    }
    Ok(())
}
