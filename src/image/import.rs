//! The safe layer importer: a tar that came from outside becomes a layer
//! directory, or nothing at all.
//!
//! A layer is a tar of the files one build step added, changed or deleted.
//! Its *diff_id* is the sha256 of the uncompressed tar, so the importer hashes
//! the bytes as it stores them. Deletions travel in the tar as OCI
//! *whiteouts*: an empty file `.wh.NAME` says "NAME, present in a lower layer,
//! is deleted here", and `.wh..wh..opq` in a directory says "this directory is
//! *opaque*: hide everything the lower layers had in it". overlayfs spells the
//! same two things differently, so the importer converts them as it extracts:
//! a deletion becomes a 0/0 character device named NAME, and an opaque
//! directory gets the xattr `trusted.overlay.opaque=y`. The extracted
//! directory can then be stacked as an overlay lowerdir.
//!
//! A tar from `load`, from `ADD` or from a build is untrusted input. Each
//! entry is checked before anything is written, and a refused entry names
//! itself and the rule it broke:
//! - no absolute paths and no `..`: every name stays under the layer;
//! - nothing is written through a symlink: each parent directory of an entry
//!   is looked at with `lstat` and must be a real directory (a tar that makes
//!   `x -> /etc` and then writes `x/passwd` is refused);
//! - a hard link must point at a file already extracted into this layer;
//! - no device nodes (a container could reach host hardware through one),
//!   except the 0/0 character device that *is* an overlay whiteout;
//! - whiteouts must name something inside the layer (`.wh..` is refused);
//! - xattrs in the tar are not applied: a `trusted.overlay.*` xattr could
//!   otherwise redirect the overlay's lookups elsewhere.
//!
//! Everything is written into a temporary directory under `layers/`, which is
//! renamed into place only when the whole tar was read; any failure removes
//! it. Files are created with `O_EXCL | O_NOFOLLOW`, so even a race could not
//! make a write follow a symlink.

use super::store::{ImageStore, SIZE_FILE, content_size, digest_hex};
use crate::util::text::hex;
use sha2::{Digest, Sha256};
use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

/// The xattr that marks an overlay directory opaque.
pub const OPAQUE_XATTR: &str = "trusted.overlay.opaque";
/// The OCI whiteout prefix.
pub const WHITEOUT_PREFIX: &str = ".wh.";
/// The OCI opaque-directory marker.
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";

#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("tar entry {entry:?} refused: {reason}; nothing was imported")]
    Refused { entry: String, reason: String },
    #[error("tar entry {entry:?}: {source}")]
    Entry { entry: String, source: io::Error },
    #[error("reading the tar: {0}")]
    Read(io::Error),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: String,
        source: io::Error,
    },
}

fn refused(entry: &str, reason: impl Into<String>) -> LayerError {
    LayerError::Refused {
        entry: entry.to_string(),
        reason: reason.into(),
    }
}

fn io_at<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> LayerError + 'a {
    move |source| LayerError::Io {
        what,
        path: path.display().to_string(),
        source,
    }
}

/// Pure: a tar entry name as a path relative to the layer root. `./a/b/` →
/// `a/b`; `./` → `` (the root itself). Absolute names and `..` are refused.
pub fn clean_path(raw: &[u8]) -> Result<PathBuf, &'static str> {
    if raw.first() == Some(&b'/') {
        return Err("absolute path: a layer's names are relative to its root");
    }
    let mut out = PathBuf::new();
    for c in Path::new(OsStr::from_bytes(raw)).components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err("'..' in the path would leave the layer"),
            Component::RootDir | Component::Prefix(_) => {
                return Err("absolute path: a layer's names are relative to its root");
            }
        }
    }
    Ok(out)
}

/// What an entry's name says about deletion.
#[derive(Debug, PartialEq, Eq)]
pub enum Whiteout {
    /// An ordinary entry.
    None,
    /// `dir/.wh.NAME`: `dir/NAME` is deleted.
    Delete(PathBuf),
    /// `dir/.wh..wh..opq`: `dir` hides what lower layers had in it.
    Opaque(PathBuf),
}

/// Pure: classifies a cleaned path as a whiteout or not.
pub fn whiteout_of(path: &Path) -> Result<Whiteout, &'static str> {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Ok(Whiteout::None);
    };
    let parent = path.parent().unwrap_or(Path::new("")).to_path_buf();
    if name == OPAQUE_MARKER {
        return Ok(Whiteout::Opaque(parent));
    }
    let Some(hidden) = name.strip_prefix(WHITEOUT_PREFIX) else {
        return Ok(Whiteout::None);
    };
    if hidden.starts_with(WHITEOUT_PREFIX) {
        return Err("AUFS metadata (.wh..wh.*) is not a whiteout this importer understands");
    }
    if hidden.is_empty() || hidden == "." || hidden == ".." {
        return Err("a whiteout must name an entry inside the layer");
    }
    Ok(Whiteout::Delete(parent.join(hidden)))
}

/// How the extracted tree will be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// An overlay lowerdir: OCI whiteouts become overlay whiteouts, owners kept.
    OverlayLayer,
    /// Plain files (an archive being unpacked to be read): whiteouts and
    /// device nodes are refused, owners kept.
    Plain,
}

/// What an extraction did, for the trace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExtractStats {
    pub entries: usize,
    /// `.wh.NAME` turned into 0/0 character devices.
    pub whiteouts: usize,
    /// `.wh..wh..opq` turned into `trusted.overlay.opaque=y`.
    pub opaque_dirs: usize,
}

/// Extracts a tar stream into `dest`, an existing empty directory.
pub fn extract(reader: impl Read, dest: &Path, target: Target) -> Result<ExtractStats, LayerError> {
    let mut archive = tar::Archive::new(reader);
    let mut dirs: Vec<(PathBuf, u64)> = Vec::new();
    let mut stats = ExtractStats::default();
    for entry in archive.entries().map_err(LayerError::Read)? {
        let mut entry = entry.map_err(LayerError::Read)?;
        let raw = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw).into_owned();
        let kind = entry.header().entry_type();
        if kind == tar::EntryType::XGlobalHeader {
            continue;
        }
        stats.entries += 1;
        let rel = clean_path(&raw).map_err(|r| refused(&name, r))?;
        let whiteout = whiteout_of(&rel).map_err(|r| refused(&name, r))?;
        if whiteout != Whiteout::None && target == Target::Plain {
            return Err(refused(
                &name,
                "whiteout files are only meaningful in image layers",
            ));
        }
        match whiteout {
            Whiteout::Delete(hidden) => {
                let parent = safe_dir(dest, hidden.parent().unwrap_or(Path::new("")), &name, true)?;
                let path = parent.join(hidden.file_name().unwrap_or_default());
                remove_existing(&path, &name)?;
                make_whiteout(&path).map_err(entry_err(&name))?;
                stats.whiteouts += 1;
                continue;
            }
            Whiteout::Opaque(dir) => {
                let dir = safe_dir(dest, &dir, &name, true)?;
                set_xattr(&dir, OPAQUE_XATTR, b"y").map_err(entry_err(&name))?;
                stats.opaque_dirs += 1;
                continue;
            }
            Whiteout::None => {}
        }
        if rel.as_os_str().is_empty() {
            // `./`: the layer root itself has no metadata worth keeping.
            continue;
        }
        let parent = safe_dir(dest, rel.parent().unwrap_or(Path::new("")), &name, true)?;
        let path = parent.join(rel.file_name().unwrap_or_default());
        let header = entry.header();
        let mode = header.mode().map_err(entry_err(&name))? & 0o7777;
        let uid = header.uid().map_err(entry_err(&name))? as u32;
        let gid = header.gid().map_err(entry_err(&name))? as u32;
        let mtime = header.mtime().unwrap_or(0);
        let existing = fs::symlink_metadata(&path).ok();
        match kind {
            tar::EntryType::Directory => {
                match existing {
                    Some(m) if m.is_dir() => {}
                    Some(_) => {
                        remove_existing(&path, &name)?;
                        fs::create_dir(&path).map_err(entry_err(&name))?;
                    }
                    None => fs::create_dir(&path).map_err(entry_err(&name))?,
                }
                set_owner_mode(&path, uid, gid, Some(mode)).map_err(entry_err(&name))?;
                dirs.push((path, mtime));
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                remove_existing(&path, &name)?;
                let mut file = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .custom_flags(libc::O_NOFOLLOW)
                    .mode(0o600)
                    .open(&path)
                    .map_err(entry_err(&name))?;
                io::copy(&mut entry, &mut file).map_err(entry_err(&name))?;
                set_owner_mode(&path, uid, gid, Some(mode)).map_err(entry_err(&name))?;
                set_mtime(&path, mtime).map_err(entry_err(&name))?;
            }
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| refused(&name, "a symlink without a target"))?
                    .into_owned();
                remove_existing(&path, &name)?;
                std::os::unix::fs::symlink(OsStr::from_bytes(&target), &path)
                    .map_err(entry_err(&name))?;
                set_owner_mode(&path, uid, gid, None).map_err(entry_err(&name))?;
                set_mtime(&path, mtime).map_err(entry_err(&name))?;
            }
            tar::EntryType::Link => {
                let raw_target = entry
                    .link_name_bytes()
                    .ok_or_else(|| refused(&name, "a hard link without a target"))?
                    .into_owned();
                let target = clean_path(&raw_target)
                    .map_err(|r| refused(&name, format!("hard link target: {r}")))?;
                let source = existing_in_layer(dest, &target).ok_or_else(|| {
                    refused(
                        &name,
                        format!(
                            "hard link to {:?}, which is not a file already in this layer",
                            target.display().to_string()
                        ),
                    )
                })?;
                remove_existing(&path, &name)?;
                // linkat(2) without AT_SYMLINK_FOLLOW: links the entry itself.
                fs::hard_link(&source, &path).map_err(entry_err(&name))?;
            }
            tar::EntryType::Char | tar::EntryType::Block => {
                let major = header.device_major().ok().flatten().unwrap_or(0);
                let minor = header.device_minor().ok().flatten().unwrap_or(0);
                let is_whiteout = kind == tar::EntryType::Char && major == 0 && minor == 0;
                if !(is_whiteout && target == Target::OverlayLayer) {
                    return Err(refused(
                        &name,
                        format!(
                            "device node {major}:{minor}: a layer may not carry devices (a container could reach host hardware through one)"
                        ),
                    ));
                }
                remove_existing(&path, &name)?;
                make_whiteout(&path).map_err(entry_err(&name))?;
            }
            tar::EntryType::Fifo => {
                remove_existing(&path, &name)?;
                nix::sys::stat::mknod(
                    &path,
                    nix::sys::stat::SFlag::S_IFIFO,
                    nix::sys::stat::Mode::from_bits_truncate(0o600),
                    0,
                )
                .map_err(|e| entry_err(&name)(e.into()))?;
                set_owner_mode(&path, uid, gid, Some(mode)).map_err(entry_err(&name))?;
            }
            other => {
                return Err(refused(
                    &name,
                    format!("unsupported tar entry type {other:?}"),
                ));
            }
        }
    }
    // Children were written after their directory: set directory times last,
    // deepest first.
    for (dir, mtime) in dirs.iter().rev() {
        let _ = set_mtime(dir, *mtime);
    }
    Ok(stats)
}

fn entry_err(entry: &str) -> impl FnOnce(io::Error) -> LayerError + '_ {
    move |source| LayerError::Entry {
        entry: entry.to_string(),
        source,
    }
}

/// The directory `dest/rel`, every component checked with `lstat`: a symlink
/// or a non-directory on the way is refused; missing ones are made when
/// `create` (as tar extractors do for entries whose parents come later).
fn safe_dir(dest: &Path, rel: &Path, entry: &str, create: bool) -> Result<PathBuf, LayerError> {
    let mut path = dest.to_path_buf();
    for c in rel.components() {
        let Component::Normal(part) = c else {
            return Err(refused(entry, "'..' in the path would leave the layer"));
        };
        path.push(part);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => {
                let shown = path
                    .strip_prefix(dest)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                return Err(refused(
                    entry,
                    format!(
                        "{shown} is a symlink: writing through it could land outside the layer"
                    ),
                ));
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                let shown = path
                    .strip_prefix(dest)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                return Err(refused(
                    entry,
                    format!("its parent {shown} is not a directory"),
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
                // Explicit 0755, whatever the umask: a parent the tar did not
                // list must still be traversable by the container's users.
                fs::create_dir(&path)
                    .and_then(|_| fs::set_permissions(&path, fs::Permissions::from_mode(0o755)))
                    .map_err(entry_err(entry))?;
            }
            Err(e) => return Err(entry_err(entry)(e)),
        }
    }
    Ok(path)
}

/// `dest/rel` when it is an existing non-directory reached without symlinks.
fn existing_in_layer(dest: &Path, rel: &Path) -> Option<PathBuf> {
    let parent = safe_dir(dest, rel.parent()?, "", false).ok()?;
    let path = parent.join(rel.file_name()?);
    let m = fs::symlink_metadata(&path).ok()?;
    (!m.is_dir()).then_some(path)
}

/// Removes what a later entry of the same name replaces (a directory only
/// when the new entry is not one).
fn remove_existing(path: &Path, entry: &str) -> Result<(), LayerError> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path).map_err(entry_err(entry)),
        Ok(_) => fs::remove_file(path).map_err(entry_err(entry)),
        Err(_) => Ok(()),
    }
}

/// An overlay whiteout: a character device 0/0.
pub fn make_whiteout(path: &Path) -> io::Result<()> {
    nix::sys::stat::mknod(
        path,
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::empty(),
        nix::sys::stat::makedev(0, 0),
    )
    .map_err(io::Error::from)
}

fn set_owner_mode(path: &Path, uid: u32, gid: u32, mode: Option<u32>) -> io::Result<()> {
    nix::unistd::fchownat(
        nix::fcntl::AT_FDCWD,
        path,
        Some(nix::unistd::Uid::from_raw(uid)),
        Some(nix::unistd::Gid::from_raw(gid)),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map_err(io::Error::from)?;
    // chown clears setuid bits: set the mode after it.
    if let Some(mode) = mode {
        fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

/// Sets atime and mtime of `path` itself (not a symlink's target).
pub fn set_mtime(path: &Path, secs: u64) -> io::Result<()> {
    let t = nix::sys::time::TimeSpec::new(secs as i64, 0);
    nix::sys::stat::utimensat(
        nix::fcntl::AT_FDCWD,
        path,
        &t,
        &t,
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )
    .map_err(io::Error::from)
}

/// `lsetxattr(2)`.
pub fn set_xattr(path: &Path, name: &str, value: &[u8]) -> io::Result<()> {
    let p = std::ffi::CString::new(path.as_os_str().as_bytes())?;
    let n = std::ffi::CString::new(name)?;
    // SAFETY: both strings are NUL-terminated and outlive the call; value is
    // a slice of its stated length.
    let rc = unsafe {
        libc::lsetxattr(
            p.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `lgetxattr(2)`; `None` when the attribute is absent.
pub fn get_xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let p = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let n = std::ffi::CString::new(name).ok()?;
    let mut buf = [0u8; 256];
    // SAFETY: the strings are NUL-terminated; buf is writable for its length.
    let rc = unsafe { libc::lgetxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    (rc >= 0).then(|| buf[..rc as usize].to_vec())
}

/// A writer that hashes what passes through it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    pub bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }
    /// `sha256:<hex>` of everything written, and the inner writer.
    pub fn finish(self) -> (String, W) {
        (
            format!("sha256:{}", hex(&self.hasher.finalize())),
            self.inner,
        )
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A temporary directory removed on drop unless kept.
pub struct TempDir {
    pub path: PathBuf,
    keep: bool,
}

impl TempDir {
    /// Makes `<parent>/.tmp-<label>-<pid>-<random>`, first removing what a
    /// killed glassbox left there (temporary directories whose process is gone).
    pub fn new(parent: &Path, label: &str) -> io::Result<TempDir> {
        // Root's only (0700), like the rest of the data root's trees.
        crate::util::fs::make_private_dir(parent)?;
        sweep_stale(parent);
        let id = crate::util::text::random_id();
        let path = parent.join(format!(".tmp-{label}-{}-{}", std::process::id(), &id[..16]));
        fs::create_dir(&path)?;
        Ok(TempDir { path, keep: false })
    }
    /// Renames the directory to `to`; it is then no longer removed.
    pub fn persist(mut self, to: &Path) -> io::Result<()> {
        fs::rename(&self.path, to)?;
        self.keep = true;
        Ok(())
    }
}

/// Pure: the process that made a temporary directory, from its name.
pub fn temp_owner(name: &str) -> Option<i32> {
    let rest = name.strip_prefix(".tmp-")?;
    let mut parts = rest.rsplitn(3, '-');
    let _random = parts.next()?;
    parts.next()?.parse().ok()
}

/// Removes `.tmp-*` directories in `dir` whose process no longer exists.
pub fn sweep_stale(dir: &Path) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(pid) = temp_owner(&name)
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// A layer that was imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub diff_id: String,
    /// Bytes of the uncompressed tar.
    pub size: u64,
    /// `None` when the store already had this layer (nothing was extracted).
    pub stats: Option<ExtractStats>,
}

impl Imported {
    /// What the import asked of the kernel, in a trace event's words.
    pub fn describe(&self, store: &ImageStore) -> String {
        let dir = store.layer_dir(&self.diff_id);
        match self.stats {
            None => format!(
                "{} already stored: {} shared, nothing written",
                self.diff_id,
                dir.display()
            ),
            Some(s) => format!(
                "extract {} entries into {}/diff ({} whiteouts as mknod c 0 0, {} opaque dirs as setxattr {OPAQUE_XATTR}=y), then rename into place",
                s.entries,
                dir.display(),
                s.whiteouts,
                s.opaque_dirs
            ),
        }
    }
}

/// Imports a layer tar (uncompressed) from a stream: stored as
/// `layers/<diff_id>/layer.tar`, extracted safely into `layers/<diff_id>/diff`.
/// Returns its diff_id. A layer already present is kept as it is.
pub fn import_layer(store: &ImageStore, reader: impl Read) -> Result<String, LayerError> {
    Ok(import_layer_report(store, reader)?.diff_id)
}

/// [`import_layer`], saying what it did.
pub fn import_layer_report(
    store: &ImageStore,
    mut reader: impl Read,
) -> Result<Imported, LayerError> {
    let layers = store.root().join("layers");
    let tmp = TempDir::new(&layers, "import").map_err(io_at("creating a directory in", &layers))?;
    let tar_path = tmp.path.join("layer.tar");
    let file = fs::File::create(&tar_path).map_err(io_at("creating", &tar_path))?;
    let mut w = HashingWriter::new(io::BufWriter::new(file));
    io::copy(&mut reader, &mut w).map_err(io_at("writing", &tar_path))?;
    let size = w.bytes;
    let (diff_id, buf) = w.finish();
    buf.into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .map_err(io_at("writing", &tar_path))?;
    let stats = finish_import(store, tmp, &diff_id)?;
    Ok(Imported {
        diff_id,
        size,
        stats,
    })
}

/// Imports a layer tar that is already a file (it is read, not moved).
pub fn import_layer_file(store: &ImageStore, path: &Path) -> Result<Imported, LayerError> {
    let file = fs::File::open(path).map_err(io_at("opening", path))?;
    import_layer_report(store, io::BufReader::new(file))
}

fn finish_import(
    store: &ImageStore,
    tmp: TempDir,
    diff_id: &str,
) -> Result<Option<ExtractStats>, LayerError> {
    let dir = store.layer_dir(diff_id);
    if dir.join("diff").is_dir() {
        return Ok(None);
    }
    let diff = tmp.path.join("diff");
    fs::create_dir(&diff).map_err(io_at("creating", &diff))?;
    let tar_path = tmp.path.join("layer.tar");
    let file = fs::File::open(&tar_path).map_err(io_at("opening", &tar_path))?;
    let stats = extract(io::BufReader::new(file), &diff, Target::OverlayLayer)?;
    // The size `history` and `images` show, measured once, kept with the layer.
    let size = content_size(&diff).map_err(io_at("measuring", &diff))?;
    let size_path = tmp.path.join(SIZE_FILE);
    fs::write(&size_path, format!("{size}\n")).map_err(io_at("writing", &size_path))?;
    match tmp.persist(&dir) {
        Ok(()) => Ok(Some(stats)),
        // Another process stored the same layer first: theirs is identical.
        Err(_) if dir.join("diff").is_dir() => Ok(None),
        Err(e) => Err(io_at("renaming into", &dir)(e)),
    }
}

/// The short form of a digest, as docker prints image IDs.
pub fn short(digest: &str) -> &str {
    let h = digest_hex(digest);
    &h[..12.min(h.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_paths_stay_inside() {
        assert_eq!(clean_path(b"./a/b/").unwrap(), PathBuf::from("a/b"));
        assert_eq!(clean_path(b"./").unwrap(), PathBuf::from(""));
        assert!(clean_path(b"/etc/passwd").is_err());
        assert!(clean_path(b"a/../../etc").is_err());
        assert!(clean_path(b"../x").is_err());
    }

    #[test]
    fn temp_dirs_name_their_process() {
        assert_eq!(temp_owner(".tmp-import-4242-0123456789abcdef"), Some(4242));
        assert_eq!(temp_owner(".tmp-layer-1-ab"), Some(1));
        assert_eq!(temp_owner("0123abcd"), None);
        assert_eq!(temp_owner(".tmp-import-abc"), None);
    }

    #[test]
    fn whiteouts_are_classified() {
        assert_eq!(
            whiteout_of(Path::new("etc/.wh.motd")).unwrap(),
            Whiteout::Delete(PathBuf::from("etc/motd"))
        );
        assert_eq!(
            whiteout_of(Path::new("var/.wh..wh..opq")).unwrap(),
            Whiteout::Opaque(PathBuf::from("var"))
        );
        assert_eq!(whiteout_of(Path::new("etc/motd")).unwrap(), Whiteout::None);
        assert!(whiteout_of(Path::new("etc/.wh...")).is_err());
        assert!(whiteout_of(Path::new(".wh..wh.plnk")).is_err());
    }
}
