//! /proc/PID/mountinfo: the mount table as one process's mount namespace sees it.
//!
//! Each line is one mount: ids, the device, which directory of the filesystem
//! is mounted (`root`) and where (`mount point`), propagation tags such as
//! `shared:N`, then ` - ` and the filesystem type, source and superblock
//! options. A container's `/` is an `overlay` mount whose options list the
//! image layers (`lowerdir`, top-most first), its private `upperdir` and `workdir`.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{ParseError, ReadError, parse_num, proc_dir, read_parsed};

/// One line of /proc/PID/mountinfo (proc(5)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MountInfo {
    pub mount_id: u32,
    pub parent_id: u32,
    pub major: u32,
    pub minor: u32,
    /// The directory of the filesystem that is mounted (`/` unless a bind mount).
    pub root: PathBuf,
    pub mount_point: PathBuf,
    /// Per-mount options, e.g. `rw`, `nosuid`, `relatime`.
    pub mount_options: Vec<String>,
    /// Propagation tags as written: `shared:N`, `master:N`, `propagate_from:N`, `unbindable`.
    pub optional_fields: Vec<String>,
    /// Peer group of a shared mount (`shared:N`).
    pub shared: Option<u32>,
    /// Peer group this mount receives events from (`master:N`): a slave mount.
    pub master: Option<u32>,
    pub fs_type: String,
    pub source: String,
    /// Per-superblock options, still escaped as the kernel wrote them
    /// (see [`overlay_dirs`] for the decoded overlay paths).
    pub super_options: Vec<String>,
}

impl MountInfo {
    /// The value of a superblock option `key=value`, undecoded.
    pub fn super_option(&self, key: &str) -> Option<&str> {
        self.super_options.iter().find_map(|opt| {
            let (k, v) = opt.split_once('=')?;
            (k == key).then_some(v)
        })
    }
}

/// Parses the whole text of a mountinfo file.
pub fn parse_mountinfo(text: &str) -> Result<Vec<MountInfo>, ParseError> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| parse_mountinfo_line(line).map_err(|e| e.at_line(index, line)))
        .collect()
}

/// Parses one mountinfo line.
pub fn parse_mountinfo_line(line: &str) -> Result<MountInfo, ParseError> {
    let fields: Vec<&str> = line.trim_end().split(' ').collect();
    let separator = fields
        .iter()
        .position(|f| *f == "-")
        .ok_or_else(|| ParseError::missing("` - ` separator before the filesystem type"))?;
    if separator < 6 {
        return Err(ParseError::missing(format!(
            "fields before ` - ` (found {separator}, need 6: ids, major:minor, root, mount point, options)"
        )));
    }
    let (fs_type, source, super_options) = match fields[separator + 1..] {
        [fs_type, source, super_options] => (fs_type, source, super_options),
        ref after => {
            return Err(ParseError::missing(format!(
                "fields after ` - ` (found {}, need 3: type, source, super options)",
                after.len()
            )));
        }
    };
    let (major, minor) = fields[2].split_once(':').ok_or_else(|| {
        ParseError::invalid("major:minor", fields[2], "two numbers joined by `:`")
    })?;
    let optional_fields: Vec<String> = fields[6..separator]
        .iter()
        .map(|f| (*f).to_string())
        .collect();
    let tag = |name: &str| -> Result<Option<u32>, ParseError> {
        optional_fields
            .iter()
            .find_map(|f| f.strip_prefix(name)?.strip_prefix(':'))
            .map(|n| parse_num(format!("`{name}` peer group"), n))
            .transpose()
    };
    Ok(MountInfo {
        mount_id: parse_num("mount id", fields[0])?,
        parent_id: parse_num("parent id", fields[1])?,
        major: parse_num("major", major)?,
        minor: parse_num("minor", minor)?,
        root: decode_path(fields[3]),
        mount_point: decode_path(fields[4]),
        mount_options: split_options(fields[5]),
        shared: tag("shared")?,
        master: tag("master")?,
        optional_fields,
        fs_type: decode_string(fs_type),
        source: decode_string(source),
        super_options: split_options(super_options),
    })
}

/// Reads /proc/PID/mountinfo.
pub fn read_mountinfo(pid: u32) -> Result<Vec<MountInfo>, ReadError> {
    read_mountinfo_at(&proc_dir(pid).join("mountinfo"))
}

/// Reads a mountinfo file at any path (e.g. /proc/self/mountinfo).
pub fn read_mountinfo_at(path: &Path) -> Result<Vec<MountInfo>, ReadError> {
    read_parsed(path, parse_mountinfo)
}

/// The mount visible at `mount_point`: when several are stacked on one
/// directory, the last one listed is on top.
pub fn find_mount<'a>(mounts: &'a [MountInfo], mount_point: &Path) -> Option<&'a MountInfo> {
    mounts.iter().rev().find(|m| m.mount_point == mount_point)
}

/// The visible mount at `mount_point` if it is an overlay.
pub fn find_overlay<'a>(mounts: &'a [MountInfo], mount_point: &Path) -> Option<&'a MountInfo> {
    find_mount(mounts, mount_point).filter(|m| m.fs_type == "overlay")
}

/// The directories an overlay mount is made of, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverlayDirs {
    /// Read-only layers, top-most first: the image's base layer is last.
    pub lowerdir: Vec<PathBuf>,
    /// The writable layer where changes (and whiteouts) land; absent for a
    /// read-only overlay.
    pub upperdir: Option<PathBuf>,
    /// overlayfs's scratch directory for atomic copy-up.
    pub workdir: Option<PathBuf>,
}

/// Splits an overlay mount's superblock options into its directories.
pub fn overlay_dirs(mount: &MountInfo) -> Result<OverlayDirs, ParseError> {
    if mount.fs_type != "overlay" {
        return Err(ParseError::invalid(
            "filesystem type",
            &mount.fs_type,
            "`overlay`",
        ));
    }
    let lower = mount
        .super_option("lowerdir")
        .ok_or_else(|| ParseError::missing("`lowerdir` in overlay options"))?;
    let lowerdir = split_lowerdir(lower);
    if lowerdir.is_empty() {
        return Err(ParseError::invalid(
            "lowerdir",
            lower,
            "at least one directory",
        ));
    }
    Ok(OverlayDirs {
        lowerdir,
        upperdir: mount.super_option("upperdir").map(decode_path),
        workdir: mount.super_option("workdir").map(decode_path),
    })
}

/// Splits a `lowerdir` value at its `:` separators. A `:` inside a path is
/// escaped, either by overlayfs's own `\:` (shown by the kernel as `\:` or,
/// with the backslash escaped, `\134:`) or as the octal escape `\072`. An empty
/// element (`a::b`) marks the start of data-only layers and is skipped.
pub fn split_lowerdir(value: &str) -> Vec<PathBuf> {
    let bytes = value.as_bytes();
    let mut dirs = Vec::new();
    let mut current = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b':' => {
                if !current.is_empty() {
                    dirs.push(PathBuf::from(OsString::from_vec(std::mem::take(
                        &mut current,
                    ))));
                }
                i += 1;
            }
            b'\\' if bytes.get(i + 1) == Some(&b':') => {
                current.push(b':');
                i += 2;
            }
            b'\\' if value.get(i..i + 5) == Some("\\134:") => {
                current.push(b':');
                i += 5;
            }
            b'\\' if octal_at(bytes, i).is_some() => {
                current.extend(octal_at(bytes, i));
                i += 4;
            }
            byte => {
                current.push(byte);
                i += 1;
            }
        }
    }
    if !current.is_empty() {
        dirs.push(PathBuf::from(OsString::from_vec(current)));
    }
    dirs
}

fn split_options(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|o| !o.is_empty())
        .map(str::to_string)
        .collect()
}

/// The byte of an octal escape `\NNN` starting at `i`, as the kernel writes
/// space (`\040`), tab, newline and backslash in mount fields.
fn octal_at(bytes: &[u8], i: usize) -> Option<u8> {
    match bytes.get(i..i + 4)? {
        [b'\\', a, b, c] if [a, b, c].iter().all(|d| (b'0'..=b'7').contains(d)) => {
            let value = u32::from(a - b'0') * 64 + u32::from(b - b'0') * 8 + u32::from(c - b'0');
            u8::try_from(value).ok()
        }
        _ => None,
    }
}

fn decode_bytes(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if let Some(byte) = octal_at(bytes, i) {
            out.push(byte);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// Decodes the kernel's octal escapes in a path (`/mnt/my\040dir` → `/mnt/my dir`).
pub fn decode_path(text: &str) -> PathBuf {
    PathBuf::from(OsString::from_vec(decode_bytes(text)))
}

fn decode_string(text: &str) -> String {
    String::from_utf8_lossy(&decode_bytes(text)).into_owned()
}
