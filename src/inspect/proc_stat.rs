//! /proc/PID/stat: one line of numbers the scheduler keeps about a process.
//!
//! Field 2 is the command in parentheses, and the command itself may contain
//! spaces and `)`, so the line is split at its LAST `)`. Field 22, `starttime`,
//! counts clock ticks from boot to the process's start: a pid and its start
//! time together name one process, even after the pid number is reused.

use serde::Serialize;

use procfs_core::FromRead;
use procfs_core::process::Stat;

use super::{ParseError, ReadError, proc_dir, read_parsed};

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
    /// Fields 48 and 49 (Linux 3.5+): where the process's argument strings
    /// are in its memory (what /proc/PID/cmdline reads).
    pub arg_block: Option<(u64, u64)>,
    /// Fields 50 and 51 (Linux 3.5+): where the process's environment strings
    /// are in its memory (what /proc/PID/environ reads).
    pub env_block: Option<(u64, u64)>,
    /// Field 52: the exit status in `waitpid`'s encoding, which the kernel
    /// keeps for the parent while the process is a zombie (Linux 3.5+).
    pub exit_code: Option<i32>,
}

/// The fields procfs-core reads unconditionally (1 to 37; later ones came
/// with later kernels).
const FIELDS: usize = 37;

/// Parses the one line of /proc/PID/stat (with procfs-core), keeping the
/// fields glassbox uses.
pub fn parse_proc_stat(text: &str) -> Result<ProcStat, ParseError> {
    // The shape is checked first: procfs-core slices the line around the
    // parentheses and would panic on a line without room for them.
    let text = text.trim_end();
    let (_, comm_and_rest) = text
        .split_once(" (")
        .ok_or_else(|| ParseError::missing("`(` opening the command (field 2)"))?;
    let (_, rest) = comm_and_rest
        .rsplit_once(')')
        .ok_or_else(|| ParseError::missing("`)` closing the command (field 2)"))?;
    // rest[0] is field 3, so field N is rest[N - 3].
    let rest: Vec<&str> = rest.split_whitespace().collect();
    if rest.len() + 2 < FIELDS {
        return Err(ParseError::missing(format!(
            "field {} ({} fields present)",
            rest.len() + 3,
            rest.len() + 2
        )));
    }
    let state_text = rest[0];
    if state_text.len() != 1 || !state_text.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(ParseError::invalid(
            "state (field 3)",
            state_text,
            "one letter",
        ));
    }
    let stat = Stat::from_read(text.as_bytes()).map_err(ParseError::procfs)?;
    let number = |field: &'static str, value: i64| {
        u64::try_from(value).map_err(|_| ParseError::invalid(field, &value.to_string(), "a count"))
    };
    Ok(ProcStat {
        pid: number("pid (field 1)", stat.pid.into())? as u32,
        comm: stat.comm,
        state: stat.state,
        ppid: number("ppid (field 4)", stat.ppid.into())? as u32,
        utime: stat.utime,
        stime: stat.stime,
        num_threads: number("num_threads (field 20)", stat.num_threads)?,
        starttime: stat.starttime,
        rss_pages: stat.rss,
        arg_block: stat.arg_start.zip(stat.arg_end),
        env_block: stat.env_start.zip(stat.env_end),
        exit_code: stat.exit_code,
    })
}

/// Reads /proc/self/stat: the caller's own, whatever its PID namespace
/// (a process in a child namespace has another number in the mounted /proc).
pub fn read_self_stat() -> Result<ProcStat, ReadError> {
    read_parsed(std::path::Path::new("/proc/self/stat"), parse_proc_stat)
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

/// /proc/stat's first line, summed: the time every CPU of the host has
/// spent (user, nice, system, idle, iowait, irq, softirq, steal), in clock
/// ticks. docker's `system_cpu_usage` (in ns) is this; `stats` divides a
/// container's CPU time by its growth.
pub fn host_cpu_ticks() -> Option<u64> {
    use procfs::CurrentSI;
    let t = procfs::KernelStats::current().ok()?.total;
    Some(
        t.user
            + t.nice
            + t.system
            + t.idle
            + t.iowait.unwrap_or(0)
            + t.irq.unwrap_or(0)
            + t.softirq.unwrap_or(0)
            + t.steal.unwrap_or(0),
    )
}

/// When the host booted, in seconds since the epoch (/proc/stat's btime):
/// `starttime` plus this is a process's start on the wall clock.
pub fn boot_time_secs() -> Option<u64> {
    procfs::boot_time_secs().ok()
}

/// Clock ticks per second (`getconf CLK_TCK`, nearly always 100): the unit of
/// `utime`, `stime` and `starttime`.
pub fn clock_ticks_per_second() -> u64 {
    procfs::ticks_per_second().max(1)
}
