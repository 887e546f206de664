//! Control groups: the kernel's meters and limits for a group of processes.
//!
//! /proc/PID/cgroup says which group a process is in: one `ID:CONTROLLERS:PATH`
//! line per v1 hierarchy (`4:memory:/glassbox/web`), or the single v2 line
//! `0::/glassbox/web`. In that group's directory under /sys/fs/cgroup, plain
//! text files report usage (`memory.current`) and hold limits (`memory.max`).
//! v1 keeps one tree per controller with different file names; v2 one tree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use procfs_core::{FromRead, ProcessCGroups};

use super::{ParseError, ReadError, parse_num, proc_dir, read_parsed};

/// One line of /proc/PID/cgroup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CgroupEntry {
    /// The hierarchy id; 0 is the v2 unified hierarchy.
    pub hierarchy_id: u32,
    /// The v1 controllers of this hierarchy (e.g. `cpu`, `cpuacct`,
    /// `name=systemd`); empty for v2.
    pub controllers: Vec<String>,
    /// The group's path relative to the hierarchy's root.
    pub path: String,
}

/// Parses /proc/PID/cgroup (with procfs-core, a line at a time so that an
/// error names its line).
pub fn parse_proc_cgroup(text: &str) -> Result<Vec<CgroupEntry>, ParseError> {
    let mut entries = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let parsed = ProcessCGroups::from_read(line.as_bytes())
            .map_err(|e| ParseError::procfs(e).at_line(index, line))?;
        entries.extend(parsed.0.into_iter().map(|c| CgroupEntry {
            hierarchy_id: c.hierarchy,
            controllers: c.controllers,
            path: c.pathname,
        }));
    }
    Ok(entries)
}

/// Reads /proc/PID/cgroup.
pub fn read_proc_cgroup(pid: u32) -> Result<Vec<CgroupEntry>, ReadError> {
    read_parsed(&proc_dir(pid).join("cgroup"), parse_proc_cgroup)
}

/// The path in the v2 hierarchy (the `0::PATH` line).
pub fn v2_path(entries: &[CgroupEntry]) -> Option<&str> {
    entries
        .iter()
        .find(|e| e.hierarchy_id == 0 && e.controllers.is_empty())
        .map(|e| e.path.as_str())
}

/// The path in the v1 hierarchy that carries `controller`.
pub fn v1_path<'a>(entries: &'a [CgroupEntry], controller: &str) -> Option<&'a str> {
    entries
        .iter()
        .find(|e| e.controllers.iter().any(|c| c == controller))
        .map(|e| e.path.as_str())
}

// --- Control files. Each parser takes the file's text. ---

/// A file holding one counter: v2 `memory.current`, `pids.current`; v1
/// `memory.usage_in_bytes`, `memory.failcnt`, `cpuacct.usage`, `cpu.cfs_period_us`.
pub fn parse_u64(text: &str) -> Result<u64, ParseError> {
    parse_num("value", text)
}

/// A limit that is a number or `max` (`None`, no limit): v2 `memory.max`,
/// `memory.high`, `pids.max`; v1 `pids.max`.
pub fn parse_max(text: &str) -> Result<Option<u64>, ParseError> {
    match text.trim() {
        "max" => Ok(None),
        value => value
            .parse()
            .map(Some)
            .map_err(|_| ParseError::invalid("limit", value, "a number of bytes or `max`")),
    }
}

/// v1 `memory.limit_in_bytes`. "No limit" is written as the largest
/// page-aligned i64 (9223372036854771712), so anything from 2^62 up is `None`.
pub fn parse_v1_limit(text: &str) -> Result<Option<u64>, ParseError> {
    let value: u64 = parse_num("memory limit", text)?;
    Ok((value < 1 << 62).then_some(value))
}

/// v1 `cpu.cfs_quota_us`: microseconds per period, or -1 for no limit (`None`).
pub fn parse_cfs_quota(text: &str) -> Result<Option<u64>, ParseError> {
    match text.trim() {
        "-1" => Ok(None),
        value => value
            .parse()
            .map(Some)
            .map_err(|_| ParseError::invalid("cfs quota", value, "microseconds per period, or -1")),
    }
}

/// v2 `cpu.max`: `QUOTA PERIOD` in microseconds; the group may run `quota`
/// out of every `period` (`50000 100000` = half a CPU).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CpuMax {
    /// `None` when the quota is `max`.
    pub quota: Option<u64>,
    pub period: u64,
}

pub fn parse_cpu_max(text: &str) -> Result<CpuMax, ParseError> {
    let text = text.trim();
    let expected = "`QUOTA PERIOD` such as `50000 100000` or `max 100000`";
    match text.split_whitespace().collect::<Vec<_>>().as_slice() {
        [quota, period] => Ok(CpuMax {
            quota: match *quota {
                "max" => None,
                q => Some(
                    q.parse()
                        .map_err(|_| ParseError::invalid("cpu.max quota", q, expected))?,
                ),
            },
            period: period
                .parse()
                .map_err(|_| ParseError::invalid("cpu.max period", period, expected))?,
        }),
        _ => Err(ParseError::invalid("cpu.max", text, expected)),
    }
}

/// A flat-keyed file, `KEY VALUE` per line: `memory.stat` (both versions),
/// `memory.events`, `cpu.stat`, v1 `memory.oom_control`.
pub fn parse_flat_keyed(text: &str) -> Result<BTreeMap<String, u64>, ParseError> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            let (key, value) = line
                .trim()
                .split_once(' ')
                .ok_or_else(|| ParseError::missing("`KEY VALUE`").at_line(index, line))?;
            let value = parse_num(key, value).map_err(|e| e.at_line(index, line))?;
            Ok((key.to_string(), value))
        })
        .collect()
}

/// v2 `memory.events`: how often each memory boundary was hit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MemoryEvents {
    pub low: u64,
    /// Times usage went over `memory.high` and the group was throttled.
    pub high: u64,
    /// Times usage reached `memory.max`.
    pub max: u64,
    /// Times the OOM killer was invoked for this group.
    pub oom: u64,
    /// Processes the OOM killer killed.
    pub oom_kill: u64,
    pub oom_group_kill: u64,
}

/// Parses `memory.events`. Keys that an older kernel lacks count as 0.
pub fn parse_memory_events(text: &str) -> Result<MemoryEvents, ParseError> {
    let map = parse_flat_keyed(text)?;
    let get = |key: &str| map.get(key).copied().unwrap_or(0);
    Ok(MemoryEvents {
        low: get("low"),
        high: get("high"),
        max: get("max"),
        oom: get("oom"),
        oom_kill: get("oom_kill"),
        oom_group_kill: get("oom_group_kill"),
    })
}

/// v2 `cpu.stat`, in microseconds. The throttling counters appear only when
/// the cpu controller is enabled for the group; absent, they are 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CpuStatV2 {
    pub usage_usec: u64,
    pub user_usec: u64,
    pub system_usec: u64,
    /// Periods in which the group had runnable tasks.
    pub nr_periods: u64,
    /// Periods in which the group used up its quota and was stopped.
    pub nr_throttled: u64,
    pub throttled_usec: u64,
}

pub fn parse_cpu_stat_v2(text: &str) -> Result<CpuStatV2, ParseError> {
    let map = parse_flat_keyed(text)?;
    let usage_usec = *map
        .get("usage_usec")
        .ok_or_else(|| ParseError::missing("`usage_usec` in cpu.stat"))?;
    let get = |key: &str| map.get(key).copied().unwrap_or(0);
    Ok(CpuStatV2 {
        usage_usec,
        user_usec: get("user_usec"),
        system_usec: get("system_usec"),
        nr_periods: get("nr_periods"),
        nr_throttled: get("nr_throttled"),
        throttled_usec: get("throttled_usec"),
    })
}

/// v1 `cpu.stat` (the cpu controller's, not cpuacct's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CpuStatV1 {
    pub nr_periods: u64,
    pub nr_throttled: u64,
    /// Nanoseconds (v2 reports microseconds).
    pub throttled_time_ns: u64,
}

pub fn parse_cpu_stat_v1(text: &str) -> Result<CpuStatV1, ParseError> {
    let map = parse_flat_keyed(text)?;
    let get = |key: &'static str| {
        map.get(key)
            .copied()
            .ok_or_else(|| ParseError::missing(format!("`{key}` in cpu.stat")))
    };
    Ok(CpuStatV1 {
        nr_periods: get("nr_periods")?,
        nr_throttled: get("nr_throttled")?,
        throttled_time_ns: get("throttled_time")?,
    })
}

/// v1 `memory.oom_control`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OomControl {
    /// The OOM killer is off: tasks over the limit wait instead of dying.
    pub oom_kill_disable: bool,
    /// The group is at its limit right now.
    pub under_oom: bool,
    /// Processes killed by the OOM killer (Linux 4.13+; 0 before).
    pub oom_kill: u64,
}

pub fn parse_oom_control(text: &str) -> Result<OomControl, ParseError> {
    let map = parse_flat_keyed(text)?;
    let flag = |key: &'static str| match map.get(key) {
        Some(0) => Ok(false),
        Some(1) => Ok(true),
        Some(other) => Err(ParseError::invalid(key, &other.to_string(), "0 or 1")),
        None => Err(ParseError::missing(format!(
            "`{key}` in memory.oom_control"
        ))),
    };
    Ok(OomControl {
        oom_kill_disable: flag("oom_kill_disable")?,
        under_oom: flag("under_oom")?,
        oom_kill: map.get("oom_kill").copied().unwrap_or(0),
    })
}

// --- One snapshot, whichever version the host runs. ---

/// What the lab's cgroup panel and `glassbox stats` show, read from either
/// cgroup version. Times are in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CgroupUsage {
    pub memory_bytes: u64,
    /// `None`: no limit.
    pub memory_limit: Option<u64>,
    pub oom_kills: u64,
    pub cpu_usage_usec: u64,
    /// `(quota, period)` in microseconds; `None`: no limit.
    pub cpu_quota: Option<(u64, u64)>,
    pub nr_throttled: u64,
    pub throttled_usec: u64,
    pub pids_current: u64,
    /// `None`: no limit.
    pub pids_max: Option<u64>,
}

/// Reads a v2 group's directory (e.g. /sys/fs/cgroup/glassbox/web). The
/// memory, cpu and pids controllers must be enabled for it (they are when its
/// parent's `cgroup.subtree_control` lists them); a missing file is an error
/// naming that file.
pub fn read_v2(dir: &Path) -> Result<CgroupUsage, ReadError> {
    let cpu_max = read_parsed(&dir.join("cpu.max"), parse_cpu_max)?;
    let cpu_stat = read_parsed(&dir.join("cpu.stat"), parse_cpu_stat_v2)?;
    Ok(CgroupUsage {
        memory_bytes: read_parsed(&dir.join("memory.current"), parse_u64)?,
        memory_limit: read_parsed(&dir.join("memory.max"), parse_max)?,
        oom_kills: read_parsed(&dir.join("memory.events"), parse_memory_events)?.oom_kill,
        cpu_usage_usec: cpu_stat.usage_usec,
        cpu_quota: cpu_max.quota.map(|quota| (quota, cpu_max.period)),
        nr_throttled: cpu_stat.nr_throttled,
        throttled_usec: cpu_stat.throttled_usec,
        pids_current: read_parsed(&dir.join("pids.current"), parse_u64)?,
        pids_max: read_parsed(&dir.join("pids.max"), parse_max)?,
    })
}

/// A group's directory in each v1 hierarchy glassbox reads. A `None`
/// controller (not mounted on this host) reads as zero usage and no limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct V1Dirs {
    pub memory: Option<PathBuf>,
    pub cpu: Option<PathBuf>,
    pub cpuacct: Option<PathBuf>,
    pub pids: Option<PathBuf>,
}

impl V1Dirs {
    /// The group `relative` (e.g. `glassbox/web`) under each controller's
    /// mount in `root` (normally /sys/fs/cgroup, where `cpu` and `cpuacct` are
    /// usually symlinks to a joint `cpu,cpuacct` mount).
    pub fn under(root: &Path, relative: &Path) -> V1Dirs {
        let dir = |controller: &str| Some(root.join(controller).join(relative));
        V1Dirs {
            memory: dir("memory"),
            cpu: dir("cpu"),
            cpuacct: dir("cpuacct"),
            pids: dir("pids"),
        }
    }

    /// The directories of the groups a process is in, from its /proc/PID/cgroup.
    pub fn of_process(root: &Path, entries: &[CgroupEntry]) -> V1Dirs {
        let dir = |controller: &str| {
            v1_path(entries, controller)
                .map(|path| root.join(controller).join(path.trim_start_matches('/')))
        };
        V1Dirs {
            memory: dir("memory"),
            cpu: dir("cpu"),
            cpuacct: dir("cpuacct"),
            pids: dir("pids"),
        }
    }
}

/// Reads a group's v1 directories, converting to v2's units (microseconds).
pub fn read_v1(dirs: &V1Dirs) -> Result<CgroupUsage, ReadError> {
    let mut usage = CgroupUsage::default();
    if let Some(dir) = &dirs.memory {
        usage.memory_bytes = read_parsed(&dir.join("memory.usage_in_bytes"), parse_u64)?;
        usage.memory_limit = read_parsed(&dir.join("memory.limit_in_bytes"), parse_v1_limit)?;
        usage.oom_kills = read_parsed(&dir.join("memory.oom_control"), parse_oom_control)?.oom_kill;
    }
    if let Some(dir) = &dirs.cpu {
        let quota = read_parsed(&dir.join("cpu.cfs_quota_us"), parse_cfs_quota)?;
        let period = read_parsed(&dir.join("cpu.cfs_period_us"), parse_u64)?;
        usage.cpu_quota = quota.map(|quota| (quota, period));
        let stat = read_parsed(&dir.join("cpu.stat"), parse_cpu_stat_v1)?;
        usage.nr_throttled = stat.nr_throttled;
        usage.throttled_usec = stat.throttled_time_ns / 1000;
    }
    if let Some(dir) = &dirs.cpuacct {
        usage.cpu_usage_usec = read_parsed(&dir.join("cpuacct.usage"), parse_u64)? / 1000;
    }
    if let Some(dir) = &dirs.pids {
        usage.pids_current = read_parsed(&dir.join("pids.current"), parse_u64)?;
        usage.pids_max = read_parsed(&dir.join("pids.max"), parse_max)?;
    }
    Ok(usage)
}
