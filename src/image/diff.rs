//! From a container's writable layer to a layer tar, and to `docker diff`.
//!
//! Everything a container changes lands in its overlay *upper* directory:
//! a new or modified file is there in full (a modified lower file was first
//! copied up), a deleted lower file is a *whiteout* (a 0/0 character device
//! of the same name), and a directory whose lower contents were all replaced
//! (`rm -rf d; mkdir d`) carries the xattr `trusted.overlay.opaque=y`. The
//! upper directory is therefore already "the diff": `commit` and each build
//! step turn it into a layer tar, translating the overlay's spelling of a
//! deletion into the OCI one (`.wh.NAME`, `.wh..wh..opq`) that other tools read.
//!
//! `diff` reads the same directory and says, per path, whether it was Added
//! (absent from every lower layer), Changed (present below) or Deleted (a
//! whiteout). Entries are walked in name order, so the same tree always gives
//! the same tar and so the same diff_id.
//!
//! One thing in the upper dir is not the program's doing: a mount point the
//! runtime had to create because the image lacked it (an empty `/etc/hosts`
//! to bind the engine's file onto, an empty `/proc` in a bare image). docker
//! keeps those in a separate "init" layer; glassbox leaves them out of `diff`,
//! `commit` and build layers ([`placeholders`]), together with directories
//! that were only copied up to hold them.

use super::import::{OPAQUE_MARKER, OPAQUE_XATTR, WHITEOUT_PREFIX, get_xattr};
use super::inroot::{Dir, Kind, Stat};
use crate::runtime::spec::Spec;
use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// How the walked tree is to be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeKind {
    /// An overlay upper dir: whiteouts and opaque dirs become OCI whiteouts.
    Upper,
    /// A plain tree (a merged root filesystem for `export`).
    Plain,
}

/// True for an overlay whiteout: a character device 0/0.
pub fn is_whiteout(m: &fs::Metadata) -> bool {
    m.file_type().is_char_device() && m.rdev() == 0
}

/// True when an overlay directory is marked opaque.
pub fn is_opaque(path: &Path) -> bool {
    get_xattr(path, OPAQUE_XATTR).is_some_and(|v| v == b"y")
}

fn header_for(m: &Stat, kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(m.mode());
    h.set_uid(u64::from(m.uid()));
    h.set_gid(u64::from(m.gid()));
    h.set_mtime(m.mtime().max(0) as u64);
    h.set_size(size);
    h
}

/// True when an error says the entry is gone: a process deleted it between
/// the listing and the look (a commit with `--pause=false`). It is then
/// simply not part of what is read.
fn gone(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound
}

/// A file's bytes, exactly as many as its header promised: a file that
/// shrinks while it is archived (`--pause=false`) is an error, not a tar
/// whose next header lands inside the data.
struct Exact<R> {
    inner: R,
    left: u64,
    name: PathBuf,
}

impl<R: io::Read> io::Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let max = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..max])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "{} changed while it was read (it became shorter)",
                    self.name.display()
                ),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// The runtime's mount points in a container's upper dir (relative paths):
/// each destination of the bundle's mounts that is an empty file or an empty
/// directory in `upper` and absent from `lowers`, and each directory above
/// one that holds nothing else and was copied up unchanged.
pub fn placeholders(bundle: &Path, upper: &Path, lowers: &[PathBuf]) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let (Ok(spec), Ok(top)) = (Spec::load(bundle), Dir::open(upper)) else {
        return out;
    };
    // Each look goes down the upper dir by descriptor, never through a
    // symlink a process inside made there.
    let look = |rel: &Path| -> Option<(Stat, Option<Dir>)> {
        let (parent, name) = top.parent_of(rel)?;
        let st = parent.stat(&name).ok()?;
        let dir = (st.kind() == Kind::Dir)
            .then(|| parent.open_dir(&name).ok())
            .flatten();
        Some((st, dir))
    };
    for m in &spec.mounts {
        let rel: PathBuf = Path::new(m.destination.trim_start_matches('/')).to_path_buf();
        if rel.as_os_str().is_empty() || lower_lookup(lowers, &rel).is_some() {
            continue;
        }
        let Some((st, dir)) = look(&rel) else {
            continue;
        };
        let empty = (st.kind() == Kind::File && st.size() == 0)
            || dir.is_some_and(|d| d.names().is_ok_and(|n| n.is_empty()));
        if empty {
            out.insert(rel);
        }
    }
    // Parents that exist only to hold placeholders.
    let parents: BTreeSet<PathBuf> = out
        .iter()
        .flat_map(|p| {
            p.ancestors()
                .skip(1)
                .map(Path::to_path_buf)
                .collect::<Vec<_>>()
        })
        .filter(|p| !p.as_os_str().is_empty())
        .collect();
    for dir in parents.iter().rev() {
        let Some((st, Some(up))) = look(dir) else {
            continue;
        };
        let unchanged = lower_lookup(lowers, dir).is_some_and(|low| {
            low.is_dir()
                && (st.mode(), st.uid(), st.gid()) == (low.mode() & 0o7777, low.uid(), low.gid())
                && up.xattr(OPAQUE_XATTR).is_none_or(|v| v != b"y")
        });
        let only_placeholders = up
            .names()
            .is_ok_and(|names| names.iter().all(|n| out.contains(&dir.join(n))));
        if unchanged && only_placeholders {
            out.insert(dir.clone());
        }
    }
    out
}

/// Writes the tree under `root` as a tar to `out` (entries relative, in name
/// order, hard links kept as links), leaving out the paths in `skip`.
/// Returns `out`.
///
/// The walk goes by file descriptor ([`inroot::Dir`](crate::image::inroot::Dir)): each directory is
/// held open and each entry named relative to it with `O_NOFOLLOW`, and each
/// header describes what was opened. A container that swaps a file for a
/// symlink to a host file while this runs makes the archive fail ("changed
/// while it was read"); it never gets the host's file into it.
pub fn write_tree_tar<W: Write>(
    root: &Path,
    out: W,
    kind: TreeKind,
    skip: &BTreeSet<PathBuf>,
) -> io::Result<W> {
    let mut builder = tar::Builder::new(out);
    builder.follow_symlinks(false);
    let mut links: HashMap<(u64, u64), PathBuf> = HashMap::new();
    let top = Dir::open(root)?;
    let mut w = Walk {
        kind,
        skip,
        links: &mut links,
    };
    w.walk(&top, Path::new(""), root, &mut builder)?;
    builder.into_inner()
}

struct Walk<'a> {
    kind: TreeKind,
    skip: &'a BTreeSet<PathBuf>,
    links: &'a mut HashMap<(u64, u64), PathBuf>,
}

impl Walk<'_> {
    fn walk<W: Write>(
        &mut self,
        dir: &Dir,
        rel: &Path,
        root: &Path,
        b: &mut tar::Builder<W>,
    ) -> io::Result<()> {
        let kind = self.kind;
        for name in dir.names()? {
            let entry = rel.join(&name);
            if self.skip.contains(&entry) {
                continue;
            }
            let with_context = |e: io::Error| {
                io::Error::new(e.kind(), format!("{}: {e}", root.join(&entry).display()))
            };
            let st = match dir.stat(&name) {
                Ok(st) => st,
                Err(e) if gone(&e) => continue,
                Err(e) => return Err(with_context(e)),
            };
            match st.kind() {
                Kind::Char if kind == TreeKind::Upper && st.is_whiteout() => {
                    let wh = rel.join(format!("{WHITEOUT_PREFIX}{}", name.to_string_lossy()));
                    let mut h = header_for(&st, tar::EntryType::Regular, 0);
                    h.set_mode(0o600);
                    b.append_data(&mut h, &wh, io::empty())
                        .map_err(with_context)?;
                }
                Kind::Dir => {
                    let sub = match dir.open_dir(&name) {
                        Ok(d) => d,
                        Err(e) if gone(&e) => continue,
                        Err(e) => return Err(with_context(e)),
                    };
                    let st = sub.stat_self().map_err(with_context)?;
                    let mut h = header_for(&st, tar::EntryType::Directory, 0);
                    b.append_data(&mut h, super::copy::dir_name(&entry), io::empty())
                        .map_err(with_context)?;
                    if kind == TreeKind::Upper && sub.xattr(OPAQUE_XATTR).is_some_and(|v| v == b"y")
                    {
                        let mut h = header_for(&st, tar::EntryType::Regular, 0);
                        h.set_mode(0o600);
                        b.append_data(&mut h, entry.join(OPAQUE_MARKER), io::empty())
                            .map_err(with_context)?;
                    }
                    self.walk(&sub, &entry, root, b)?;
                }
                Kind::Symlink => {
                    let target = match dir.read_link(&name) {
                        Ok(t) => t,
                        Err(e) if gone(&e) => continue,
                        Err(e) => return Err(with_context(e)),
                    };
                    let mut h = header_for(&st, tar::EntryType::Symlink, 0);
                    b.append_link(&mut h, &entry, &target)
                        .map_err(with_context)?;
                }
                Kind::File => {
                    let (file, st) = match dir.open_file(&name) {
                        Ok(f) => f,
                        Err(e) if gone(&e) => continue,
                        Err(e) => return Err(with_context(e)),
                    };
                    if st.nlink() > 1 {
                        if let Some(first) = self.links.get(&st.identity()) {
                            let mut h = header_for(&st, tar::EntryType::Link, 0);
                            b.append_link(&mut h, &entry, first).map_err(with_context)?;
                            continue;
                        }
                        self.links.insert(st.identity(), entry.clone());
                    }
                    let mut h = header_for(&st, tar::EntryType::Regular, st.size());
                    // The header says st.size() bytes: exactly that many are
                    // written, or the archive fails.
                    let mut data = Exact {
                        inner: io::Read::take(file, st.size()),
                        left: st.size(),
                        name: root.join(&entry),
                    };
                    b.append_data(&mut h, &entry, &mut data)
                        .map_err(with_context)?;
                }
                Kind::Fifo => {
                    let mut h = header_for(&st, tar::EntryType::Fifo, 0);
                    b.append_data(&mut h, &entry, io::empty())
                        .map_err(with_context)?;
                }
                Kind::Char | Kind::Block => {
                    let typ = if st.kind() == Kind::Char {
                        tar::EntryType::Char
                    } else {
                        tar::EntryType::Block
                    };
                    let mut h = header_for(&st, typ, 0);
                    let dev = st.rdev();
                    h.set_device_major(libc::major(dev))?;
                    h.set_device_minor(libc::minor(dev))?;
                    b.append_data(&mut h, &entry, io::empty())
                        .map_err(with_context)?;
                }
                // Sockets are not archived (tar has no entry type for them).
                Kind::Socket => {}
            }
        }
        Ok(())
    }
}

/// One line of `docker diff`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    /// `/etc/motd`
    pub path: String,
    /// 'A', 'C' or 'D'
    pub kind: char,
}

/// What is at `rel` in the stack of lower layers (top first), honouring
/// whiteouts and opaque directories above it. `None` when absent or deleted.
pub fn lower_lookup(lowers: &[PathBuf], rel: &Path) -> Option<fs::Metadata> {
    lower_find(lowers, rel).map(|(_, m)| m)
}

/// [`lower_lookup`], with the index of the layer that holds it. No symlink
/// is followed: a path through one is not there.
pub fn lower_find(lowers: &[PathBuf], rel: &Path) -> Option<(usize, fs::Metadata)> {
    for (index, layer) in lowers.iter().enumerate() {
        // A deleted or opaque ancestor in this layer hides everything below.
        let mut hidden_below = false;
        let mut prefix = layer.clone();
        let comps: Vec<_> = rel.components().collect();
        for (i, c) in comps.iter().enumerate() {
            prefix.push(c);
            let last = i + 1 == comps.len();
            match fs::symlink_metadata(&prefix) {
                Ok(m) if is_whiteout(&m) => return None,
                Ok(m) if last => return Some((index, m)),
                Ok(m) if m.is_dir() => {
                    if is_opaque(&prefix) {
                        hidden_below = true;
                    }
                }
                Ok(_) => return None,
                Err(_) => break,
            }
        }
        if hidden_below {
            return None;
        }
    }
    None
}

/// The names in directory `rel` of the lower stack, as a container sees them.
fn lower_children(lowers: &[PathBuf], rel: &Path) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut out = BTreeSet::new();
    for (i, layer) in lowers.iter().enumerate() {
        let Ok(rd) = fs::read_dir(layer.join(rel)) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !seen.insert(name.clone()) {
                continue;
            }
            if lower_lookup(&lowers[i..], &rel.join(&name)).is_some() {
                out.insert(name);
            }
        }
        if is_opaque(&layer.join(rel)) {
            break;
        }
    }
    out
}

/// `docker diff`: the changes recorded in `upper` against `lowers` (top
/// layer first), sorted by path, leaving out the paths in `skip`. The upper
/// dir is walked by descriptor, as [`write_tree_tar`] does: a directory a
/// process inside swaps for a symlink to a host directory is never listed.
pub fn changes(
    upper: &Path,
    lowers: &[PathBuf],
    skip: &BTreeSet<PathBuf>,
) -> io::Result<Vec<Change>> {
    let mut out = Vec::new();
    let top = Dir::open(upper)?;
    diff_dir(&top, lowers, skip, Path::new(""), &mut out)?;
    out.sort();
    Ok(out)
}

fn diff_dir(
    dir: &Dir,
    lowers: &[PathBuf],
    skip: &BTreeSet<PathBuf>,
    rel: &Path,
    out: &mut Vec<Change>,
) -> io::Result<()> {
    for name in dir.names()? {
        let entry = rel.join(&name);
        if skip.contains(&entry) {
            continue;
        }
        let st = match dir.stat(&name) {
            Ok(st) => st,
            Err(e) if gone(&e) => continue,
            Err(e) => return Err(e),
        };
        let shown = format!("/{}", entry.display());
        if st.is_whiteout() {
            out.push(Change {
                path: shown,
                kind: 'D',
            });
            continue;
        }
        let below = lower_lookup(lowers, &entry);
        let kind = if below.is_some() { 'C' } else { 'A' };
        out.push(Change { path: shown, kind });
        if st.kind() == Kind::Dir {
            let sub = match dir.open_dir(&name) {
                Ok(d) => d,
                Err(e) if gone(&e) => continue,
                Err(e) => return Err(e),
            };
            let opaque = sub.xattr(OPAQUE_XATTR).is_some_and(|v| v == b"y");
            if opaque && below.as_ref().is_some_and(|b| b.is_dir()) {
                // Everything the lower layers had here is gone, except what
                // the upper dir brings back.
                let present: BTreeSet<std::ffi::OsString> = sub.names()?.into_iter().collect();
                for name in lower_children(lowers, &entry) {
                    if !present.contains(std::ffi::OsStr::new(&name)) {
                        out.push(Change {
                            path: format!("/{}", entry.join(&name).display()),
                            kind: 'D',
                        });
                    }
                }
            }
            diff_dir(&sub, lowers, skip, &entry, out)?;
        }
    }
    Ok(())
}
