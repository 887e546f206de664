//! cgroup v2: one tree, every controller's files in each directory.
//!
//! A controller works in a child group only if the parent lists it in its
//! `cgroup.subtree_control` ("+memory +cpu +pids"), and a group that hands
//! controllers down may hold no processes itself (the "no internal processes"
//! rule): so glassbox's parent `glassbox/` stays empty and each container is a
//! leaf below it. Limits: `memory.max` (bytes), `memory.swap.max`,
//! `cpu.max` ("QUOTA PERIOD" in µs), `pids.max`. Out-of-memory kills are counted
//! in `memory.events` as `oom_kill N`. Every group but the root has
//! `cgroup.freeze` (no controller needed): `1` stops its processes, and
//! `cgroup.events` says `frozen 1` once all have stopped ([`freeze`]).

use super::{CONTROLLERS, CgroupError, make_dir, write_control};
use crate::inspect::ReadError;
use crate::inspect::cgroup::CgroupUsage;
use crate::runtime::journal::Journal;
use crate::runtime::spec::Resources;
use crate::runtime::trace::Trace;
use std::path::Path;
use std::time::{Duration, Instant};

/// Makes `rel` below `mount`, enabling the controllers on the way down.
pub fn prepare_parent(mount: &Path, rel: &str, journal: &Journal) -> Result<(), CgroupError> {
    let mut dir = mount.to_path_buf();
    enable_controllers(&dir)?;
    for part in rel.trim_matches('/').split('/').filter(|p| !p.is_empty()) {
        dir.push(part);
        make_dir(&dir, journal)?;
        enable_controllers(&dir)?;
    }
    Ok(())
}

/// Writes `+memory +cpu +pids` (those the group has) into `cgroup.subtree_control`,
/// unless they are enabled already.
pub(super) fn enable_controllers(dir: &Path) -> Result<(), CgroupError> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path).map_err(|source| CgroupError::Read {
            path: path.display().to_string(),
            source,
        })
    };
    let available = read("cgroup.controllers")?;
    let enabled = read("cgroup.subtree_control")?;
    let want: Vec<String> = CONTROLLERS
        .iter()
        .filter(|c| available.split_whitespace().any(|a| a == **c))
        .filter(|c| !enabled.split_whitespace().any(|e| e == **c))
        .map(|c| format!("+{c}"))
        .collect();
    if want.is_empty() {
        return Ok(());
    }
    let path = dir.join("cgroup.subtree_control");
    let value = want.join(" ");
    std::fs::write(&path, &value).map_err(|source| CgroupError::Write {
        path: path.display().to_string(),
        hint: match source.raw_os_error() {
            Some(libc::EBUSY) => {
                " (a process is sitting in this group: cgroup v2 allows no processes in a group that hands controllers down)"
            }
            Some(libc::ENODEV | libc::ENOENT) => {
                " (the group was removed meanwhile, by the last container in it as it ended: try again)"
            }
            _ => super::hint_for(&source),
        },
        value,
        source,
    })
}

/// Refuses a limit whose controller the parent does not hand down.
fn require(mount: &Path, rel: &str, controller: &str) -> Result<(), CgroupError> {
    let dir = mount.join(rel);
    let parent = dir.parent().unwrap_or(mount);
    let path = dir.join("cgroup.controllers");
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have.split_whitespace().any(|c| c == controller) {
        return Ok(());
    }
    Err(CgroupError::MissingController {
        controller: controller.to_string(),
        where_: format!(
            "not listed in {}; the parent's cgroup.subtree_control is {}",
            path.display(),
            parent.join("cgroup.subtree_control").display()
        ),
    })
}

/// Writes the limits of `resources` into the group's control files.
pub fn apply(
    mount: &Path,
    rel: &str,
    resources: &Resources,
    trace: &mut Trace,
) -> Result<(), CgroupError> {
    let dir = mount.join(rel);
    if let Some(mem) = &resources.memory
        && let Some(limit) = mem.limit
    {
        require(mount, rel, "memory")?;
        write_control(&dir, "memory.max", &limit.to_string(), trace)?;
        // The OCI `swap` is memory+swap; v2's memory.swap.max is swap alone.
        if let Some(swap) = mem.swap
            && dir.join("memory.swap.max").exists()
        {
            let swap_only = (swap - limit).max(0);
            write_control(&dir, "memory.swap.max", &swap_only.to_string(), trace)?;
        }
    }
    if let Some(cpu) = &resources.cpu
        && let Some(quota) = cpu.quota
    {
        require(mount, rel, "cpu")?;
        let period = cpu.period.unwrap_or(100_000);
        let value = if quota > 0 {
            format!("{quota} {period}")
        } else {
            format!("max {period}")
        };
        write_control(&dir, "cpu.max", &value, trace)?;
    }
    if let Some(pids) = &resources.pids {
        require(mount, rel, "pids")?;
        let value = if pids.limit > 0 {
            pids.limit.to_string()
        } else {
            "max".to_string()
        };
        write_control(&dir, "pids.max", &value, trace)?;
    }
    // No controller file: a BPF program attached to the group (see `devices`).
    if !resources.devices.is_empty() {
        super::devices::apply_v2(&dir, &resources.devices, trace)?;
    }
    Ok(())
}

/// Reads the group's counters.
pub fn usage(dir: &Path) -> Result<CgroupUsage, ReadError> {
    crate::inspect::cgroup::read_v2(dir)
}

/// Step `freeze_cgroup` on v2: writes `1` to `cgroup.freeze`, then waits
/// until `cgroup.events` says `frozen 1`. The kernel stops each process of
/// the group (and of the groups below) at its next return to user space;
/// `frozen 1` means all have stopped. One in uninterruptible sleep in the
/// kernel delays that: after `timeout` the group is thawed again and the
/// error says what `cgroup.events` still read. Returns how long it took.
pub fn freeze(dir: &Path, timeout: Duration) -> Result<Duration, CgroupError> {
    let start = Instant::now();
    write_file(&dir.join("cgroup.freeze"), "1")?;
    let events = dir.join("cgroup.events");
    loop {
        let text = read_file(&events)?;
        if frozen_in(&text) == Some(true) {
            return Ok(start.elapsed());
        }
        if start.elapsed() >= timeout {
            let _ = write_file(&dir.join("cgroup.freeze"), "0");
            return Err(CgroupError::NotFrozen {
                path: events.display().to_string(),
                state: text.trim().replace('\n', ", "),
                waited_ms: start.elapsed().as_millis(),
            });
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Step `thaw_cgroup` on v2: `0` into `cgroup.freeze`.
pub fn thaw(dir: &Path) -> Result<(), CgroupError> {
    write_file(&dir.join("cgroup.freeze"), "0")
}

/// Whether the group is frozen now (`frozen 1` in `cgroup.events`).
pub fn is_frozen(dir: &Path) -> Result<bool, CgroupError> {
    Ok(frozen_in(&read_file(&dir.join("cgroup.events"))?) == Some(true))
}

/// Pure: the `frozen` key of a `cgroup.events` text (`populated 1\nfrozen 0\n`).
pub fn frozen_in(events: &str) -> Option<bool> {
    events.lines().find_map(|l| match l.split_once(' ') {
        Some(("frozen", v)) => Some(v.trim() == "1"),
        _ => None,
    })
}

fn write_file(path: &Path, value: &str) -> Result<(), CgroupError> {
    std::fs::write(path, value).map_err(|source| CgroupError::Write {
        path: path.display().to_string(),
        value: value.to_string(),
        hint: super::hint_for(&source),
        source,
    })
}

fn read_file(path: &Path) -> Result<String, CgroupError> {
    std::fs::read_to_string(path).map_err(|source| CgroupError::Read {
        path: path.display().to_string(),
        source,
    })
}
