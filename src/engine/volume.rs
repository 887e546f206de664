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

/// Parses docker's `-v` / `Binds` form: `SRC:DST[:ro|rw]`. An absolute
/// source is a host path (a bind mount; it must exist); a name is a named
/// volume, made on first use. Returns (source on the host, destination, read-only).
pub fn parse_spec(root: &DataRoot, v: &str) -> anyhow::Result<(String, String, bool)> {
    let parts: Vec<&str> = v.split(':').collect();
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
