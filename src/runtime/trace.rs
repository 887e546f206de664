//! The trace: what the runtime asked the kernel, step by step, with timings.
//!
//! Every runtime step is a small named function (`mount_overlay`, `join_cgroup`,
//! `pivot_root`, …). Each one, when done, records an [`Event`]: its name, what it
//! asked the kernel ("mount overlay on …/rootfs, lowerdir=…"), which process did
//! it (the engine, or the container's init before `execve`) and how long it took.
//! The lab's "what the kernel was asked" panel and topic 7's start timeline are
//! drawn from these events. Times come from `CLOCK_MONOTONIC`, the one clock that
//! the parent and the child share.

use serde::{Deserialize, Serialize};

/// Nanoseconds on `CLOCK_MONOTONIC`.
pub fn now_ns() -> u64 {
    // CLOCK_MONOTONIC cannot fail on Linux; a zero would only show as "0 ms".
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|ts| ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64)
        .unwrap_or(0)
}

/// One step the runtime took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Who took the step: `engine`, `runtime` or `init` (the container's first process).
    pub actor: String,
    /// The step's name, as the function that does it is called.
    pub step: String,
    /// What was asked of the kernel, in words a student can match to a syscall.
    pub detail: String,
    /// Start, on CLOCK_MONOTONIC, in nanoseconds.
    pub start_ns: u64,
    /// Duration in nanoseconds.
    pub dur_ns: u64,
}

/// An ordered list of events.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Trace {
    pub events: Vec<Event>,
}

impl Trace {
    /// Records a step that started at `start_ns` (from [`now_ns`]) and ends now.
    pub fn step(&mut self, actor: &str, start_ns: u64, step: &str, detail: impl Into<String>) {
        let end = now_ns();
        self.events.push(Event {
            actor: actor.to_string(),
            step: step.to_string(),
            detail: detail.into(),
            start_ns,
            dur_ns: end.saturating_sub(start_ns),
        });
    }

    /// Writes the trace as JSON lines, one event per line.
    pub fn to_json_lines(&self) -> String {
        let mut out = String::new();
        for e in &self.events {
            if let Ok(line) = serde_json::to_string(e) {
                out.push_str(&line);
                out.push('\n');
            }
        }
        out
    }

    /// Appends the trace to `path` (`--trace FILE`) in one `write`, so that
    /// two processes appending to one file (a `--rm` run and the child that
    /// removes what is left of it) never interleave their lines.
    pub fn append_to(&self, path: &std::path::Path) -> std::io::Result<()> {
        use std::io::Write;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?
            .write_all(self.to_json_lines().as_bytes())
    }

    /// Reads a trace written by [`Trace::to_json_lines`]; bad lines are skipped.
    pub fn from_json_lines(text: &str) -> Trace {
        Trace {
            events: text
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect(),
        }
    }
}
