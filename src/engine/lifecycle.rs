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

use super::container::{self, Paths, Record};
use super::{DataRoot, cleanup};
use crate::runtime::pidfd_open;
use anyhow::bail;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::os::fd::{AsFd, AsRawFd};
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

/// `glassbox stop [-t SECONDS]`: SIGTERM, then SIGKILL after the timeout.
pub fn stop(root: &DataRoot, name: &str, timeout: Duration) -> anyhow::Result<Record> {
    super::require_root("glassbox stop")?;
    let record = container::find(root, name)?;
    if record.is_running() {
        signal(record.state.pid, libc::SIGTERM);
        if !wait_for_exit(record.state.pid, record.state.pid_start, timeout) {
            signal(record.state.pid, libc::SIGKILL);
            wait_for_exit(
                record.state.pid,
                record.state.pid_start,
                Duration::from_secs(10),
            );
        }
        wait_for_monitor(&record)?;
    }
    container::find(root, &record.id).or(Ok(record))
}

/// `glassbox kill [-s SIGNAL]`.
pub fn kill(root: &DataRoot, name: &str, sig: i32) -> anyhow::Result<Record> {
    super::require_root("glassbox kill")?;
    let record = container::find(root, name)?;
    if !record.is_running() {
        bail!("container {} is not running", record.name);
    }
    signal(record.state.pid, sig);
    if sig == libc::SIGKILL {
        wait_for_exit(
            record.state.pid,
            record.state.pid_start,
            Duration::from_secs(10),
        );
        wait_for_monitor(&record)?;
    }
    Ok(record)
}

/// `glassbox rm [-f]`.
pub fn rm(root: &DataRoot, name: &str, force: bool) -> anyhow::Result<Record> {
    super::require_root("glassbox rm")?;
    let record = container::find(root, name)?;
    if record.is_running() {
        if !force {
            bail!(
                "container {} is running: stop it first (`glassbox stop {}`) or force it (`glassbox rm -f {}`)",
                record.name,
                record.name,
                record.name
            );
        }
        signal(record.state.pid, libc::SIGKILL);
        wait_for_exit(
            record.state.pid,
            record.state.pid_start,
            Duration::from_secs(10),
        );
        // The monitor may be removing it already (--rm); wait, then finish.
        let _ = wait_for_monitor(&record);
    }
    // A monitor that died without tearing down: stop it from racing us.
    if container::process_alive(record.state.monitor_pid, record.state.monitor_start) {
        signal(record.state.monitor_pid, libc::SIGKILL);
    }
    remove_files(root, &record);
    Ok(record)
}

/// Undoes the container's journal and deletes its directory and name.
///
/// The directory is first renamed into `<root>/trash/` (one rename: the
/// container is gone at once) and deleted there by a background process, so
/// that `run --rm` need not wait for its writable layer to be unlinked file by
/// file. `cleanup` empties the trash too.
pub fn remove_files(root: &DataRoot, record: &Record) {
    let paths = Paths::new(root, &record.id);
    cleanup::undo_journal(&paths.journal());
    container::release_name(root, &record.name, &record.id);
    let trash = root.path.join("trash");
    let target = trash.join(&record.id);
    if super::make_private_dir(&trash).is_ok() && std::fs::rename(&paths.dir, &target).is_ok() {
        delete_in_background(&target);
    } else {
        let _ = std::fs::remove_dir_all(&paths.dir);
    }
}

/// Deletes a directory tree in a detached grandchild (no zombie is left to
/// the caller); deletes it in place if forking fails. The grandchild lets go
/// of stdin, stdout and stderr first: whoever reads glassbox's output through
/// a pipe (`$(glassbox run --rm …)`, a test harness) sees its end when
/// glassbox exits, not when the deletion does.
fn delete_in_background(dir: &std::path::Path) {
    // SAFETY: glassbox's CLI and monitor are single-threaded; the children
    // only delete files and leave with _exit.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            // SAFETY: as above; the middle child only forks again and leaves.
            if let Ok(nix::unistd::ForkResult::Parent { .. }) = unsafe { nix::unistd::fork() } {
                // SAFETY: _exit ends this process without running the parent's exit handlers.
                unsafe { libc::_exit(0) };
            }
            let null = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null");
            for fd in 0..3 {
                // SAFETY: this process's own standard descriptors; nothing
                // here reads or writes them afterwards.
                match &null {
                    // SAFETY: see above.
                    Ok(null) => unsafe { libc::dup2(null.as_raw_fd(), fd) },
                    // SAFETY: see above.
                    Err(_) => unsafe { libc::close(fd) },
                };
            }
            let _ = std::fs::remove_dir_all(dir);
            // SAFETY: _exit ends this process without running the parent's exit handlers.
            unsafe { libc::_exit(0) }
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            let _ = nix::sys::wait::waitpid(child, None);
        }
        Err(_) => {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
