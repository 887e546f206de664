//! Reading a container's log: `glassbox logs` and `GET /containers/ID/logs`.
//!
//! The shim writes the log in docker's json-file format
//! ([`crate::runtime::logs`]); this reads it back with docker's options:
//! only stdout or stderr, the last N lines (`--tail`), a time window
//! (`--since`, `--until`), each line's time (`-t`), and `-f`, which keeps
//! reading while the container runs.

use super::DataRoot;
use super::container::{self, Paths, Record};
use crate::runtime::logs::{self as json_file, Entry};
use std::io::{Read, Seek};
use std::time::Duration;

/// docker's log options.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    pub stdout: bool,
    pub stderr: bool,
    /// Nanoseconds since the epoch; entries before are left out.
    pub since: Option<u64>,
    /// Entries after are left out (and `follow` ends there).
    pub until: Option<u64>,
    /// Only the last N entries already written.
    pub tail: Option<usize>,
    pub follow: bool,
}

/// `10m`, `1h30m`, `5s`, `250ms` as nanoseconds (Go's durations).
pub fn parse_duration(s: &str) -> Option<u64> {
    let mut total = 0f64;
    let mut num = String::new();
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        num.clear();
        let digits: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        if digits.is_empty() {
            return None;
        }
        rest = &rest[digits.len()..];
        let unit: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphabetic() || *c == 'µ')
            .collect();
        rest = &rest[unit.len()..];
        let n: f64 = digits.parse().ok()?;
        let scale = match unit.as_str() {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += n * scale;
    }
    Some(total as u64)
}

/// docker's time arguments (`--since`, `--until`, `events --since`): Unix
/// seconds with an optional fraction, RFC 3339, or a duration before now.
pub fn parse_time(s: &str, now_ns: u64) -> Result<u64, String> {
    let s = s.trim();
    if let Some(ns) = crate::timefmt::parse_rfc3339(s) {
        return Ok(ns);
    }
    if let Some((secs, frac)) = s.split_once('.')
        && let (Ok(a), true) = (
            secs.parse::<u64>(),
            frac.chars().all(|c| c.is_ascii_digit()),
        )
    {
        let nanos: u64 = format!("{frac:0<9}")[..9].parse().unwrap_or(0);
        return Ok(a * 1_000_000_000 + nanos);
    }
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(secs * 1_000_000_000);
    }
    if let Some(d) = parse_duration(s) {
        return Ok(now_ns.saturating_sub(d));
    }
    Err(format!(
        "invalid time {s:?}: use a Unix timestamp, an RFC 3339 time (2006-01-02T15:04:05Z) or a duration before now (10m, 1h)"
    ))
}

/// `--tail` values: a number, or `all`.
pub fn parse_tail(s: &str) -> Result<Option<usize>, String> {
    match s {
        "" | "all" => Ok(None),
        n => n
            .parse::<i64>()
            .map(|n| if n < 0 { None } else { Some(n as usize) })
            .map_err(|_| format!("invalid value for \"tail\": {s:?} (a number or all)")),
    }
}

fn entry_time(e: &Entry) -> u64 {
    crate::timefmt::parse_rfc3339(&e.time).unwrap_or(0)
}

/// Reads the log, handing each entry that passes the options to `emit`
/// (an `Err` from it ends the read: the reader went away). With `follow`,
/// keeps reading while the container runs and `alive()` says the reader is
/// still there.
pub fn read(
    root: &DataRoot,
    record: &Record,
    opts: &LogOptions,
    emit: &mut dyn FnMut(&Entry) -> std::io::Result<()>,
    alive: &dyn Fn() -> bool,
) -> anyhow::Result<()> {
    let path = Paths::new(root, &record.id).log();
    let running = || container::load_by_id(root, &record.id).is_ok_and(|r| r.is_running());
    let wanted = |e: &Entry| {
        let stream_ok = match e.stream.as_str() {
            "stderr" => opts.stderr,
            _ => opts.stdout,
        };
        let t = entry_time(e);
        stream_ok && opts.since.is_none_or(|s| t >= s) && opts.until.is_none_or(|u| t <= u)
    };
    let mut offset = 0u64;
    let mut pending = String::new();
    let mut first = true;
    loop {
        // Whether it runs is asked *before* reading: the shim writes the last
        // lines before it records the exit, so a read after "not running"
        // has seen everything there will be.
        let done = !opts.follow
            || !running()
            || opts
                .until
                .is_some_and(|u| crate::timefmt::now_unix_ns() > u);
        match std::fs::File::open(&path) {
            Ok(mut f) => {
                f.seek(std::io::SeekFrom::Start(offset))?;
                let mut chunk = String::new();
                let n = f.read_to_string(&mut chunk)?;
                offset += n as u64;
                pending.push_str(&chunk);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
        }
        if let Some(end) = pending.rfind('\n') {
            let mut entries: Vec<Entry> = json_file::parse(&pending[..=end])
                .into_iter()
                .filter(|e| wanted(e))
                .collect();
            pending.drain(..=end);
            if first && let Some(n) = opts.tail {
                let skip = entries.len().saturating_sub(n);
                entries.drain(..skip);
            }
            for e in &entries {
                if emit(e).is_err() {
                    return Ok(());
                }
            }
        } else if first && opts.tail.is_some() {
            // Nothing whole yet: the tail applies to nothing.
        }
        first = false;
        if done || !alive() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `2026-11-27T20:31:04.123456789Z `: the prefix `-t` puts before a line.
pub fn timestamp_prefix(e: &Entry) -> String {
    format!("{} ", e.time)
}
