//! Container logs, in docker's `json-file` format.
//!
//! Whatever the container writes to stdout and stderr reaches the shim through
//! a pipe (or the pty). The shim appends one JSON object per line of output to
//! `<container>/container-json.log`, as docker does in
//! /var/lib/docker/containers/ID/ID-json.log:
//! `{"log":"hello\n","stream":"stdout","time":"2026-11-27T20:31:04.1Z"}`.
//! `glassbox logs` reads it back; `logs -f` keeps reading while the container runs.

use super::shim::{OutputSink, Stream};
use crate::timefmt;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// One line of the log file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub log: String,
    pub stream: String,
    pub time: String,
}

/// Appends output to a json-file log, one entry per line of output. The file
/// is created with the first line, so a silent container costs no file.
pub struct LogWriter {
    path: std::path::PathBuf,
    file: Option<File>,
    partial: [Vec<u8>; 2],
}

impl LogWriter {
    pub fn open(path: &Path) -> io::Result<LogWriter> {
        Ok(LogWriter {
            path: path.to_path_buf(),
            file: None,
            partial: [Vec::new(), Vec::new()],
        })
    }

    fn emit(&mut self, stream: Stream, line: &[u8]) {
        let entry = Entry {
            log: String::from_utf8_lossy(line).into_owned(),
            stream: stream.name().into(),
            time: timefmt::rfc3339(timefmt::now_unix_ns()),
        };
        if self.file.is_none() {
            // 0600: a container's output is its owner's (root's), not
            // every host user's.
            self.file = OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(&self.path)
                .ok();
        }
        if let (Ok(mut text), Some(file)) = (serde_json::to_vec(&entry), self.file.as_mut()) {
            text.push(b'\n');
            let _ = file.write_all(&text);
        }
    }
}

impl OutputSink for LogWriter {
    fn write(&mut self, stream: Stream, data: &[u8]) {
        let slot = stream as usize;
        let mut pending = std::mem::take(&mut self.partial[slot]);
        pending.extend_from_slice(data);
        let mut start = 0;
        while let Some(pos) = pending[start..].iter().position(|b| *b == b'\n') {
            let end = start + pos + 1;
            self.emit(stream, &pending[start..end]);
            start = end;
        }
        let rest = pending.split_off(start);
        // A very long line without a newline is written in pieces, as docker does.
        if rest.len() >= 16 * 1024 {
            self.emit(stream, &rest);
        } else {
            self.partial[slot] = rest;
        }
    }

    fn finish(&mut self) {
        for stream in [Stream::Stdout, Stream::Stderr] {
            let rest = std::mem::take(&mut self.partial[stream as usize]);
            if !rest.is_empty() {
                self.emit(stream, &rest);
            }
        }
    }
}

/// Parses a log file's text into entries; a torn last line is skipped.
pub fn parse(text: &str) -> Vec<Entry> {
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_and_kept_by_stream() {
        let dir = std::env::temp_dir().join(format!("glassbox-logtest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log");
        {
            let mut w = LogWriter::open(&path).unwrap();
            w.write(Stream::Stdout, b"hel");
            w.write(Stream::Stderr, b"oops\n");
            w.write(Stream::Stdout, b"lo\nwor");
            w.finish();
        }
        let entries = parse(&std::fs::read_to_string(&path).unwrap());
        let got: Vec<(&str, &str)> = entries
            .iter()
            .map(|e| (e.stream.as_str(), e.log.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("stderr", "oops\n"),
                ("stdout", "hello\n"),
                ("stdout", "wor")
            ]
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
