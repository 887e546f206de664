//! Readers of kernel state: what the kernel says about a process, right now.
//!
//! Every facility has one module, and every module has the same two halves: a
//! pure `parse_*(&str)` that turns the kernel's text into typed data (tested
//! against samples in `tests/fixtures/inspect/`), and a thin `read_*` that
//! reads the file from /proc, /sys or cgroupfs and hands it to the parser. The
//! lab panels, `glassbox inspect/stats/top` and the exercise checks sample
//! through here; nothing in this module changes kernel state, and no other
//! module parses /proc.
//!
//! The parsing itself is the `procfs-core` crate's wherever it reads a format
//! as glassbox needs it (status, stat, /proc/PID/cgroup, net/tcp, net/route,
//! meminfo) and `procfs` lists the processes; each `parse_*` here turns its
//! result into the typed data the lessons talk about, and checks what procfs
//! leaves raw. Our own parsers remain where procfs has nothing (cgroupfs
//! control files, iptables-save, fib_trie, overlay options, the text of an
//! ns link) and where it is wrong for us: mountinfo (it keeps options in
//! hash maps, losing their order, and leaves `\040` escapes in paths),
//! net/dev (a counter too wide for its column, `enp0s3:1873344128`, runs into
//! the name and shifts every field; and its errors do not name the field),
//! cmdline (procfs reads it as UTF-8 and fails on any other argument bytes;
//! ps shows them lossily) and /proc/PID/ns (procfs stats each link and
//! reports a failure as an "internal error" without its errno, EACCES or
//! ENOENT; the link's text, `net:[4026531840]`, is what the lesson shows).

pub mod cgroup;
pub mod iptables;
pub mod meminfo;
pub mod mountinfo;
pub mod namespaces;
pub mod net;
pub mod netdev;
pub mod proc_stat;
pub mod proc_status;
pub mod processes;
pub mod unix_socket;

use std::fmt::Display;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use thiserror::Error;

/// What was wrong with a piece of kernel text. The message names the field
/// and the value, so a test (or a student) can see which one failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    /// A field the format always carries was absent.
    #[error("missing {0}")]
    Missing(String),
    /// A field was present but its value did not have the expected form.
    #[error("invalid {field} `{value}`: expected {expected}")]
    Invalid {
        field: String,
        value: String,
        expected: &'static str,
    },
    /// procfs-core refused the text; its message quotes the value.
    #[error("{0}")]
    Procfs(String),
    /// An error inside one line of a multi-line file (numbered from 1).
    #[error("line {line} `{text}`: {error}")]
    AtLine {
        line: usize,
        text: String,
        error: Box<ParseError>,
    },
}

impl ParseError {
    pub(crate) fn missing(what: impl Display) -> Self {
        ParseError::Missing(what.to_string())
    }

    pub(crate) fn invalid(field: impl Display, value: &str, expected: &'static str) -> Self {
        ParseError::Invalid {
            field: field.to_string(),
            value: value.to_string(),
            expected,
        }
    }

    /// procfs-core's error, in our words: its "internal error … please report
    /// this procfs bug" wrapping is for its own bugs, but it also says that for
    /// text that is not what the kernel writes, which is what reaches us here.
    pub(crate) fn procfs(error: procfs_core::ProcError) -> Self {
        let text = match error {
            procfs_core::ProcError::InternalError(e) => e.msg,
            procfs_core::ProcError::Incomplete(_) => "the text ends too early".to_string(),
            other => other.to_string(),
        };
        // An error inside procfs-core's `expect!` comes back wrapped in
        // another, Display and all: the innermost message is the last line.
        let text = text.rsplit('\n').next().unwrap_or_default();
        let text = text.trim_start_matches("Internal Unwrap Error: ");
        // from_str!'s "Failed to parse EXPR (\"VALUE\") as a TYPE: WHY"; from_iter's
        // "VALUE: Failed to convert".
        if let Some(rest) = text.strip_prefix("Failed to parse ")
            && let Some((_, after)) = rest.split_once(" (\"")
            && let Some((value, after)) = after.split_once("\") as a ")
        {
            // from_str! reads integers only; TYPE is often a generic `T`.
            let why = after.split_once(": ").map_or("", |(_, why)| why);
            return ParseError::Procfs(format!("`{value}` is not a number: {why}"));
        }
        if let Some(value) = text.strip_suffix(": Failed to convert") {
            return ParseError::Procfs(format!("`{value}` is not a valid value for its field"));
        }
        ParseError::Procfs(match text.strip_suffix("NoneError") {
            Some("") => "a field the format requires is missing".to_string(),
            Some(what) => format!("{} is missing", what.trim_end_matches(": ")),
            None => text.to_string(),
        })
    }

    /// Places `self` at line `index` (0-based, as `enumerate` gives it) of a file.
    pub(crate) fn at_line(self, index: usize, text: &str) -> Self {
        ParseError::AtLine {
            line: index + 1,
            text: text.to_string(),
            error: Box::new(self),
        }
    }
}

/// Reading kernel state failed: the file could not be read, its text did not
/// parse, or a helper command failed. The path is in the message; the cause is
/// the error's `source()` (print the chain with `{:#}` through anyhow).
#[derive(Debug, Error)]
pub enum ReadError {
    #[error("failed to read {}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("failed to parse {}", .path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: ParseError,
    },
    #[error("failed to run `{command}`: {detail}")]
    Command { command: String, detail: String },
}

impl ReadError {
    /// True when the file was not there: for /proc/PID this usually means the
    /// process exited between listing and reading, which callers skip.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }

    /// procfs's error reading `path`, as ours: I/O errors keep their kind
    /// (so [`ReadError::is_not_found`] still holds), the rest are parse errors.
    pub(crate) fn procfs(path: &Path, error: procfs::ProcError) -> Self {
        let path = path.to_path_buf();
        match error {
            procfs::ProcError::NotFound(_) => ReadError::Io {
                path,
                source: io::ErrorKind::NotFound.into(),
            },
            procfs::ProcError::PermissionDenied(_) => ReadError::Io {
                path,
                source: io::ErrorKind::PermissionDenied.into(),
            },
            procfs::ProcError::Io(source, _) => ReadError::Io { path, source },
            other => ReadError::Parse {
                path,
                source: ParseError::procfs(other),
            },
        }
    }

    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        ReadError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Reads a whole file as text.
///
/// The files read here are mostly the kernel's (/proc, cgroupfs), which say
/// their size is 0 and make their text anew on every `read`:
/// `fs::read_to_string` would `statx` for the size, then read 32 bytes, then
/// 32, 64, 128, … (six `read`s of /proc/PID/stat, each one formatting the
/// whole line). One buffer of a page takes most of them in one `read`, and a
/// second one sees the end.
pub(crate) fn read_text(path: &Path) -> Result<String, ReadError> {
    use std::io::Read;
    let mut text = String::with_capacity(4096);
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_string(&mut text))
        .map_err(|e| ReadError::io(path, e))?;
    Ok(text)
}

/// Reads a file and runs `parse` over it, naming the path in either error.
pub(crate) fn read_parsed<T>(
    path: &Path,
    parse: impl FnOnce(&str) -> Result<T, ParseError>,
) -> Result<T, ReadError> {
    let text = read_text(path)?;
    parse(&text).map_err(|source| ReadError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

/// Parses a decimal number, naming `field` if it is not one.
pub(crate) fn parse_num<T: FromStr>(field: impl Display, value: &str) -> Result<T, ParseError> {
    value
        .trim()
        .parse()
        .map_err(|_| ParseError::invalid(field, value.trim(), "a decimal number"))
}

/// The /proc directory of one process.
pub(crate) fn proc_dir(pid: u32) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}"))
}
