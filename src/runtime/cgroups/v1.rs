//! cgroup v1: one hierarchy per controller, each mounted on its own.
//!
//! The same container has a directory in every hierarchy it is limited by:
//! `/sys/fs/cgroup/memory/glassbox/…`, `/sys/fs/cgroup/pids/glassbox/…`, and the
//! process must be written into each one (`tasks` or `cgroup.procs`, see
//! [`super::Cgroup::join_files`]). Names differ from v2:
//! `memory.limit_in_bytes`, `cpu.cfs_quota_us` with `cpu.cfs_period_us`,
//! `pids.max`; OOM kills show in `memory.oom_control` (`oom_kill N`, Linux 4.13+);
//! device rules go to `devices.deny`/`devices.allow` (see [`super::devices`]).

use super::{CgroupError, write_control};
use crate::inspect::ReadError;
use crate::inspect::cgroup::CgroupUsage;
use crate::runtime::spec::Resources;
use crate::runtime::trace::Trace;
use std::path::PathBuf;

/// Where each controller's hierarchy is mounted (cpu and cpuacct are often one).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mounts {
    pub memory: Option<PathBuf>,
    pub cpu: Option<PathBuf>,
    pub cpuacct: Option<PathBuf>,
    pub pids: Option<PathBuf>,
    /// The devices controller: which device nodes the group may open.
    pub devices: Option<PathBuf>,
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
