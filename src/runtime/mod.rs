//! The runtime: one OCI bundle in, one sandboxed process out.
//!
//! This is glassbox's counterpart of runc. It reads a [`spec::Spec`]
//! (`config.json`), makes the container's cgroup and writes its limits
//! ([`cgroups`]), then calls `clone(2)` with the namespace flags
//! ([`namespaces`]). The child, the container's [`init`], builds the root
//! filesystem ([`rootfs`]), drops privileges ([`security`]) and `execve`s the
//! command. From then on the container is just a process: the runtime's
//! [`shim`] waits for it and relays its output, and when it exits the cgroup is
//! removed. Every object made goes into the [`journal`] first; every step goes
//! into the [`trace`]. The [`network`] module makes what a bridged container's
//! network namespace needs (bridge, veth pair, addresses, NAT rules) before the
//! `clone`, as CNI plugins do for runc; config.json then names the namespace
//! by path and the init joins it.

pub mod address_space;
pub mod affinity;
pub mod attach;
pub mod cgroups;
pub mod exe;
pub mod init;
pub mod journal;
pub mod logs;
pub mod namespaces;
pub mod network;
pub mod proc_events;
pub mod pty;
pub mod reaper;
pub mod rootfs;
pub mod security;
pub mod shim;
pub mod spec;
pub mod sync;
pub mod trace;
pub mod trampoline;

use cgroups::{Cgroup, CgroupError, Layout};
use init::{InitArgs, Stdio};
use journal::Journal;
use spec::Spec;
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use trace::{Trace, now_ns};

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    #[error("config.json has no cgroupsPath")]
    NoCgroupPath,
    #[error("{what}: {source}")]
    Syscall { what: String, source: io::Error },
    /// The init reported a failure before `execve`; it has exited with `exit_code`.
    #[error("{message}")]
    InitFailed { exit_code: i32, message: String },
}

fn sys(what: &str) -> impl FnOnce(io::Error) -> RuntimeError + '_ {
    move |source| RuntimeError::Syscall {
        what: what.to_string(),
        source,
    }
}

/// Step `create_cgroup`: the container's cgroup, with its limits written.
pub fn create_cgroup(
    spec: &Spec,
    layout: &Layout,
    journal: &Journal,
    trace: &mut Trace,
) -> Result<Cgroup, RuntimeError> {
    let cgroup = cgroup_of(spec, layout)?;
    cgroup.create(&spec.linux.resources, journal, trace)?;
    Ok(cgroup)
}

/// The container's cgroup as config.json names it (`cgroupsPath`), not
/// made yet.
pub fn cgroup_of(spec: &Spec, layout: &Layout) -> Result<Cgroup, RuntimeError> {
    let rel = spec
        .linux
        .cgroups_path
        .as_deref()
        .ok_or(RuntimeError::NoCgroupPath)?;
    Ok(Cgroup::new(layout, rel))
}

/// How the container's program will be exec'd: directly where this process
/// runs from a read-only view of glassbox ([`exe::sealed`]), else through
/// the sealed [`trampoline`], so that no `execve` in a container ever
/// resolves `/proc/self/exe` to a writable glassbox binary. A process with
/// neither starts nothing.
fn exec_trampoline() -> Result<Option<RawFd>, RuntimeError> {
    if exe::sealed().is_some() {
        return Ok(None);
    }
    trampoline::sealed()
        .map(Some)
        .map_err(|why| RuntimeError::Syscall {
            what: "glassbox runs from a writable binary and cannot make its exec trampoline, \
                   so it will not start a container's program (re-run it as root through the \
                   `glassbox` command, which re-executes itself from a read-only view)"
                .into(),
            source: io::Error::other(why.to_string()),
        })
}

/// A started container process.
#[derive(Debug)]
pub struct Started {
    /// PID on the host (1 inside its PID namespace).
    pub pid: libc::pid_t,
    /// A pidfd for it: readable when the process exits, immune to PID reuse.
    pub pidfd: OwnedFd,
    /// The pty master when the spec asks for a terminal.
    pub console: Option<OwnedFd>,
}

/// `pidfd_open(2)`.
pub fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the descriptor was just created and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// What the runtime does for the init right after the `clone`: makes its
/// cgroup (see [`start`]).
pub type AfterClone<'a> = &'a mut dyn FnMut(libc::pid_t, &mut Trace) -> Result<(), RuntimeError>;

/// What the caller does while the init sets up the container, between the
/// clone (and `place`) and the wait for the init's `execve`: work of its own
/// that the init does not need, done on another CPU while the init works
/// (see `affinity`) instead of before the clone or after the `execve`.
/// Given the init's PID and its mount namespace (`hold_mounts`); what
/// fails in it is the caller's to report once `start` returns. It does not
/// run when `place` failed.
pub type Meanwhile<'a> = &'a mut dyn FnMut(libc::pid_t, Option<OwnedFd>, &mut Trace);

/// The init's mount namespace (/proc/PID/ns/mnt), opened as soon as the
/// init is cloned: a descriptor of it keeps the namespace, and every mount
/// in it, alive after the container's last process exits, until it is
/// closed (what a `--rm` run's reaper does with it). Opened later, it may
/// be too late: a short program can have run and exited by then, and a
/// process that has exited has no namespaces left to open. None without a
/// mount namespace of its own, or when the open fails.
fn hold_mounts(pid: libc::pid_t, flags: libc::c_int) -> Option<OwnedFd> {
    if flags & libc::CLONE_NEWNS == 0 {
        return None;
    }
    std::fs::File::open(format!("/proc/{pid}/ns/mnt"))
        .ok()
        .map(OwnedFd::from)
}

/// Step `clone` and everything until `execve` succeeds or fails.
///
/// `stdio` gives the descriptors that become the container's 0, 1 and 2 (used
/// when the spec asks for no terminal). The caller must be single-threaded.
///
/// `place`: the cgroup is not made yet (cgroup v1). The init is cloned
/// first and mounts its root while this process runs `place` with its PID
/// (make the groups, write the limits) on the other CPU; the init waits for
/// a byte on a pipe before `pivot_root`, then joins the group itself, so
/// the container's program starts in its cgroup as before (runc too makes
/// its init's cgroup while the init waits). If `place` fails, the init is
/// killed. Without `place` the group exists already, and the init is born
/// in it (v2, `clone3` with `CLONE_INTO_CGROUP`) or joins it first thing.
///
/// `meanwhile` runs next, while the init still sets up (see [`Meanwhile`]).
///
/// The init is cloned onto this process's CPU, which is awake, and this
/// process steps aside to the others for `place` and `meanwhile`
/// ([`affinity`]); both take their whole CPU mask back.
pub fn start(
    spec: &Spec,
    rootfs: &Path,
    cgroup: &Cgroup,
    stdio: [RawFd; 3],
    place: Option<AfterClone>,
    meanwhile: Option<Meanwhile>,
    trace: &mut Trace,
) -> Result<Started, RuntimeError> {
    let (runtime_side, init_side) = sync::channel().map_err(|e| RuntimeError::Syscall {
        what: "pipe2".into(),
        source: e.into(),
    })?;
    let console = if spec.process.terminal {
        Some(pty::console_socket().map_err(sys("socketpair for the console"))?)
    } else {
        None
    };
    let init_stdio = match &console {
        Some((_, theirs)) => Stdio::Console(theirs.as_raw_fd()),
        None => Stdio::Fds {
            stdin: stdio[0],
            stdout: stdio[1],
            stderr: stdio[2],
        },
    };
    let flags = namespaces::clone_flags(spec);
    let trampoline = exec_trampoline()?;
    // The init is a copy of this process until execve: closed to the
    // container's processes (see `exe`), and holding none of our environment.
    exe::undumpable().map_err(sys("prctl(PR_SET_DUMPABLE, 0)"))?;
    // The init's go-ahead once its cgroup is made (with `place` only).
    let placed = match place {
        Some(_) => Some(
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| {
                RuntimeError::Syscall {
                    what: "pipe2 for the init's cgroup go-ahead".into(),
                    source: e.into(),
                }
            })?,
        ),
        None => None,
    };
    // The init starts on this CPU, which is awake (see `affinity`).
    let pinned = affinity::Pinned::to_this_cpu();
    let t = now_ns();
    let (forked, how, procs) = match placed {
        Some(_) => {
            let forked = namespaces::clone_process(flags).map_err(sys("clone"))?;
            (forked, CloneCall::Plain, cgroup.join_files_when_made())
        }
        None => clone_in_cgroup(cgroup, flags)?,
    };
    match forked {
        namespaces::Forked::Child => {
            if let Some(pinned) = &pinned {
                pinned.release();
            }
            drop(runtime_side);
            let go = placed.map(|(r, w)| {
                drop(w);
                r
            });
            exe::scrub_environment();
            init::run(
                InitArgs {
                    spec,
                    rootfs,
                    cgroup_join: &procs,
                    cgroup_v2: cgroup.layout.version() == 2,
                    cgroup_go: go.as_ref(),
                    stdio: init_stdio,
                    trampoline,
                },
                init_side,
            )
        }
        namespaces::Forked::Parent(pid) => {
            let how = how.describe(flags);
            trace.step("runtime", t, "clone", format!("{how} = {pid}"));
            if let Some(pinned) = &pinned {
                let t = now_ns();
                let moved = pinned.step_aside();
                trace.step("runtime", t, "step_aside", moved);
            }
            // Before the init's go-ahead (v1), while it surely runs.
            let mounts = meanwhile
                .is_some()
                .then(|| hold_mounts(pid, flags))
                .flatten();
            drop(init_side);
            if let (Some(place), Some((go_r, go_w))) = (place, placed) {
                drop(go_r);
                if let Err(e) = place(pid, trace) {
                    // The init must not run on outside its cgroup: killed,
                    // and what it reported (a failure of its own, first) wins.
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                    let reported = runtime_side.wait_for_exec(trace);
                    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
                    return Err(match reported {
                        Err(f) => RuntimeError::InitFailed {
                            exit_code: f.exit_code,
                            message: f.message,
                        },
                        Ok(()) => e,
                    });
                }
                // The init may have failed meanwhile and closed its end:
                // its own report follows on the sync pipe.
                let _ = nix::unistd::write(&go_w, b"1");
            }
            let pidfd = pidfd_open(pid).map_err(sys("pidfd_open"))?;
            if let Some(meanwhile) = meanwhile {
                meanwhile(pid, mounts, trace);
            }
            drop(pinned);
            let t = now_ns();
            let result = runtime_side.wait_for_exec(trace);
            trace.step(
                "runtime",
                t,
                "wait_for_exec",
                "read the sync pipe until EOF: the init called execve",
            );
            if let Err(f) = result {
                // The init has exited or is about to: reap it.
                let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
                return Err(RuntimeError::InitFailed {
                    exit_code: f.exit_code,
                    message: f.message,
                });
            }
            let console = match console {
                Some((ours, _theirs)) => {
                    let t = now_ns();
                    let master =
                        pty::recv_fd(ours.as_raw_fd()).map_err(sys("receiving the pty"))?;
                    trace.step(
                        "runtime",
                        t,
                        "receive_console",
                        "recvmsg(SCM_RIGHTS): the pty master",
                    );
                    master
                }
                None => None,
            };
            Ok(Started {
                pid,
                pidfd,
                console,
            })
        }
    }
}

/// Which call made a process: named in the trace by the parent only, so
/// that the child (a copy-on-write copy until its `execve`) formats nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CloneCall {
    /// `clone`: the child joins its cgroup itself.
    Plain,
    /// `clone3` with `CLONE_INTO_CGROUP`: born in its cgroup.
    IntoCgroup,
}

impl CloneCall {
    /// The call as the trace shows it, with the namespace flags it passed.
    fn describe(self, flags: libc::c_int) -> String {
        let names = namespaces::describe_flags(flags);
        match (self, flags) {
            (CloneCall::Plain, _) => format!("clone({names})"),
            (CloneCall::IntoCgroup, 0) => "clone3(CLONE_INTO_CGROUP)".into(),
            (CloneCall::IntoCgroup, _) => format!("clone3(CLONE_INTO_CGROUP|{names})"),
        }
    }
}

/// Forks the container's process and says which call made it. On cgroup v2
/// it is born in its cgroup (`clone3` with `CLONE_INTO_CGROUP`: no migration,
/// no kernel-wide lock); elsewhere, or where the kernel lacks clone3, a plain
/// `clone`, and the child joins by the files returned (see
/// `Cgroup::join_files`).
fn clone_in_cgroup(
    cgroup: &Cgroup,
    flags: libc::c_int,
) -> Result<(namespaces::Forked, CloneCall, Vec<std::path::PathBuf>), RuntimeError> {
    let cgroup_dir = match &cgroup.layout {
        Layout::V2 { .. } => cgroup
            .dirs()
            .first()
            .and_then(|d| std::fs::File::open(d).ok()),
        Layout::V1(_) => None,
    };
    if let Some(dir) = &cgroup_dir
        && let Some(forked) =
            namespaces::clone_into_cgroup(flags, dir.as_fd()).map_err(sys("clone3"))?
    {
        return Ok((forked, CloneCall::IntoCgroup, Vec::new()));
    }
    let forked = namespaces::clone_process(flags).map_err(sys("clone"))?;
    Ok((forked, CloneCall::Plain, cgroup.join_files()))
}

/// Starts a new process inside a running container (`exec`).
///
/// The caller joins the container's PID namespace itself (`setns` of a PID
/// namespace applies to the children made afterwards), then clones a child
/// that joins the cgroup and the other namespaces. `stdio` as in [`start`].
pub fn exec(
    container_pid: libc::pid_t,
    spec: &Spec,
    cgroup: &Cgroup,
    stdio: [RawFd; 3],
    trace: &mut Trace,
) -> Result<Started, RuntimeError> {
    let trampoline = exec_trampoline()?;
    // Before joining anything: what we fork is born in the container's PID
    // namespace, visible there, and must stay closed to it until execve.
    exe::undumpable().map_err(sys("prctl(PR_SET_DUMPABLE, 0)"))?;
    let t = now_ns();
    let ns = namespaces::open_all_of(container_pid)
        .map_err(sys("opening /proc/PID/ns of the container"))?;
    if let Some((kind, file)) = ns.iter().find(|(k, _)| k.spec_name == "pid") {
        namespaces::join(*kind, file).map_err(sys("setns into the container's PID namespace"))?;
    }
    trace.step(
        "runtime",
        t,
        "open_namespaces",
        format!("open /proc/{container_pid}/ns/*; setns(pid)"),
    );
    let (runtime_side, init_side) = sync::channel().map_err(|e| RuntimeError::Syscall {
        what: "pipe2".into(),
        source: e.into(),
    })?;
    let console = if spec.process.terminal {
        Some(pty::console_socket().map_err(sys("socketpair for the console"))?)
    } else {
        None
    };
    let stdio_arg = match &console {
        Some((_, theirs)) => Stdio::Console(theirs.as_raw_fd()),
        None => Stdio::Fds {
            stdin: stdio[0],
            stdout: stdio[1],
            stderr: stdio[2],
        },
    };
    let t = now_ns();
    let (forked, how, mut procs) = clone_in_cgroup(cgroup, 0)?;
    // A container started by an older glassbox has no group in a hierarchy
    // added since (the devices controller): join the ones it has.
    procs.retain(|f| f.parent().is_some_and(|d| d.is_dir()));
    match forked {
        namespaces::Forked::Child => {
            drop(runtime_side);
            exe::scrub_environment();
            init::run_exec(
                init::ExecArgs {
                    spec,
                    cgroup_join: &procs,
                    namespaces: &ns,
                    stdio: stdio_arg,
                    trampoline,
                },
                init_side,
            )
        }
        namespaces::Forked::Parent(pid) => {
            let how = how.describe(0);
            trace.step(
                "runtime",
                t,
                "clone",
                format!("{how} = {pid}, born in the container's PID namespace"),
            );
            drop(init_side);
            let pidfd = pidfd_open(pid).map_err(sys("pidfd_open"))?;
            if let Err(f) = runtime_side.wait_for_exec(trace) {
                let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
                return Err(RuntimeError::InitFailed {
                    exit_code: f.exit_code,
                    message: f.message,
                });
            }
            let console = match console {
                Some((ours, _)) => {
                    pty::recv_fd(ours.as_raw_fd()).map_err(sys("receiving the pty"))?
                }
                None => None,
            };
            Ok(Started {
                pid,
                pidfd,
                console,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::CloneCall;

    #[test]
    fn the_clone_is_named_with_its_flags() {
        let flags = libc::CLONE_NEWPID | libc::CLONE_NEWNS;
        assert_eq!(
            CloneCall::Plain.describe(flags),
            "clone(CLONE_NEWPID|CLONE_NEWNS)"
        );
        assert_eq!(
            CloneCall::IntoCgroup.describe(flags),
            "clone3(CLONE_INTO_CGROUP|CLONE_NEWPID|CLONE_NEWNS)"
        );
        assert_eq!(CloneCall::Plain.describe(0), "clone(no new namespaces)");
        assert_eq!(
            CloneCall::IntoCgroup.describe(0),
            "clone3(CLONE_INTO_CGROUP)"
        );
    }
}
