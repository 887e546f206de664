//! `run --init`: a small PID 1 of ours that reaps and forwards signals, as
//! docker's `docker-init` (tini).
//!
//! The first process of a PID namespace has two duties that other processes
//! do not. **Reaping**: a process whose parent exits is re-parented to PID 1,
//! and when it exits in turn it stays a zombie (it still holds its PID, and
//! counts in the cgroup's `pids.current`) until PID 1 calls `wait(2)` for it.
//! A command such as `sleep` never does. **Signals**: the kernel delivers to
//! PID 1 of a namespace only the signals it has a handler for, so a
//! `SIGTERM` from `stop` to a `sleep` as PID 1 is dropped, and `stop` waits
//! its ten seconds for the `SIGKILL`.
//!
//! With `--init` the container's init does not `execve` the command itself:
//! after every setup step (namespaces, root, seccomp, privileges dropped) it
//! forks, the child runs the command (as PID 2 or so), and the init stays as
//! PID 1, named `glassbox-init`:
//!
//! 1. it blocks every signal it forwards before the fork, so none is lost
//!    (a blocked signal is never ignored, even at PID 1), and waits for them
//!    with `sigwaitinfo(2)`;
//! 2. each `SIGCHLD` (several exits may share one) makes it `waitpid(-1,
//!    WNOHANG)` until no zombie is left;
//! 3. any other signal goes on to the command with `kill(2)`;
//! 4. when the command exits, the init exits with its code (128 + the
//!    signal's number if a signal killed it, as a shell reports it); the
//!    kernel then kills what is left of the namespace.
//!
//! The init stays a copy of glassbox that never calls `execve`: it keeps the
//! non-dumpable mark of [`super::exe::undumpable`] (the container's
//! processes cannot open its /proc/1/exe or memory) and holds no host
//! environment ([`super::exe::scrub_environment`]).

use super::init::Exec;
use super::sync::InitSide;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, sigprocmask};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};

/// The name `ps` shows for the init (`prctl(PR_SET_NAME)`, 15 bytes at most).
pub const INIT_NAME: &str = "glassbox-init";

/// Signals the init never blocks: those the kernel sends for its own faults
/// (a blocked fault signal kills at once), and the terminal's stop signals
/// (tini's list).
const NOT_FORWARDED: [Signal; 9] = [
    Signal::SIGFPE,
    Signal::SIGILL,
    Signal::SIGSEGV,
    Signal::SIGBUS,
    Signal::SIGABRT,
    Signal::SIGTRAP,
    Signal::SIGSYS,
    Signal::SIGTTIN,
    Signal::SIGTTOU,
];

/// The signals the init waits for: all but [`NOT_FORWARDED`].
fn waited() -> SigSet {
    let mut set = SigSet::all();
    for s in NOT_FORWARDED {
        set.remove(s);
    }
    set
}

/// The exit code a shell would report for `status`; `None` while it runs.
pub fn exit_code(status: WaitStatus) -> Option<i32> {
    match status {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, sig, _) => Some(128 + sig as i32),
        _ => None,
    }
}

/// Forks the command under this process, which stays PID 1 and reaps until
/// the command exits; never returns.
pub fn run_under_init(exec: Exec, mut chan: InitSide) -> ! {
    let set = waited();
    if let Err(e) = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None) {
        fail(chan, format!("sigprocmask(SIG_BLOCK): {e}"));
    }
    // Named before the command exists, so that it never sees the caller's
    // command line in /proc/1/cmdline.
    name_self();
    // Every step so far goes to the runtime now: the child's copy of the
    // channel must not send them twice.
    chan.about_to_exec();
    // SAFETY: the container's init is single-threaded (a clone child), so
    // the child may run any code until it calls execve.
    match unsafe { fork() } {
        Err(e) => fail(chan, format!("fork() for the command under --init: {e}")),
        Ok(ForkResult::Child) => {
            // Its own process group, the terminal's foreground one, so that
            // Ctrl-C reaches the command once (tini does the same).
            let _ = nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0));
            if nix::unistd::isatty(std::io::stdin()).unwrap_or(false) {
                // A background group that sets the foreground group gets
                // SIGTTOU (a stop) unless it blocks it, as tini's child does.
                let mut ttou = SigSet::empty();
                ttou.add(Signal::SIGTTOU);
                let _ = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&ttou), None);
                let _ = nix::unistd::tcsetpgrp(std::io::stdin(), nix::unistd::getpgrp());
            }
            let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
            let failure = exec.exec(&mut chan);
            chan.failed(&failure);
            // SAFETY: end the child at once, as the init does on failure.
            unsafe { libc::_exit(failure.exit_code) }
        }
        Ok(ForkResult::Parent { child }) => {
            // The runtime reads the channel to its end: the child's exec (or
            // failure) is the end now, not this process.
            drop(chan);
            // The descriptors past 2 are close-on-exec, but this process
            // never execs: close them, or it would hold the caller's pipes
            // (and `run -d`'s output) open for the container's life.
            // SAFETY: close_range on this process's own descriptors; none is
            // used after this point.
            unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
            let code = reap_until(child, &set);
            // SAFETY: nothing of this process's state must run at exit.
            unsafe { libc::_exit(code) }
        }
    }
}

fn fail(mut chan: InitSide, message: String) -> ! {
    chan.failed(&super::sync::InitFailure {
        exit_code: 125,
        message,
    });
    // SAFETY: as in init::run.
    unsafe { libc::_exit(125) }
}

/// `ps` inside shows `glassbox-init` as PID 1: its name (`prctl(PR_SET_NAME)`)
/// and its command line. The init is a fork of the glassbox that started it,
/// never an `execve`, so /proc/1/cmdline would read that process's arguments
/// (the host's path to glassbox, `--root`, the flags); the block the kernel
/// copied them into is overwritten with the name and NULs (what
/// `setproctitle` does).
fn name_self() {
    if let Ok(name) = std::ffi::CString::new(INIT_NAME) {
        // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
        unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr(), 0, 0, 0) };
    }
    let Some((start, end)) = crate::inspect::proc_stat::read_self_stat()
        .ok()
        .and_then(|s| s.arg_block)
        .map(|(a, b)| (a as usize, b as usize))
    else {
        return;
    };
    if start == 0 || end <= start {
        return;
    }
    let name = INIT_NAME.as_bytes();
    // SAFETY: [arg_start, arg_end) is the block at the top of this process's
    // stack that the kernel copied the arguments into at execve: mapped and
    // writable. Nothing reads the arguments from it any more (std::env::args
    // is not called in the init).
    unsafe {
        std::ptr::write_bytes(start as *mut u8, 0, end - start);
        std::ptr::copy_nonoverlapping(
            name.as_ptr(),
            start as *mut u8,
            name.len().min(end - start - 1),
        );
    }
}

/// Waits for signals: reaps on SIGCHLD, forwards the rest to `child`.
/// Returns the child's exit code once it has exited.
fn reap_until(child: Pid, set: &SigSet) -> i32 {
    loop {
        if let Some(code) = reap_all(child) {
            return code;
        }
        match set.wait() {
            Ok(Signal::SIGCHLD) => {}
            Ok(sig) => {
                let _ = kill(child, sig);
            }
            // Only EINTR is possible, and every signal is blocked.
            Err(_) => {}
        }
    }
}

/// Collects every zombie; `Some(code)` when `child` was among them.
fn reap_all(child: Pid) -> Option<i32> {
    let mut main = None;
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => return main,
            Ok(status) => {
                if status.pid() == Some(child) {
                    main = exit_code(status).or(main);
                }
            }
            // ECHILD: no child left at all (the command is gone too).
            Err(nix::errno::Errno::ECHILD) => return main.or(Some(0)),
            Err(_) => return main,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_a_shells() {
        let pid = Pid::from_raw(7);
        assert_eq!(exit_code(WaitStatus::Exited(pid, 3)), Some(3));
        assert_eq!(
            exit_code(WaitStatus::Signaled(pid, Signal::SIGTERM, false)),
            Some(143)
        );
        assert_eq!(
            exit_code(WaitStatus::Signaled(pid, Signal::SIGKILL, true)),
            Some(137)
        );
        assert_eq!(exit_code(WaitStatus::StillAlive), None);
    }

    #[test]
    fn fault_and_tty_stop_signals_are_not_waited_for() {
        let set = waited();
        assert!(set.contains(Signal::SIGTERM) && set.contains(Signal::SIGCHLD));
        assert!(set.contains(Signal::SIGINT) && set.contains(Signal::SIGHUP));
        for s in NOT_FORWARDED {
            assert!(!set.contains(s), "{s} must not be blocked");
        }
    }
}
