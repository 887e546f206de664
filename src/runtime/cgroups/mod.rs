//! Control groups: how the kernel counts and limits what a group of processes uses.
//!
//! A cgroup is a directory in a special filesystem. Creating the directory makes
//! the group; writing a PID into its `cgroup.procs` moves that process in (and
//! every child it forks later is born inside); writing a number into a control
//! file (`memory.max`, `pids.max`, `cpu.max`) sets a limit the kernel enforces;
//! reading a file (`memory.current`, `memory.events`) reads the kernel's counters.
//!
//! Two versions exist. cgroup v2 (Ubuntu 22.04+, Debian 12, Fedora) is one tree
//! at /sys/fs/cgroup where each directory holds every controller's files. cgroup
//! v1 is one tree *per controller* (/sys/fs/cgroup/memory/…, /sys/fs/cgroup/pids/…)
//! with different file names (`memory.limit_in_bytes`). glassbox detects which one
//! the host runs and speaks both: [`v2`] and [`v1`].
//!
//! Every function takes the mount point as a path, so tests point it at a
//! directory of fake control files.

pub mod devices;
pub mod v1;
pub mod v2;

use super::journal::{Journal, Object};
use super::spec::Resources;
use super::trace::{Trace, now_ns};
use crate::inspect::ReadError;
use crate::inspect::cgroup::CgroupUsage;
use crate::inspect::mountinfo::{self, MountInfo};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::io;
use std::path::{Path, PathBuf};

/// The controllers glassbox uses.
pub const CONTROLLERS: [&str; 3] = ["memory", "cpu", "pids"];

/// Which cgroup version the host runs, and where it is mounted.
#[derive(Debug, Clone, PartialEq)]
pub enum Layout {
    /// One unified hierarchy (cgroup2) at `mount`.
    V2 { mount: PathBuf },
    /// One hierarchy per controller.
    V1(v1::Mounts),
}

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error(
        "no usable cgroup hierarchy found in /proc/self/mountinfo: mount cgroup2 at /sys/fs/cgroup (or the v1 memory, cpu and pids controllers)"
    )]
    NoHierarchy,
    #[error("cannot find the cgroup hierarchies in the mount table")]
    Mountinfo(#[source] ReadError),
    #[error("cannot create cgroup {path}: {source}")]
    Create { path: String, source: io::Error },
    #[error("failed to write {value} to {path}: {source}{hint}")]
    Write {
        path: String,
        value: String,
        source: io::Error,
        hint: &'static str,
    },
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: io::Error },
    #[error(
        "the {controller} cgroup controller is not available ({where_}); enable it on the host, then retry"
    )]
    MissingController { controller: String, where_: String },
    #[error("cannot remove cgroup {path}: {source}")]
    Remove { path: String, source: io::Error },
    #[error(
        "{path} still reads {state:?} after {waited_ms} ms: a process of the group did not stop (one in uninterruptible sleep, D in ps, holds a freeze up); the group was thawed again. Try again, or commit with --pause=false"
    )]
    NotFrozen {
        path: String,
        state: String,
        waited_ms: u128,
    },
}

/// How long a freeze may take before it is given up (and undone).
pub const FREEZE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Reads the host's layout: a pure v2 host by `statfs(/sys/fs/cgroup)`
/// alone (the filesystem there is cgroup2), any other from
/// /proc/self/mountinfo, which the kernel writes out line by line for
/// every mount (some 0.15 ms a read, on every start).
pub fn detect() -> Result<Layout, CgroupError> {
    const V2: &str = "/sys/fs/cgroup";
    if nix::sys::statfs::statfs(V2)
        .is_ok_and(|fs| fs.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
    {
        return Ok(Layout::V2 { mount: V2.into() });
    }
    let mounts = mountinfo::read_mountinfo_at(Path::new("/proc/self/mountinfo"))
        .map_err(CgroupError::Mountinfo)?;
    layout_of(&mounts).ok_or(CgroupError::NoHierarchy)
}

/// Pure: the layout a mountinfo text describes (`None` if it does not parse).
pub fn detect_in(text: &str) -> Option<Layout> {
    layout_of(&mountinfo::parse_mountinfo(text).ok()?)
}

/// The layout a mount table describes. cgroup2 mounted *at* /sys/fs/cgroup
/// means a pure v2 host; a cgroup2 mount elsewhere (the "hybrid"
/// /sys/fs/cgroup/unified) does not count, since the controllers live in v1 there.
pub fn layout_of(mounts: &[MountInfo]) -> Option<Layout> {
    let mut found = v1::Mounts::default();
    let mut found_v1 = false;
    for m in mounts {
        match m.fs_type.as_str() {
            "cgroup2" if m.mount_point == Path::new("/sys/fs/cgroup") => {
                return Some(Layout::V2 {
                    mount: m.mount_point.clone(),
                });
            }
            "cgroup" => {
                for opt in &m.super_options {
                    let slot = match opt.as_str() {
                        "memory" => &mut found.memory,
                        "cpu" => &mut found.cpu,
                        "cpuacct" => &mut found.cpuacct,
                        "pids" => &mut found.pids,
                        "devices" => &mut found.devices,
                        "freezer" => &mut found.freezer,
                        _ => continue,
                    };
                    *slot = Some(m.mount_point.clone());
                    found_v1 = true;
                }
            }
            _ => {}
        }
    }
    found_v1.then_some(Layout::V1(found))
}

impl Layout {
    /// The directories that make up the cgroup `rel` (`glassbox/default/ab12…`):
    /// one on v2, one per distinct controller hierarchy on v1.
    pub fn dirs(&self, rel: &str) -> Vec<PathBuf> {
        let rel = rel.trim_start_matches('/');
        match self {
            Layout::V2 { mount } => vec![mount.join(rel)],
            Layout::V1(m) => m.distinct().into_iter().map(|p| p.join(rel)).collect(),
        }
    }

    pub fn version(&self) -> u8 {
        match self {
            Layout::V2 { .. } => 2,
            Layout::V1(_) => 1,
        }
    }
}

/// Makes the parent cgroup(s) of `rel` (`glassbox`) and, on v2, lets
/// the controllers reach their children. Idempotent. The directories are written
/// to `journal` (the data root's own journal) before they are made.
pub fn prepare_parent(layout: &Layout, rel: &str, journal: &Journal) -> Result<(), CgroupError> {
    // The reaper of the last container in the shared parent, of this data
    // root or another, removes it (`remove_parent_if_empty`), at any step
    // here: between two mkdirs, or between a mkdir and the v2 control files.
    // Making it again is enough. Any number of reapers may end meanwhile,
    // so the bound is high: a group that cannot be made at all (its
    // hierarchy unmounted since `detect`) costs a hundred quick failures
    // (a read or a mkdir each, and on v1 a journal line) before the error.
    let mut attempt = 0;
    loop {
        let result = match layout {
            Layout::V2 { mount } => v2::prepare_parent(mount, rel, journal),
            Layout::V1(m) => m
                .distinct()
                .iter()
                .try_for_each(|mount| make_dirs(mount, rel, journal)),
        };
        match result {
            Err(e) if e.is_removed_meanwhile() && attempt < 100 => attempt += 1,
            other => return other,
        }
    }
}

impl CgroupError {
    /// Whether the error is what a group removed under us gives: a mkdir
    /// below it or an open of its files finds nothing (ENOENT); a read or
    /// write of a file opened just before finds the group offline (ENODEV).
    fn is_removed_meanwhile(&self) -> bool {
        match self {
            CgroupError::Create { source, .. }
            | CgroupError::Read { source, .. }
            | CgroupError::Write { source, .. } => {
                matches!(source.raw_os_error(), Some(libc::ENOENT | libc::ENODEV))
            }
            _ => false,
        }
    }
}

/// `mkdir -p` below a hierarchy's mount, journalling each level.
fn make_dirs(mount: &Path, rel: &str, journal: &Journal) -> Result<(), CgroupError> {
    let mut dir = mount.to_path_buf();
    for part in rel.trim_matches('/').split('/').filter(|p| !p.is_empty()) {
        dir.push(part);
        make_dir(&dir, journal)?;
    }
    Ok(())
}

fn make_dir(dir: &Path, journal: &Journal) -> Result<(), CgroupError> {
    if dir.is_dir() {
        return Ok(());
    }
    let err = |source| CgroupError::Create {
        path: dir.display().to_string(),
        source,
    };
    journal
        .record(&Object::Cgroup(dir.to_path_buf()))
        .map_err(err)?;
    match std::fs::create_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(err(e)),
    }
}

/// Writes one value to one control file, with the trace line that shows it.
pub(crate) fn write_control(
    dir: &Path,
    file: &str,
    value: &str,
    trace: &mut Trace,
) -> Result<(), CgroupError> {
    let t = now_ns();
    let path = dir.join(file);
    std::fs::write(&path, value).map_err(|source| CgroupError::Write {
        path: path.display().to_string(),
        value: value.to_string(),
        hint: hint_for(&source),
        source,
    })?;
    trace.step(
        "runtime",
        t,
        "write_cgroup_file",
        format!("write {value:?} to {}", path.display()),
    );
    Ok(())
}

pub(crate) fn hint_for(e: &io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(libc::ENOENT) => " (the controller is not enabled for this cgroup)",
        Some(libc::EACCES) | Some(libc::EPERM) => " (glassbox must run as root)",
        Some(libc::EBUSY) => {
            " (the limit is below what the group already uses, or the cgroup is busy)"
        }
        Some(libc::EINVAL) => " (the kernel refused the value)",
        _ => "",
    }
}

/// One container's cgroup.
#[derive(Debug, Clone)]
pub struct Cgroup {
    /// Path below the mount point(s), e.g. `glassbox/e02d6e71-3f2a9c01b7de`.
    pub rel: String,
    pub layout: Layout,
}

impl Cgroup {
    pub fn new(layout: &Layout, rel: &str) -> Cgroup {
        Cgroup {
            rel: rel.trim_start_matches('/').to_string(),
            layout: layout.clone(),
        }
    }

    /// The directories of this cgroup (one on v2).
    pub fn dirs(&self) -> Vec<PathBuf> {
        self.layout.dirs(&self.rel)
    }

    /// Step `create_cgroup`: mkdir the group (the parent must exist) and write
    /// the limits into its control files.
    pub fn create(
        &self,
        resources: &Resources,
        journal: &Journal,
        trace: &mut Trace,
    ) -> Result<(), CgroupError> {
        let t = now_ns();
        let parent = self.rel.rsplit_once('/').map_or("", |(p, _)| p);
        for dir in self.dirs() {
            journal
                .record(&Object::Cgroup(dir.clone()))
                .map_err(|source| CgroupError::Create {
                    path: dir.display().to_string(),
                    source,
                })?;
            // The last container of another run of this data root may remove
            // the empty parent in between (see `remove_parent_if_empty`):
            // make it again and retry.
            let mut attempt = 0;
            loop {
                match std::fs::create_dir(&dir) {
                    Ok(()) => break,
                    Err(e) if e.kind() == io::ErrorKind::NotFound && attempt < 5 => {
                        attempt += 1;
                        prepare_parent(&self.layout, parent, journal)?;
                    }
                    Err(source) => {
                        return Err(CgroupError::Create {
                            path: dir.display().to_string(),
                            source,
                        });
                    }
                }
            }
        }
        // On v2 the parent may have been removed and made again by another
        // start between our `prepare_parent` and the mkdir above, and the new
        // one hands no controllers down until that start enables them. Now
        // that our group is in it, the parent cannot go: enable them here
        // (nothing is written where they are on already).
        if let Layout::V2 { mount } = &self.layout {
            v2::enable_controllers(&mount.join(parent))?;
        }
        trace.step(
            "runtime",
            t,
            "create_cgroup",
            format!(
                "mkdir {}",
                self.dirs()
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        match &self.layout {
            Layout::V2 { mount } => v2::apply(mount, &self.rel, resources, trace),
            Layout::V1(m) => v1::apply(m, &self.rel, resources, trace),
        }
    }

    /// The files a new, single-threaded process writes "0" into to join this
    /// group ("0" means "me", whatever my PID is in my own PID namespace).
    ///
    /// On v1 that is `tasks`, which moves one thread, not `cgroup.procs`,
    /// which moves a whole thread group. Moving a thread group takes a
    /// kernel-wide lock (`cgroup_threadgroup_rwsem`) whose writer waits for an
    /// RCU grace period, 5-15 ms on an idle machine; moving only the calling
    /// thread does not need it (Linux 6.0+; older kernels take it anyway), and
    /// a process just made by clone has one thread. On v2 the process is born
    /// in its group (`CLONE_INTO_CGROUP`); where it must join, `cgroup.procs`.
    ///
    /// A container started before glassbox joined the v1 freezer hierarchy
    /// has no group there: an `exec` into it joins the others.
    pub fn join_files(&self) -> Vec<PathBuf> {
        let freezer = match &self.layout {
            Layout::V1(m) => m.freezer.as_ref().map(|f| f.join(&self.rel)),
            Layout::V2 { .. } => None,
        };
        self.join_files_when_made()
            .into_iter()
            .filter(|f| {
                let dir = f.parent();
                dir != freezer.as_deref() || dir.is_some_and(Path::is_dir)
            })
            .collect()
    }

    /// [`Cgroup::join_files`] of a group not made yet: every hierarchy's
    /// (a start on v1 names them before the runtime makes the group).
    pub fn join_files_when_made(&self) -> Vec<PathBuf> {
        let file = match self.layout {
            Layout::V1(_) => "tasks",
            Layout::V2 { .. } => "cgroup.procs",
        };
        self.dirs().into_iter().map(|d| d.join(file)).collect()
    }

    /// The `cgroup.procs` files: the processes of the group, one per line.
    pub fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs()
            .into_iter()
            .map(|d| d.join("cgroup.procs"))
            .collect()
    }

    /// The directory whose files freeze this group: the group itself on v2
    /// (`cgroup.freeze` is in every group), its directory in the `freezer`
    /// hierarchy on v1. A v1 container started before glassbox joined the
    /// freezer hierarchy has none.
    fn freezer_dir(&self) -> Result<PathBuf, CgroupError> {
        match &self.layout {
            Layout::V2 { mount } => Ok(mount.join(&self.rel)),
            Layout::V1(m) => {
                let mount = m
                    .freezer
                    .as_ref()
                    .ok_or_else(|| CgroupError::MissingController {
                        controller: "freezer".into(),
                        where_: "no cgroup v1 hierarchy with it is mounted".into(),
                    })?;
                let dir = mount.join(&self.rel);
                if !dir.is_dir() {
                    return Err(CgroupError::MissingController {
                        controller: "freezer".into(),
                        where_: format!(
                            "{} does not exist: the container was started by a glassbox that did not join the freezer hierarchy; restart it",
                            dir.display()
                        ),
                    });
                }
                Ok(dir)
            }
        }
    }

    /// Step `freeze_cgroup`: stops every process of the group where it
    /// stands, and returns once the kernel says all have stopped (v1: the
    /// freezer controller's `freezer.state`; v2: `cgroup.freeze`, and
    /// `frozen 1` in `cgroup.events`). A frozen process cannot run, so it
    /// cannot change its files either: commit and export read a still tree.
    /// `pause` is this step.
    pub fn freeze(&self, trace: &mut Trace) -> Result<(), CgroupError> {
        let t = now_ns();
        let dir = self.freezer_dir()?;
        let (took, detail) = match &self.layout {
            Layout::V2 { .. } => (
                v2::freeze(&dir, FREEZE_TIMEOUT)?,
                format!(
                    "write 1 to {}/cgroup.freeze; wait for frozen 1 in cgroup.events",
                    dir.display()
                ),
            ),
            Layout::V1(_) => (
                v1::freeze(&dir, FREEZE_TIMEOUT)?,
                format!(
                    "write FROZEN to {}/freezer.state; wait until it reads FROZEN",
                    dir.display()
                ),
            ),
        };
        trace.step(
            "runtime",
            t,
            "freeze_cgroup",
            format!("{detail} ({} µs)", took.as_micros()),
        );
        Ok(())
    }

    /// Step `thaw_cgroup`: lets the group's processes run again (`unpause`).
    pub fn thaw(&self, trace: &mut Trace) -> Result<(), CgroupError> {
        let t = now_ns();
        let dir = self.freezer_dir()?;
        let detail = match &self.layout {
            Layout::V2 { .. } => {
                v2::thaw(&dir)?;
                format!("write 0 to {}/cgroup.freeze", dir.display())
            }
            Layout::V1(_) => {
                v1::thaw(&dir)?;
                format!("write THAWED to {}/freezer.state", dir.display())
            }
        };
        trace.step("runtime", t, "thaw_cgroup", detail);
        Ok(())
    }

    /// Whether the group is frozen now.
    pub fn is_frozen(&self) -> Result<bool, CgroupError> {
        let dir = self.freezer_dir()?;
        match &self.layout {
            Layout::V2 { .. } => v2::is_frozen(&dir),
            Layout::V1(_) => v1::is_frozen(&dir),
        }
    }

    /// What the kernel counts for this group right now.
    pub fn usage(&self) -> Result<CgroupUsage, crate::inspect::ReadError> {
        match &self.layout {
            Layout::V2 { mount } => v2::usage(&mount.join(&self.rel)),
            Layout::V1(m) => v1::usage(m, &self.rel),
        }
    }

    /// How many times the kernel's OOM killer has killed a process of the group
    /// (v2: `oom_kill` in memory.events; v1: `oom_kill` in memory.oom_control).
    pub fn oom_kills(&self) -> u64 {
        use crate::inspect::cgroup::{parse_memory_events, parse_oom_control};
        match &self.layout {
            Layout::V2 { mount } => {
                crate::inspect::read_text(&mount.join(&self.rel).join("memory.events"))
                    .ok()
                    .and_then(|t| parse_memory_events(&t).ok())
                    .map_or(0, |e| e.oom_kill)
            }
            Layout::V1(m) => m
                .memory
                .as_ref()
                .and_then(|mem| {
                    crate::inspect::read_text(&mem.join(&self.rel).join("memory.oom_control")).ok()
                })
                .and_then(|t| parse_oom_control(&t).ok())
                .map_or(0, |o| o.oom_kill),
        }
    }

    /// PIDs (host view) of the processes in the group.
    pub fn pids(&self) -> Vec<i32> {
        let mut pids: Vec<i32> = Vec::new();
        for f in self.procs_files() {
            if let Ok(text) = std::fs::read_to_string(f) {
                for p in text.lines().filter_map(|l| l.trim().parse().ok()) {
                    if !pids.contains(&p) {
                        pids.push(p);
                    }
                }
            }
        }
        pids
    }

    /// Step `remove_cgroup`: kills what is left inside and removes the directories.
    pub fn remove(&self, trace: &mut Trace) -> Result<(), CgroupError> {
        let t = now_ns();
        for dir in self.dirs() {
            remove_dir(&dir)?;
        }
        trace.step("runtime", t, "remove_cgroup", format!("rmdir {}", self.rel));
        Ok(())
    }
}

/// Removes the groups of `rel` (`glassbox`; an earlier glassbox's
/// `glassbox/<key>`, then `glassbox`) where they are empty, deepest first, so a host where no container runs
/// keeps no cgroup of glassbox's. A group with children, or processes, stays
/// (rmdir refuses it; nothing is killed here). A start that loses the race
/// makes the parent again (`Cgroup::create`).
pub fn remove_parent_if_empty(layout: &Layout, rel: &str) {
    let mounts: Vec<PathBuf> = match layout {
        Layout::V2 { mount } => vec![mount.clone()],
        Layout::V1(m) => m.distinct(),
    };
    let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
    for mount in mounts {
        for depth in (1..=parts.len()).rev() {
            let dir = mount.join(parts[..depth].join("/"));
            if std::fs::remove_dir(&dir).is_err() {
                break;
            }
        }
    }
}

fn has_child_groups(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_type().is_ok_and(|t| t.is_dir()))
    })
}

/// Kills every process in one cgroup directory and removes it; gone already
/// is fine. A group that still has child groups is left alone (an error): it
/// may be shared with another data root.
pub fn remove_dir(dir: &Path) -> Result<(), CgroupError> {
    let kill_file = dir.join("cgroup.kill");
    let mut last_err = None;
    for attempt in 0..400 {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => last_err = Some(e),
        }
        if has_child_groups(dir) {
            let children: Vec<String> = std::fs::read_dir(dir)
                .map(|d| {
                    d.flatten()
                        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            last_err = Some(io::Error::other(format!(
                "it holds child groups glassbox did not make ({}): remove them first",
                children.join(", ")
            )));
            break;
        }
        // Still populated: kill what is inside. cgroup.kill (v2, Linux 5.14+)
        // kills the whole group at once; otherwise signal each PID. A v1
        // frozen task does not die until thawed: thaw first (a commit that
        // was killed mid-way can leave a group frozen).
        if attempt % 20 == 0 {
            let freezer = dir.join("freezer.state");
            if freezer.exists() {
                let _ = std::fs::write(&freezer, "THAWED");
            }
            if kill_file.exists() {
                let _ = std::fs::write(&kill_file, "1");
            } else if let Ok(text) = std::fs::read_to_string(dir.join("cgroup.procs")) {
                for pid in text.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                }
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    Err(CgroupError::Remove {
        path: dir.display().to_string(),
        source: last_err.unwrap_or_else(|| io::Error::other("still busy")),
    })
}

/// Removes a group and every group below it, deepest first.
pub fn remove_tree(dir: &Path) -> Result<(), CgroupError> {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&e.path())?;
            }
        }
    }
    remove_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parent goes only when no group is left in it; an earlier
    /// glassbox's two levels go deepest first. (Plain directories stand in
    /// for a hierarchy: rmdir refuses a non-empty one, as cgroupfs refuses
    /// a group with children.)
    #[test]
    fn parents_are_removed_only_when_empty() {
        let mount = std::env::temp_dir().join(format!("glassbox-parents-{}", std::process::id()));
        let layout = Layout::V2 {
            mount: mount.clone(),
        };
        let container = mount.join("glassbox/e02d6e71-3f2a9c01b7de");
        std::fs::create_dir_all(&container).unwrap();
        remove_parent_if_empty(&layout, "glassbox");
        assert!(container.is_dir(), "a parent with a container was removed");
        std::fs::remove_dir(&container).unwrap();
        remove_parent_if_empty(&layout, "glassbox");
        assert!(!mount.join("glassbox").exists());
        std::fs::create_dir_all(mount.join("glassbox/e02d6e71")).unwrap();
        remove_parent_if_empty(&layout, "glassbox/e02d6e71");
        assert!(!mount.join("glassbox").exists());
        std::fs::remove_dir(&mount).unwrap();
    }

    /// On v2 a parent made again by another start (its subtree_control
    /// empty) still hands the controllers down to the group made in it.
    /// (Plain files stand in for cgroupfs's control files.)
    #[test]
    fn a_new_group_gets_its_controllers_from_a_remade_parent() {
        let mount = std::env::temp_dir().join(format!("glassbox-remade-{}", std::process::id()));
        let parent = mount.join("glassbox");
        std::fs::create_dir_all(&parent).unwrap();
        std::fs::write(
            parent.join("cgroup.controllers"),
            "cpuset cpu io memory pids\n",
        )
        .unwrap();
        std::fs::write(parent.join("cgroup.subtree_control"), "\n").unwrap();
        let journal = Journal::open(&mount.join("journal")).unwrap();
        let layout = Layout::V2 {
            mount: mount.clone(),
        };
        let group = Cgroup::new(&layout, "glassbox/e02d6e71-3f2a9c01b7de");
        group
            .create(&Resources::default(), &journal, &mut Trace::default())
            .unwrap();
        let enabled = std::fs::read_to_string(parent.join("cgroup.subtree_control")).unwrap();
        let mut enabled: Vec<&str> = enabled.split_whitespace().collect();
        enabled.sort();
        assert_eq!(enabled, ["+cpu", "+memory", "+pids"]);
        std::fs::remove_dir_all(&mount).unwrap();
    }

    /// The statfs shortcut and the mount table agree on this host (v1 here,
    /// pure v2 in the cgroup v2 lane).
    #[test]
    fn detect_agrees_with_the_mount_table() {
        let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        if let Some(expected) = detect_in(&text) {
            assert_eq!(detect().unwrap(), expected);
        }
    }

    #[test]
    fn detects_pure_v2() {
        let mi = "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";
        assert_eq!(
            detect_in(mi),
            Some(Layout::V2 {
                mount: "/sys/fs/cgroup".into()
            })
        );
    }

    #[test]
    fn detects_hybrid_as_v1() {
        let mi = "\
30 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw
34 30 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct
35 30 0:31 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,memory
36 30 0:32 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,pids
";
        let Some(Layout::V1(m)) = detect_in(mi) else {
            panic!("expected v1");
        };
        assert_eq!(
            m.memory.as_deref(),
            Some(Path::new("/sys/fs/cgroup/memory"))
        );
        assert_eq!(
            m.cpu.as_deref(),
            Some(Path::new("/sys/fs/cgroup/cpu,cpuacct"))
        );
        assert_eq!(m.cpuacct, m.cpu);
        assert_eq!(m.distinct().len(), 3);
    }

    #[test]
    fn a_new_process_joins_v1_by_tasks_and_v2_by_cgroup_procs() {
        let v1 = Layout::V1(v1::Mounts {
            memory: Some("/sys/fs/cgroup/memory".into()),
            pids: Some("/sys/fs/cgroup/pids".into()),
            ..Default::default()
        });
        let c = Cgroup::new(&v1, "/glassbox/k/c1");
        assert_eq!(
            c.join_files(),
            [
                PathBuf::from("/sys/fs/cgroup/memory/glassbox/k/c1/tasks"),
                PathBuf::from("/sys/fs/cgroup/pids/glassbox/k/c1/tasks"),
            ]
        );
        // Listing the processes still reads cgroup.procs.
        assert!(c.procs_files().iter().all(|f| f.ends_with("cgroup.procs")));
        let v2 = Layout::V2 {
            mount: "/sys/fs/cgroup".into(),
        };
        assert_eq!(
            Cgroup::new(&v2, "glassbox/k/c1").join_files(),
            [PathBuf::from("/sys/fs/cgroup/glassbox/k/c1/cgroup.procs")]
        );
    }

    #[test]
    fn no_cgroups_at_all() {
        assert_eq!(detect_in("22 1 0:21 / /proc rw - proc proc rw\n"), None);
    }
}
