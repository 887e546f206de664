//! Printing when the reader may be gone.
//!
//! `glassbox ps -a | head -1`: head reads one line and exits, and the next
//! write into the pipe fails with EPIPE. Rust's `println!` panics on that
//! (a Rust program ignores SIGPIPE, so the write returns the error instead of
//! killing it), and `eprintln!` panics the same way on a terminal that is
//! gone. docker's CLI, like `ls` or `cat`, just ends, killed by SIGPIPE.
//!
//! So the CLI (and the lab, which also prints to a terminal that may go)
//! prints with [`outln!`](crate::outln) and
//! [`errln!`](crate::errln). A failed write to stdout marks it closed; the
//! command then prints nothing more, stops any loop that only prints
//! (`logs -f`, `stats`), and finishes the work it was doing (an `rmi` half
//! done is worse than a line not shown). At the end, [`finish`] ends the
//! process the way docker's does: by SIGPIPE, quietly. A failed write to
//! stderr is dropped.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// True once a write to stdout failed because its reader is gone.
pub fn closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

/// Records that stdout's reader is gone.
pub fn mark_closed() {
    STDOUT_CLOSED.store(true, Ordering::Relaxed);
}

/// Writes to stdout, unless its reader is gone. Returns whether it was written.
pub fn write(text: std::fmt::Arguments) -> bool {
    if closed() {
        return false;
    }
    let mut out = std::io::stdout().lock();
    match out.write_fmt(text).and_then(|()| out.flush()) {
        Ok(()) => true,
        Err(_) => {
            // EPIPE, or EIO from a terminal that hung up: either way no one reads.
            mark_closed();
            false
        }
    }
}

/// Writes to stderr; a stderr that is gone is ignored.
pub fn write_err(text: std::fmt::Arguments) {
    let _ = std::io::stderr().lock().write_fmt(text);
}

/// True when `e` (or what caused it) is a write into a pipe with no reader.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Ends the process as a program whose reader went away ends: by SIGPIPE,
/// when stdout was closed; otherwise returns `code`.
pub fn finish(code: i32) -> i32 {
    if closed() {
        // SAFETY: restoring the default action of SIGPIPE and raising it in
        // this single-threaded process; nothing runs after.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            libc::raise(libc::SIGPIPE);
        }
        return 128 + libc::SIGPIPE;
    }
    code
}

/// `println!` that does not panic when the reader is gone (see [`crate::util::out`]).
#[macro_export]
macro_rules! outln {
    () => {{
        let _ = $crate::util::out::write(format_args!("\n"));
    }};
    ($($arg:tt)*) => {{
        let _ = $crate::util::out::write(format_args!("{}\n", format_args!($($arg)*)));
    }};
}

/// `print!` that does not panic when the reader is gone.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        let _ = $crate::util::out::write(format_args!($($arg)*));
    }};
}

/// `eprintln!` that does not panic when stderr is gone.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::util::out::write_err(format_args!("{}\n", format_args!($($arg)*)))
    };
}
