//! cgroup v1: one hierarchy per controller, each mounted on its own.
//!
//! The same container has a directory in every hierarchy it is limited by:
//! `/sys/fs/cgroup/memory/glassbox/…`, `/sys/fs/cgroup/pids/glassbox/…`, and the
//! process must be written into each one (`tasks` or `cgroup.procs`, see
//! [`super::Cgroup::join_files`]). Names differ from v2:
//! `memory.limit_in_bytes`, `cpu.cfs_quota_us` with `cpu.cfs_period_us`,
//! `pids.max`; OOM kills show in `memory.oom_control` (`oom_kill N`, Linux 4.13+);
//! device rules go to `devices.deny`/`devices.allow` (see [`super::devices`]).
//! v1 freezes a group only through a controller of its own, `freezer`
//! (`freezer.state`): a container joins that hierarchy too, limits or not, so
//! that commit and export can stop it ([`freeze`]).

use super::{CgroupError, hint_for, write_control};
use crate::inspect::ReadError;
use crate::inspect::cgroup::CgroupUsage;
use crate::runtime::spec::Resources;
use crate::runtime::trace::Trace;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where each controller's hierarchy is mounted (cpu and cpuacct are often one).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mounts {
    pub memory: Option<PathBuf>,
    pub cpu: Option<PathBuf>,
    pub cpuacct: Option<PathBuf>,
    pub pids: Option<PathBuf>,
    /// The devices controller: which device nodes the group may open.
    pub devices: Option<PathBuf>,
    /// The freezer controller: stops every task of the group (commit, export).
    pub freezer: Option<PathBuf>,
}

impl Mounts {
    /// Each hierarchy once, in a fixed order.
    pub fn distinct(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        for p in [
            &self.memory,
            &self.cpu,
            &self.cpuacct,
            &self.pids,
            &self.devices,
            &self.freezer,
        ]
        .into_iter()
        .flatten()
        {
            if !out.contains(p) {
                out.push(p.clone());
            }
        }
        out
    }

    fn need(&self, mount: &Option<PathBuf>, controller: &str) -> Result<PathBuf, CgroupError> {
        mount.clone().ok_or_else(|| CgroupError::MissingController {
            controller: controller.to_string(),
            where_: "no cgroup v1 hierarchy with it is mounted".to_string(),
        })
    }
}

/// Writes the limits of `resources` into the group's control files.
pub fn apply(
    mounts: &Mounts,
    rel: &str,
    resources: &Resources,
    trace: &mut Trace,
) -> Result<(), CgroupError> {
    if let Some(mem) = &resources.memory
        && let Some(limit) = mem.limit
    {
        let dir = mounts.need(&mounts.memory, "memory")?.join(rel);
        write_control(&dir, "memory.limit_in_bytes", &limit.to_string(), trace)?;
        // memsw exists only where swap accounting is on; it is memory+swap, as OCI's `swap`.
        if let Some(swap) = mem.swap
            && dir.join("memory.memsw.limit_in_bytes").exists()
        {
            write_control(
                &dir,
                "memory.memsw.limit_in_bytes",
                &swap.to_string(),
                trace,
            )?;
        }
    }
    if let Some(cpu) = &resources.cpu
        && let Some(quota) = cpu.quota
    {
        let dir = mounts.need(&mounts.cpu, "cpu")?.join(rel);
        let period = cpu.period.unwrap_or(100_000);
        write_control(&dir, "cpu.cfs_period_us", &period.to_string(), trace)?;
        let quota = if quota > 0 { quota } else { -1 };
        write_control(&dir, "cpu.cfs_quota_us", &quota.to_string(), trace)?;
    }
    if let Some(pids) = &resources.pids {
        let dir = mounts.need(&mounts.pids, "pids")?.join(rel);
        let value = if pids.limit > 0 {
            pids.limit.to_string()
        } else {
            "max".to_string()
        };
        write_control(&dir, "pids.max", &value, trace)?;
    }
    if !resources.devices.is_empty() {
        let dir = mounts.need(&mounts.devices, "devices")?.join(rel);
        super::devices::apply_v1(&dir, &resources.devices, trace)?;
    }
    Ok(())
}

/// Reads the group's counters from each hierarchy.
pub fn usage(mounts: &Mounts, rel: &str) -> Result<CgroupUsage, ReadError> {
    let dirs = crate::inspect::cgroup::V1Dirs {
        memory: mounts.memory.as_ref().map(|m| m.join(rel)),
        cpu: mounts.cpu.as_ref().map(|m| m.join(rel)),
        cpuacct: mounts.cpuacct.as_ref().map(|m| m.join(rel)),
        pids: mounts.pids.as_ref().map(|m| m.join(rel)),
    };
    crate::inspect::cgroup::read_v1(&dirs)
}

/// How many writes of `FROZEN` a freeze tries before it thaws the group
/// and begins again (about every 50 ms), and how long it leaves it thawed.
const RETHAW_EVERY: u32 = 50;
const RETHAW_PAUSE: Duration = Duration::from_millis(10);

/// Step `freeze_cgroup` on v1: the `freezer` controller. Writing `FROZEN`
/// to `freezer.state` starts the freeze; the file reads `FREEZING` until
/// every task of the group has stopped, then `FROZEN`. A task forked while
/// the group was freezing can be missed: writing `FROZEN` again picks it up
/// (runc does the same). A group can also stay `FREEZING` however often
/// `FROZEN` is written (seen on a busy machine with a task looping in
/// system calls): every `RETHAW_EVERY` tries the group is thawed for
/// `RETHAW_PAUSE` and the freeze begins again, as runc's freezer does.
/// After `timeout` the group is thawed again and the error says what the
/// file still read. Returns how long it took.
pub fn freeze(dir: &Path, timeout: Duration) -> Result<Duration, CgroupError> {
    let start = Instant::now();
    let path = dir.join("freezer.state");
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        if attempt.is_multiple_of(RETHAW_EVERY) {
            write_state(&path, "THAWED")?;
            std::thread::sleep(RETHAW_PAUSE);
        }
        write_state(&path, "FROZEN")?;
        let state = read_state(&path)?;
        if state == "FROZEN" {
            return Ok(start.elapsed());
        }
        if start.elapsed() >= timeout {
            let _ = write_state(&path, "THAWED");
            return Err(CgroupError::NotFrozen {
                path: path.display().to_string(),
                state,
                waited_ms: start.elapsed().as_millis(),
            });
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Step `thaw_cgroup` on v1: `THAWED` into `freezer.state`, which takes
/// effect at once.
pub fn thaw(dir: &Path) -> Result<(), CgroupError> {
    write_state(&dir.join("freezer.state"), "THAWED")
}

/// Whether the group is frozen (`FROZEN` in `freezer.state`; a group still
/// `FREEZING` is not, yet).
pub fn is_frozen(dir: &Path) -> Result<bool, CgroupError> {
    Ok(read_state(&dir.join("freezer.state"))? == "FROZEN")
}

fn write_state(path: &Path, value: &str) -> Result<(), CgroupError> {
    std::fs::write(path, value).map_err(|source| CgroupError::Write {
        path: path.display().to_string(),
        value: value.to_string(),
        hint: hint_for(&source),
        source,
    })
}

fn read_state(path: &Path) -> Result<String, CgroupError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|source| CgroupError::Read {
            path: path.display().to_string(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freezer_state_is_written_and_read_back() {
        let dir = std::env::temp_dir().join(format!("glassbox-v1freezer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("freezer.state"), "THAWED\n").unwrap();
        assert!(!is_frozen(&dir).unwrap());
        // A plain file reads back what was written: FROZEN at once.
        freeze(&dir, Duration::from_millis(50)).unwrap();
        assert!(is_frozen(&dir).unwrap());
        thaw(&dir).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("freezer.state")).unwrap(),
            "THAWED"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_freezer_is_named() {
        let dir = std::env::temp_dir().join(format!("glassbox-v1nofreezer-{}", std::process::id()));
        let err = freeze(&dir, Duration::from_millis(10)).unwrap_err();
        assert!(err.to_string().contains("freezer.state"), "{err}");
    }
}
