//! Stopping and removing containers: `stop`, `kill`, `rm`.
//!
//! A container ends when its main process ends: the PID namespace's init is
//! gone, so the kernel kills everything else inside, and the monitor tears
//! down. `stop` asks politely first: SIGTERM, then SIGKILL after the timeout.
//! PID 1 is special here: the kernel delivers to a namespace's init only the
//! signals it has installed a handler for, so a program that never handles
//! SIGTERM (`sleep`, a plain `sh`) ignores it as PID 1 — and `stop` has to
//! wait out the timeout and kill it (exit code 137 = 128 + SIGKILL's 9). A
//! program that handles SIGTERM exits promptly, usually with 143 (128 + 15).
//!
//! The exit status is the kernel's. Normally the monitor, the container's
//! parent, reads it with `waitpid`. If the monitor is gone (killed), `stop`
//! and `kill` subscribe to the kernel's process events before they signal
//! ([`crate::runtime::proc_events`]) and read the status from the exit
//! event, then do the monitor's teardown themselves
//! ([`release_unmonitored`]), so that the port, address and cgroup are free
//! as soon as the container is stopped.

use super::DataRoot;
use super::cleanup::{self, Owner, Undone};
use super::container::{self, Paths, Record};
use super::trash::Claim;
use crate::runtime::pidfd_open;
use crate::runtime::proc_events::{ExitWatch, docker_code};
use crate::runtime::spec::DEFAULT_PATH;
use anyhow::bail;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::os::fd::AsFd;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Waits until `pid` (started at `start`) exits, at most `timeout`. True if it did.
pub fn wait_for_exit(pid: i32, start: u64, timeout: Duration) -> bool {
    if !container::process_alive(pid, start) {
        return true;
    }
    let Ok(fd) = pidfd_open(pid) else {
        return true; // ESRCH: already gone
    };
    // The pid could have been reused between the check and the open.
    if !container::process_alive(pid, start) {
        return true;
    }
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = left.as_millis().min(u16::MAX as u128) as u16;
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(n) if n > 0 => return true,
            Ok(_) if left.is_zero() => return false,
            _ => {}
        }
    }
}

/// kill(2); the caller checked that `pid` is the container's process.
/// libc's, not nix's: `glassbox kill -s 40` sends a real-time signal, which
/// nix's `Signal` enum cannot name.
fn signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) takes two integers and touches no memory of ours.
    unsafe { libc::kill(pid, sig) };
}

/// Waits for the monitor to record the exit, or does its work if it is gone.
fn wait_for_monitor(record: &Record) -> anyhow::Result<()> {
    if wait_for_exit(
        record.state.monitor_pid,
        record.state.monitor_start,
        Duration::from_secs(10),
    ) {
        return Ok(());
    }
    bail!(
        "the monitor of {} (pid {}) did not finish within 10 seconds; `glassbox cleanup` removes what is left",
        record.name,
        record.state.monitor_pid
    )
}

/// Subscribes to exit events when `record`'s monitor is gone: it will not
/// be there to read the exit status.
fn watch_if_unmonitored(record: &Record) -> Option<ExitWatch> {
    if record.monitor_alive() {
        return None;
    }
    ExitWatch::open().ok()
}

/// After the container's process has ended: waits for its monitor to record
/// the exit, or, if it has none, records the status the kernel reported and
/// releases what the container held. Returns the record as it is now.
fn after_exit(root: &DataRoot, record: Record, watch: Option<ExitWatch>) -> anyhow::Result<Record> {
    if record.monitor_alive() {
        wait_for_monitor(&record)?;
        return Ok(container::find(root, &record.id).unwrap_or(record));
    }
    // The monitor may have recorded the exit and ended between the signal
    // and now (a busy machine): its record then holds the status.
    if let Ok(saved) = container::read_saved(root, &record.id)
        && saved.state.status != "running"
    {
        return Ok(container::find(root, &record.id).unwrap_or(saved));
    }
    let pid = record.state.pid;
    let code = match container::process_state(pid, record.state.pid_start) {
        // Not yet reaped by PID 1: the kernel still keeps the status.
        container::Proc::Zombie(Some(code)) => Some(code),
        _ => watch
            .as_ref()
            .and_then(|w| w.wait(pid, Duration::from_secs(2)))
            .map(docker_code),
    };
    let mut ended = record;
    ended.state.pid = 0;
    ended.unmonitored = false;
    match code {
        Some(code) => {
            ended.state.status = "exited".into();
            ended.state.exit_code = code;
            ended.state.error = format!(
                "its monitor (pid {}) was gone: the exit status was read from the kernel's process events",
                ended.state.monitor_pid
            );
        }
        None => {
            ended.state.status = "dead".into();
            ended.state.exit_code = -1;
            ended.state.error = format!(
                "exit status not observed: its monitor (pid {}) was gone and the kernel's report did not arrive",
                ended.state.monitor_pid
            );
        }
    }
    Ok(release_unmonitored(root, ended))
}

/// Does what a container's monitor does when the container ends, for a
/// container whose monitor is gone: reads the OOM count, removes the cgroup
/// (killing what is left in it), tears the network down (its leases only
/// while they still name it), unmounts the overlay, and saves the record as
/// given (`exited` with the kernel's status, or `dead`); with `--rm`, removes
/// the container. Returns the record as saved.
pub fn release_unmonitored(root: &DataRoot, mut record: Record) -> Record {
    let Ok(layout) = root.cgroup_layout() else {
        return record;
    };
    let cgroup = crate::runtime::cgroups::Cgroup::new(&layout, &record.cgroup);
    let mut trace = crate::runtime::trace::Trace::default();
    let exit = (record.state.status == "exited").then_some(crate::runtime::shim::Exit {
        code: record.state.exit_code,
        signal: None,
    });
    if record.state.finished_at == 0 {
        record.state.finished_at = crate::timefmt::now_unix_ns();
    }
    let teardown = super::run::Teardown {
        trace_file: None,
        after_exit: false,
        output_done: false,
    };
    let _ = super::run::finish(root, &mut record, &cgroup, exit, &mut trace, teardown, None);
    record
}

/// `glassbox stop [-t SECONDS] [-s SIGNAL]`: the stop signal (SIGTERM unless
/// `-s` or the image's `STOPSIGNAL` says otherwise), then SIGKILL after the
/// timeout.
pub fn stop(
    root: &DataRoot,
    name: &str,
    timeout: Duration,
    stop_signal: Option<i32>,
) -> anyhow::Result<Record> {
    super::require_root("glassbox stop")?;
    let record = container::find(root, name)?;
    if record.is_running() {
        let sig = stop_signal.unwrap_or_else(|| record.stop_signal());
        super::events::container(root, "kill", &record, &[("signal", &sig.to_string())]);
        let watch = watch_if_unmonitored(&record);
        signal(record.state.pid, sig);
        thaw_if_paused(root, &record);
        if !wait_for_exit(record.state.pid, record.state.pid_start, timeout) {
            signal(record.state.pid, libc::SIGKILL);
            wait_for_exit(
                record.state.pid,
                record.state.pid_start,
                Duration::from_secs(10),
            );
        }
        let ended = after_exit(root, record, watch)?;
        super::events::container(root, "stop", &ended, &[]);
        return Ok(ended);
    }
    Ok(record)
}

/// `glassbox kill [-s SIGNAL]`.
pub fn kill(root: &DataRoot, name: &str, sig: i32) -> anyhow::Result<Record> {
    super::require_root("glassbox kill")?;
    let record = container::find(root, name)?;
    if !record.is_running() {
        return Err(super::EngineError::Conflict(format!(
            "Container {} is not running",
            record.id
        ))
        .into());
    }
    let watch = (sig == libc::SIGKILL)
        .then(|| watch_if_unmonitored(&record))
        .flatten();
    signal(record.state.pid, sig);
    super::events::container(root, "kill", &record, &[("signal", &sig.to_string())]);
    if sig == libc::SIGKILL {
        thaw_if_paused(root, &record);
        wait_for_exit(
            record.state.pid,
            record.state.pid_start,
            Duration::from_secs(10),
        );
        return after_exit(root, record, watch);
    }
    Ok(record)
}

/// What `rm` removed, and what deserves a warning (journal lines refused,
/// leases left to the container that holds them now).
#[derive(Debug)]
pub struct Removed {
    pub record: Record,
    pub warnings: Vec<String>,
}

/// `rm` could not remove everything the container made.
#[derive(Debug, thiserror::Error)]
#[error(
    "removing {name} left: {}; the container stays listed (Dead) until that is fixed and `glassbox rm -f {name}` runs again",
    left.join("; ")
)]
pub struct RemoveError {
    pub name: String,
    pub left: Vec<String>,
}

/// `glassbox rm [-f]`.
pub fn rm(root: &DataRoot, name: &str, force: bool) -> anyhow::Result<Removed> {
    super::require_root("glassbox rm")?;
    let _lock = root.lock_shared()?;
    let record = container::find(root, name)?;
    let shown = if record.name.is_empty() {
        record.short_id().to_string()
    } else {
        record.name.clone()
    };
    let refuse = |why: String| -> anyhow::Result<Removed> {
        Err(super::EngineError::Conflict(format!(
            "container {shown} {why}: stop it first (`glassbox stop {shown}`) or force it (`glassbox rm -f {shown}`)"
        ))
        .into())
    };
    if record.is_running() {
        if !force {
            return Err(super::EngineError::Conflict(format!(
                "You cannot remove a running container {}. Stop the container before attempting removal or force remove",
                record.id
            ))
            .into());
        }
        signal(record.state.pid, libc::SIGKILL);
        thaw_if_paused(root, &record);
        wait_for_exit(
            record.state.pid,
            record.state.pid_start,
            Duration::from_secs(10),
        );
        // The monitor may be removing it already (--rm); wait, then finish.
        let _ = wait_for_monitor(&record);
    } else if record.state.status == "created" && record.monitor_alive() && !force {
        return refuse(format!(
            "is being started (by pid {})",
            record.state.monitor_pid
        ));
    } else if record.unreadable && !force {
        let live = root
            .cgroup_layout()
            .map(|l| crate::runtime::cgroups::Cgroup::new(&l, &record.cgroup).pids())
            .unwrap_or_default();
        if !live.is_empty() {
            return refuse(format!(
                "has an unreadable record and {} process(es) still in its cgroup",
                live.len()
            ));
        }
    }
    // A monitor (or creator) that did not tear down: stop it from racing us.
    // (An unreadable record names none; its journal does, and the undo ends it.)
    if record.monitor_alive() && record.state.monitor_pid != std::process::id() as i32 {
        signal(record.state.monitor_pid, libc::SIGKILL);
        wait_for_exit(
            record.state.monitor_pid,
            record.state.monitor_start,
            Duration::from_secs(5),
        );
    }
    let undone = remove_files(root, &record);
    if !undone.complete() {
        return Err(RemoveError {
            name: shown,
            left: undone.left,
        }
        .into());
    }
    Ok(Removed {
        warnings: undone.warnings(),
        record,
    })
}

/// Undoes the container's journal and deletes its directory and name.
///
/// The directory is first renamed into `<root>/trash/` (one rename: the
/// container is gone at once) and deleted there by a background process, so
/// that `run --rm` need not wait for its writable layer to be unlinked file by
/// file. `cleanup` empties the trash too. If an undo fails, nothing is
/// deleted: the container keeps its directory, its name and its record,
/// marked `dead` with what is left, so that `ps -a` shows it and a later `rm`
/// can finish.
pub fn remove_files(root: &DataRoot, record: &Record) -> Undone {
    let paths = Paths::new(root, &record.id);
    let _ = std::fs::remove_file(crate::runtime::attach::socket_path(&root.key, &record.id));
    let undone = cleanup::undo_journal(&paths.journal(), &Owner::container(root, &record.id));
    if !undone.complete() {
        let mut dead = record.clone();
        dead.state.status = "dead".into();
        dead.state.pid = 0;
        dead.state.error = format!("removal left: {}", undone.left.join("; "));
        // An unreadable record is not replaced by a made-up one.
        if !record.unreadable {
            let _ = container::save(root, &dead);
        }
        return undone;
    }
    super::events::container(root, "destroy", record, &[]);
    if !record.name.is_empty() {
        container::release_name(root, &record.name, &record.id);
    }
    // docker's --rm takes the container's anonymous volumes with it.
    if record.config.auto_remove {
        super::volume::remove_anonymous(root, record);
    }
    let trash = root.path.join("trash");
    let target = trash.join(&record.id);
    // Claimed before it moves: a directory in trash/ that nobody holds is
    // an orphan to the next reaper (engine::trash). The `rm -rf` holds it.
    let claim = Claim::try_now(&paths.dir).ok().flatten();
    if super::make_private_dir(&trash).is_ok() && std::fs::rename(&paths.dir, &target).is_ok() {
        delete_in_background(&target, claim);
    } else {
        let _ = std::fs::remove_dir_all(&paths.dir);
    }
    undone
}

/// Takes a stopped container out of the data root in one step: its directory
/// is renamed into `trash/` (a `rename` moves the mounts below it too) and
/// its name released. From then on `ps -a` does not list it, its name is
/// free, and a crash leaves nothing `cleanup` cannot find (it sweeps
/// `trash/`). Returns where the directory is now.
pub fn retire(root: &DataRoot, record: &Record) -> std::io::Result<std::path::PathBuf> {
    let from = Paths::new(root, &record.id).dir;
    let trash = root.path.join("trash");
    let target = trash.join(&record.id);
    match std::fs::rename(&from, &target) {
        Ok(()) => {}
        // `cleanup` removes trash/ itself; opening the root makes it again.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && from.is_dir() => {
            super::make_private_dir(&trash)?;
            std::fs::rename(&from, &target)?;
        }
        Err(e) => return Err(e),
    }
    container::release_name_into(root, &record.name, &record.id, &target);
    Ok(target)
}

/// True when this process has one thread, the condition for a `fork` that
/// goes on running glassbox's code (see `in_background`).
pub(crate) fn one_thread() -> bool {
    crate::inspect::proc_stat::read_proc_stat(std::process::id())
        .is_ok_and(|stat| stat.num_threads == 1)
}

/// What the caller of [`in_background`] still does with its standard streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Streams {
    /// Nothing: its output is complete. It hands them over before the fork
    /// and does not wait for the child.
    HandOver,
    /// It still prints (an error, after a failed start): the child lets go
    /// of them first, and the caller waits until it has.
    StillInUse,
}

/// Runs `work` in a forked child named `name` that outlives this process,
/// and returns at once: true if the child was made, false (nothing run) if
/// not, and the caller then does the work itself.
///
/// For a caller that exits next (the CLI after a `--rm` run): its parent
/// (a shell, a test) sees the exit status while the child finishes, and
/// once the caller has exited, the child is reaped by init. No pipe the
/// caller's reader waits on may stay open in the child. The child is in a
/// session of its own, with /dev/null as its standard streams and none of
/// the caller's descriptors. How it gets there depends on `streams`:
///
/// - [`Streams::HandOver`]: the caller's output is complete, so it gives its
///   streams up before the fork (flushes them, puts /dev/null on 0, 1 and 2,
///   and closes what its own parent passed it beyond them: descriptors
///   without close-on-exec; glassbox opens all of its own close-on-exec).
///   The child starts with nothing of the caller's reader, and the caller
///   returns without waiting for it: on a busy machine a new process may
///   wait a scheduler tick (4 ms) before it runs at all.
/// - [`Streams::StillInUse`]: the child puts /dev/null on its 0, 1 and 2
///   and closes the rest, and the caller waits until it has (a pipe the
///   child closes as it does so reaches end-of-file here), then prints.
///
/// A fork that goes on running Rust code is sound only in a process with
/// one thread (a lock another thread held would stay locked in the child):
/// a threaded caller gets false, its streams untouched.
pub fn in_background(name: &std::ffi::CStr, streams: Streams, work: impl FnOnce()) -> bool {
    use std::io::Write;
    if !one_thread() {
        return false;
    }
    let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    else {
        return false;
    };
    let null_on_stdio = |null: &std::fs::File| {
        let _ = nix::unistd::dup2_stdin(null);
        let _ = nix::unistd::dup2_stdout(null);
        let _ = nix::unistd::dup2_stderr(null);
    };
    let let_go = match streams {
        Streams::HandOver => {
            let _ = std::io::stdout().flush();
            let _ = std::io::stderr().flush();
            null_on_stdio(&null);
            close_inherited();
            None
        }
        Streams::StillInUse => match nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) {
            Ok(pipe) => Some(pipe),
            Err(_) => return false,
        },
    };
    // SAFETY: this process has one thread (checked above), so the child
    // inherits no lock held by another thread.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            let _ = nix::unistd::setsid();
            let _ = nix::sys::prctl::set_name(name);
            null_on_stdio(&null);
            // SAFETY: close_range closes descriptors 3 and up of this
            // process only; the write end of `let_go` among them, which
            // tells a waiting caller.
            unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
            std::mem::forget(null);
            std::mem::forget(let_go);
            work();
            // SAFETY: leave without running the parent's exit handlers a second time.
            unsafe { libc::_exit(0) }
        }
        Ok(nix::unistd::ForkResult::Parent { .. }) => {
            if let Some((r, w)) = let_go {
                drop(w);
                // End-of-file once the child holds none of our descriptors.
                let mut byte = [0u8; 1];
                while let Err(nix::errno::Errno::EINTR) = nix::unistd::read(&r, &mut byte) {}
            }
            true
        }
        Err(_) => false,
    }
}

/// A child forked before its work is known, waiting for it on a pipe
/// ([`fork_waiting`]).
pub struct Waiting {
    /// Where the work is written; closing it unread tells the child to end.
    work: std::os::fd::OwnedFd,
    /// End-of-file once the child has let go of the caller's streams.
    let_go: std::os::fd::OwnedFd,
}

impl Waiting {
    /// Hands the child its work and returns: true once the child has it
    /// and holds none of this process's streams; false (the child is gone)
    /// when the caller must do the work itself.
    pub fn go(self, work: &[u8]) -> bool {
        use std::io::Write;
        let written = std::fs::File::from(self.work).write_all(work).is_ok();
        // The child lets go as soon as it runs, well before this on any
        // but the busiest machine: a reader of this process's output must
        // see its end when this process exits.
        let mut byte = [0u8; 1];
        while let Err(nix::errno::Errno::EINTR) = nix::unistd::read(&self.let_go, &mut byte) {}
        written
    }
}

/// Forks a child named `name` that waits for its work, for a caller that
/// knows what the child is for but not yet what it will be given: the fork
/// is paid while the caller waits anyway (a `--rm` run, while its container
/// runs), not when the work is due. The child is in a session of its own,
/// with /dev/null as its standard streams, none of the caller's
/// descriptors and no signal blocked; it reads the pipe to its end and runs
/// `work` with what [`Waiting::go`] wrote. If nothing was written (the
/// caller dropped the [`Waiting`], or ended, killed or not), the child ends
/// having done nothing. `None`: no child (a threaded caller, as for
/// [`in_background`], or no pipe).
///
/// `keep`: descriptors the child holds instead of the caller (which
/// closes its own), given to `work` in their order (on descriptors 4, 5,
/// …), or closed as the child ends: what they refer to lives until then.
pub fn fork_waiting(
    name: &std::ffi::CStr,
    keep: Vec<std::os::fd::OwnedFd>,
    work: impl FnOnce(Vec<u8>, Vec<std::os::fd::OwnedFd>),
) -> Option<Waiting> {
    use std::os::fd::{AsRawFd, FromRawFd};
    if !one_thread() {
        return None;
    }
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .ok()?;
    let (work_r, work_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).ok()?;
    let (let_go_r, let_go_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).ok()?;
    // SAFETY: this process has one thread (checked above), so the child
    // inherits no lock held by another thread.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            // The work pipe goes to descriptor 3, `keep` to 4 and up,
            // /dev/null to 0, 1 and 2, and every other descriptor is closed
            // (the write end of `let_go` among them, which tells the
            // caller). Each is first copied above them all (`above`): the
            // caller may have been started with 0, 1 or 2 closed, and the
            // pipe may be one of them, or one of the targets.
            let above = 4 + keep.len() as libc::c_int;
            // SAFETY: descriptor calls on this process's own descriptors;
            // none of the values forgotten below is used again.
            let (moved, kept) = unsafe {
                let fd = libc::fcntl(work_r.as_raw_fd(), libc::F_DUPFD_CLOEXEC, above);
                let copies: Vec<libc::c_int> = keep
                    .iter()
                    .map(|k| libc::fcntl(k.as_raw_fd(), libc::F_DUPFD_CLOEXEC, above))
                    .collect();
                for stdio in 0..3 {
                    libc::dup2(null.as_raw_fd(), stdio);
                }
                let moved = fd >= 0 && libc::dup2(fd, 3) == 3;
                let kept = copies
                    .iter()
                    .zip(4..)
                    .all(|(&copy, to)| copy >= 0 && libc::dup2(copy, to) == to);
                libc::syscall(libc::SYS_close_range, above as u32, u32::MAX, 0u32);
                if !kept {
                    libc::syscall(libc::SYS_close_range, 4u32, (above - 1) as u32, 0u32);
                }
                (moved, kept)
            };
            std::mem::forget((null, work_r, work_w, let_go_r, let_go_w, keep));
            // Forked while the runtime stepped aside: the caller's own mask.
            crate::runtime::affinity::unpin_forked_child();
            let _ = nix::unistd::setsid();
            let _ = nix::sys::prctl::set_name(name);
            let _ = nix::sys::signal::sigprocmask(
                nix::sys::signal::SigmaskHow::SIG_SETMASK,
                Some(&nix::sys::signal::SigSet::empty()),
                None,
            );
            let mut message = Vec::new();
            if moved {
                use std::io::Read;
                // SAFETY: descriptor 3 is the work pipe, owned here only.
                let mut pipe = std::fs::File::from(unsafe { std::os::fd::OwnedFd::from_raw_fd(3) });
                let _ = pipe.read_to_end(&mut message);
            }
            let kept: Vec<_> = (4..above)
                .filter(|_| kept)
                // SAFETY: descriptors 4 and up are the kept ones, owned here only.
                .map(|fd| unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
                .collect();
            if !message.is_empty() {
                work(message, kept);
            }
            // SAFETY: leave without running the parent's exit handlers a second time.
            unsafe { libc::_exit(0) }
        }
        Ok(nix::unistd::ForkResult::Parent { .. }) => {
            drop(keep);
            Some(Waiting {
                work: work_w,
                let_go: let_go_r,
            })
        }
        Err(_) => None,
    }
}

/// Closes the descriptors above 2 that this process inherited open across
/// `execve` (those without close-on-exec; no Rust value of glassbox owns
/// one: every descriptor glassbox opens is close-on-exec).
fn close_inherited() {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let fds: Vec<i32> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd > 2)
        .collect();
    for fd in fds {
        // SAFETY: F_GETFD only reads the descriptor's flags; a descriptor
        // already closed (the directory's own) answers EBADF.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        if flags >= 0 && flags & libc::FD_CLOEXEC == 0 {
            // SAFETY: an inherited descriptor, owned by no value of this
            // process (see above).
            unsafe { libc::close(fd) };
        }
    }
}

/// Deletes a directory tree in the background, in a process of its own;
/// deletes it in place if no process can be started.
///
/// `rm -rf` runs under `sh -c '… &'`: the shell starts it in the background
/// and exits at once, so the caller waits only for the shell and no zombie is
/// left to it (the orphaned `rm` is reaped by init). Its standard streams are
/// /dev/null: whoever reads glassbox's output through a pipe
/// (`$(glassbox run --rm …)`, a test harness) sees its end when glassbox
/// exits, not when the deletion does.
///
/// Why a new program and not a `fork` that deletes: after `fork` only the
/// calling thread exists in the child, and any lock another thread held (the
/// allocator's, stdio's) stays locked there for ever, so a child of a
/// threaded process (the lab runs a sampler, a checker and an input thread)
/// may only make async-signal-safe calls until it `exec`s. Deleting a tree
/// allocates. `std::process::Command` keeps to that rule (posix_spawn, or
/// fork and exec with nothing between that could take a lock), so this is
/// sound from any thread of any caller.
///
/// `claim`, the lock on `dir` ([`Claim`]), goes to the shell and the `rm` as
/// their descriptor 3, so the directory is held until `rm` has ended.
fn delete_in_background(dir: &std::path::Path, claim: Option<Claim>) {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let mut command = std::process::Command::new("/bin/sh");
    command
        .arg("-c")
        .arg("rm -rf -- \"$1\" &")
        .arg("glassbox-delete")
        .arg(dir)
        .env_clear()
        .env("PATH", DEFAULT_PATH)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(claim) = &claim {
        let fd = claim.as_fd().as_raw_fd();
        // SAFETY: between fork and exec only dup2 and fcntl run, both
        // async-signal-safe; `fd` stays open in the parent until after.
        unsafe {
            command.pre_exec(move || {
                // dup2 onto itself would keep close-on-exec.
                let ok = if fd == 3 {
                    libc::fcntl(3, libc::F_SETFD, 0) == 0
                } else {
                    libc::dup2(fd, 3) == 3
                };
                if ok {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
    }
    let started = command.status();
    if !started.is_ok_and(|s| s.success()) {
        let _ = std::fs::remove_dir_all(dir);
    }
    drop(claim);
}

/// `glassbox pause`: freezes every process of the container with its
/// cgroup's freezer (v1 `freezer.state` FROZEN, v2 `cgroup.freeze` 1 until
/// `cgroup.events` says `frozen 1`). Frozen tasks are not scheduled at all:
/// they get no signal handled and no CPU until `unpause`.
pub fn pause(root: &DataRoot, name: &str) -> anyhow::Result<Record> {
    super::require_root("glassbox pause")?;
    let mut record = container::find(root, name)?;
    if !record.is_running() {
        return Err(super::EngineError::Conflict(format!(
            "Container {} is not running",
            record.id
        ))
        .into());
    }
    if record.state.paused {
        return Err(super::EngineError::Conflict(format!(
            "Container {} is already paused",
            record.id
        ))
        .into());
    }
    let cgroup = crate::runtime::cgroups::Cgroup::new(&root.cgroup_layout()?, &record.cgroup);
    let mut trace = crate::runtime::trace::Trace::default();
    cgroup
        .freeze(&mut trace)
        .map_err(|e| anyhow::anyhow!("cannot pause {}: {e}", record.name))?;
    // Frozen, it cannot exit any more; read the record again in case it
    // exited just before (the shim wrote that), and write over nothing newer.
    record = container::load_by_id(root, &record.id)?;
    if !record.is_running() {
        let _ = cgroup.thaw(&mut trace);
        return Err(super::EngineError::Conflict(format!(
            "Container {} is not running",
            record.id
        ))
        .into());
    }
    record.state.paused = true;
    container::save(root, &record)?;
    super::events::container(root, "pause", &record, &[]);
    Ok(record)
}

/// `glassbox unpause`: thaws the container's cgroup.
pub fn unpause(root: &DataRoot, name: &str) -> anyhow::Result<Record> {
    super::require_root("glassbox unpause")?;
    let mut record = container::find(root, name)?;
    if !record.is_running() || !record.state.paused {
        return Err(
            super::EngineError::Conflict(format!("Container {} is not paused", record.id)).into(),
        );
    }
    // The record first: once thawed the process may exit, and its shim
    // then writes the record.
    record.state.paused = false;
    container::save(root, &record)?;
    if let Err(e) = thaw(root, &record) {
        record.state.paused = true;
        let _ = container::save(root, &record);
        return Err(e);
    }
    super::events::container(root, "unpause", &record, &[]);
    Ok(record)
}

/// Thaws a container's cgroup (whether or not it was frozen).
fn thaw(root: &DataRoot, record: &Record) -> anyhow::Result<()> {
    let cgroup = crate::runtime::cgroups::Cgroup::new(&root.cgroup_layout()?, &record.cgroup);
    let mut trace = crate::runtime::trace::Trace::default();
    cgroup
        .thaw(&mut trace)
        .map_err(|e| anyhow::anyhow!("cannot unpause {}: {e}", record.name))
}

/// A paused container's signal is delivered only once it runs again:
/// stop, kill -9 and rm -f thaw it after sending (as dockerd does). The
/// record forgets the pause first: frozen, the process cannot exit, so the
/// shim cannot be writing its exit into the record meanwhile.
fn thaw_if_paused(root: &DataRoot, record: &Record) {
    if !record.state.paused {
        return;
    }
    if let Ok(mut r) = container::load_by_id(root, &record.id) {
        r.state.paused = false;
        let _ = container::save(root, &r);
    }
    let _ = thaw(root, record);
}

/// Runs `f` with the container's processes frozen (its cgroup's freezer:
/// v1 `freezer.state`, v2 `cgroup.freeze`), and thaws them after, whatever
/// `f` returned. Frozen, no process inside can change its files: what `f`
/// reads of them is one moment's state, and a process swapping a file for a
/// symlink cannot race the reader. `commit` (docker pauses too) and
/// `export` of a running container use it. A container that is frozen
/// already stays frozen.
pub fn while_frozen<T>(
    root: &DataRoot,
    record: &Record,
    trace: &mut crate::runtime::trace::Trace,
    f: impl FnOnce(&mut crate::runtime::trace::Trace) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    use anyhow::Context;
    let cgroup = crate::runtime::cgroups::Cgroup::new(&root.cgroup_layout()?, &record.cgroup);
    let what = || format!("cannot freeze container {}", record.name);
    if cgroup.is_frozen().with_context(what)? {
        return f(trace);
    }
    cgroup.freeze(trace).with_context(what)?;
    let result = f(trace);
    let thawed = cgroup
        .thaw(trace)
        .with_context(|| format!("container {} is still frozen", record.name));
    match (result, thawed) {
        (Ok(value), Ok(())) => Ok(value),
        (Err(e), Ok(())) => Err(e),
        (Ok(_), Err(t)) => Err(t),
        (Err(e), Err(t)) => Err(e.context(format!("{t:#}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Children of this process that are zombie `sh` or `rm` processes
    /// (exited, not reaped): what a deletion could leave.
    fn zombie_children() -> Vec<u32> {
        let mut out = Vec::new();
        for task in std::fs::read_dir("/proc/self/task")
            .into_iter()
            .flatten()
            .flatten()
        {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for pid in children.split_whitespace().filter_map(|p| p.parse().ok()) {
                if let Ok(stat) = crate::inspect::proc_stat::read_proc_stat(pid)
                    && (stat.comm == "sh" || stat.comm == "rm")
                    && stat.state == 'Z'
                {
                    out.push(pid);
                }
            }
        }
        out
    }

    #[test]
    fn a_threaded_caller_gets_the_tree_deleted_and_no_zombie() {
        let dir = std::env::temp_dir().join(format!("glassbox-delete-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("a/b/c")).unwrap();
        std::fs::write(dir.join("a/b/c/file"), "x").unwrap();
        std::fs::write(dir.join("top"), "y").unwrap();
        // Other threads busy allocating while the deletion starts, as the lab's are.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let busy: Vec<_> = (0..3)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        std::hint::black_box(vec![0u8; 4096]);
                    }
                })
            })
            .collect();
        delete_in_background(&dir, None);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        busy.into_iter().for_each(|t| t.join().unwrap());
        let deadline = Instant::now() + Duration::from_secs(10);
        while dir.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!dir.exists(), "{} is still there after 10 s", dir.display());
        assert_eq!(zombie_children(), Vec::<u32>::new());
    }

    #[test]
    fn the_background_rm_holds_the_claim_until_the_tree_is_gone() {
        let dir = std::env::temp_dir().join(format!("glassbox-claimed-{}", std::process::id()));
        for n in 0..200 {
            std::fs::create_dir_all(dir.join(format!("d{n}/e"))).unwrap();
            std::fs::write(dir.join(format!("d{n}/e/f")), "x").unwrap();
        }
        let claim = Claim::try_now(&dir).unwrap().expect("a fresh directory");
        delete_in_background(&dir, Some(claim));
        // The shell has exited; its `rm` was started with descriptor 3, the
        // lock: the tree is held until it is gone, never free to claim.
        let deadline = Instant::now() + Duration::from_secs(10);
        while dir.exists() && Instant::now() < deadline {
            assert!(
                Claim::try_now(&dir).unwrap().is_none(),
                "{} is there and nobody holds it",
                dir.display()
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(!dir.exists(), "{} is still there after 10 s", dir.display());
    }
}
