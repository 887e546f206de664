//! Files and directories written so that a crash or another user never sees
//! them half made: a temporary name and a `rename(2)`, which replaces the
//! target in one step; directories created 0700, root's only.

use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A write that failed: what was being done, to which path, and why.
#[derive(Debug, thiserror::Error)]
#[error("{what} {}: {source}", .path.display())]
pub struct WriteError {
    pub what: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

fn failed<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> WriteError + 'a {
    move |source| WriteError {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// Writes a file through a temporary name and a rename (mode 0644).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_atomic_mode(path, bytes, 0o644)
}

/// [`write_atomic`] with the file's mode (0600 for a container's record,
/// which holds its `-e` values). Makes the file's directory first if needed.
pub fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<(), WriteError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(failed("creating", parent))?;
    }
    replace_file_mode(path, bytes, mode)
}

/// Writes a file through a temporary name (`NAME.tmp-PID`) and a rename, in
/// a directory that must already exist (a record is never re-made in a
/// directory `rm` removed). Readers see the old file or the new one, never
/// half of one; if the write fails (a full disk), the temporary file is
/// removed, the old file stays, and the error names the file meant.
pub fn replace_file_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<(), WriteError> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let write = || -> io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        f.write_all(bytes)
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(failed("writing", path)(e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        failed("renaming", path)(e)
    })
}

/// Writes a whole file in place: opened (made with `mode` if missing, the
/// umask applying), written, and cut to the written length. Not through
/// `O_TRUNC`: ext4 writes a file out when it is closed after being
/// truncated to nothing (its `auto_da_alloc` guard for editors that
/// rewrite in place), some 50 µs a file on the start's path. For a file no
/// reader sees until it is complete: a new container's, before its
/// directory is renamed into place or its process starts.
pub fn write_in_place(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(mode)
        .open(path)?;
    f.write_all(bytes)?;
    f.set_len(bytes.len() as u64)
}

/// Makes one private directory (0700, root's only), or closes an existing one.
pub fn make_private_dir(path: &Path) -> io::Result<()> {
    match std::fs::DirBuilder::new().mode(0o700).create(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    set_mode(path, 0o700)
}

/// `chmod` where the mode differs (umask narrows what mkdir gets, and an
/// older glassbox made everything 0755).
pub fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    if meta.file_type().is_symlink() {
        return Err(io::Error::other(
            "is a symbolic link, not glassbox's own file",
        ));
    }
    if meta.mode() & 0o7777 != mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

/// ext2/3/4's "top of directory hierarchies" inode flag (`chattr +T`,
/// `FS_TOPDIR_FL` in linux/fs.h).
const FS_TOPDIR_FL: libc::c_int = 0x0002_0000;

/// Marks `dir` as the top of a directory hierarchy for ext4's block
/// allocator (`chattr +T`, as /home is meant to be): each new subdirectory
/// is then placed in a block group of its own choosing (the Orlov spread),
/// and the files made in it go to that group too, instead of every one
/// going to `dir`'s own group.
///
/// For `containers/`, whose subdirectories come and go with every `run`:
/// ext4 without a journal (as on this project's machines) will not reuse an
/// inode freed in the last 60 s (360 s while its inode table block is dirty),
/// and to find a free one it reads past every such inode of the group, one
/// buffer lookup each. With all containers in one group, each `run --rm`
/// leaves some twenty such inodes behind, and after a few hundred runs every
/// new file or directory costs a scan of the whole group (0.1-0.4 ms each,
/// 15-20 per start, an overlay mount's work directory included). Spread
/// over the disk's groups, the scans stay short. The flag changes nothing
/// else; a filesystem without it answers ENOTTY or EOPNOTSUPP, which the
/// caller may ignore.
pub fn spread_subdirectories(dir: &Path) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(dir)?;
    let mut flags: libc::c_int = 0;
    // SAFETY: FS_IOC_GETFLAGS writes one int through the pointer, which
    // outlives the call.
    if unsafe { libc::ioctl(file.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) } == -1 {
        return Err(io::Error::last_os_error());
    }
    if flags & FS_TOPDIR_FL != 0 {
        return Ok(());
    }
    flags |= FS_TOPDIR_FL;
    // SAFETY: FS_IOC_SETFLAGS reads one int through the pointer during the call.
    if unsafe { libc::ioctl(file.as_raw_fd(), libc::FS_IOC_SETFLAGS, &flags) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writes_replace_and_keep_the_mode() {
        let dir = std::env::temp_dir().join(format!("glassbox-util-fs-{}", std::process::id()));
        let path = dir.join("sub/state.json");
        write_atomic_mode(&path, b"one", 0o600).unwrap();
        write_atomic_mode(&path, b"two", 0o600).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let mode = std::fs::metadata(&path).unwrap().mode() & 0o7777;
        assert_eq!(mode, 0o600);
        let names: Vec<_> = std::fs::read_dir(dir.join("sub")).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file is left");
        make_private_dir(&dir.join("private")).unwrap();
        let mode = std::fs::metadata(dir.join("private")).unwrap().mode() & 0o7777;
        assert_eq!(mode, 0o700);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn writes_in_place_make_shorten_and_keep_the_file() {
        let dir =
            std::env::temp_dir().join(format!("glassbox-util-inplace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hosts");
        write_in_place(&path, b"a longer first text", 0o600).unwrap();
        assert_eq!(mode_of(&path), 0o600, "made with the mode");
        let inode = std::fs::metadata(&path).unwrap().ino();
        write_in_place(&path, b"short", 0o644).unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"short",
            "cut to what was written"
        );
        assert_eq!(
            std::fs::metadata(&path).unwrap().ino(),
            inode,
            "the same file"
        );
        assert_eq!(mode_of(&path), 0o600, "an existing file keeps its mode");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn mode_of(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().mode() & 0o7777
    }

    #[test]
    fn a_directory_made_top_of_a_hierarchy_keeps_the_flag() {
        use std::os::fd::AsRawFd;
        let dir = std::env::temp_dir().join(format!("glassbox-util-topdir-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        match spread_subdirectories(&dir) {
            Ok(()) => {
                let file = std::fs::File::open(&dir).unwrap();
                let mut flags: libc::c_int = 0;
                // SAFETY: FS_IOC_GETFLAGS writes one int into `flags`.
                let rc =
                    unsafe { libc::ioctl(file.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) };
                assert_eq!(rc, 0);
                assert_ne!(flags & FS_TOPDIR_FL, 0, "flags {flags:#x}");
                // A second call finds it set and changes nothing.
                spread_subdirectories(&dir).unwrap();
            }
            // tmpfs and others have no such flag: nothing to check there.
            Err(e) => assert!(
                matches!(
                    e.raw_os_error(),
                    Some(libc::ENOTTY) | Some(libc::EOPNOTSUPP)
                ),
                "{e}"
            ),
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
