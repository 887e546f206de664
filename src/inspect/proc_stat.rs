//! /proc/PID/stat: one line of numbers the scheduler keeps about a process.
//!
//! Field 2 is the command in parentheses, and the command itself may contain
//! spaces and `)`, so the line is split at its LAST `)`. Field 22, `starttime`,
//! counts clock ticks from boot to the process's start: a pid and its start
//! time together name one process, even after the pid number is reused.

use serde::Serialize;

use super::{ParseError, ReadError, parse_num, proc_dir, read_parsed};

/// The fields of /proc/PID/stat that glassbox uses (proc(5) numbers them from 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcStat {
    /// Field 1.
    pub pid: u32,
    /// Field 2, without the parentheses.
    pub comm: String,
    /// Field 3: R running, S sleeping, D disk sleep, Z zombie, T stopped, ...
    pub state: char,
    /// Field 4.
    pub ppid: u32,
    /// Field 14: clock ticks spent in user mode.
    pub utime: u64,
    /// Field 15: clock ticks spent in kernel mode.
    pub stime: u64,
    /// Field 20.
    pub num_threads: u64,
    /// Field 22: clock ticks from boot to the start of the process.
    pub starttime: u64,
    /// Field 24: resident set size in pages.
    pub rss_pages: u64,
}

/// Parses the one line of /proc/PID/stat.
pub fn parse_proc_stat(text: &str) -> Result<ProcStat, ParseError> {
    let text = text.trim_end();
    let (head, comm_and_rest) = text
        .split_once(" (")
        .ok_or_else(|| ParseError::missing("`(` opening the command (field 2)"))?;
    let (comm, rest) = comm_and_rest
        .rsplit_once(')')
        .ok_or_else(|| ParseError::missing("`)` closing the command (field 2)"))?;
    // rest[0] is field 3, so field N is rest[N - 3].
    let rest: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| -> Result<&str, ParseError> {
        rest.get(n - 3).copied().ok_or_else(|| {
            ParseError::missing(format!("field {n} ({} fields present)", rest.len() + 2))
        })
    };
    let state_text = field(3)?;
    let mut state_chars = state_text.chars();
    let state = match (state_chars.next(), state_chars.next()) {
        (Some(c), None) if c.is_ascii_alphabetic() => c,
        _ => {
            return Err(ParseError::invalid(
                "state (field 3)",
                state_text,
                "one letter",
            ));
        }
    };
    Ok(ProcStat {
        pid: parse_num("pid (field 1)", head)?,
        comm: comm.to_string(),
        state,
        ppid: parse_num("ppid (field 4)", field(4)?)?,
        utime: parse_num("utime (field 14)", field(14)?)?,
        stime: parse_num("stime (field 15)", field(15)?)?,
        num_threads: parse_num("num_threads (field 20)", field(20)?)?,
        starttime: parse_num("starttime (field 22)", field(22)?)?,
        rss_pages: parse_num("rss (field 24)", field(24)?)?,
    })
}

/// Reads /proc/PID/stat.
pub fn read_proc_stat(pid: u32) -> Result<ProcStat, ReadError> {
    read_parsed(&proc_dir(pid).join("stat"), parse_proc_stat)
}

/// The start time of `pid` in clock ticks since boot, or `None` if no such
/// process exists. Compare it with a start time saved earlier to tell whether
/// `pid` is still the same process or the number was reused.
pub fn process_start_time(pid: u32) -> Option<u64> {
    read_proc_stat(pid).ok().map(|stat| stat.starttime)
}

/// Clock ticks per second (`getconf CLK_TCK`, nearly always 100): the unit of
/// `utime`, `stime` and `starttime`.
pub fn clock_ticks_per_second() -> u64 {
    let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK);
    let ticks = ticks.ok().flatten().unwrap_or(100);
    u64::try_from(ticks).ok().filter(|&t| t > 0).unwrap_or(100)
}
