//! The `glassbox` binary: all logic lives in the library; this is the entry.
//!
//! C's `main` is ours (`#![no_main]`), not Rust's start-up code. A container
//! start runs this binary once (`run`; twice for `exec`, `build` and the other
//! starts, the second time from a read-only view of itself,
//! `runtime::exe::seal`), and Rust's start-up costs each run about
//! 0.2 ms that glassbox does not use: glibc's `pthread_getattr_np` reads and
//! parses /proc/self/maps to find the main thread's stack for a guard page,
//! and a SIGSEGV handler is installed on an alternate stack (it turns a stack
//! overflow into a message; without it the process dies of SIGSEGV). What of
//! that start-up glassbox relies on is done here instead, in `start_up`:
//! descriptors 0, 1 and 2 are open, and SIGPIPE is ignored. Arguments and
//! the environment reach `std::env` as before: glibc passes them to Rust's
//! own initializer in `.init_array`, not only through `main`. Other C
//! libraries (musl) do not, so there Rust's start-up stays, as it does in
//! the unit-test build, whose `main` is the test harness's.
#![cfg_attr(all(not(test), target_env = "gnu"), no_main)]

/// What Rust's start-up does that glassbox depends on.
#[cfg(all(not(test), target_env = "gnu"))]
fn start_up() {
    // A descriptor among 0, 1, 2 that is closed is opened on /dev/null, so
    // that the first file glassbox opens never becomes someone's stdout.
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: poll reads and writes `fds`, an array of three pollfd that
    // outlives the call; a zero timeout only reports each descriptor's state.
    if unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) } >= 0 {
        let closed = fds.iter().filter(|p| p.revents & libc::POLLNVAL != 0);
        for _ in closed {
            // SAFETY: open of a NUL-terminated constant path. It takes the
            // lowest free descriptor: this closed one (those below are open).
            unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        }
    }
    // A write to a pipe whose reader is gone returns EPIPE (util::out ends
    // the process quietly on it) instead of killing glassbox part way through
    // a teardown. Container processes get the default back (runtime::init).
    // SAFETY: SIG_IGN installs no handler code.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}

/// The command line's work: the exit status.
fn run() -> i32 {
    // A command that starts containers runs from a read-only view of this
    // binary (runtime::exe): re-executed here, before the parse, so that
    // clap builds its whole command tree once per start, not twice.
    glassbox::runtime::exe::seal_early();
    glassbox::cli::main()
}

/// The process's entry, called by glibc's start code.
///
/// # Safety
/// `envp` must be the null-terminated array of environment strings the
/// kernel gave the process, as glibc's start code passes it, called once:
/// `remember_environment` keeps where that block lies for the init to scrub.
#[cfg(all(not(test), target_env = "gnu"))]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
    envp: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    // SAFETY: `envp` is the environment the process was started with,
    // unchanged so far (nothing has run but glibc's start-up).
    unsafe { glassbox::runtime::exe::remember_environment(envp) };
    start_up();
    // A panic is reported by the panic hook (message and location) and ends
    // the process with 101, as Rust's own start-up would end it; it must not
    // unwind out of this C function.
    let code = std::panic::catch_unwind(run).unwrap_or(101);
    std::process::exit(code);
}

/// Elsewhere, after Rust's own start-up.
#[cfg(any(test, not(target_env = "gnu")))]
fn main() {
    std::process::exit(run());
}
