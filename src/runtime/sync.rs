//! The channel between the runtime and the container's init, before `execve`.
//!
//! After `clone(2)` the child prepares the container on its own (mounts,
//! pivot_root, capabilities) and finally calls `execve`. The parent must learn
//! whether that worked, and what the child's steps cost. The classic way is a
//! pipe whose write end is close-on-exec: the child writes a line per step, and
//! on failure a line with the error; when `execve` succeeds the kernel closes the
//! write end and the parent reads end-of-file. No timeout and no race: EOF comes
//! either from a successful exec or from the child's death. Where the program
//! is exec'd through the trampoline ([`super::trampoline`]), the pipe is
//! handed to it on fd 3 and closes at the program's `execve`; a failure comes
//! back as `errno\tNNNN`, which the runtime words as docker does.

use super::trace::{Event, Trace, now_ns};
use super::trampoline::REPORT_FD;
use nix::fcntl::OFlag;
use nix::unistd::pipe2;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};

/// The end the container's init writes to.
pub struct InitSide {
    file: File,
    pending: String,
}

/// The end the runtime reads from.
pub struct RuntimeSide {
    file: File,
}

/// Why the init could not exec the container's process.
#[derive(Debug, Clone, PartialEq)]
pub struct InitFailure {
    /// The exit code the container ends with: 127 when the command is not in the
    /// image, 126 when it cannot be executed, 1 for a failed setup step.
    pub exit_code: i32,
    pub message: String,
}

/// Creates the channel; both ends are close-on-exec.
pub fn channel() -> nix::Result<(RuntimeSide, InitSide)> {
    let (r, w): (OwnedFd, OwnedFd) = pipe2(OFlag::O_CLOEXEC)?;
    Ok((
        RuntimeSide {
            file: File::from(r),
        },
        InitSide {
            file: File::from(w),
            pending: String::new(),
        },
    ))
}

impl InitSide {
    /// Notes one finished step (`start_ns` from [`now_ns`]). Steps are sent in one
    /// write just before `execve` ([`InitSide::about_to_exec`]), not one by one.
    pub fn step_done(&mut self, start_ns: u64, step: &str, detail: &str) {
        let dur = now_ns().saturating_sub(start_ns);
        self.pending.push_str(&format!(
            "step\t{start_ns}\t{dur}\t{step}\t{}\n",
            detail.replace(['\n', '\t'], " ")
        ));
    }

    /// Sends the steps taken so far; the next thing the init does is `execve`.
    pub fn about_to_exec(&mut self) {
        // A failed write means the runtime is gone; the exec goes ahead regardless.
        let _ = self.file.write_all(self.pending.as_bytes());
        self.pending.clear();
    }

    /// Reports the failure that ends the init.
    pub fn failed(&mut self, failure: &InitFailure) {
        self.pending.push_str(&format!(
            "fail\t{}\t{}\n",
            failure.exit_code,
            failure.message.replace('\n', " ")
        ));
        self.about_to_exec();
    }

    /// Hands the pipe to the exec trampoline: a line naming the program (for
    /// the runtime's message if the trampoline's `execve` fails), then the
    /// pipe on descriptor [`REPORT_FD`], not close-on-exec, where the
    /// trampoline reports such a failure. The trampoline's own descriptor
    /// must not be that one (it never is: see `trampoline::sealed`).
    pub fn hand_to_trampoline(&mut self, shown: &str, trampoline: i32) -> std::io::Result<()> {
        if trampoline == REPORT_FD {
            return Err(std::io::Error::other(
                "the trampoline's descriptor is the one it reports on",
            ));
        }
        self.file.write_all(
            format!(
                "trampoline\t{}\t{}\n",
                now_ns(),
                shown.replace(['\n', '\t'], " ")
            )
            .as_bytes(),
        )?;
        let fd = self.file.as_raw_fd();
        // The result (REPORT_FD, without FD_CLOEXEC) is closed by the
        // trampoline's own fcntl before the program's execve.
        let rc = if fd == REPORT_FD {
            // SAFETY: fcntl(F_SETFD) on a descriptor this process owns.
            unsafe { libc::fcntl(fd, libc::F_SETFD, 0) }
        } else {
            // SAFETY: dup2 of a descriptor this process owns onto REPORT_FD.
            // Whatever was there is close-on-exec (prepare_tail's close_range)
            // and no longer used; the trampoline's descriptor never is REPORT_FD.
            unsafe { libc::dup2(fd, REPORT_FD) }
        };
        if rc == -1 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    pub fn raw_fd(&self) -> i32 {
        self.file.as_raw_fd()
    }
}

impl RuntimeSide {
    /// Reads until the init has exec'd (EOF) and returns its steps, or the
    /// failure it reported.
    pub fn wait_for_exec(mut self, trace: &mut Trace) -> Result<(), InitFailure> {
        let mut text = String::new();
        if let Err(e) = self.file.read_to_string(&mut text) {
            return Err(InitFailure {
                exit_code: 1,
                message: format!("reading from the container's init failed: {e}"),
            });
        }
        let ended = now_ns();
        let mut failure = None;
        let mut program = None;
        for line in text.lines() {
            if let Some(errno) = super::trampoline::parse_report(line) {
                // The trampoline's execve of the program failed.
                failure = Some(super::init::exec_failure(
                    program.unwrap_or("the command"),
                    std::io::Error::from_raw_os_error(errno),
                ));
                continue;
            }
            let f: Vec<&str> = line.splitn(5, '\t').collect();
            match f.as_slice() {
                ["step", start, dur, step, detail] => trace.events.push(Event {
                    actor: "init".into(),
                    step: (*step).into(),
                    detail: (*detail).into(),
                    start_ns: start.parse().unwrap_or(0),
                    dur_ns: dur.parse().unwrap_or(0),
                }),
                ["trampoline", start, shown] => {
                    // From the trampoline's execveat to the program's
                    // execve (the end of the pipe), as one step.
                    let start_ns = start.parse().unwrap_or(0);
                    trace.events.push(Event {
                        actor: "init".into(),
                        step: "exec_trampoline".into(),
                        detail: format!(
                            "execveat(sealed memfd glassbox-trampoline): it execs {shown}; /proc/self/exe is never glassbox's binary"
                        ),
                        start_ns,
                        dur_ns: ended.saturating_sub(start_ns),
                    });
                    program = Some(*shown);
                }
                ["fail", code, msg @ ..] => {
                    failure = Some(InitFailure {
                        exit_code: code.parse().unwrap_or(1),
                        message: msg.join("\t"),
                    })
                }
                _ => {}
            }
        }
        match failure {
            Some(f) => Err(f),
            None => Ok(()),
        }
    }
}
