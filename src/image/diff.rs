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

fn header_for(m: &fs::Metadata, kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(m.mode() & 0o7777);
    h.set_uid(m.uid() as u64);
    h.set_gid(m.gid() as u64);
    h.set_mtime(m.mtime().max(0) as u64);
    h.set_size(size);
    h
}

/// The runtime's mount points in a container's upper dir (relative paths):
/// each destination of the bundle's mounts that is an empty file or an empty
/// directory in `upper` and absent from `lowers`, and each directory above
/// one that holds nothing else and was copied up unchanged.
pub fn placeholders(bundle: &Path, upper: &Path, lowers: &[PathBuf]) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let Ok(spec) = Spec::load(bundle) else {
        return out;
    };
    for m in &spec.mounts {
        let rel: PathBuf = Path::new(m.destination.trim_start_matches('/')).to_path_buf();
        if rel.as_os_str().is_empty() || lower_lookup(lowers, &rel).is_some() {
            continue;
        }
        let Ok(meta) = fs::symlink_metadata(upper.join(&rel)) else {
            continue;
        };
        let empty = (meta.is_file() && meta.len() == 0)
            || (meta.is_dir()
                && fs::read_dir(upper.join(&rel)).is_ok_and(|mut d| d.next().is_none()));
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
        let path = upper.join(dir);
        let unchanged = match (fs::symlink_metadata(&path), lower_lookup(lowers, dir)) {
            (Ok(up), Some(low)) => {
                up.is_dir()
                    && low.is_dir()
                    && (up.mode(), up.uid(), up.gid()) == (low.mode(), low.uid(), low.gid())
                    && !is_opaque(&path)
            }
            _ => false,
        };
        let only_placeholders = fs::read_dir(&path)
            .map(|rd| rd.flatten().all(|e| out.contains(&dir.join(e.file_name()))))
            .unwrap_or(false);
        if unchanged && only_placeholders {
            out.insert(dir.clone());
        }
    }
    out
}

/// Writes the tree under `root` as a tar to `out` (entries relative, in name
/// order, hard links kept as links), leaving out the paths in `skip`.
/// Returns `out`.
pub fn write_tree_tar<W: Write>(
    root: &Path,
    out: W,
    kind: TreeKind,
    skip: &BTreeSet<PathBuf>,
) -> io::Result<W> {
    let mut builder = tar::Builder::new(out);
    builder.follow_symlinks(false);
    let mut links: HashMap<(u64, u64), PathBuf> = HashMap::new();
    let mut w = Walk {
        root,
        kind,
        skip,
        links: &mut links,
    };
    w.walk(Path::new(""), &mut builder)?;
    builder.into_inner()
}

struct Walk<'a> {
    root: &'a Path,
    kind: TreeKind,
    skip: &'a BTreeSet<PathBuf>,
    links: &'a mut HashMap<(u64, u64), PathBuf>,
}

impl Walk<'_> {
    fn walk<W: Write>(&mut self, rel: &Path, b: &mut tar::Builder<W>) -> io::Result<()> {
        let kind = self.kind;
        let dir = self.root.join(rel);
        let mut names: Vec<_> = fs::read_dir(&dir)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<io::Result<_>>()?;
        names.sort();
        for name in names {
            let path = dir.join(&name);
            let entry = rel.join(&name);
            if self.skip.contains(&entry) {
                continue;
            }
            let m = fs::symlink_metadata(&path)?;
            let ft = m.file_type();
            let with_context =
                |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
            if kind == TreeKind::Upper && is_whiteout(&m) {
                let wh = rel.join(format!("{WHITEOUT_PREFIX}{}", name.to_string_lossy()));
                let mut h = header_for(&m, tar::EntryType::Regular, 0);
                h.set_mode(0o600);
                b.append_data(&mut h, &wh, io::empty())
                    .map_err(with_context)?;
            } else if ft.is_dir() {
                let mut h = header_for(&m, tar::EntryType::Directory, 0);
                b.append_data(&mut h, super::copy::dir_name(&entry), io::empty())
                    .map_err(with_context)?;
                if kind == TreeKind::Upper && is_opaque(&path) {
                    let mut h = header_for(&m, tar::EntryType::Regular, 0);
                    h.set_mode(0o600);
                    b.append_data(&mut h, entry.join(OPAQUE_MARKER), io::empty())
                        .map_err(with_context)?;
                }
                self.walk(&entry, b)?;
                continue;
            } else if ft.is_symlink() {
                let target = fs::read_link(&path)?;
                let mut h = header_for(&m, tar::EntryType::Symlink, 0);
                b.append_link(&mut h, &entry, &target)
                    .map_err(with_context)?;
            } else if m.nlink() > 1 && self.links.contains_key(&(m.dev(), m.ino())) {
                let first = self.links[&(m.dev(), m.ino())].clone();
                let mut h = header_for(&m, tar::EntryType::Link, 0);
                b.append_link(&mut h, &entry, &first)
                    .map_err(with_context)?;
            } else if ft.is_file() {
                if m.nlink() > 1 {
                    self.links.insert((m.dev(), m.ino()), entry.clone());
                }
                let mut h = header_for(&m, tar::EntryType::Regular, m.len());
                let file = fs::File::open(&path).map_err(with_context)?;
                b.append_data(&mut h, &entry, file).map_err(with_context)?;
            } else if ft.is_fifo() {
                let mut h = header_for(&m, tar::EntryType::Fifo, 0);
                b.append_data(&mut h, &entry, io::empty())
                    .map_err(with_context)?;
            } else if ft.is_char_device() || ft.is_block_device() {
                let typ = if ft.is_char_device() {
                    tar::EntryType::Char
                } else {
                    tar::EntryType::Block
                };
                let mut h = header_for(&m, typ, 0);
                let dev = m.rdev();
                h.set_device_major(libc::major(dev))?;
                h.set_device_minor(libc::minor(dev))?;
                b.append_data(&mut h, &entry, io::empty())
                    .map_err(with_context)?;
            }
            // Sockets are not archived (tar has no entry type for them).
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
/// layer first), sorted by path, leaving out the paths in `skip`.
pub fn changes(
    upper: &Path,
    lowers: &[PathBuf],
    skip: &BTreeSet<PathBuf>,
) -> io::Result<Vec<Change>> {
    let mut out = Vec::new();
    diff_dir(upper, lowers, skip, Path::new(""), &mut out)?;
    out.sort();
    Ok(out)
}

fn diff_dir(
    upper: &Path,
    lowers: &[PathBuf],
    skip: &BTreeSet<PathBuf>,
    rel: &Path,
    out: &mut Vec<Change>,
) -> io::Result<()> {
    for e in fs::read_dir(upper.join(rel))? {
        let e = e?;
        let entry = rel.join(e.file_name());
        if skip.contains(&entry) {
            continue;
        }
        let path = upper.join(&entry);
        let m = fs::symlink_metadata(&path)?;
        let shown = format!("/{}", entry.display());
        if is_whiteout(&m) {
            out.push(Change {
                path: shown,
                kind: 'D',
            });
            continue;
        }
        let below = lower_lookup(lowers, &entry);
        let kind = if below.is_some() { 'C' } else { 'A' };
        out.push(Change { path: shown, kind });
        if m.is_dir() {
            if is_opaque(&path) && below.as_ref().is_some_and(|b| b.is_dir()) {
                // Everything the lower layers had here is gone, except what
                // the upper dir brings back.
                for name in lower_children(lowers, &entry) {
                    if fs::symlink_metadata(path.join(&name)).is_err() {
                        out.push(Change {
                            path: format!("/{}", entry.join(&name).display()),
                            kind: 'D',
                        });
                    }
                }
            }
            diff_dir(upper, lowers, skip, &entry, out)?;
        }
    }
    Ok(())
}
