//! One lock per data root (`<root>/lock`): what orders `run`, `rm`, `rmi`,
//! `load`, `build` and `cleanup` against each other.
//!
//! The lock is `flock(2)` on `<root>/lock`. Commands that add to the root
//! take it *shared*, so any number of them run at once: a `run` from before
//! it resolves its image until its record says the container runs (or that
//! it failed), `load`, `build` and `commit` while they store layers that no
//! image config names yet, `rm` while it removes a container. Commands that
//! judge the whole root take it *exclusive*, so they see no half-made state:
//! `rmi` (which layers does any container use?) and `cleanup` (what is left
//! to remove?). So an `rmi` never deletes a layer a starting container is
//! about to mount, and a `cleanup` never kills a container whose `run` then
//! reports success, nor misses the lease a run was about to take.
//!
//! A flock belongs to the open file description, not to the process: a
//! child forked while the lock is held (the detached monitor) holds it too,
//! until it closes its copy. Nothing here unlocks explicitly (`LOCK_UN`
//! would release it for the parent and the child at once); dropping the
//! guard closes this process's descriptor, and the kernel releases the lock
//! when the last one is closed. The descriptor is close-on-exec, so the
//! container's process and any program glassbox runs never hold it.
//!
//! It lives here, below the engine and the image store, because both take
//! it: the store knows its data root only by path.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

/// How a command holds the data root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// With other shared holders: it adds to the root.
    Shared,
    /// Alone: it judges or removes what the whole root holds.
    Exclusive,
}

/// The lock could not be taken.
#[derive(Debug, thiserror::Error)]
#[error("cannot lock the data root ({path}): {source}")]
pub struct LockError {
    pub path: PathBuf,
    pub source: io::Error,
}

/// The data root's lock, held until dropped.
#[derive(Debug)]
pub struct RootLock {
    _file: File,
    pub mode: Mode,
}

impl RootLock {
    /// Takes the lock of the data root at `root`, waiting for holders of the
    /// other kind.
    pub fn at(root: &std::path::Path, mode: Mode) -> Result<RootLock, LockError> {
        let path = root.join("lock");
        let err = |source| LockError {
            path: path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(err)?;
        let op = match mode {
            Mode::Shared => libc::LOCK_SH,
            Mode::Exclusive => libc::LOCK_EX,
        };
        loop {
            // SAFETY: flock(2) on a descriptor this guard owns; no memory involved.
            if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
                break;
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(err(e));
            }
        }
        Ok(RootLock { _file: file, mode })
    }
}
