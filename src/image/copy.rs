//! COPY and ADD: files from the build context become one layer.
//!
//! No container runs for COPY: the engine writes a layer tar of the chosen
//! context files, placed at the destination, with the parent directories the
//! destination needs. The files keep their mode and modification time; they
//! belong to root unless `--chown` says otherwise. ADD does the same, and in
//! addition unpacks a local tar archive (plain or gzip'd) into the
//! destination — through the same checks as any untrusted layer: no `..`, no
//! absolute names, no devices, no whiteouts. Remote URLs are refused: glassbox
//! builds offline.
//!
//! For the build cache, the plan is hashed: each file's destination, type,
//! mode, size and content (sha256), and each link's target — never the
//! modification time. Touching a file keeps the cache; editing it does not.

use super::context::{Context, glob};
use super::diff::lower_lookup;
use super::import::{HashingWriter, Whiteout, clean_path, whiteout_of};
use crate::util::text::hex;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

/// A refused or failed COPY/ADD, in words for the Dockerfile line.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("{0}")]
    Refused(String),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: String,
        source: io::Error,
    },
}

fn io_at<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> CopyError + 'a {
    move |source| CopyError::Io {
        what,
        path: path.display().to_string(),
        source,
    }
}

/// Where one item of the layer comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A file, directory or symlink of the context (absolute host path).
    Context(PathBuf),
    /// A tar archive of the context, unpacked at the destination (ADD).
    Archive(PathBuf),
    /// The destination directory of a directory copy: only its contents are
    /// copied, so it keeps the image's metadata, or is made 0755.
    Destination,
}

/// What a COPY/ADD will write: destination (relative to the image root) →
/// source, in path order.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub items: BTreeMap<PathBuf, Source>,
}

/// Pure: `src` as a path inside the context, `..` resolved lexically; a path
/// that climbs out of the context is refused, as docker refuses it.
pub fn context_path(src: &str) -> Result<PathBuf, String> {
    let mut out: Vec<String> = Vec::new();
    for c in Path::new(src).components() {
        match c {
            Component::Normal(p) => out.push(p.to_string_lossy().into_owned()),
            Component::ParentDir if out.pop().is_none() => {
                return Err(format!("forbidden path outside the build context: {src}"));
            }
            _ => {}
        }
    }
    Ok(out.iter().collect())
}

/// Pure: the destination as a path relative to the image root.
pub fn dest_path(dest: &str, workdir: &str) -> PathBuf {
    let joined = if dest.starts_with('/') {
        PathBuf::from(dest)
    } else {
        Path::new(if workdir.is_empty() { "/" } else { workdir }).join(dest)
    };
    context_path(&joined.to_string_lossy()).unwrap_or_default()
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Is this file a tar archive (plain or gzip'd)?
pub fn is_archive(path: &Path) -> bool {
    let Ok(mut f) = fs::File::open(path) else {
        return false;
    };
    let mut head = vec![0u8; 512];
    let Ok(n) = read_full(&mut f, &mut head) else {
        return false;
    };
    if n >= 2 && head[0] == 0x1f && head[1] == 0x8b {
        let Ok(f) = fs::File::open(path) else {
            return false;
        };
        let mut gz = flate2::read::GzDecoder::new(f);
        let mut head = vec![0u8; 512];
        return read_full(&mut gz, &mut head)
            .is_ok_and(|n| n >= 262 && &head[257..262] == b"ustar");
    }
    n >= 262 && &head[257..262] == b"ustar"
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Opens a (possibly gzip'd) tar for reading.
pub fn open_maybe_gzip(path: &Path) -> io::Result<Box<dyn Read>> {
    let mut f = fs::File::open(path)?;
    let mut magic = [0u8; 2];
    let n = read_full(&mut f, &mut magic)?;
    let f = fs::File::open(path)?;
    if n == 2 && magic == [0x1f, 0x8b] {
        Ok(Box::new(flate2::read::GzDecoder::new(io::BufReader::new(
            f,
        ))))
    } else {
        Ok(Box::new(io::BufReader::new(f)))
    }
}

/// Pure: does `dest` name a directory by its spelling (`/app/`, `.`, `..`)?
pub fn names_dir(dest: &str) -> bool {
    dest.ends_with('/')
        || dest == "."
        || dest == ".."
        || dest.ends_with("/.")
        || dest.ends_with("/..")
}

/// Works out what `COPY sources… dest` (or ADD, `add` true) writes.
/// `is_dir_in_image` says whether a path (relative to the image root) is a
/// directory in the parent image: copying a file to an existing directory
/// puts it inside, as docker does.
pub fn plan(
    ctx: &Context,
    sources: &[String],
    dest: &str,
    workdir: &str,
    add: bool,
    is_dir_in_image: &dyn Fn(&Path) -> bool,
) -> Result<Plan, CopyError> {
    let files = ctx
        .files()
        .map_err(io_at("reading the build context", &ctx.dir))?;
    let dest_rel = dest_path(dest, workdir);
    let dest_is_dir = names_dir(dest)
        || sources.len() > 1
        || sources.iter().any(|s| has_glob(s))
        || dest_rel.as_os_str().is_empty()
        || is_dir_in_image(&dest_rel);
    let mut plan = Plan::default();
    for src in sources {
        if src.contains("://") {
            return Err(CopyError::Refused(format!(
                "{src}: glassbox builds offline and does not download; put the file in the build context and copy it from there"
            )));
        }
        let rel = context_path(src).map_err(CopyError::Refused)?;
        let matches: Vec<PathBuf> = if has_glob(src) {
            let pat: Vec<String> = rel
                .iter()
                .map(|s| s.to_string_lossy().into_owned())
                .collect();
            files
                .iter()
                .filter(|f| {
                    let parts: Vec<String> =
                        f.iter().map(|s| s.to_string_lossy().into_owned()).collect();
                    parts.len() == pat.len() && parts.iter().zip(&pat).all(|(p, g)| glob(g, p))
                })
                .cloned()
                .collect()
        } else if rel.as_os_str().is_empty() || files.contains(&rel) {
            vec![rel.clone()]
        } else {
            Vec::new()
        };
        if matches.is_empty() {
            return Err(CopyError::Refused(format!(
                "{src}: no such file in the build context (or excluded by .dockerignore)"
            )));
        }
        for m in matches {
            let host = ctx.dir.join(&m);
            let meta = fs::symlink_metadata(&host).map_err(io_at("reading", &host))?;
            if meta.is_dir() {
                // A directory's contents go into the destination directory.
                for f in files.iter().filter(|f| f.starts_with(&m) && **f != m) {
                    let under = f.strip_prefix(&m).unwrap_or(f);
                    plan.items
                        .insert(dest_rel.join(under), Source::Context(ctx.dir.join(f)));
                }
                if !dest_rel.as_os_str().is_empty() {
                    plan.items.insert(dest_rel.clone(), Source::Destination);
                }
            } else if add && meta.is_file() && is_archive(&host) {
                plan.items.insert(dest_rel.clone(), Source::Archive(host));
            } else {
                let name = m.file_name().map(PathBuf::from).unwrap_or_default();
                let target = if dest_is_dir {
                    dest_rel.join(name)
                } else {
                    dest_rel.clone()
                };
                if target.as_os_str().is_empty() {
                    return Err(CopyError::Refused(format!(
                        "{src}: cannot replace the root directory with a file"
                    )));
                }
                plan.items.insert(target, Source::Context(host));
            }
        }
    }
    Ok(plan)
}

impl Plan {
    /// The cache hash: destinations, types, modes, sizes, contents, link
    /// targets; not times.
    pub fn digest(
        &self,
        chown: Option<(u32, u32)>,
        chmod: Option<u32>,
    ) -> Result<String, CopyError> {
        let mut h = Sha256::new();
        h.update(format!("chown={chown:?} chmod={chmod:?}\n"));
        for (dest, src) in &self.items {
            let path = match src {
                Source::Context(p) | Source::Archive(p) => p,
                Source::Destination => {
                    h.update(format!("{}\0destination\n", dest.display()));
                    continue;
                }
            };
            let m = fs::symlink_metadata(path).map_err(io_at("reading", path))?;
            let kind = match src {
                Source::Archive(_) => "archive",
                Source::Context(_) if m.is_dir() => "dir",
                Source::Context(_) if m.file_type().is_symlink() => "symlink",
                Source::Context(_) => "file",
                Source::Destination => "destination",
            };
            let content = if m.file_type().is_symlink() {
                fs::read_link(path)
                    .map_err(io_at("reading", path))?
                    .to_string_lossy()
                    .into_owned()
            } else if m.is_file() {
                let mut f = fs::File::open(path).map_err(io_at("reading", path))?;
                let mut w = HashingWriter::new(io::sink());
                io::copy(&mut f, &mut w).map_err(io_at("reading", path))?;
                w.finish().0
            } else {
                String::new()
            };
            h.update(format!(
                "{}\0{kind}\0{:o}\0{}\0{content}\n",
                dest.display(),
                m.mode() & 0o7777,
                if m.is_file() { m.len() } else { 0 }
            ));
        }
        Ok(format!("sha256:{}", hex(&h.finalize())))
    }

    /// Writes the layer tar: the destination's missing parent directories
    /// (with the metadata the image has for them, if any), then the items.
    pub fn write_tar<W: Write>(
        &self,
        out: W,
        lowers: &[PathBuf],
        chown: Option<(u32, u32)>,
        chmod: Option<u32>,
    ) -> Result<W, CopyError> {
        let mut b = tar::Builder::new(out);
        let tar_err = |e: io::Error| CopyError::Io {
            what: "writing the layer for",
            path: "COPY".into(),
            source: e,
        };
        let now = crate::timefmt::now_unix_ns() / 1_000_000_000;
        let mut parents: std::collections::BTreeSet<PathBuf> = Default::default();
        for dest in self.items.keys() {
            for a in dest.ancestors().skip(1) {
                if !a.as_os_str().is_empty() && !self.items.contains_key(a) {
                    parents.insert(a.to_path_buf());
                }
            }
        }
        // A directory the image has keeps its metadata; a new one is 0755,
        // owned by root (or by --chown's owner when it is the destination).
        let dir_header = |p: &Path, owner: (u32, u32)| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Directory);
            match lower_lookup(lowers, p) {
                Some(m) if m.is_dir() => {
                    h.set_mode(m.mode() & 0o7777);
                    h.set_uid(m.uid() as u64);
                    h.set_gid(m.gid() as u64);
                    h.set_mtime(m.mtime().max(0) as u64);
                }
                _ => {
                    h.set_mode(0o755);
                    h.set_uid(owner.0 as u64);
                    h.set_gid(owner.1 as u64);
                    h.set_mtime(now);
                }
            }
            h.set_size(0);
            h
        };
        for p in &parents {
            let mut h = dir_header(p, (0, 0));
            b.append_data(&mut h, dir_name(p), io::empty())
                .map_err(tar_err)?;
        }
        for (dest, src) in &self.items {
            match src {
                Source::Destination => {
                    let mut h = dir_header(dest, chown.unwrap_or((0, 0)));
                    b.append_data(&mut h, dir_name(dest), io::empty())
                        .map_err(tar_err)?;
                }
                Source::Archive(path) => append_archive(&mut b, dest, path, chown)?,
                Source::Context(path) => {
                    let m = fs::symlink_metadata(path).map_err(io_at("reading", path))?;
                    let mut h = tar::Header::new_gnu();
                    let (uid, gid) = chown.unwrap_or((0, 0));
                    h.set_uid(uid as u64);
                    h.set_gid(gid as u64);
                    h.set_mtime(m.mtime().max(0) as u64);
                    let mode = m.mode() & 0o7777;
                    if m.file_type().is_symlink() {
                        h.set_entry_type(tar::EntryType::Symlink);
                        h.set_mode(0o777);
                        h.set_size(0);
                        let target = fs::read_link(path).map_err(io_at("reading", path))?;
                        b.append_link(&mut h, dest, &target).map_err(tar_err)?;
                    } else if m.is_dir() {
                        h.set_entry_type(tar::EntryType::Directory);
                        h.set_mode(chmod.unwrap_or(mode));
                        h.set_size(0);
                        b.append_data(&mut h, dir_name(dest), io::empty())
                            .map_err(tar_err)?;
                    } else if m.is_file() {
                        h.set_entry_type(tar::EntryType::Regular);
                        h.set_mode(chmod.unwrap_or(mode));
                        h.set_size(m.len());
                        let f = fs::File::open(path).map_err(io_at("reading", path))?;
                        b.append_data(&mut h, dest, f).map_err(tar_err)?;
                    } else {
                        return Err(CopyError::Refused(format!(
                            "{}: only files, directories and symlinks can be copied",
                            path.display()
                        )));
                    }
                }
            }
        }
        b.into_inner().map_err(tar_err)
    }
}

/// A directory's tar name ends with `/`, as GNU tar writes it.
pub fn dir_name(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_os_string();
    s.push("/");
    PathBuf::from(s)
}

/// ADD of a local archive: each entry checked, then re-rooted under `dest`.
fn append_archive<W: Write>(
    b: &mut tar::Builder<W>,
    dest: &Path,
    path: &Path,
    chown: Option<(u32, u32)>,
) -> Result<(), CopyError> {
    let shown = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let reader = open_maybe_gzip(path).map_err(io_at("opening", path))?;
    let mut archive = tar::Archive::new(reader);
    let read_err =
        |e: io::Error| CopyError::Refused(format!("{shown}: not a readable tar archive: {e}"));
    for entry in archive.entries().map_err(read_err)? {
        let mut entry = entry.map_err(read_err)?;
        let raw = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw).into_owned();
        let refuse =
            |why: &str| CopyError::Refused(format!("{shown}: tar entry {name:?} refused: {why}"));
        let kind = entry.header().entry_type();
        if matches!(kind, tar::EntryType::XGlobalHeader) {
            continue;
        }
        let rel = clean_path(&raw).map_err(refuse)?;
        if whiteout_of(&rel).map_err(refuse)? != Whiteout::None {
            return Err(refuse("whiteout names have no meaning in an added archive"));
        }
        if rel.as_os_str().is_empty() {
            continue;
        }
        let mut h = entry.header().clone();
        if let Some((uid, gid)) = chown {
            h.set_uid(uid as u64);
            h.set_gid(gid as u64);
        }
        let target = dest.join(&rel);
        match kind {
            tar::EntryType::Regular
            | tar::EntryType::Continuous
            | tar::EntryType::Directory
            | tar::EntryType::Fifo => {
                let mut data = Vec::new();
                entry.read_to_end(&mut data).map_err(read_err)?;
                b.append_data(&mut h, &target, &data[..])
                    .map_err(read_err)?;
            }
            tar::EntryType::Symlink => {
                let link = entry
                    .link_name_bytes()
                    .ok_or_else(|| refuse("a symlink without a target"))?
                    .into_owned();
                b.append_link(
                    &mut h,
                    &target,
                    Path::new(std::ffi::OsStr::new(&*String::from_utf8_lossy(&link))),
                )
                .map_err(read_err)?;
            }
            tar::EntryType::Link => {
                let link = entry
                    .link_name_bytes()
                    .ok_or_else(|| refuse("a hard link without a target"))?
                    .into_owned();
                let link =
                    clean_path(&link).map_err(|r| refuse(&format!("hard link target: {r}")))?;
                b.append_link(&mut h, &target, dest.join(link))
                    .map_err(read_err)?;
            }
            tar::EntryType::Char | tar::EntryType::Block => {
                return Err(refuse("device nodes are not allowed in a layer"));
            }
            other => return Err(refuse(&format!("unsupported entry type {other:?}"))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_paths() {
        assert_eq!(context_path("./app/").unwrap(), PathBuf::from("app"));
        assert_eq!(context_path("a/../b").unwrap(), PathBuf::from("b"));
        assert!(context_path("../etc/passwd").is_err());
        assert_eq!(context_path(".").unwrap(), PathBuf::from(""));
    }

    #[test]
    fn destinations() {
        assert_eq!(dest_path("/app/", ""), PathBuf::from("app"));
        assert_eq!(dest_path("x", "/srv"), PathBuf::from("srv/x"));
        assert_eq!(dest_path(".", "/srv/app"), PathBuf::from("srv/app"));
        assert!(names_dir("."));
        assert!(names_dir("/app/"));
        assert!(!names_dir("/app/run.sh"));
    }
}
