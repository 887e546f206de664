//! Readers of kernel state: what the kernel says about a process, right now.
//!
//! Every facility has one module, and every module has the same two halves: a
//! pure `parse_*(&str)` that turns the kernel's text into typed data (tested
//! against samples in `tests/fixtures/inspect/`), and a thin `read_*` that
//! reads the file from /proc, /sys or cgroupfs and hands it to the parser. The
//! lab panels, `glassbox inspect/stats/top` and the exercise checks sample
//! through here; nothing in this module changes kernel state.

pub mod cgroup;
pub mod iptables;
pub mod mountinfo;
pub mod namespaces;
pub mod netdev;
pub mod proc_stat;
pub mod proc_status;
pub mod processes;

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

    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        ReadError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Reads a whole file as text.
pub(crate) fn read_text(path: &Path) -> Result<String, ReadError> {
    std::fs::read_to_string(path).map_err(|e| ReadError::io(path, e))
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
