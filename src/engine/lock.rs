//! The data root's lock, taken through its [`DataRoot`] (the mechanism,
//! and which commands hold it how, are in [`crate::util::lock`]).

use super::DataRoot;
pub use crate::util::lock::{LockError, Mode, RootLock};

impl DataRoot {
    /// Holds the root shared (see the module doc of [`crate::util::lock`]).
    pub fn lock_shared(&self) -> Result<RootLock, LockError> {
        RootLock::at(&self.path, Mode::Shared)
    }

    /// Holds the root alone.
    pub fn lock_exclusive(&self) -> Result<RootLock, LockError> {
        RootLock::at(&self.path, Mode::Exclusive)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::OpenOptions;
    use std::os::fd::AsRawFd;

    fn try_lock(root: &DataRoot, op: i32) -> bool {
        let f = OpenOptions::new()
            .write(true)
            .open(root.path.join("lock"))
            .unwrap();
        // SAFETY: flock(2) on a descriptor this test owns.
        unsafe { libc::flock(f.as_raw_fd(), op | libc::LOCK_NB) == 0 }
    }

    #[test]
    fn shared_holders_exclude_an_exclusive_one_and_not_each_other() {
        let dir = std::env::temp_dir().join(format!("glassbox-unit-lock-{}", std::process::id()));
        let root = DataRoot {
            path: dir.clone(),
            key: "k".into(),
        };
        std::fs::create_dir_all(&dir).unwrap();
        let a = root.lock_shared().unwrap();
        let b = root.lock_shared().unwrap();
        assert!(!try_lock(&root, libc::LOCK_EX));
        drop(a);
        assert!(!try_lock(&root, libc::LOCK_EX), "b still holds it");
        drop(b);
        let x = root.lock_exclusive().unwrap();
        assert!(!try_lock(&root, libc::LOCK_SH));
        drop(x);
        assert!(try_lock(&root, libc::LOCK_SH));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
