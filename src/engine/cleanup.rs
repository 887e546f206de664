//! `glassbox cleanup`: remove everything glassbox made, whatever state it is in.
//!
//! It replays the journals backwards — each container's, then the data root's
//! own — and undoes every object: processes in a cgroup are killed and the
//! cgroup removed, mounts are detached, directories deleted. Each undo treats
//! "already gone" as success, so cleanup is idempotent and is exactly what a
//! crashed or killed run needs. Images are kept: they are data, not kernel objects.

use super::container::{self, Paths};
use super::{CGROUP_PARENT, DataRoot, overlay};
use crate::runtime::cgroups;
use crate::runtime::journal::{Journal, Object};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::path::Path;

/// Undoes one object. Already gone is success.
pub fn undo(object: &Object) -> anyhow::Result<()> {
    match object {
        Object::Mount(path) => overlay::unmount_all(path)
            .map_err(|e| anyhow::anyhow!("unmounting {}: {e}", path.display())),
        Object::Cgroup(path) => {
            // Shared parents (`glassbox/`) may still hold another root's groups:
            // those are left, and removed by whoever empties them last.
            match cgroups::remove_dir(path) {
                Ok(()) => Ok(()),
                Err(_) if path.is_dir() && has_subdirs(path) => Ok(()),
                Err(e) => Err(e.into()),
            }
        }
        Object::Dir(path) => match std::fs::remove_dir_all(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(anyhow::anyhow!("removing {}: {e}", path.display()))
            }
            _ => Ok(()),
        },
        // Links, namespaces, leases, NAT rules, the shared bridge.
        other => super::network::undo(other),
    }
}

fn has_subdirs(path: &Path) -> bool {
    std::fs::read_dir(path).is_ok_and(|d| d.flatten().any(|e| e.path().is_dir()))
}

/// Undoes a journal's objects, newest first. Returns the errors, if any.
pub fn undo_journal(path: &Path) -> Vec<String> {
    let mut errors = Vec::new();
    match Journal::objects(path) {
        Ok(objects) => {
            for o in objects.iter().rev() {
                if let Err(e) = undo(o) {
                    errors.push(format!("{e:#}"));
                }
            }
        }
        Err(e) => errors.push(format!("reading {}: {e}", path.display())),
    }
    errors
}

/// SIGKILL a recorded process, if it is still the one we started.
fn kill_if_ours(pid: i32, start: u64) {
    if container::process_alive(pid, start) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

/// What cleanup removed.
#[derive(Debug, Default)]
pub struct Report {
    pub containers: usize,
    pub errors: Vec<String>,
}

/// `glassbox cleanup` for one data root.
pub fn cleanup(root: &DataRoot) -> anyhow::Result<Report> {
    super::require_root("glassbox cleanup")?;
    let mut report = Report::default();
    let ids: Vec<String> = std::fs::read_dir(root.containers())
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    for id in &ids {
        let paths = Paths::new(root, id);
        if let Ok(bytes) = std::fs::read(paths.state())
            && let Ok(r) = serde_json::from_slice::<container::Record>(&bytes)
        {
            // The monitor first, so it does not race us in tearing down.
            kill_if_ours(r.state.monitor_pid, r.state.monitor_start);
            kill_if_ours(r.state.pid, r.state.pid_start);
            container::release_name(root, &r.name, id);
        }
        report.errors.extend(undo_journal(&paths.journal()));
        if let Err(e) = std::fs::remove_dir_all(&paths.dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            report
                .errors
                .push(format!("removing {}: {e}", paths.dir.display()));
        }
        report.containers += 1;
    }
    // Mounts under the data root that no journal knew (belt and braces).
    let mounts = crate::inspect::mountinfo::read_mountinfo_at(Path::new("/proc/self/mountinfo"))
        .unwrap_or_default();
    for m in mounts.iter().rev() {
        if m.mount_point.starts_with(&root.path) && m.mount_point != root.path {
            let _ = overlay::unmount_all(&m.mount_point);
        }
    }
    // `--rm` containers whose teardown was left to a child that did not
    // finish (engine::run::finish): what their journals hold (their mounts
    // went with the sweep above; the files go with trash/ below).
    if let Ok(entries) = std::fs::read_dir(root.path.join("trash")) {
        for e in entries.flatten() {
            report
                .errors
                .extend(undo_journal(&e.path().join("journal")));
        }
    }
    // This root's cgroup subtree in *every* hierarchy (another runtime, such as
    // runc running one of our bundles, makes groups in all of them), then the
    // shared parent wherever it is now empty.
    let hierarchies: Vec<_> = mounts
        .iter()
        .filter(|m| m.fs_type == "cgroup" || m.fs_type == "cgroup2")
        .map(|m| m.mount_point.clone())
        .collect();
    for h in &hierarchies {
        if let Err(e) = cgroups::remove_tree(&h.join(root.cgroup_parent())) {
            report.errors.push(format!("{e:#}"));
        }
    }
    report.errors.extend(undo_journal(&root.journal_path()));
    for h in &hierarchies {
        let dir = h.join(CGROUP_PARENT);
        if dir.is_dir() && !has_subdirs(&dir) {
            let _ = cgroups::remove_dir(&dir);
        }
    }
    let _ = std::fs::remove_file(root.journal_path());
    let _ = std::fs::remove_dir_all(root.path.join("trash"));
    // Names whose container is gone.
    if let Ok(entries) = std::fs::read_dir(root.names()) {
        for e in entries.flatten() {
            if let Ok(target) = std::fs::read_link(e.path())
                && !root.containers().join(&target).exists()
            {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Ok(report)
}
