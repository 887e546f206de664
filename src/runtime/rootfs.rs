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

use super::spec::{Device, Mount, Spec};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::stat::{Mode, SFlag, makedev, mknod};
use std::fs;
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

/// The absolute path of `dest` inside `rootfs`. A destination with `..`, or one
/// that passes through a symlink of the image, is refused: an image could
/// otherwise point `/proc` at `/` and have the mount land on the host.
pub fn inside(rootfs: &Path, dest: &str) -> Result<PathBuf, RootfsError> {
    inside_as_found(rootfs, dest).map(|(path, _)| path)
}

/// [`inside`], and what is at the path now (`None`: nothing, or a missing
/// directory on the way, below which nothing is looked up).
fn inside_as_found(
    rootfs: &Path,
    dest: &str,
) -> Result<(PathBuf, Option<fs::FileType>), RootfsError> {
    let refuse = |why: &str| RootfsError {
        what: format!("mount destination {dest:?}"),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, why.to_string()),
    };
    let rel = Path::new(dest.trim_start_matches('/'));
    let mut path = rootfs.to_path_buf();
    let mut found = Some(None);
    for c in rel.components() {
        match c {
            std::path::Component::Normal(part) => path.push(part),
            std::path::Component::CurDir => continue,
            _ => return Err(refuse("contains '..'")),
        }
        // Below a missing component nothing can be, not even a symlink.
        if found.is_some() {
            found = fs::symlink_metadata(&path)
                .ok()
                .map(|m| Some(m.file_type()));
        }
        if found.flatten().is_some_and(|t| t.is_symlink()) {
            return Err(refuse("passes through a symlink in the image"));
        }
    }
    Ok((path, found.flatten()))
}

/// Step `mount_<dest>`: one mount of the spec's list, inside the new root.
pub fn mount_one(rootfs: &Path, m: &Mount, cgroup_v2: bool) -> Result<String, RootfsError> {
    let (dest, present) = inside_as_found(rootfs, &m.destination)?;
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
    if is_bind && Path::new(&m.source).is_file() {
        if present.is_none() {
            if let Some(parent) = dest.parent() {
                fs::create_dir_all(parent)
                    .map_err(io_err(format!("mkdir {}", parent.display())))?;
            }
            fs::write(&dest, b"").map_err(io_err(format!("creating {}", dest.display())))?;
        }
    } else if !present.is_some_and(|t| t.is_dir()) {
        fs::create_dir_all(&dest).map_err(io_err(format!("mkdir {}", dest.display())))?;
    }
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
                &dest,
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
    if is_bind && !(flags - (MsFlags::MS_BIND | MsFlags::MS_REC)).is_empty() {
        remount_ro(&dest, flags - MsFlags::MS_REC)?;
    }
    if !propagation.is_empty() {
        mount(None::<&str>, &dest, None::<&str>, propagation, None::<&str>)
            .map_err(err(format!("propagation of {}", m.destination)))?;
    }
    Ok(match data_opt {
        Some(d) => format!("{what} ({d})"),
        None => what,
    })
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
        let path = inside(rootfs, &d.path)?;
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
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io_err(format!("mkdir {}", parent.display())))?;
        }
        let _ = fs::remove_file(&path);
        let (major, minor) = (d.major as u64, d.minor as u64);
        mknod(
            &path,
            kind,
            Mode::from_bits_truncate(d.file_mode.unwrap_or(0o666)),
            makedev(major, minor),
        )
        .map_err(err(format!("mknod {}", path.display())))?;
        nix::unistd::chown(
            &path,
            d.uid.map(nix::unistd::Uid::from_raw),
            d.gid.map(nix::unistd::Gid::from_raw),
        )
        .map_err(err(format!("chown {}", path.display())))?;
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

    #[test]
    fn destinations_are_found_as_the_image_has_them() {
        let rootfs =
            std::env::temp_dir().join(format!("glassbox-rootfs-found-{}", std::process::id()));
        fs::create_dir_all(rootfs.join("dev")).unwrap();
        fs::create_dir_all(rootfs.join("etc")).unwrap();
        fs::write(rootfs.join("etc/hosts"), b"").unwrap();
        symlink("/", rootfs.join("proc")).unwrap();
        let kind = |dest: &str| inside_as_found(&rootfs, dest).map(|(_, t)| t);
        assert!(kind("/dev").unwrap().is_some_and(|t| t.is_dir()));
        assert!(kind("/etc/hosts").unwrap().is_some_and(|t| t.is_file()));
        assert!(kind("/dev/pts").unwrap().is_none());
        assert!(kind("/sys/fs/cgroup").unwrap().is_none());
        assert!(kind("/etc/hosts/x").unwrap().is_none());
        assert!(kind("/proc").is_err());
        assert!(kind("/proc/sys").is_err());
        assert_eq!(
            inside_as_found(&rootfs, "/dev/./pts").unwrap().0,
            rootfs.join("dev/pts")
        );
        fs::remove_dir_all(&rootfs).unwrap();
    }

    #[test]
    fn destinations_cannot_climb_out() {
        assert!(inside(Path::new("/r"), "/../etc").is_err());
        assert_eq!(
            inside(Path::new("/r"), "/dev/pts").unwrap(),
            Path::new("/r/dev/pts")
        );
    }
}
