//! Named volumes: directories the engine owns, outside any container.
//!
//! A container's writable layer dies with the container (`rm`). Data meant to
//! outlive it goes into a *volume*: `-v NAME:/path` bind-mounts
//! `<root>/volumes/NAME/_data` at `/path`, making the directory on first use,
//! exactly where docker keeps its own (`/var/lib/docker/volumes/NAME/_data`).
//! Nothing in the kernel remembers a volume: it is a directory, and the
//! mount that shows it inside a container is the same bind mount as
//! `-v /host/dir:/path`. Only `glassbox volume rm` removes it, and not while a
//! container uses it.

use super::DataRoot;
use super::container::{self, Record};
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};

/// docker's rule for volume names: a letter or digit, then letters, digits,
/// `_`, `.` or `-` (and at least two characters).
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// `<root>/volumes`.
pub fn dir(root: &DataRoot) -> PathBuf {
    root.path.join("volumes")
}

/// The directory a container sees: `<root>/volumes/NAME/_data`.
pub fn mountpoint(root: &DataRoot, name: &str) -> PathBuf {
    dir(root).join(name).join("_data")
}

/// `glassbox volume create NAME`, and `-v NAME:/path` on first use: makes the
/// directory (an existing volume is kept as it is).
pub fn create(root: &DataRoot, name: &str) -> anyhow::Result<PathBuf> {
    if !valid_name(name) {
        bail!(
            "{name:?} is not a valid volume name: use letters, digits, `_`, `.` and `-`, starting with a letter or digit"
        );
    }
    let path = mountpoint(root, name);
    std::fs::create_dir_all(&path)
        .with_context(|| format!("cannot create the volume directory {}", path.display()))?;
    Ok(path)
}

/// The file that marks a volume as anonymous: made for one container
/// (an image's `VOLUME`, `-v /path`), named by a random ID, and removed with
/// it by `rm -v` and `--rm`, as docker's anonymous volumes are.
const ANONYMOUS_MARK: &str = "anonymous";

/// The source of a `-v /path` before create: create makes an anonymous
/// volume for it ([`make_anonymous_sources`]), so a refused create leaves none.
pub const ANONYMOUS_SOURCE: &str = "";

/// Gives each `-v /path` (empty source) its anonymous volume.
pub fn make_anonymous_sources(
    root: &DataRoot,
    volumes: &mut [(String, String, bool)],
) -> anyhow::Result<()> {
    for (src, _, _) in volumes.iter_mut() {
        if src == ANONYMOUS_SOURCE {
            *src = create_anonymous(root)?.display().to_string();
        }
    }
    Ok(())
}

/// Makes an anonymous volume: a random 64-hex-digit name, its `_data`
/// directory, and the mark.
pub fn create_anonymous(root: &DataRoot) -> anyhow::Result<PathBuf> {
    let name = crate::util::text::random_id();
    let path = create(root, &name)?;
    let mark = dir(root).join(&name).join(ANONYMOUS_MARK);
    std::fs::write(&mark, b"")
        .with_context(|| format!("cannot mark {} anonymous", mark.display()))?;
    Ok(path)
}

/// Whether volume `name` is anonymous.
pub fn is_anonymous(root: &DataRoot, name: &str) -> bool {
    valid_name(name) && dir(root).join(name).join(ANONYMOUS_MARK).is_file()
}

/// The image's `VOLUME` paths that the flags left uncovered (a `-v` or
/// `--tmpfs` at the same place wins), each given a new anonymous volume:
/// docker's create does the same.
pub fn image_volumes(
    root: &DataRoot,
    config: &crate::engine::container::RunConfig,
    image: &crate::image::ImageConfig,
) -> anyhow::Result<Vec<(String, String, bool)>> {
    let covered = |dest: &str| {
        let dest = dest.trim_end_matches('/');
        config
            .volumes
            .iter()
            .any(|(_, d, _)| d.trim_end_matches('/') == dest)
            || config.tmpfs.keys().any(|d| d.trim_end_matches('/') == dest)
    };
    let mut out = Vec::new();
    for dest in image.config.volumes.keys() {
        if !dest.starts_with('/') || covered(dest) {
            continue;
        }
        let src = create_anonymous(root)?;
        out.push((src.display().to_string(), dest.clone(), false));
    }
    Ok(out)
}

/// Step `populate_volumes`, at a container's first start, once its
/// overlay is mounted: each of its anonymous volumes that is still empty
/// gets a copy of what the image has at that path (docker copies an image's
/// content into a new volume; its files keep their owner and mode). The
/// path is resolved inside the rootfs (`openat2(RESOLVE_IN_ROOT)`) and the
/// tree is read by descriptor ([`crate::image::inroot::Dir`]), so an image's
/// symlink cannot lead the copy to the host's files.
pub fn populate_anonymous(
    root: &DataRoot,
    record: &Record,
    rootfs: &Path,
    trace: &mut crate::runtime::trace::Trace,
) -> anyhow::Result<()> {
    for (src, dest, _) in &record.config.volumes {
        let Some(name) = name_of(root, Path::new(src)) else {
            continue;
        };
        if !is_anonymous(root, &name) {
            continue;
        }
        let t = crate::runtime::trace::now_ns();
        let data = Path::new(src);
        let empty = std::fs::read_dir(data)
            .with_context(|| format!("cannot read {}", data.display()))?
            .next()
            .is_none();
        if !empty {
            continue;
        }
        let from = match crate::image::inroot::open_dir_in_root(rootfs, Path::new(dest)) {
            Ok(d) => d,
            // Nothing (or no directory) there in the image: the volume starts empty.
            Err(_) => continue,
        };
        let to = nix::fcntl::open(
            data,
            nix::fcntl::OFlag::O_RDONLY
                | nix::fcntl::OFlag::O_DIRECTORY
                | nix::fcntl::OFlag::O_NOFOLLOW
                | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .with_context(|| format!("cannot open {}", data.display()))?;
        let top = from.stat_self()?;
        let copied = copy_tree(&from, &to, 0)
            .and_then(|n| own(&to, &top).map(|_| n))
            .with_context(|| format!("copying the image's {dest} into volume {name}"))?;
        trace.step(
            "engine",
            t,
            "populate_volumes",
            format!("copy {copied} entries of the image's {dest} into volumes/{name}/_data"),
        );
    }
    Ok(())
}

/// Gives an open file or directory the owner, then the mode (a chown
/// clears setuid bits), then the modification time of what it copies.
fn own(fd: &std::os::fd::OwnedFd, st: &crate::image::inroot::Stat) -> std::io::Result<()> {
    use nix::sys::time::TimeSpec;
    nix::unistd::fchown(
        fd,
        Some(nix::unistd::Uid::from_raw(st.uid())),
        Some(nix::unistd::Gid::from_raw(st.gid())),
    )?;
    nix::sys::stat::fchmod(fd, nix::sys::stat::Mode::from_bits_truncate(st.mode()))?;
    let mtime = TimeSpec::new(st.mtime(), 0);
    nix::sys::stat::futimens(fd, &TimeSpec::UTIME_OMIT, &mtime)?;
    Ok(())
}

/// Copies directories, regular files and symlinks from `from` into `to`,
/// each made with `O_EXCL`/`mkdirat`/`symlinkat` relative to its parent's
/// descriptor (never a path that could pass through a link); device nodes,
/// FIFOs and sockets are left out. Returns how many entries it made.
fn copy_tree(
    from: &crate::image::inroot::Dir,
    to: &std::os::fd::OwnedFd,
    depth: usize,
) -> std::io::Result<usize> {
    use crate::image::inroot::Kind;
    use nix::fcntl::OFlag;
    use nix::sys::stat::Mode;
    if depth > 128 {
        return Err(std::io::Error::other(
            "directories nested more than 128 deep",
        ));
    }
    let mut made = 0;
    for name in from.names()? {
        let st = from.stat(&name)?;
        match st.kind() {
            Kind::Dir => {
                nix::sys::stat::mkdirat(to, name.as_os_str(), Mode::from_bits_truncate(0o700))?;
                let sub = nix::fcntl::openat(
                    to,
                    name.as_os_str(),
                    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )?;
                made += copy_tree(&from.open_dir(&name)?, &sub, depth + 1)?;
                own(&sub, &st)?;
            }
            Kind::File => {
                let (mut src, _) = from.open_file(&name)?;
                let fd = nix::fcntl::openat(
                    to,
                    name.as_os_str(),
                    OFlag::O_WRONLY
                        | OFlag::O_CREAT
                        | OFlag::O_EXCL
                        | OFlag::O_NOFOLLOW
                        | OFlag::O_CLOEXEC,
                    Mode::from_bits_truncate(0o600),
                )?;
                let mut dst = std::fs::File::from(fd);
                std::io::copy(&mut src, &mut dst)?;
                own(&std::os::fd::OwnedFd::from(dst), &st)?;
            }
            Kind::Symlink => {
                let target = from.read_link(&name)?;
                nix::unistd::symlinkat(target.as_path(), to, name.as_os_str())?;
                nix::unistd::fchownat(
                    to,
                    name.as_os_str(),
                    Some(nix::unistd::Uid::from_raw(st.uid())),
                    Some(nix::unistd::Gid::from_raw(st.gid())),
                    nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
                )?;
            }
            _ => continue,
        }
        made += 1;
    }
    Ok(made)
}

/// `rm -v`, `--rm`: removes the container's anonymous volumes that no
/// other container mounts; returns the names of those it removed.
pub fn remove_anonymous(root: &DataRoot, record: &Record) -> Vec<String> {
    let mut removed = Vec::new();
    for (src, _, _) in &record.config.volumes {
        let Some(name) = name_of(root, Path::new(src)) else {
            continue;
        };
        if !is_anonymous(root, &name) {
            continue;
        }
        let others = users(root, &name)
            .map(|u| u.iter().any(|r| r.id != record.id))
            .unwrap_or(true);
        if !others && std::fs::remove_dir_all(dir(root).join(&name)).is_ok() {
            removed.push(name);
        }
    }
    removed
}

/// Parses docker's `-v` / `Binds` form: `SRC:DST[:ro|rw]`, or `DST` alone
/// (an anonymous volume). An absolute source is a host path (a bind mount;
/// it must exist); a name is a named volume, made on first use. Returns
/// (source on the host, destination, read-only).
pub fn parse_spec(root: &DataRoot, v: &str) -> anyhow::Result<(String, String, bool)> {
    let parts: Vec<&str> = v.split(':').collect();
    if let [dst] = parts.as_slice()
        && dst.starts_with('/')
    {
        // No source yet: create makes the anonymous volume (see ANONYMOUS_SOURCE).
        return Ok((ANONYMOUS_SOURCE.to_string(), dst.to_string(), false));
    }
    let (src, dst, ro) = match parts.as_slice() {
        [s, d] => (*s, *d, false),
        [s, d, "ro"] => (*s, *d, true),
        [s, d, "rw"] => (*s, *d, false),
        _ => bail!("invalid volume {v:?}: use SRC:DST or SRC:DST:ro"),
    };
    if !dst.starts_with('/') {
        bail!("invalid volume {v:?}: the path inside ({dst}) must be absolute");
    }
    let src = if src.starts_with('/') {
        if !Path::new(src).exists() {
            bail!("volume source {src} does not exist on the host");
        }
        src.to_string()
    } else if valid_name(src) {
        create(root, src)?.display().to_string()
    } else {
        bail!(
            "invalid volume {v:?}: the source is an absolute host path or a volume name (letters, digits, `_`, `.`, `-`)"
        );
    };
    Ok((src, dst.to_string(), ro))
}

/// The name of the volume a mount source belongs to, if it is one.
pub fn name_of(root: &DataRoot, source: &Path) -> Option<String> {
    let rest = source.strip_prefix(dir(root)).ok()?;
    let mut parts = rest.components();
    let name = parts.next()?.as_os_str().to_str()?.to_string();
    (parts.next()?.as_os_str() == "_data").then_some(name)
}

/// One volume, as `volume ls` and `volume inspect` show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    pub name: String,
    pub mountpoint: PathBuf,
    /// When its directory was made (ns since 1970).
    pub created: u64,
}

/// Every volume of the data root, by name.
pub fn list(root: &DataRoot) -> anyhow::Result<Vec<Volume>> {
    let dir = dir(root);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let mountpoint = mountpoint(root, &name);
        let Ok(meta) = std::fs::metadata(&mountpoint) else {
            continue;
        };
        let created = meta
            .created()
            .or_else(|_| meta.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64);
        out.push(Volume {
            name,
            mountpoint,
            created,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The containers (any state) that mount volume `name`.
pub fn users(root: &DataRoot, name: &str) -> anyhow::Result<Vec<Record>> {
    Ok(container::list(root)?
        .into_iter()
        .filter(|r| {
            r.config
                .volumes
                .iter()
                .any(|(src, _, _)| name_of(root, Path::new(src)).as_deref() == Some(name))
        })
        .collect())
}

/// `glassbox volume rm NAME`: refused while a container, even a stopped one,
/// mounts it (as docker does); the data is then deleted.
pub fn remove(root: &DataRoot, name: &str) -> anyhow::Result<()> {
    let path = dir(root).join(name);
    if !valid_name(name) || !path.is_dir() {
        bail!("no such volume: {name} (`glassbox volume ls` lists them)");
    }
    let users = users(root, name)?;
    if !users.is_empty() {
        let names: Vec<&str> = users.iter().map(|r| r.name.as_str()).collect();
        bail!(
            "volume {name} is in use by container {}: remove {} first (`glassbox rm`)",
            names.join(", "),
            if names.len() == 1 { "it" } else { "them" }
        );
    }
    std::fs::remove_dir_all(&path).with_context(|| format!("cannot remove {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_dockers_rule() {
        for ok in ["data", "db-1", "a.b_c", "9lives"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "x", "-data", ".hidden", "a/b", "../up", "with space"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
