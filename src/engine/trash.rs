//! `trash/`: where a removed container's directory waits to be deleted, and
//! how a directory whose deleter died is found again.
//!
//! Removing a container is one `rename(2)` of `containers/<id>` to
//! `<root>/trash/<id>`: from that instant `ps -a` no longer lists it and its
//! name is free. Deleting its files (and, after a `--rm` run, unmounting its
//! overlay) is done afterwards by another process, so that nobody waits for
//! it: a `--rm` run's reaper (`glassbox-reap`), or the `rm -rf` that
//! `glassbox rm` starts.
//!
//! After a fault, a directory in `trash/` is one of two things: one being
//! deleted right now, or one whose deleter died (killed, or the machine
//! rebooted) and that nobody will delete. What tells them apart is an
//! `flock(2)` lock on the directory itself (opened `O_DIRECTORY`), a
//! [`Claim`]: whoever moves a directory into `trash/` claims it before the
//! `rename`, and the lock goes with the descriptor to the process that
//! deletes it. The kernel drops a lock when the last descriptor of it is
//! closed, however its holders ended, so a directory that nobody holds is
//! an orphan. Each `--rm` reaper, once done with its own container,
//! finishes the orphans it can claim ([`finish_orphans`]); `cleanup`
//! removes whatever is there.
//!
//! A directory whose deletion failed holds `teardown-error` (what failed)
//! and is left for `cleanup`, which reports it, rather than tried again by
//! every reaper.

use super::cleanup::{self, Owner};
use super::{DataRoot, overlay};
use crate::runtime::journal::Object;
use crate::runtime::trace::{Trace, now_ns};
use nix::fcntl::{OFlag, open};
use nix::sys::stat::Mode;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

/// The file a failed deletion leaves in the directory, saying what failed.
pub const TEARDOWN_ERROR: &str = "teardown-error";

/// An exclusive `flock` on a container's directory: its holder deletes it.
/// Dropping the last descriptor of it (this one, and any copy a child
/// inherited) releases the lock.
#[derive(Debug)]
pub struct Claim(OwnedFd);

impl Claim {
    /// Claims `dir` if nobody holds it: `Ok(None)` when someone does, or
    /// when the directory was deleted meanwhile.
    pub fn try_now(dir: &Path) -> nix::Result<Option<Claim>> {
        Claim::take(dir, libc::LOCK_EX | libc::LOCK_NB)
    }

    /// Claims `dir`, waiting for whoever holds it now to let go: `Ok(None)`
    /// when that holder deleted it.
    pub fn wait(dir: &Path) -> nix::Result<Option<Claim>> {
        Claim::take(dir, libc::LOCK_EX)
    }

    /// What a deleter of `dir` holds while it deletes it: `held` if it was
    /// given the claim, else the claim once whoever holds it lets go
    /// ([`Claim::wait`]). `None`: that holder deleted `dir`, nothing is
    /// left to do. `Some(None)`: no lock could be taken (an error), and the
    /// caller deletes it all the same, as it would without locks.
    pub fn to_delete(held: Option<Claim>, dir: &Path) -> Option<Option<Claim>> {
        match held {
            Some(claim) => Some(Some(claim)),
            None => match Claim::wait(dir) {
                Ok(None) => None,
                Ok(Some(claim)) => Some(Some(claim)),
                Err(_) => Some(None),
            },
        }
    }

    /// A claim held on a descriptor this process was given (the reaper's).
    pub fn adopt(fd: OwnedFd) -> Claim {
        Claim(fd)
    }

    fn take(dir: &Path, op: libc::c_int) -> nix::Result<Option<Claim>> {
        let fd = match open(
            dir,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(nix::Error::ENOENT) => return Ok(None),
            Err(e) => return Err(e),
        };
        loop {
            // SAFETY: flock(2) on a descriptor owned here; no memory involved.
            if unsafe { libc::flock(fd.as_raw_fd(), op) } == 0 {
                break;
            }
            match nix::Error::last() {
                nix::Error::EINTR => continue,
                nix::Error::EWOULDBLOCK => return Ok(None),
                e => return Err(e),
            }
        }
        // Locked, but perhaps only after its last holder deleted it: a
        // directory that was removed has no links left.
        let stat = nix::sys::stat::fstat(&fd)?;
        Ok((stat.st_nlink > 0).then_some(Claim(fd)))
    }
}

impl AsFd for Claim {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl From<Claim> for OwnedFd {
    fn from(claim: Claim) -> OwnedFd {
        claim.0
    }
}

/// Step `remove_files` of a directory in `trash/`: unmounts its overlay
/// (`rootfs`; gone already is fine), replays its journal but for the
/// objects `gone` names (those the caller removed itself), then deletes
/// it. What failed is written to `dir/teardown-error` and returned; the
/// directory then stays for `cleanup`.
///
/// The journal names the container's old paths (`containers/<id>/…`): a
/// mount there moved with the `rename` and was unmounted above (ENOENT is
/// success), its other objects are undone here.
pub fn delete(
    root: &DataRoot,
    dir: &Path,
    gone: impl Fn(&Object) -> bool,
    trace: &mut Trace,
) -> Vec<String> {
    let mut errors = Vec::new();
    if let Err(e) = overlay::unmount(&dir.join("rootfs"), trace) {
        errors.push(format!("{e:#}"));
    }
    let t = now_ns();
    let id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let undone =
        cleanup::undo_journal_except(&dir.join("journal"), &Owner::container(root, &id), gone);
    errors.extend(undone.left);
    if errors.is_empty()
        && let Err(e) = std::fs::remove_dir_all(dir)
    {
        errors.push(format!("removing {}: {e}", dir.display()));
    }
    trace.step(
        "engine",
        t,
        "remove_files",
        format!("replay the journal; rm -r {}", dir.display()),
    );
    if !errors.is_empty() {
        let _ = std::fs::write(dir.join(TEARDOWN_ERROR), errors.join("\n"));
    }
    errors
}

/// The directories in `trash/` that nobody holds and whose deletion has
/// not failed before, each claimed: the orphans of deleters that died.
/// Only container IDs (64 hex digits) are looked at.
pub fn orphans(root: &DataRoot) -> Vec<(PathBuf, Claim)> {
    use std::os::unix::fs::MetadataExt;
    let trash = root.path.join("trash");
    // A directory's link count is 2 plus one for each directory in it (on
    // ext4, xfs and tmpfs; btrfs says 1): 2 is an empty trash/, known with
    // one stat(2) and no listing, which is what nearly every reaper finds.
    if std::fs::metadata(&trash).is_ok_and(|m| m.nlink() == 2) {
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir(&trash) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| is_container_id(&e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .filter(|dir| !dir.join(TEARDOWN_ERROR).exists())
        .filter_map(|dir| Some((dir.clone(), Claim::try_now(&dir).ok()??)))
        .collect()
}

/// Finishes every orphan in `trash/` ([`orphans`]), as its own deleter
/// would have ([`delete`], the whole journal replayed: which of its objects
/// are gone is not known). Returns how many were found, and what failed.
pub fn finish_orphans(root: &DataRoot) -> (usize, Vec<String>) {
    let found = orphans(root);
    let count = found.len();
    let mut errors = Vec::new();
    for (dir, claim) in found {
        errors.extend(delete(root, &dir, |_| false, &mut Trace::default()));
        drop(claim);
    }
    (count, errors)
}

fn is_container_id(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> DataRoot {
        let path =
            std::env::temp_dir().join(format!("glassbox-trash-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(path.join("trash")).unwrap();
        DataRoot {
            path,
            key: "test".into(),
        }
    }

    /// What a dropped claim allows, once it is really let go: the tests
    /// run as threads of one process, and a child that another test forks
    /// while a claim is held shares its open file description, so its lock,
    /// until that child execs (the descriptor is close-on-exec). Tries
    /// `f` until it holds, for up to 5 s.
    fn once_let_go(mut f: impl FnMut() -> bool) -> bool {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            if f() {
                return true;
            }
            if std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    fn entry(root: &DataRoot, n: u8) -> PathBuf {
        let dir = root.path.join("trash").join(format!("{n:064x}"));
        std::fs::create_dir_all(dir.join("upper/etc")).unwrap();
        std::fs::write(dir.join("upper/etc/hostname"), "c\n").unwrap();
        dir
    }

    #[test]
    fn a_claim_excludes_every_other_descriptor_until_dropped() {
        let root = scratch("claim");
        let dir = entry(&root, 1);
        let held = Claim::try_now(&dir).unwrap().expect("nobody holds it yet");
        // Another open of the same directory, even in this process, is
        // another open file description: it cannot claim it.
        assert!(Claim::try_now(&dir).unwrap().is_none());
        drop(held);
        assert!(once_let_go(|| Claim::try_now(&dir).unwrap().is_some()));
        std::fs::remove_dir_all(&root.path).unwrap();
    }

    #[test]
    fn a_waiting_claim_on_a_directory_its_holder_deleted_is_none() {
        let root = scratch("wait");
        let dir = entry(&root, 2);
        let held = Claim::try_now(&dir).unwrap().unwrap();
        let waiter = {
            let dir = dir.clone();
            std::thread::spawn(move || Claim::wait(&dir).map(|c| c.is_some()))
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::fs::remove_dir_all(&dir).unwrap();
        drop(held);
        // Either it opened the directory before it went (then it wakes to a
        // directory with no links) or after (ENOENT): no claim either way.
        assert_eq!(waiter.join().unwrap(), Ok(false));
        assert!(Claim::wait(&dir).unwrap().is_none(), "gone is no claim");
        std::fs::remove_dir_all(&root.path).unwrap();
    }

    #[test]
    fn only_directories_nobody_holds_are_orphans_and_they_are_finished() {
        let root = scratch("orphans");
        let held = entry(&root, 3);
        let orphan = entry(&root, 4);
        let failed = entry(&root, 5);
        std::fs::write(failed.join(TEARDOWN_ERROR), "EBUSY").unwrap();
        std::fs::create_dir_all(root.path.join("trash/not-an-id")).unwrap();
        let claim = Claim::try_now(&held).unwrap().unwrap();
        let found: Vec<PathBuf> = orphans(&root).into_iter().map(|(d, _)| d).collect();
        assert_eq!(found, vec![orphan.clone()]);
        assert_eq!(finish_orphans(&root), (1, Vec::new()));
        assert!(!orphan.exists(), "the orphan is still there");
        assert!(held.exists(), "a held directory was deleted");
        assert!(failed.exists(), "a failed one is cleanup's");
        drop(claim);
        assert!(
            once_let_go(|| finish_orphans(&root).0 == 1),
            "once let go, it is an orphan"
        );
        assert!(!held.exists());
        std::fs::remove_dir_all(&root.path).unwrap();
    }
}
