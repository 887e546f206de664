//! The proc connector: the kernel's report of a process's exit, to anyone.
//!
//! Only a process's parent learns its exit status from `waitpid(2)`, and the
//! parent of a container's process is its monitor (the shim). If the monitor
//! is killed, the container's process is re-parented to PID 1, which reaps it
//! and throws the status away. A `glassbox stop` run from another shell is
//! not the parent, yet it still owes the user the exit status the kernel gave
//! (137 after a SIGKILL), not a guess.
//!
//! The kernel announces every fork, exec and exit on a netlink multicast
//! group, the *process events connector* (`NETLINK_CONNECTOR`, group
//! `CN_IDX_PROC`; `drivers/connector/cn_proc.c`, root only). An exit event
//! carries the exit status in `waitpid`'s encoding (`task->exit_code`). A
//! listener subscribes *before* it sends the signal, so the event cannot be
//! missed; it then reads events until the one for its PID arrives.
//!
//! The messages are C structs (`linux/netlink.h`, `linux/connector.h`,
//! `linux/cn_proc.h`), laid out here by hand:
//!
//! ```text
//! nlmsghdr  len u32, type u16, flags u16, seq u32, pid u32        16 bytes
//! cn_msg    idx u32, val u32, seq u32, ack u32, len u16, flags u16 20 bytes
//! proc_event what u32, cpu u32, timestamp u64, then per kind:
//!   exit:   pid i32, tgid i32, exit_code u32, exit_signal u32, …
//! ```

use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

const NETLINK_CONNECTOR: i32 = 11;
const CN_IDX_PROC: u32 = 1;
const CN_VAL_PROC: u32 = 1;
const PROC_CN_MCAST_LISTEN: u32 = 1;
const PROC_EVENT_EXIT: u32 = 0x8000_0000;
const NLMSG_DONE: u16 = 3;
const NLMSG_HDRLEN: usize = 16;
const CN_MSG_LEN: usize = 20;

/// A subscription to the kernel's process exit events.
pub struct ExitWatch {
    sock: OwnedFd,
}

/// Pure: the exit status in docker's terms (the code, or 128 + the signal)
/// from `waitpid`'s encoding.
pub fn docker_code(wait_status: u32) -> i32 {
    let signal = wait_status & 0x7f;
    if signal == 0 {
        ((wait_status >> 8) & 0xff) as i32
    } else {
        128 + signal as i32
    }
}

/// Pure: the (pid, tgid, wait status) of an exit event in one netlink
/// message; `None` for any other message.
pub fn parse_exit(msg: &[u8]) -> Option<(i32, i32, u32)> {
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from_ne_bytes(msg.get(at..at + 4)?.try_into().ok()?))
    };
    let event = NLMSG_HDRLEN + CN_MSG_LEN;
    if u32_at(NLMSG_HDRLEN)? != CN_IDX_PROC || u32_at(event)? != PROC_EVENT_EXIT {
        return None;
    }
    let data = event + 16;
    Some((
        u32_at(data)? as i32,
        u32_at(data + 4)? as i32,
        u32_at(data + 8)?,
    ))
}

impl ExitWatch {
    /// Subscribes to exit events (needs CAP_NET_ADMIN: root).
    pub fn open() -> io::Result<ExitWatch> {
        // SAFETY: socket(2) with constant arguments; the result is checked.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                NETLINK_CONNECTOR,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the descriptor was just made and is owned by nobody else.
        let sock = unsafe { OwnedFd::from_raw_fd(fd) };
        // A busy host sends many events: room for them while we wait.
        let size: libc::c_int = 1 << 20;
        // SAFETY: setsockopt reads one int from a live local.
        unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        // SAFETY: an all-zero sockaddr_nl is valid; the fields are set below.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        addr.nl_groups = CN_IDX_PROC;
        let len = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        // SAFETY: bind(2) reads `len` bytes of the live sockaddr_nl above.
        if unsafe {
            libc::bind(
                sock.as_raw_fd(),
                (&addr as *const libc::sockaddr_nl).cast(),
                len,
            )
        } != 0
        {
            return Err(io::Error::last_os_error());
        }
        // nlmsghdr + cn_msg + the LISTEN operation.
        let total = NLMSG_HDRLEN + CN_MSG_LEN + 4;
        let mut msg = Vec::with_capacity(total);
        msg.extend((total as u32).to_ne_bytes());
        msg.extend(NLMSG_DONE.to_ne_bytes());
        msg.extend(0u16.to_ne_bytes());
        msg.extend(0u32.to_ne_bytes());
        msg.extend(std::process::id().to_ne_bytes());
        msg.extend(CN_IDX_PROC.to_ne_bytes());
        msg.extend(CN_VAL_PROC.to_ne_bytes());
        msg.extend(0u32.to_ne_bytes());
        msg.extend(0u32.to_ne_bytes());
        msg.extend(4u16.to_ne_bytes());
        msg.extend(0u16.to_ne_bytes());
        msg.extend(PROC_CN_MCAST_LISTEN.to_ne_bytes());
        // SAFETY: an all-zero sockaddr_nl addresses the kernel (pid 0).
        let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: sendto(2) reads `msg.len()` bytes of msg and `len` of kernel.
        let sent = unsafe {
            libc::sendto(
                sock.as_raw_fd(),
                msg.as_ptr().cast(),
                msg.len(),
                0,
                (&kernel as *const libc::sockaddr_nl).cast(),
                len,
            )
        };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(ExitWatch { sock })
    }

    /// Waits at most `timeout` for the exit of process `pid`; its wait status.
    /// `None` if it did not come (the process still runs, or the kernel
    /// dropped events: the socket overflowed).
    pub fn wait(&self, pid: i32, timeout: Duration) -> Option<u32> {
        let deadline = Instant::now() + timeout;
        let mut buf = vec![0u8; 8192];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let ms = left.as_millis().min(u16::MAX as u128) as u16;
            let mut fds = [nix::poll::PollFd::new(
                self.sock.as_fd(),
                nix::poll::PollFlags::POLLIN,
            )];
            match nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(ms)) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(nix::Error::EINTR) => continue,
                Err(_) => return None,
            }
            // SAFETY: recv(2) writes at most buf.len() bytes into buf.
            let n = unsafe {
                libc::recv(
                    self.sock.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                // ENOBUFS: events were dropped; ours may still come.
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ENOBUFS | libc::EAGAIN | libc::EINTR)
                ) {
                    continue;
                }
                return None;
            }
            // One datagram may hold several netlink messages.
            let mut at = 0usize;
            let n = n as usize;
            while at + NLMSG_HDRLEN <= n {
                let len = u32::from_ne_bytes(buf[at..at + 4].try_into().unwrap_or([0; 4])) as usize;
                if len < NLMSG_HDRLEN || at + len > n {
                    break;
                }
                if let Some((p, tgid, status)) = parse_exit(&buf[at..at + len])
                    && p == pid
                    && tgid == pid
                {
                    return Some(status);
                }
                at += (len + 3) & !3;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_statuses_read_as_docker_codes() {
        assert_eq!(docker_code(0), 0);
        assert_eq!(docker_code(3 << 8), 3);
        assert_eq!(docker_code(9), 137);
        assert_eq!(docker_code(15), 143);
        // A core dump sets 0x80 beside the signal.
        assert_eq!(docker_code(0x80 | 6), 134);
    }

    #[test]
    fn an_exit_event_is_read_from_its_bytes() {
        let mut msg = vec![0u8; NLMSG_HDRLEN];
        msg.extend(CN_IDX_PROC.to_ne_bytes());
        msg.extend(CN_VAL_PROC.to_ne_bytes());
        msg.extend([0u8; 12]);
        msg.extend(PROC_EVENT_EXIT.to_ne_bytes());
        msg.extend(0u32.to_ne_bytes()); // cpu
        msg.extend(0u64.to_ne_bytes()); // timestamp
        msg.extend(4242i32.to_ne_bytes());
        msg.extend(4242i32.to_ne_bytes());
        msg.extend(9u32.to_ne_bytes());
        msg.extend(17u32.to_ne_bytes());
        assert_eq!(parse_exit(&msg), Some((4242, 4242, 9)));
        msg[NLMSG_HDRLEN + CN_MSG_LEN] = 1; // PROC_EVENT_FORK's neighbour
        assert_eq!(parse_exit(&msg), None);
    }
}
