//! The shim: the process that stays with a running container.
//!
//! Once the container's command runs, someone must be its parent: to collect
//! its exit status (a parent's `waitpid` is the only way to learn it), to read
//! its output from the pipes or pty and keep it in the log, and to clean up
//! when it ends. In docker this is `containerd-shim`; here it is the glassbox
//! process that called `clone`: the CLI itself for a foreground `run`, a
//! detached copy of it for `run -d`. The wait uses a pidfd, which becomes
//! readable when the process exits; it is opened right after `clone`, while the
//! child cannot yet have been reaped, so there is no window in which an exit
//! could be missed (the hang some runtimes show once in a few hundred runs).

use super::pty;
use super::trace::now_ns;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal, kill};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

/// Which stream a chunk of output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// Where the container's output goes.
pub trait OutputSink {
    fn write(&mut self, stream: Stream, data: &[u8]);
    /// Called once when no more output will come.
    fn finish(&mut self) {}
}

/// The relay's inputs and outputs.
pub struct Relay<'a> {
    /// Output to read: pipes (stdout, stderr) or the pty master (as stdout).
    pub outputs: Vec<(BorrowedFd<'a>, Stream)>,
    /// Where to send the user's input: the stdin pipe or the pty master.
    pub input_to: Option<OwnedFd>,
    /// The user's input (the CLI's stdin), when attached with `-i`.
    pub input_from: Option<RawFd>,
    /// The pty master, when there is one: window size changes go there.
    pub pty_master: Option<RawFd>,
    /// Forward SIGINT/SIGTERM/SIGHUP/SIGQUIT to the container (attached runs).
    pub forward_signals: bool,
    /// A detached shim's attach socket and its clients.
    pub attach: Option<&'a mut super::attach::AttachServer>,
}

/// How the container's process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    /// The exit status as docker reports it: the code, or 128 + signal number.
    pub code: i32,
    /// The signal that killed it, if one did.
    pub signal: Option<i32>,
}

impl Exit {
    pub fn from_status(status: WaitStatus) -> Exit {
        match status {
            WaitStatus::Exited(_, code) => Exit { code, signal: None },
            WaitStatus::Signaled(_, sig, _) => Exit {
                code: 128 + sig as i32,
                signal: Some(sig as i32),
            },
            _ => Exit {
                code: 255,
                signal: None,
            },
        }
    }
}

/// The signals an attached run passes on to the container (docker's sig-proxy).
pub const FORWARDED: [Signal; 4] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
];

/// Lets the forwarded signals reach this process again, once a relay is over
/// and the caller goes on (e.g. a build after its RUN step).
pub fn unblock_forwarded() {
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(s);
    }
    let _ = set.thread_unblock();
}

/// Blocks these signals and returns a descriptor that reads them instead.
/// The mask is inherited across clone, and the init clears it before execve.
pub fn signal_fd(forward: bool) -> io::Result<SignalFd> {
    let mut set = SigSet::empty();
    set.add(Signal::SIGWINCH);
    if forward {
        for s in FORWARDED {
            set.add(s);
        }
    }
    set.thread_block().map_err(io::Error::from)?;
    SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(io::Error::from)
}

/// Reads what `fd` has into `buf`'s whole capacity, which is not zeroed
/// first: the relay's 64 KiB buffer touches only the pages a read fills (a
/// start whose program writes nothing touches none, where zeroing it cost
/// 16 page faults). `buf` then holds just what was read.
fn read_fresh(fd: RawFd, buf: &mut Vec<u8>) -> io::Result<usize> {
    buf.clear();
    let spare = buf.spare_capacity_mut();
    // SAFETY: the kernel writes at most `spare.len()` bytes into memory the
    // vector owns, and `set_len` below covers only the bytes it wrote.
    let n = unsafe { libc::read(fd, spare.as_mut_ptr().cast(), spare.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the first `n` bytes were just written by `read`.
    unsafe { buf.set_len(n as usize) };
    Ok(n as usize)
}

fn write_all(fd: RawFd, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        // SAFETY: write from a slice we own, of its length.
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        data = &data[n as usize..];
    }
    Ok(())
}

fn set_nonblocking(fd: RawFd) {
    // SAFETY: fcntl on a descriptor we hold.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
}

/// Relays input and output until the process behind `pidfd` exits, then reaps
/// it. `signals` is the descriptor from [`signal_fd`], made before `clone`.
pub fn relay_until_exit(
    pid: libc::pid_t,
    pidfd: &OwnedFd,
    mut relay: Relay,
    signals: Option<&SignalFd>,
    sink: &mut dyn OutputSink,
) -> Exit {
    for (fd, _) in &relay.outputs {
        set_nonblocking(fd.as_raw_fd());
    }
    let mut open: Vec<bool> = vec![true; relay.outputs.len()];
    // Filled by read_fresh, never zeroed whole.
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut exited = false;
    let mut drain_deadline = 0u64;
    loop {
        // After the exit, keep reading until every output reaches EOF (all its
        // writers are gone), or 200 ms pass (a writer outside the container).
        if exited && (open.iter().all(|o| !o) || now_ns() > drain_deadline) {
            break;
        }
        let mut fds: Vec<PollFd> = Vec::new();
        let mut roles: Vec<usize> = Vec::new(); // index: 0..n outputs, then special roles
        for (i, (fd, _)) in relay.outputs.iter().enumerate() {
            if open[i] {
                fds.push(PollFd::new(*fd, PollFlags::POLLIN));
                roles.push(i);
            }
        }
        const PIDFD: usize = usize::MAX;
        const INPUT: usize = usize::MAX - 1;
        const SIGNALS: usize = usize::MAX - 2;
        const ATTACH_LISTENER: usize = usize::MAX - 3;
        // Attach clients: ATTACH_CLIENT + their index.
        const ATTACH_CLIENT: usize = usize::MAX / 2;
        if !exited {
            fds.push(PollFd::new(pidfd.as_fd(), PollFlags::POLLIN));
            roles.push(PIDFD);
        }
        // SAFETY: borrow_raw: the CLI's stdin stays open for the whole relay.
        let input_fd = relay
            .input_from
            .filter(|_| relay.input_to.is_some() && !exited)
            .map(|fd| unsafe { BorrowedFd::borrow_raw(fd) });
        if let Some(fd) = input_fd {
            fds.push(PollFd::new(fd, PollFlags::POLLIN));
            roles.push(INPUT);
        }
        if let Some(s) = signals {
            fds.push(PollFd::new(s.as_fd(), PollFlags::POLLIN));
            roles.push(SIGNALS);
        }
        if let Some(a) = relay.attach.as_deref().filter(|_| !exited) {
            for (fd, client) in a.poll_fds() {
                fds.push(PollFd::new(fd, PollFlags::POLLIN));
                roles.push(match client {
                    None => ATTACH_LISTENER,
                    Some(i) => ATTACH_CLIENT + i,
                });
            }
        }
        let timeout = if exited {
            PollTimeout::from(50u16)
        } else {
            PollTimeout::NONE
        };
        match poll(&mut fds, timeout) {
            Ok(_) => {}
            Err(nix::Error::EINTR) => continue,
            Err(_) => break,
        }
        let ready: Vec<(usize, PollFlags)> = fds
            .iter()
            .zip(&roles)
            .filter_map(|(p, r)| p.revents().filter(|f| !f.is_empty()).map(|f| (*r, f)))
            .collect();
        drop(fds);
        for (role, _flags) in ready {
            match role {
                PIDFD => {
                    exited = true;
                    drain_deadline = now_ns() + 200_000_000;
                }
                INPUT => {
                    let Some(from) = relay.input_from else {
                        continue;
                    };
                    match read_fresh(from, &mut buf) {
                        Ok(0) | Err(_) => {
                            // End of the user's input: close the container's stdin
                            // (a pty has no end-of-file; leave it open).
                            if relay.pty_master.is_none() {
                                relay.input_to = None;
                            } else {
                                relay.input_from = None;
                            }
                        }
                        Ok(n) => {
                            if let Some(to) = &relay.input_to
                                && write_all(to.as_raw_fd(), &buf[..n]).is_err()
                            {
                                relay.input_to = None;
                            }
                        }
                    }
                }
                ATTACH_LISTENER => {
                    if let Some(a) = relay.attach.as_deref_mut() {
                        a.accept();
                    }
                }
                r if (ATTACH_CLIENT..ATTACH_LISTENER).contains(&r) => {
                    let Some(a) = relay.attach.as_deref_mut() else {
                        continue;
                    };
                    buf.resize(buf.capacity(), 0);
                    match a.on_readable(r - ATTACH_CLIENT, &mut buf, relay.pty_master) {
                        super::attach::Input::Data(data) => {
                            if let Some(to) = &relay.input_to
                                && write_all(to.as_raw_fd(), data).is_err()
                            {
                                relay.input_to = None;
                            }
                        }
                        super::attach::Input::CloseStdin => relay.input_to = None,
                        super::attach::Input::Nothing => {}
                    }
                }
                SIGNALS => {
                    if let Some(s) = signals {
                        while let Ok(Some(info)) = s.read_signal() {
                            let sig = info.ssi_signo as i32;
                            if sig == libc::SIGWINCH {
                                if let (Some(m), Some(ws)) = (relay.pty_master, pty::window_size(0))
                                {
                                    pty::set_window_size(m, &ws);
                                }
                            } else {
                                // Our own child, still unreaped: the PID is its.
                                let _ = kill(Pid::from_raw(pid), Signal::try_from(sig).ok());
                            }
                        }
                    }
                }
                i => {
                    let (fd, stream) = relay.outputs[i];
                    loop {
                        match read_fresh(fd.as_raw_fd(), &mut buf) {
                            Ok(0) => {
                                open[i] = false;
                                break;
                            }
                            Ok(n) => {
                                sink.write(stream, &buf[..n]);
                                if let Some(a) = relay.attach.as_deref_mut() {
                                    a.broadcast(stream, &buf[..n]);
                                }
                            }
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                            // EIO: a pty master whose every slave is closed.
                            Err(_) => {
                                open[i] = false;
                                break;
                            }
                        }
                    }
                }
            }
        }
        // The clients this round finished with are closed now that no
        // index of the round's poll set names them any more.
        if let Some(a) = relay.attach.as_deref_mut() {
            a.prune();
        }
    }
    sink.finish();
    if let Some(a) = relay.attach.as_deref_mut() {
        a.close_all();
    }
    let status = loop {
        match waitpid(Pid::from_raw(pid), None) {
            Err(nix::Error::EINTR) => continue,
            other => break other,
        }
    };
    match status {
        Ok(s) => Exit::from_status(s),
        Err(_) => Exit {
            code: 255,
            signal: None,
        },
    }
}

/// Copies output to the user's terminal (attached runs).
pub struct Terminal;

impl OutputSink for Terminal {
    fn write(&mut self, stream: Stream, data: &[u8]) {
        let fd = match stream {
            Stream::Stdout => 1,
            Stream::Stderr => 2,
        };
        let _ = write_all(fd, data);
    }
    fn finish(&mut self) {
        let _ = io::stdout().flush();
    }
}

/// Sends output to two sinks (the terminal and the log).
pub struct Tee<'a>(pub &'a mut dyn OutputSink, pub &'a mut dyn OutputSink);

impl OutputSink for Tee<'_> {
    fn write(&mut self, stream: Stream, data: &[u8]) {
        self.0.write(stream, data);
        self.1.write(stream, data);
    }
    fn finish(&mut self) {
        self.0.finish();
        self.1.finish();
    }
}
