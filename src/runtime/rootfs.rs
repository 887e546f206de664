//! The container's root filesystem: what `/` looks like from inside.
//!
//! The init runs in a new mount namespace, a private copy of the host's mount
//! list. It first stops mount events from flowing back to the host (propagation
//! `rslave`: host mounts still appear inside, ours never leak out), then mounts
//! what a process expects on top of the image's files — `/proc` (a fresh procfs,
//! which shows only the new PID namespace), a small `/dev` on tmpfs with just the
//! harmless devices, `/dev/pts`, `/dev/shm`, `/sys` read-only — and finally swaps
//! the root with `pivot_root(2)`: the image becomes `/` and the host's root is
//! detached, so no path leads back out (unlike `chroot`, which only changes how
//! paths are resolved). Last, a few kernel files are hidden ("masked" by binding
//! /dev/null over them) or made read-only, as runc does.
//!
//! ## Where a mount lands is decided once
//!
//! Until `pivot_root` the init still sees the host's tree, so a symlink in the
//! image at a mount's destination (`/data/conf -> /etc/shadow`) would lead the
//! mount, or the empty file made for it, out onto the host. Checking the path
//! first and then using it is not enough: a volume can be shared with a
//! running container, which can swap a directory for a symlink between the
//! check and the use (runc's CVE-2021-30465). So each destination is walked
//! one component at a time by file descriptor (`openat(dir, name,
//! O_NOFOLLOW)`, `mkdirat` where it is missing; a symlink on the way is
//! refused), and the mount is made on the descriptor itself, through its
//! `/proc/self/fd/N` link: what was checked is what is mounted on, whatever
//! the path names a moment later.

use super::spec::{Device, Mount, Spec};
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::stat::{Mode, SFlag, makedev, mknod};
use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("{what}: {source}")]
pub struct RootfsError {
    pub what: String,
    pub source: std::io::Error,
}

fn err(what: impl Into<String>) -> impl FnOnce(nix::Error) -> RootfsError {
    let what = what.into();
    move |e| RootfsError {
        what,
        source: std::io::Error::from(e),
    }
}

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> RootfsError {
    let what = what.into();
    move |source| RootfsError { what, source }
}

/// Step `set_propagation`: make every mount in our namespace a slave (or
/// private) so that nothing we mount propagates back to the host.
pub fn set_propagation(spec: &Spec) -> Result<String, RootfsError> {
    let (flag, name) = match spec.linux.rootfs_propagation.as_deref() {
        Some("private") | Some("rprivate") => (MsFlags::MS_PRIVATE, "rprivate"),
        Some("shared") | Some("rshared") => (MsFlags::MS_SHARED, "rshared"),
        _ => (MsFlags::MS_SLAVE, "rslave"),
    };
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        flag | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(err(format!("making / {name}")))?;
    Ok(format!("mount(NULL, \"/\", MS_REC|{name})"))
}

/// Step `bind_rootfs`: bind the root onto itself so that it is a mount point of
/// this namespace (pivot_root needs one).
pub fn bind_rootfs(rootfs: &Path) -> Result<String, RootfsError> {
    mount(
        Some(rootfs),
        rootfs,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(err(format!("binding {} onto itself", rootfs.display())))?;
    Ok(format!(
        "mount {} on itself (MS_BIND|MS_REC)",
        rootfs.display()
    ))
}

/// Mount flags and data from OCI mount options, as runc reads them.
pub fn parse_options(options: &[String]) -> (MsFlags, MsFlags, Vec<String>) {
    let mut flags = MsFlags::empty();
    let mut propagation = MsFlags::empty();
    let mut data = Vec::new();
    for opt in options {
        match opt.as_str() {
            "ro" => flags |= MsFlags::MS_RDONLY,
            "rw" => flags &= !MsFlags::MS_RDONLY,
            "nosuid" => flags |= MsFlags::MS_NOSUID,
            "nodev" => flags |= MsFlags::MS_NODEV,
            "noexec" => flags |= MsFlags::MS_NOEXEC,
            "sync" => flags |= MsFlags::MS_SYNCHRONOUS,
            "bind" => flags |= MsFlags::MS_BIND,
            "rbind" => flags |= MsFlags::MS_BIND | MsFlags::MS_REC,
            "relatime" => flags |= MsFlags::MS_RELATIME,
            "strictatime" => flags |= MsFlags::MS_STRICTATIME,
            "noatime" => flags |= MsFlags::MS_NOATIME,
            "nodiratime" => flags |= MsFlags::MS_NODIRATIME,
            "private" => propagation |= MsFlags::MS_PRIVATE,
            "rprivate" => propagation |= MsFlags::MS_PRIVATE | MsFlags::MS_REC,
            "slave" => propagation |= MsFlags::MS_SLAVE,
            "rslave" => propagation |= MsFlags::MS_SLAVE | MsFlags::MS_REC,
            "shared" => propagation |= MsFlags::MS_SHARED,
            "rshared" => propagation |= MsFlags::MS_SHARED | MsFlags::MS_REC,
            other => data.push(other.to_string()),
        }
    }
    (flags, propagation, data)
}

/// The refusal of a destination that would leave the image's root.
fn refuse(dest: &str, why: &str) -> RootfsError {
    RootfsError {
        what: format!("mount destination {dest:?}"),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, why.to_string()),
    }
}

/// The components of `dest` below the root; `..` is refused: it would climb
/// out of the image.
fn components(dest: &str) -> Result<Vec<&OsStr>, RootfsError> {
    let mut parts = Vec::new();
    for c in Path::new(dest.trim_start_matches('/')).components() {
        match c {
            std::path::Component::Normal(part) => parts.push(part),
            std::path::Component::CurDir => {}
            _ => return Err(refuse(dest, "contains '..'")),
        }
    }
    Ok(parts)
}

/// `openat(dir, name, O_PATH | O_NOFOLLOW | extra)`: what is there now,
/// never what a symlink there points at.
fn open_here(dir: &OwnedFd, name: &OsStr, extra: OFlag) -> nix::Result<OwnedFd> {
    nix::fcntl::openat(
        dir,
        name,
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | extra,
        Mode::empty(),
    )
}

/// True when `name` in `dir` is a symlink now.
fn is_symlink_at(dir: &OwnedFd, name: &OsStr) -> bool {
    nix::sys::stat::fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW)
        .is_ok_and(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK)
}

/// The directory `name` in `dir`, made (0755) where it is missing. A symlink
/// there is refused, whatever it points at.
fn descend(dir: &OwnedFd, name: &OsStr, dest: &str) -> Result<OwnedFd, RootfsError> {
    let path_so_far = || format!("{dest:?} at {name:?}");
    for _ in 0..2 {
        match open_here(dir, name, OFlag::O_DIRECTORY) {
            Ok(fd) => return Ok(fd),
            Err(Errno::ENOENT) => {
                match nix::sys::stat::mkdirat(dir, name, Mode::from_bits_truncate(0o755)) {
                    Ok(()) | Err(Errno::EEXIST) => continue,
                    Err(e) => return Err(err(format!("mkdir {}", path_so_far()))(e)),
                }
            }
            Err(Errno::ENOTDIR | Errno::ELOOP) if is_symlink_at(dir, name) => {
                return Err(refuse(dest, "passes through a symlink in the image"));
            }
            Err(e) => return Err(err(format!("opening the directory {}", path_so_far()))(e)),
        }
    }
    Err(refuse(dest, "changed while it was made"))
}

/// The directory that will hold `dest`, held open, and the last component's
/// name: every directory on the way opened below the last one, made where
/// it is missing, a symlink refused.
fn open_parent(rootfs: &Path, dest: &str) -> Result<(OwnedFd, OsString), RootfsError> {
    let parts = components(dest)?;
    let Some((last, on_the_way)) = parts.split_last() else {
        return Err(refuse(dest, "is the root itself"));
    };
    let mut dir = nix::fcntl::open(
        rootfs,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(err(format!("opening {}", rootfs.display())))?;
    for part in on_the_way {
        dir = descend(&dir, part, dest)?;
    }
    Ok((dir, last.to_os_string()))
}

/// What a mount lands on, held open: `name` in `parent` as the image has it
/// (a file or a directory), else a new empty file (`file`: for the bind of
/// a file) or directory. A symlink is refused.
fn open_target(
    parent: &OwnedFd,
    name: &OsStr,
    file: bool,
    dest: &str,
) -> Result<OwnedFd, RootfsError> {
    for _ in 0..2 {
        match open_here(parent, name, OFlag::empty()) {
            Ok(fd) if is_symlink_fd(&fd) => {
                return Err(refuse(dest, "is a symlink in the image"));
            }
            Ok(fd) => return Ok(fd),
            Err(Errno::ENOENT) if file => {
                match nix::fcntl::openat(
                    parent,
                    name,
                    OFlag::O_CREAT
                        | OFlag::O_EXCL
                        | OFlag::O_WRONLY
                        | OFlag::O_NOFOLLOW
                        | OFlag::O_CLOEXEC,
                    Mode::from_bits_truncate(0o644),
                ) {
                    Ok(_) | Err(Errno::EEXIST) => continue,
                    Err(e) => return Err(err(format!("creating {dest}"))(e)),
                }
            }
            Err(Errno::ENOENT) => {
                match nix::sys::stat::mkdirat(parent, name, Mode::from_bits_truncate(0o755)) {
                    Ok(()) | Err(Errno::EEXIST) => continue,
                    Err(e) => return Err(err(format!("mkdir {dest}"))(e)),
                }
            }
            Err(e) => return Err(err(format!("opening {dest}"))(e)),
        }
    }
    Err(refuse(dest, "changed while it was made"))
}

/// True when an `O_PATH | O_NOFOLLOW` descriptor holds a symlink itself.
fn is_symlink_fd(fd: &OwnedFd) -> bool {
    nix::sys::stat::fstat(fd)
        .is_ok_and(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK)
}

/// The path that names exactly what `fd` holds: mount(2) follows the
/// `/proc/self/fd` link to the opened file itself, not to a path.
fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// Step `mount_<dest>`: one mount of the spec's list, inside the new root.
pub fn mount_one(rootfs: &Path, m: &Mount, cgroup_v2: bool) -> Result<String, RootfsError> {
    let (flags, propagation, data) = parse_options(&m.options);
    let is_bind = flags.contains(MsFlags::MS_BIND);
    let mut typ = m.typ.as_str();
    if typ == "cgroup" {
        if !cgroup_v2 {
            return Ok(format!(
                "skip {}: cgroup v1 hierarchies are not mounted inside",
                m.destination
            ));
        }
        typ = "cgroup2";
    }
    // A bind of a file needs a file to mount on; everything else a directory.
    // What the image has already is mounted on as it is.
    let (parent, name) = open_parent(rootfs, &m.destination)?;
    let file = is_bind && Path::new(&m.source).is_file();
    let target = open_target(&parent, &name, file, &m.destination)?;
    let dest = fd_path(&target);
    let data_str = data.join(",");
    let data_opt = (!data_str.is_empty()).then_some(data_str.as_str());
    let source = if m.source.is_empty() {
        typ
    } else {
        m.source.as_str()
    };
    let what = format!("mount {typ} {source} on {}", m.destination);
    let first_flags = if is_bind {
        flags & (MsFlags::MS_BIND | MsFlags::MS_REC)
    } else {
        flags
    };
    let result = mount(Some(source), &dest, Some(typ), first_flags, data_opt);
    match result {
        Ok(()) => {}
        // sysfs can only be mounted by the owner of the network namespace; with
        // --network host, bind the host's /sys read-only instead, as runc does.
        Err(nix::Error::EPERM) if typ == "sysfs" => {
            mount(
                Some("/sys"),
                &dest,
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .map_err(err(format!("bind /sys on {}", m.destination)))?;
            remount_ro(
                &fd_path(&mounted_at(&parent, &name, &m.destination)?),
                MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            )?;
            return Ok(format!(
                "bind /sys on {} read-only (host network)",
                m.destination
            ));
        }
        Err(e) => return Err(err(what)(e)),
    }
    // A bind mount ignores most flags on the first call; apply them by remounting.
    let needs_remount = is_bind && !(flags - (MsFlags::MS_BIND | MsFlags::MS_REC)).is_empty();
    if needs_remount || !propagation.is_empty() {
        let mounted = mounted_at(&parent, &name, &m.destination)?;
        let mounted = fd_path(&mounted);
        if needs_remount {
            remount_ro(&mounted, flags - MsFlags::MS_REC)?;
        }
        if !propagation.is_empty() {
            mount(
                None::<&str>,
                &mounted,
                None::<&str>,
                propagation,
                None::<&str>,
            )
            .map_err(err(format!("propagation of {}", m.destination)))?;
        }
    }
    Ok(match data_opt {
        Some(d) => format!("{what} ({d})"),
        None => what,
    })
}

/// The mount just made on `name` in `parent`, held open for a remount or a
/// change of propagation: the lookup crosses onto the new mount's root. If
/// the entry was swapped meanwhile this is some other directory, and the
/// kernel refuses to remount or re-propagate anything but a mount's root
/// (`EINVAL`), so nothing else is changed.
fn mounted_at(parent: &OwnedFd, name: &OsStr, dest: &str) -> Result<OwnedFd, RootfsError> {
    match open_here(parent, name, OFlag::empty()) {
        Ok(fd) if is_symlink_fd(&fd) => Err(refuse(dest, "became a symlink once mounted")),
        Ok(fd) => Ok(fd),
        Err(e) => Err(err(format!("opening {dest} once mounted"))(e)),
    }
}

fn remount_ro(dest: &Path, flags: MsFlags) -> Result<(), RootfsError> {
    mount(
        None::<&str>,
        dest,
        None::<&str>,
        flags | MsFlags::MS_BIND | MsFlags::MS_REMOUNT,
        None::<&str>,
    )
    .map_err(err(format!("remounting {}", dest.display())))
}

/// The device nodes every container gets (runc's defaults): (name, major, minor).
pub const DEFAULT_DEVICES: [(&str, u64, u64); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

/// Step `create_devices`: mknod the harmless devices into the new /dev, the
/// usual symlinks (/dev/fd, /dev/stdin, /dev/ptmx → pts/ptmx), and the nodes
/// of `linux.devices` (`--device`). Making a node is not using it: the
/// device cgroup decides what may be opened (see `cgroups::devices`).
pub fn create_devices(rootfs: &Path, extra: &[Device]) -> Result<String, RootfsError> {
    let dev = rootfs.join("dev");
    for (name, major, minor) in DEFAULT_DEVICES {
        let path = dev.join(name);
        let _ = fs::remove_file(&path);
        mknod(
            &path,
            SFlag::S_IFCHR,
            Mode::from_bits_truncate(0o666),
            makedev(major, minor),
        )
        .map_err(err(format!("mknod {}", path.display())))?;
    }
    for (link, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("ptmx", "pts/ptmx"),
    ] {
        let path = dev.join(link);
        let _ = fs::remove_file(&path);
        symlink(target, &path).map_err(io_err(format!("symlink {}", path.display())))?;
    }
    let mut made = String::new();
    for d in extra {
        let (parent, name) = open_parent(rootfs, &d.path)?;
        let kind = match d.typ.as_str() {
            "b" => SFlag::S_IFBLK,
            "c" | "u" => SFlag::S_IFCHR,
            "p" => SFlag::S_IFIFO,
            other => {
                return Err(RootfsError {
                    what: format!("device {}", d.path),
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        format!("type {other:?} is not b, c, u or p"),
                    ),
                });
            }
        };
        // Made and owned by name in the directory held open: a symlink
        // swapped in there is replaced, never followed.
        let _ = nix::unistd::unlinkat(
            &parent,
            name.as_os_str(),
            nix::unistd::UnlinkatFlags::NoRemoveDir,
        );
        let (major, minor) = (d.major as u64, d.minor as u64);
        nix::sys::stat::mknodat(
            &parent,
            name.as_os_str(),
            kind,
            Mode::from_bits_truncate(d.file_mode.unwrap_or(0o666)),
            makedev(major, minor),
        )
        .map_err(err(format!("mknod {}", d.path)))?;
        nix::unistd::fchownat(
            &parent,
            name.as_os_str(),
            d.uid.map(nix::unistd::Uid::from_raw),
            d.gid.map(nix::unistd::Gid::from_raw),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(err(format!("chown {}", d.path)))?;
        made.push_str(&format!("; mknod {} {} {major}:{minor}", d.path, d.typ));
    }
    Ok(format!(
        "mknod /dev/{{null,zero,full,random,urandom,tty}}; symlink fd, stdin, stdout, stderr, ptmx{made}"
    ))
}

/// Step `pivot_root`: the image becomes `/`, the host's root is detached.
///
/// runc's trick: `pivot_root(".", ".")` stacks the old root on top of the new
/// one at the same place, so no directory is needed to put it in; the old root
/// is then made a slave (so the unmount cannot propagate to the host) and
/// detached.
pub fn pivot_root(rootfs: &Path) -> Result<String, RootfsError> {
    nix::unistd::chdir(rootfs).map_err(err(format!("chdir {}", rootfs.display())))?;
    nix::unistd::pivot_root(".", ".")
        .map_err(err(format!("pivot_root to {}", rootfs.display())))?;
    mount(
        None::<&str>,
        ".",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(err("making the old root a slave"))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(err("detaching the old root"))?;
    nix::unistd::chdir("/").map_err(err("chdir /"))?;
    Ok(format!(
        "pivot_root({0}, {0}); umount2(old root, MNT_DETACH)",
        rootfs.display()
    ))
}

/// Step `mask_paths`: hide kernel files that leak host information or allow
/// harm: /dev/null is bound over a file, an empty read-only tmpfs over a directory.
pub fn mask_paths(paths: &[String]) -> Result<String, RootfsError> {
    let mut done = Vec::new();
    for p in paths {
        let path = Path::new(p);
        let Ok(meta) = fs::metadata(path) else {
            continue; // not present on this kernel: nothing to hide
        };
        let result = if meta.is_dir() {
            mount(
                Some("tmpfs"),
                path,
                Some("tmpfs"),
                MsFlags::MS_RDONLY,
                None::<&str>,
            )
        } else {
            mount(
                Some("/dev/null"),
                path,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
        };
        result.map_err(err(format!("masking {p}")))?;
        done.push(p.as_str());
    }
    Ok(format!("masked {}", done.join(" ")))
}

/// Step `readonly_paths`: bind each path onto itself and remount it read-only.
pub fn readonly_paths(paths: &[String]) -> Result<String, RootfsError> {
    let mut done = Vec::new();
    for p in paths {
        let path = Path::new(p);
        if !path.exists() {
            continue;
        }
        mount(
            Some(path),
            path,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(err(format!("binding {p}")))?;
        remount_ro(path, MsFlags::MS_RDONLY | MsFlags::MS_REC)?;
        done.push(p.as_str());
    }
    Ok(format!("read-only {}", done.join(" ")))
}

/// Step `readonly_root`: `--read-only`: the root itself becomes read-only.
pub fn readonly_root() -> Result<String, RootfsError> {
    remount_ro(Path::new("/"), MsFlags::MS_RDONLY)?;
    Ok("remount / read-only".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_split_into_flags_propagation_and_data() {
        let opts: Vec<String> = ["nosuid", "strictatime", "mode=755", "size=65536k", "rslave"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (flags, prop, data) = parse_options(&opts);
        assert!(flags.contains(MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME));
        assert_eq!(prop, MsFlags::MS_SLAVE | MsFlags::MS_REC);
        assert_eq!(data, vec!["mode=755", "size=65536k"]);
    }

    /// A scratch root (`glassbox-rootfs-NAME-PID`) with what an image has:
    /// `dev/`, the file `etc/hosts`, and `proc` a symlink to the host's `/`.
    fn scratch_root(name: &str) -> PathBuf {
        let rootfs =
            std::env::temp_dir().join(format!("glassbox-rootfs-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&rootfs);
        fs::create_dir_all(rootfs.join("dev")).unwrap();
        fs::create_dir_all(rootfs.join("etc")).unwrap();
        fs::write(rootfs.join("etc/hosts"), b"").unwrap();
        symlink("/", rootfs.join("proc")).unwrap();
        rootfs
    }

    fn kind_of(fd: &OwnedFd) -> SFlag {
        SFlag::from_bits_truncate(nix::sys::stat::fstat(fd).unwrap().st_mode) & SFlag::S_IFMT
    }

    #[test]
    fn destinations_are_found_as_the_image_has_them() {
        let rootfs = scratch_root("found");
        let target = |dest: &str, file: bool| {
            let (parent, name) = open_parent(&rootfs, dest)?;
            open_target(&parent, &name, file, dest)
        };
        // What the image has is mounted on as it is.
        assert_eq!(kind_of(&target("/dev", false).unwrap()), SFlag::S_IFDIR);
        assert_eq!(
            kind_of(&target("/etc/hosts", true).unwrap()),
            SFlag::S_IFREG
        );
        // What it lacks is made: directories 0755, a file for a file's bind.
        assert_eq!(
            kind_of(&target("/sys/fs/cgroup", false).unwrap()),
            SFlag::S_IFDIR
        );
        let made = fs::metadata(rootfs.join("sys/fs")).unwrap();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&made.permissions()) & 0o7777,
            0o755
        );
        assert_eq!(
            kind_of(&target("/etc/resolv.conf", true).unwrap()),
            SFlag::S_IFREG
        );
        // `.` is no component; a file on the way is no directory.
        assert_eq!(open_parent(&rootfs, "/dev/./pts").unwrap().1, "pts");
        let not_dir = target("/etc/hosts/x", false).unwrap_err();
        assert_eq!(
            not_dir.source.raw_os_error(),
            Some(libc::ENOTDIR),
            "{not_dir}"
        );
        // A symlink is refused, at the end or on the way.
        for dest in ["/proc", "/proc/sys"] {
            let refused = target(dest, false).unwrap_err();
            assert!(refused.to_string().contains("symlink"), "{dest}: {refused}");
        }
        fs::remove_dir_all(&rootfs).unwrap();
    }

    #[test]
    fn destinations_cannot_climb_out() {
        assert!(components("/../etc").is_err());
        assert!(components("/dev/../../etc").is_err());
        assert_eq!(components("/dev/pts").unwrap(), ["dev", "pts"]);
        assert!(open_parent(Path::new("/"), "/").is_err(), "the root itself");
    }

    /// The walk holds what it checked: a directory on the way swapped for a
    /// symlink after the check (a container sharing the volume can do that
    /// at any moment) changes nothing, the file is made where it was found.
    #[test]
    fn a_destination_swapped_after_the_walk_is_not_followed() {
        let rootfs = scratch_root("swap");
        let outside = rootfs.with_extension("outside");
        let _ = fs::remove_dir_all(&outside);
        fs::create_dir_all(&outside).unwrap();
        fs::create_dir_all(rootfs.join("data")).unwrap();
        let (parent, name) = open_parent(&rootfs, "/data/conf").unwrap();
        fs::rename(rootfs.join("data"), rootfs.join("data-moved")).unwrap();
        symlink(&outside, rootfs.join("data")).unwrap();
        let file = open_target(&parent, &name, true, "/data/conf").unwrap();
        assert_eq!(kind_of(&file), SFlag::S_IFREG);
        assert!(rootfs.join("data-moved/conf").is_file());
        assert!(
            !outside.join("conf").exists(),
            "followed the swapped symlink"
        );
        // And a symlink put at the name itself is refused, not followed.
        fs::remove_file(rootfs.join("data-moved/conf")).unwrap();
        symlink(outside.join("conf"), rootfs.join("data-moved/conf")).unwrap();
        assert!(open_target(&parent, &name, true, "/data/conf").is_err());
        assert!(!outside.join("conf").exists());
        fs::remove_dir_all(&rootfs).unwrap();
        fs::remove_dir_all(&outside).unwrap();
    }
}
