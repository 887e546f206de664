//! Pseudo-terminals: how `-t` gives a container a real terminal.
//!
//! A pty is a pair of devices. The program inside uses the *slave* end
//! (/dev/pts/N) as its terminal: it is its stdin, stdout and stderr, and its
//! controlling terminal, so line editing, job control and Ctrl-C work. The
//! other end, the *master*, is held by glassbox, which copies bytes between it
//! and the user's own terminal (put in raw mode, so every key passes through
//! untouched). The pty is opened *inside* the container, from the container's
//! own /dev/pts, and the master is handed back over a unix socket with
//! SCM_RIGHTS — runc's `--console-socket` — so `tty` inside shows a path that
//! exists there. A terminal resize (SIGWINCH) is passed on with TIOCSWINSZ.

use nix::sys::socket::{
    AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType, recvmsg,
    sendmsg, socketpair,
};
use nix::sys::termios::{self, SetArg, Termios};
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// A connected pair of unix sockets: the runtime keeps one end, the init the other.
pub fn console_socket() -> io::Result<(OwnedFd, OwnedFd)> {
    socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(io::Error::from)
}

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Opens a new pty from the current /dev/ptmx, returning (master, slave path).
pub fn open_pty() -> io::Result<(OwnedFd, String)> {
    // SAFETY: open/ioctl on paths and descriptors we own.
    unsafe {
        let master = cvt(libc::open(
            c"/dev/ptmx".as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        ))?;
        let master = OwnedFd::from_raw_fd(master);
        let unlock: libc::c_int = 0;
        cvt(libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock))?;
        let mut n: libc::c_uint = 0;
        cvt(libc::ioctl(master.as_raw_fd(), libc::TIOCGPTN, &mut n))?;
        Ok((master, format!("/dev/pts/{n}")))
    }
}

/// Step `open_console` (in the init, after pivot_root): opens a pty from the
/// container's own devpts, makes the slave the controlling terminal and fds
/// 0-2, and sends the master back over `socket`.
pub fn open_console_inside(
    socket: RawFd,
    size: Option<super::spec::ConsoleSize>,
) -> io::Result<String> {
    let (master, slave_path) = open_pty()?;
    // The size goes on before the process can ask for it (`stty size` as
    // its first command): a resize after the start would race it.
    if let Some(sz) = size {
        set_window_size(
            master.as_raw_fd(),
            &libc::winsize {
                ws_row: sz.height,
                ws_col: sz.width,
                ws_xpixel: 0,
                ws_ypixel: 0,
            },
        );
    }
    let c_path = std::ffi::CString::new(slave_path.clone()).map_err(io::Error::other)?;
    // SAFETY: open/ioctl/dup2/close on descriptors we own.
    unsafe {
        let slave = cvt(libc::open(c_path.as_ptr(), libc::O_RDWR))?;
        cvt(libc::ioctl(slave, libc::TIOCSCTTY, 0))?;
        for fd in 0..3 {
            cvt(libc::dup2(slave, fd))?;
        }
        if slave > 2 {
            libc::close(slave);
        }
    }
    send_fd(socket, master.as_fd())?;
    let sized = size
        .map(|s| format!("; TIOCSWINSZ {}x{}", s.height, s.width))
        .unwrap_or_default();
    Ok(format!(
        "open /dev/ptmx; {slave_path} becomes the controlling terminal and fds 0-2{sized}; master sent over the console socket"
    ))
}

/// Sends one descriptor over a unix socket (SCM_RIGHTS).
pub fn send_fd(socket: RawFd, fd: BorrowedFd) -> io::Result<()> {
    let fds = [fd.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    sendmsg::<()>(
        socket,
        &[IoSlice::new(b"m")],
        &cmsg,
        MsgFlags::empty(),
        None,
    )
    .map(|_| ())
    .map_err(io::Error::from)
}

/// Receives one descriptor sent by [`send_fd`]; `None` if the peer closed first.
pub fn recv_fd(socket: RawFd) -> io::Result<Option<OwnedFd>> {
    let mut buf = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(
        socket,
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(io::Error::from)?;
    for c in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmRights(fds) = c
            && let Some(&fd) = fds.first()
        {
            // SAFETY: the kernel just gave us this descriptor; we are its only owner.
            return Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }));
        }
    }
    Ok(None)
}

/// The size of the terminal on `fd`, if it is one.
pub fn window_size(fd: RawFd) -> Option<libc::winsize> {
    // SAFETY: TIOCGWINSZ writes the winsize we own.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        (libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) == 0).then_some(ws)
    }
}

/// Sets the size of the pty behind `fd` (the kernel then sends SIGWINCH inside).
pub fn set_window_size(fd: RawFd, ws: &libc::winsize) {
    // SAFETY: TIOCSWINSZ reads the winsize we own.
    unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, ws) };
}

/// The user's terminal in raw mode for as long as this guard lives.
pub struct RawMode {
    fd: RawFd,
    saved: Termios,
}

impl RawMode {
    /// Puts `fd` into raw mode; `None` if it is not a terminal.
    pub fn enter(fd: RawFd) -> Option<RawMode> {
        // SAFETY: stdin stays open for the life of the process.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        let saved = termios::tcgetattr(borrowed).ok()?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(borrowed, SetArg::TCSANOW, &raw).ok()?;
        Some(RawMode { fd, saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: as in enter.
        let borrowed = unsafe { BorrowedFd::borrow_raw(self.fd) };
        let _ = termios::tcsetattr(borrowed, SetArg::TCSANOW, &self.saved);
    }
}
