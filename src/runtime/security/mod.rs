//! Security: what the container's root may do, and as whom the process runs.
//!
//! Root inside a container is the host's uid 0 (glassbox uses no user
//! namespace), so what keeps it contained is what is taken away before `execve`:
//! - [`capabilities`]: root's power split into ~40 capabilities; a container keeps
//!   the 14 that docker and containerd keep, and loses e.g. CAP_SYS_ADMIN
//!   (mounting), CAP_NET_ADMIN (changing interfaces) and CAP_SYS_MODULE;
//! - `no_new_privs`: no setuid binary or file capability can give any back;
//! - [`user`]: `-u UID[:GID]` switches to an unprivileged user, whose
//!   capability sets are then empty;
//! - [`seccomp`]: a filter that refuses the system calls which reach kernel
//!   state no namespace isolates.

pub mod capabilities;
pub mod seccomp;
pub mod user;

use std::io;

/// Step `set_no_new_privs`: prctl(PR_SET_NO_NEW_PRIVS, 1). From now on `execve`
/// can never grant more privilege than the caller has (setuid bits are ignored).
pub fn set_no_new_privs() -> io::Result<()> {
    nix::sys::prctl::set_no_new_privs().map_err(io::Error::from)
}
