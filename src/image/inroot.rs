//! Reading a tree that someone else controls, without being led out of it.
//!
//! A container's upper dir, its merged rootfs and an image's files are host
//! directories whose contents a container (or an image's author) chose. A
//! path string such as `upper/race/a` is resolved by the kernel afresh at each
//! use: if `race` is a symlink to `/` — or becomes one between a check and the
//! use, because a process inside swaps a file and a symlink in a loop with
//! `renameat2(RENAME_EXCHANGE)` — the host's own file is read instead. Two
//! rules keep a reader inside:
//!
//! - a walk ([`Dir`]) holds each directory open and names one component at a
//!   time relative to it (`openat(dirfd, name, O_NOFOLLOW)`), and describes
//!   what it *opened* (`fstat` of the descriptor), never what a path named a
//!   moment before. A name that turned into a symlink is refused by the
//!   kernel (`ELOOP`), not followed;
//! - a lookup of a whole path inside a root (`/etc/passwd` of an image, for
//!   `USER`) goes through `openat2(2)` with `RESOLVE_IN_ROOT |
//!   RESOLVE_NO_MAGICLINKS` ([`open_in_root`]): the kernel resolves every
//!   symlink and `..` as if the root were `/`, so nothing resolves outside it,
//!   and `/proc/self/…`-style magic links are refused.

use nix::fcntl::{AtFlags, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{FileStat, Mode, SFlag};
use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// What kind of file a [`Stat`] describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
    Symlink,
    Char,
    Block,
    Fifo,
    Socket,
}

/// The metadata of one file, as `stat(2)` gives it.
#[derive(Debug, Clone, Copy)]
pub struct Stat(FileStat);

impl Stat {
    pub fn kind(&self) -> Kind {
        match SFlag::from_bits_truncate(self.0.st_mode) & SFlag::S_IFMT {
            SFlag::S_IFDIR => Kind::Dir,
            SFlag::S_IFLNK => Kind::Symlink,
            SFlag::S_IFCHR => Kind::Char,
            SFlag::S_IFBLK => Kind::Block,
            SFlag::S_IFIFO => Kind::Fifo,
            SFlag::S_IFSOCK => Kind::Socket,
            _ => Kind::File,
        }
    }
    /// Permission bits, with setuid, setgid and sticky.
    pub fn mode(&self) -> u32 {
        self.0.st_mode & 0o7777
    }
    pub fn uid(&self) -> u32 {
        self.0.st_uid
    }
    pub fn gid(&self) -> u32 {
        self.0.st_gid
    }
    pub fn size(&self) -> u64 {
        self.0.st_size.max(0) as u64
    }
    pub fn mtime(&self) -> i64 {
        self.0.st_mtime
    }
    pub fn nlink(&self) -> u64 {
        self.0.st_nlink
    }
    /// (device, inode): the identity of a file, what hard links share.
    pub fn identity(&self) -> (u64, u64) {
        (self.0.st_dev, self.0.st_ino)
    }
    /// The device a device node stands for.
    pub fn rdev(&self) -> u64 {
        self.0.st_rdev
    }
    /// An overlay whiteout: a character device 0/0.
    pub fn is_whiteout(&self) -> bool {
        self.kind() == Kind::Char && self.rdev() == 0
    }
}

/// The error for a name that was something else when it was opened than
/// when it was listed: the tree changed under the reader. Its kind stays
/// the source's (a name gone meanwhile is still `NotFound`).
fn changed(was: Kind, source: io::Error) -> io::Error {
    let was = match was {
        Kind::Dir => "a directory",
        Kind::File => "a regular file",
        Kind::Symlink => "a symlink",
        _ => "a special file",
    };
    io::Error::new(
        source.kind(),
        format!(
            "was {was} when listed and changed while it was read ({source}); nothing outside the tree was read"
        ),
    )
}

fn one_component(name: &OsStr) -> io::Result<()> {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.contains(&b'/') || bytes == b"." || bytes == b".." {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{name:?} is not one name of a directory entry"),
        ));
    }
    Ok(())
}

/// An open directory of a tree being read; every name is resolved relative
/// to it, one component at a time, never following a symlink.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
}

impl Dir {
    /// Opens the top of the tree (a path glassbox itself chose: the upper
    /// dir, a mounted rootfs). It must itself be a directory, not a symlink.
    pub fn open(path: &Path) -> io::Result<Dir> {
        let fd = nix::fcntl::open(
            path,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(io::Error::from)?;
        Ok(Dir { fd })
    }

    /// The directory's own metadata.
    pub fn stat_self(&self) -> io::Result<Stat> {
        nix::sys::stat::fstat(&self.fd)
            .map(Stat)
            .map_err(io::Error::from)
    }

    /// The names in the directory, sorted, without `.` and `..`.
    pub fn names(&self) -> io::Result<Vec<OsString>> {
        // Dir::from_fd takes the descriptor and moves its offset: read a
        // duplicate opened afresh, so this Dir can be listed again.
        let fd = nix::fcntl::openat(
            &self.fd,
            ".",
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(io::Error::from)?;
        let mut dir = nix::dir::Dir::from_fd(fd).map_err(io::Error::from)?;
        let mut out = Vec::new();
        for entry in dir.iter() {
            let entry = entry.map_err(io::Error::from)?;
            let name = entry.file_name().to_bytes();
            if name != b"." && name != b".." {
                out.push(OsStr::from_bytes(name).to_os_string());
            }
        }
        out.sort();
        Ok(out)
    }

    /// `fstatat(dirfd, name, AT_SYMLINK_NOFOLLOW)`: what `name` is now (a
    /// symlink is described, not followed).
    pub fn stat(&self, name: &OsStr) -> io::Result<Stat> {
        one_component(name)?;
        nix::sys::stat::fstatat(&self.fd, name, AtFlags::AT_SYMLINK_NOFOLLOW)
            .map(Stat)
            .map_err(io::Error::from)
    }

    /// Opens the subdirectory `name`; a symlink there is refused (`ELOOP`
    /// or `ENOTDIR`), whatever it was a moment before.
    pub fn open_dir(&self, name: &OsStr) -> io::Result<Dir> {
        one_component(name)?;
        let fd = nix::fcntl::openat(
            &self.fd,
            name,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| changed(Kind::Dir, e.into()))?;
        Ok(Dir { fd })
    }

    /// Opens the regular file `name` for reading, with the metadata of what
    /// was opened. A symlink there is refused by the kernel (`O_NOFOLLOW`),
    /// anything else that is not a regular file (a FIFO swapped in would
    /// block a plain open: `O_NONBLOCK`) by the check of its `fstat`.
    pub fn open_file(&self, name: &OsStr) -> io::Result<(File, Stat)> {
        one_component(name)?;
        let fd = nix::fcntl::openat(
            &self.fd,
            name,
            OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| changed(Kind::File, e.into()))?;
        let st = nix::sys::stat::fstat(&fd)
            .map(Stat)
            .map_err(io::Error::from)?;
        if st.kind() != Kind::File {
            return Err(changed(
                Kind::File,
                io::Error::new(io::ErrorKind::InvalidData, format!("now a {:?}", st.kind())),
            ));
        }
        Ok((File::from(fd), st))
    }

    /// The target of the symlink `name` (`readlinkat`); `EINVAL` if it is no
    /// longer a symlink.
    pub fn read_link(&self, name: &OsStr) -> io::Result<PathBuf> {
        one_component(name)?;
        nix::fcntl::readlinkat(&self.fd, name)
            .map(PathBuf::from)
            .map_err(|e| changed(Kind::Symlink, e.into()))
    }

    /// An extended attribute of the directory itself (`fgetxattr` on its
    /// descriptor), `None` when it has none of that name.
    pub fn xattr(&self, key: &str) -> Option<Vec<u8>> {
        let key = std::ffi::CString::new(key).ok()?;
        let mut buf = vec![0u8; 256];
        // SAFETY: fgetxattr(2) on our open descriptor, a NUL-terminated name
        // and a buffer of the length passed.
        let n = unsafe {
            libc::fgetxattr(
                self.fd.as_raw_fd(),
                key.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        if n < 0 {
            return None;
        }
        buf.truncate(n as usize);
        Some(buf)
    }

    /// Walks down a relative path one directory at a time (none may be a
    /// symlink); returns the directory holding the last component and that
    /// component's name. `None` when some directory on the way is missing or
    /// is not a directory.
    pub fn parent_of(&self, rel: &Path) -> Option<(Dir, OsString)> {
        let mut parts: Vec<&OsStr> = Vec::new();
        for c in rel.components() {
            match c {
                Component::Normal(p) => parts.push(p),
                Component::CurDir => {}
                _ => return None,
            }
        }
        let last = parts.pop()?.to_os_string();
        let mut dir = self.try_clone().ok()?;
        for p in parts {
            dir = dir.open_dir(p).ok()?;
        }
        Some((dir, last))
    }

    fn try_clone(&self) -> io::Result<Dir> {
        Ok(Dir {
            fd: self.fd.try_clone()?,
        })
    }
}

impl AsFd for Dir {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Opens `path` inside `root` for reading, as a process whose root
/// directory is `root` would: `openat2(RESOLVE_IN_ROOT |
/// RESOLVE_NO_MAGICLINKS)`. Absolute symlinks and `..` resolve against
/// `root`, never above it. The result must be a regular file.
pub fn open_in_root(root: &Path, path: &Path) -> io::Result<File> {
    let file = File::from(resolve_in_root(root, path, OFlag::O_NONBLOCK)?);
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} inside {} is not a regular file",
                path.display(),
                root.display()
            ),
        ));
    }
    Ok(file)
}

/// [`open_in_root`] for a directory: the walk ([`Dir`]) starts at `path`
/// as a process inside `root` would find it (an image's `VOLUME` path, to
/// copy into a new volume).
pub fn open_dir_in_root(root: &Path, path: &Path) -> io::Result<Dir> {
    Ok(Dir {
        fd: resolve_in_root(root, path, OFlag::O_DIRECTORY)?,
    })
}

/// How many times a lookup that a rename or mount raced is tried again.
const RACED_LOOKUP_TRIES: u32 = 128;

/// `openat2(root, path, O_RDONLY | extra, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`.
fn resolve_in_root(root: &Path, path: &Path, extra: OFlag) -> io::Result<OwnedFd> {
    let dir = nix::fcntl::open(
        root,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| {
        io::Error::new(
            io::Error::from(e).kind(),
            format!("{}: {e}", root.display()),
        )
    })?;
    let how = OpenHow::new()
        .flags(OFlag::O_RDONLY | OFlag::O_CLOEXEC | extra)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let rel = path.strip_prefix("/").unwrap_or(path);
    // A `..` resolved under RESOLVE_IN_ROOT fails with EAGAIN when a rename
    // or a mount anywhere on the machine raced it (the kernel cannot then
    // prove the walk stayed inside): openat2(2) says to try again. Other
    // containers starting beside this one make that common, so a lookup
    // through a relative symlink (`/etc/group -> ../usr/...`) is retried.
    let mut tries = 0;
    let opened = loop {
        match nix::fcntl::openat2(&dir, rel, how) {
            Err(nix::errno::Errno::EAGAIN) if tries < RACED_LOOKUP_TRIES => tries += 1,
            other => break other,
        }
    };
    opened.map_err(|e| {
        let hint = match e {
            nix::errno::Errno::ENOSYS => " (openat2 needs Linux 5.6 or later)",
            nix::errno::Errno::EAGAIN => {
                " (a rename or mount elsewhere on the machine raced every try; try again)"
            }
            _ => "",
        };
        io::Error::new(
            io::Error::from(e).kind(),
            format!("{} inside {}: {e}{hint}", path.display(), root.display()),
        )
    })
}

/// Reads at most `limit` bytes of `path` inside `root` ([`open_in_root`]);
/// a longer file is an error, not a truncated read.
pub fn read_in_root(root: &Path, path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let file = open_in_root(root, path)?;
    let mut out = Vec::new();
    file.take(limit + 1).read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} inside {} is larger than {limit} bytes",
                path.display(),
                root.display()
            ),
        ));
    }
    Ok(out)
}

/// The largest /etc/passwd or /etc/group a lookup reads.
pub const MAX_ACCOUNT_FILE: u64 = 4 << 20;

/// Reads an account file (`etc/passwd`, `etc/group`) of a root for a user
/// lookup ([`read_in_root`]); a file that is missing or leads nowhere inside
/// reads as empty, so a name in it is simply not found.
pub fn account_file(root: &Path, name: &str) -> String {
    read_in_root(root, Path::new(name), MAX_ACCOUNT_FILE)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

fn path_parts(path: &Path) -> VecDeque<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect()
}

/// How many symlinks one lookup may follow (the kernel's own limit).
const MAX_LINKS: usize = 40;

/// Reads `path` of an image from its layer directories (top layer first)
/// as a process in a container of the image would see it: whiteouts and
/// opaque directories hide what is below, and symlinks (absolute, or with
/// `..`) are followed inside the image, never on the host. Where there is
/// no mounted root to use [`read_in_root`] on (`COPY --chown=NAME` during a
/// build), this is what overlayfs would do on a lookup, step by step.
pub fn read_in_layers(lowers: &[PathBuf], path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let not_found = || {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} is not in the image", path.display()),
        )
    };
    let mut resolved: Vec<OsString> = Vec::new();
    let mut pending = path_parts(path);
    let mut links = 0;
    while let Some(part) = pending.pop_front() {
        if part == ".." {
            resolved.pop();
            continue;
        }
        resolved.push(part);
        let rel: PathBuf = resolved.iter().collect();
        let (layer, meta) = super::diff::lower_find(lowers, &rel).ok_or_else(not_found)?;
        if meta.file_type().is_symlink() {
            links += 1;
            if links > MAX_LINKS {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: more than {MAX_LINKS} symlinks", path.display()),
                ));
            }
            let target = std::fs::read_link(lowers[layer].join(&rel))?;
            resolved.pop();
            if target.is_absolute() {
                resolved.clear();
            }
            let mut next = path_parts(&target);
            next.extend(pending);
            pending = next;
            continue;
        }
        if pending.is_empty() {
            if !meta.is_file() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} is not a regular file in the image", path.display()),
                ));
            }
            // The layer holds it as a plain path of directories (lower_find
            // checked each): open it so that no symlink could be followed.
            let dir = nix::fcntl::open(
                &lowers[layer],
                OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(io::Error::from)?;
            let how = OpenHow::new()
                .flags(OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC)
                .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_SYMLINKS);
            let file = File::from(nix::fcntl::openat2(&dir, &rel, how).map_err(io::Error::from)?);
            let mut out = Vec::new();
            file.take(limit + 1).read_to_end(&mut out)?;
            if out.len() as u64 > limit {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} is larger than {limit} bytes", path.display()),
                ));
            }
            return Ok(out);
        }
        if !meta.is_dir() {
            return Err(not_found());
        }
    }
    Err(not_found())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree(label: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("glassbox-inroot-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The kernel refuses a `..` under RESOLVE_IN_ROOT with EAGAIN when any
    /// rename (or mount) on the machine raced the lookup, as container
    /// starts beside it do all the time: the lookup is tried again.
    #[test]
    fn dot_dot_resolves_while_the_machine_renames() {
        let root = tree("race");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::create_dir_all(root.join("usr/share/base")).unwrap();
        std::fs::write(root.join("usr/share/base/group"), "appgrp:x:1235:\n").unwrap();
        symlink("../usr/share/base/group", root.join("etc/group")).unwrap();
        let busy = tree("race-renames");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let renamer = {
            let (busy, stop) = (busy.clone(), stop.clone());
            std::thread::spawn(move || {
                let (a, b) = (busy.join("a"), busy.join("b"));
                std::fs::write(&a, "x").unwrap();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::fs::rename(&a, &b).unwrap();
                    std::fs::rename(&b, &a).unwrap();
                }
            })
        };
        let failed = (0..20_000)
            .filter(|_| account_file(&root, "etc/group").is_empty())
            .count();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        renamer.join().unwrap();
        let _ = std::fs::remove_dir_all(&root);
        let _ = std::fs::remove_dir_all(&busy);
        assert_eq!(failed, 0, "lookups of /etc/group that came back empty");
    }

    #[test]
    fn links_resolve_inside_the_root() {
        let root = tree("root");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::create_dir_all(root.join("usr/share/base")).unwrap();
        std::fs::write(root.join("usr/share/base/passwd"), "app:x:1:1::/:/bin/sh\n").unwrap();
        symlink("/usr/share/base/passwd", root.join("etc/passwd")).unwrap();
        symlink(
            "../../../../../usr/share/base/passwd",
            root.join("etc/deep"),
        )
        .unwrap();
        // On the host this names a real file; inside the root it is nothing.
        symlink("/etc/hostname", root.join("etc/host")).unwrap();
        symlink("/proc/self/root/etc/hostname", root.join("etc/magic")).unwrap();
        let read = |p: &str| read_in_root(&root, Path::new(p), 1024);
        assert_eq!(read("etc/passwd").unwrap(), b"app:x:1:1::/:/bin/sh\n");
        assert_eq!(read("/etc/deep").unwrap(), b"app:x:1:1::/:/bin/sh\n");
        assert_eq!(
            read("etc/host").unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        assert!(read("etc/magic").is_err());
        assert_eq!(account_file(&root, "etc/host"), "");
        // Too large is an error, not a silently cut file.
        assert!(read_in_root(&root, Path::new("etc/passwd"), 4).is_err());
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn layers_are_read_as_the_overlay_shows_them() {
        let top = tree("layer-top");
        let low = tree("layer-low");
        std::fs::create_dir_all(low.join("usr/share/base")).unwrap();
        std::fs::create_dir_all(low.join("etc")).unwrap();
        std::fs::write(low.join("usr/share/base/group"), "g:x:5:\n").unwrap();
        std::fs::write(low.join("etc/passwd"), "old\n").unwrap();
        std::fs::create_dir_all(top.join("etc")).unwrap();
        // The top layer replaces /etc/passwd by a link into the lower one.
        symlink("../usr/share/base/group", top.join("etc/passwd")).unwrap();
        symlink("/etc/hostname", top.join("etc/host")).unwrap();
        symlink("loop2", top.join("etc/loop1")).unwrap();
        symlink("loop1", top.join("etc/loop2")).unwrap();
        let lowers = [top.clone(), low.clone()];
        let read = |p: &str| read_in_layers(&lowers, Path::new(p), 1024);
        assert_eq!(read("etc/passwd").unwrap(), b"g:x:5:\n");
        assert_eq!(read("/usr/share/base/group").unwrap(), b"g:x:5:\n");
        assert_eq!(
            read("etc/host").unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        assert!(read("etc/loop1").is_err());
        assert!(read("etc").is_err(), "a directory is not an account file");
        std::fs::remove_dir_all(top).unwrap();
        std::fs::remove_dir_all(low).unwrap();
    }
}
