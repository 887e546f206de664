//! Undoing what the journals name, and `glassbox cleanup`: remove everything
//! glassbox made, whatever state it is in.
//!
//! A journal is replayed backwards — each container's, then the data root's
//! own — and every object undone: processes in a cgroup are killed and the
//! cgroup removed, mounts are detached, leases and rules removed. Each undo
//! treats "already gone" as success, so cleanup is idempotent and is exactly
//! what a crashed or killed run needs. Images are kept: they are data, not
//! kernel objects.
//!
//! ## Only the owner undoes
//!
//! A journal line is a claim: "this container made that object". Before
//! anything is undone, the claim is checked against the journal's [`Owner`]:
//!
//! - paths (mounts, directories, the network namespace file, layers) must lie
//!   inside the container's directory, or inside the data root for the
//!   root's own journal; a path cut short by a crash could otherwise name the
//!   file system holding the whole data root;
//! - a cgroup must be the container's own `glassbox/<key>-<id>` in a mounted
//!   hierarchy (`glassbox/<key>/<id>` where an earlier glassbox made it), or
//!   the parent `glassbox` (or the earlier `glassbox/<key>`; parents are only
//!   removed when empty, never killed: another container may be inside);
//! - a veth must be the one named after the container, an iptables rule must
//!   be in a GLASSBOX chain and carry the container's comment
//!   (`glassbox NAME ID`);
//! - a lease is removed only if the lease file still names this container:
//!   after a reboot (which empties /run) a new container may hold the same
//!   address or port, and releasing its lease would give one address to two.
//!
//! A line that fails the check is refused and reported, never acted on. An
//! undo that fails leaves the container in place ([`Undone::left`]), so that
//! `rm` and `cleanup` can say what is left and exit non-zero.

use super::container::{self, Paths};
use super::{CGROUP_PARENT, DataRoot, overlay};
use crate::runtime::cgroups;
use crate::runtime::journal::{Journal, Object};
use crate::runtime::network::ipam::{self, Holder, Released};
use crate::runtime::network::{BRIDGE, STATE_DIR, nat, veth};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::path::{Component, Path, PathBuf};

/// This data root's groups below `glassbox` in the hierarchy mounted at `h`:
/// `<key>-<id>` of each container, and `<key>` (the earlier layout).
fn root_cgroups(root: &DataRoot, h: &Path) -> Vec<PathBuf> {
    let parent = h.join(root.cgroup_parent());
    let prefix = root.cgroup_prefix();
    let Ok(entries) = std::fs::read_dir(&parent) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with(&prefix) || *name == *root.key
        })
        .map(|e| e.path())
        .collect()
}

/// Whose journal is replayed: a container's, or the data root's own.
#[derive(Debug, Clone)]
pub struct Owner {
    root: PathBuf,
    key: String,
    /// The container's full ID; `None` for the root's journal.
    container: Option<String>,
    /// Where the journal's paths must lie: the container's directory, or the root.
    dir: PathBuf,
    /// The mounted cgroup hierarchies (from /proc/self/mountinfo), read
    /// when a journal first names a cgroup: a start makes an owner for a
    /// journal it replays only if one is there.
    hierarchies: std::cell::OnceCell<Vec<PathBuf>>,
}

/// How a cgroup named in a journal relates to its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CgroupRole {
    /// `glassbox` (or an earlier glassbox's `glassbox/<key>`): removed only
    /// when empty.
    Parent,
    /// The container's own group: its processes are killed, then it is removed.
    Own,
}

/// What undoing one object came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Removed, or already gone.
    Done,
    /// It is someone else's now: left to them.
    NotOurs(String),
}

/// What a replay did.
#[derive(Debug, Default, Clone)]
pub struct Undone {
    /// Lines not acted on: incomplete, damaged, or naming what is not the owner's.
    pub refused: Vec<String>,
    /// Objects that belong to someone else now, left alone.
    pub not_ours: Vec<String>,
    /// Objects whose undo failed: still there.
    pub left: Vec<String>,
}

impl Undone {
    /// True when nothing the owner made is left.
    pub fn complete(&self) -> bool {
        self.left.is_empty()
    }

    /// Everything worth a warning: refused lines and objects left to others.
    pub fn warnings(&self) -> Vec<String> {
        self.refused
            .iter()
            .map(|r| format!("journal line refused: {r}"))
            .chain(self.not_ours.iter().cloned())
            .collect()
    }
}

/// The mount points of every cgroup hierarchy.
fn cgroup_hierarchies() -> Vec<PathBuf> {
    crate::inspect::mountinfo::read_mountinfo_at(Path::new("/proc/self/mountinfo"))
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.fs_type == "cgroup" || m.fs_type == "cgroup2")
        .map(|m| m.mount_point)
        .collect()
}

/// True when `path` is absolute, has no `..`, and lies strictly below `base`.
fn strictly_inside(path: &Path, base: &Path) -> bool {
    path.is_absolute()
        && !path.components().any(|c| c == Component::ParentDir)
        && path.starts_with(base)
        && path != base
}

impl Owner {
    /// The owner of `containers/<id>/journal`.
    pub fn container(root: &DataRoot, id: &str) -> Owner {
        Owner {
            root: root.path.clone(),
            key: root.key.clone(),
            container: Some(id.to_string()),
            dir: Paths::new(root, id).dir,
            hierarchies: std::cell::OnceCell::new(),
        }
    }

    /// The owner of the data root's own journal.
    pub fn root(root: &DataRoot) -> Owner {
        Owner {
            root: root.path.clone(),
            key: root.key.clone(),
            container: None,
            dir: root.path.clone(),
            hierarchies: std::cell::OnceCell::new(),
        }
    }

    fn short_id(&self) -> Option<&str> {
        self.container.as_deref().map(|id| &id[..12.min(id.len())])
    }

    /// The lease holder this owner is, as lease files name it.
    fn holder(&self) -> Option<Holder> {
        Some(Holder {
            root: self.root.clone(),
            key: self.key.clone(),
            container: self.container.clone()?,
        })
    }

    fn cgroup_role(&self, path: &Path) -> Result<CgroupRole, String> {
        let outside = || {
            format!(
                "{} is not glassbox{} in a mounted cgroup hierarchy",
                path.display(),
                self.short_id()
                    .map(|s| format!("/{}-{s}", self.key))
                    .unwrap_or_default()
            )
        };
        if path.components().any(|c| c == Component::ParentDir) {
            return Err(outside());
        }
        let rel = self
            .hierarchies
            .get_or_init(cgroup_hierarchies)
            .iter()
            .find_map(|h| path.strip_prefix(h).ok())
            .ok_or_else(outside)?;
        let parts: Vec<&str> = rel.iter().filter_map(|p| p.to_str()).collect();
        let own_name = self.short_id().map(|id| format!("{}-{id}", self.key));
        match parts.as_slice() {
            [top] if *top == CGROUP_PARENT => Ok(CgroupRole::Parent),
            [top, name] if *top == CGROUP_PARENT && Some(*name) == own_name.as_deref() => {
                Ok(CgroupRole::Own)
            }
            // The layout of an earlier glassbox: glassbox/<key>/<id>.
            [top, key] if *top == CGROUP_PARENT && *key == self.key => Ok(CgroupRole::Parent),
            [top, key, id]
                if *top == CGROUP_PARENT && *key == self.key && Some(*id) == self.short_id() =>
            {
                Ok(CgroupRole::Own)
            }
            _ => Err(outside()),
        }
    }

    /// Whether a journal line names something this owner may undo; why not.
    pub fn admits(&self, object: &Object) -> Result<(), String> {
        let need_container = |what: &str| -> Result<&str, String> {
            self.container
                .as_deref()
                .ok_or_else(|| format!("a data root's journal names no {what}"))
        };
        let inside = |p: &Path, base: &Path| {
            if strictly_inside(p, base) {
                Ok(())
            } else {
                Err(format!("{} is outside {}", p.display(), base.display()))
            }
        };
        match object {
            Object::Mount(p) | Object::Dir(p) => inside(p, &self.dir),
            Object::Netns(p) => {
                need_container("network namespace")?;
                inside(p, &self.dir)
            }
            Object::Layer(p) => {
                need_container("layer")?;
                inside(p, &self.root.join("layers"))
            }
            Object::Cgroup(p) => self.cgroup_role(p).map(|_| ()),
            Object::Link(name) => {
                let id = need_container("link")?;
                if *name == veth::host_name(id) {
                    Ok(())
                } else {
                    Err(format!(
                        "{name} is not this container's veth ({})",
                        veth::host_name(id)
                    ))
                }
            }
            Object::Lease(p) => {
                need_container("lease")?;
                let dir = p.parent().unwrap_or(Path::new(""));
                let state = Path::new(STATE_DIR);
                if (dir == state.join("leases") || dir == state.join("ports"))
                    && strictly_inside(p, state)
                {
                    Ok(())
                } else {
                    Err(format!(
                        "{} is not a lease file under {STATE_DIR}",
                        p.display()
                    ))
                }
            }
            Object::IptablesRule { table, chain, args } => {
                need_container("iptables rule")?;
                if !["nat", "filter"].contains(&table.as_str()) || !chain.starts_with(nat::CHAIN) {
                    return Err(format!("{table}/{chain} is not one of glassbox's chains"));
                }
                match nat::rule_owner(args) {
                    Some(id) if Some(id) == self.short_id() => Ok(()),
                    Some(id) => Err(format!("the rule's comment names container {id}")),
                    None => Err("the rule carries no comment naming its container".into()),
                }
            }
            Object::SharedNetwork(bridge) => {
                if self.container.is_some() {
                    Err("only a data root's journal names the shared network".into())
                } else if bridge != BRIDGE {
                    Err(format!("{bridge} is not glassbox's bridge ({BRIDGE})"))
                } else {
                    Ok(())
                }
            }
            Object::Process { pid, .. } => {
                need_container("process")?;
                if *pid > 1 {
                    Ok(())
                } else {
                    Err(format!("pid {pid} is no monitor"))
                }
            }
        }
    }

    /// Undoes one object the owner admits. Already gone is success.
    pub fn undo(&self, object: &Object) -> anyhow::Result<Outcome> {
        match object {
            Object::Mount(path) => overlay::unmount_all(path)
                .map_err(|e| anyhow::anyhow!("unmounting {}: {e}", path.display()))?,
            Object::Cgroup(path) => match self.cgroup_role(path) {
                Ok(CgroupRole::Own) => cgroups::remove_dir(path)?,
                // A parent may hold other containers' groups: removed only
                // when empty, by whoever empties it last.
                _ => match std::fs::remove_dir(path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) if matches!(e.raw_os_error(), Some(libc::EBUSY | libc::ENOTEMPTY)) => {}
                    Err(e) => anyhow::bail!("removing {}: {e}", path.display()),
                },
            },
            Object::Dir(path) => match std::fs::remove_dir_all(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    anyhow::bail!("removing {}: {e}", path.display())
                }
                _ => {}
            },
            Object::Lease(path) => {
                let Some(holder) = self.holder() else {
                    return Ok(Outcome::Done);
                };
                match ipam::release_if_held(path, &holder)
                    .map_err(|e| anyhow::anyhow!("removing the lease {}: {e}", path.display()))?
                {
                    Released::Released | Released::Gone => {}
                    Released::HeldByOther(h) => {
                        return Ok(Outcome::NotOurs(format!(
                            "{} now names container {} of {}: left to it",
                            path.display(),
                            &h.container[..12.min(h.container.len())],
                            h.root.display()
                        )));
                    }
                }
            }
            Object::Layer(_) => {}
            Object::Process { pid, start } => {
                // The monitor removing its own container (`--rm`) is not killed.
                if *pid != std::process::id() as i32 && container::process_alive(*pid, *start) {
                    let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
                }
            }
            // Links, namespaces, NAT rules, the shared bridge.
            other => super::network::undo(other)?,
        }
        Ok(Outcome::Done)
    }
}

/// Undoes a journal's objects, newest first, each only if its owner admits
/// it; marks each one undone in the journal, so a later replay skips it.
pub fn undo_journal(path: &Path, owner: &Owner) -> Undone {
    undo_journal_except(path, owner, |_| false)
}

/// [`undo_journal`], leaving out the objects `gone` names: those the caller
/// has just removed itself, and whose journal is deleted next. They are
/// not marked either: if that deletion fails, a later replay finds them
/// gone, which is success.
pub fn undo_journal_except(path: &Path, owner: &Owner, gone: impl Fn(&Object) -> bool) -> Undone {
    let mut report = Undone::default();
    let replay = match Journal::replay(path) {
        Ok(r) => r,
        Err(e) => {
            report.left.push(format!(
                "the journal {} cannot be read: {e}",
                path.display()
            ));
            return report;
        }
    };
    report.refused.extend(
        replay
            .refused
            .iter()
            .map(|r| format!("{}: {r}", path.display())),
    );
    let journal = path.exists().then(|| Journal::open(path).ok()).flatten();
    let mark = |o: &Object| {
        if let Some(j) = &journal {
            let _ = j.record_undone(o);
        }
    };
    for o in replay.objects.iter().rev().filter(|o| !gone(o)) {
        if let Err(why) = owner.admits(o) {
            report
                .refused
                .push(format!("{}: {}: {why}", path.display(), o.describe()));
            continue;
        }
        match owner.undo(o) {
            Ok(Outcome::Done) => mark(o),
            Ok(Outcome::NotOurs(why)) => {
                report.not_ours.push(why);
                mark(o);
            }
            Err(e) => report.left.push(format!("{} ({e:#})", o.describe())),
        }
    }
    report
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
    /// Temporary files and directories of killed loads, builds and writes.
    pub temporaries: usize,
    /// Attach sockets of containers that were already gone (their shims
    /// were killed before they could remove them).
    pub sockets: usize,
    /// What could not be removed.
    pub errors: Vec<String>,
    /// Refused journal lines, objects left to their new owners.
    pub warnings: Vec<String>,
}

/// Undoes one container's journal; deletes its directory and name only when
/// nothing of it is left.
fn clean_container(root: &DataRoot, id: &str) -> Undone {
    let paths = Paths::new(root, id);
    let record = std::fs::read(paths.state())
        .ok()
        .and_then(|b| serde_json::from_slice::<container::Record>(&b).ok());
    if let Some(r) = &record {
        // The monitor first, so it does not race us in tearing down.
        kill_if_ours(r.state.monitor_pid, r.state.monitor_start);
        kill_if_ours(r.state.pid, r.state.pid_start);
    }
    // A shim killed here cannot remove its attach socket itself.
    let _ = std::fs::remove_file(crate::runtime::attach::socket_path(&root.key, id));
    let report = undo_journal(&paths.journal(), &Owner::container(root, id));
    if report.complete() {
        if let Err(e) = std::fs::remove_dir_all(&paths.dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            let mut report = report;
            report
                .left
                .push(format!("the directory {} ({e})", paths.dir.display()));
            return report;
        }
        if let Some(r) = &record {
            container::release_name(root, &r.name, id);
        }
    }
    report
}

/// Removes this root's attach sockets (`/run/glassbox/attach/<key>-<id>.sock`)
/// whose container is gone: a shim that was killed (SIGKILL, the OOM
/// killer) leaves its socket behind, and nothing else would remove it.
/// Returns how many went.
fn remove_stale_sockets(root: &DataRoot) -> usize {
    let ids: Vec<String> = std::fs::read_dir(root.containers())
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let Ok(entries) = std::fs::read_dir(crate::runtime::attach::SOCKET_DIR) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(short) = crate::runtime::attach::socket_id_prefix(&root.key, &name) else {
            continue;
        };
        if !ids.iter().any(|id| id.starts_with(short)) && std::fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// `glassbox cleanup` for one data root. Holds the root alone: runs, loads
/// and builds in progress finish first, and none starts meanwhile.
pub fn cleanup(root: &DataRoot) -> anyhow::Result<Report> {
    super::require_root("glassbox cleanup")?;
    let _lock = root.lock_exclusive()?;
    let mut report = Report::default();
    let ids: Vec<String> = std::fs::read_dir(root.containers())
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    let mut unfinished = Vec::new();
    for id in &ids {
        let undone = clean_container(root, id);
        report.warnings.extend(undone.warnings());
        if !undone.complete() {
            unfinished.push(id.clone());
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
            let id = e.file_name().to_string_lossy().into_owned();
            let undone = undo_journal(&e.path().join("journal"), &Owner::container(root, &id));
            report.warnings.extend(undone.warnings());
            report.errors.extend(undone.left);
        }
    }
    // This root's cgroups in *every* hierarchy (another runtime, such as runc
    // running one of our bundles, makes groups in all of them): each
    // `glassbox/<key>-<id>`, and an earlier glassbox's `glassbox/<key>`
    // subtree; then the shared parent wherever it is now empty.
    let hierarchies: Vec<_> = mounts
        .iter()
        .filter(|m| m.fs_type == "cgroup" || m.fs_type == "cgroup2")
        .map(|m| m.mount_point.clone())
        .collect();
    for h in &hierarchies {
        for dir in root_cgroups(root, h) {
            if let Err(e) = cgroups::remove_tree(&dir) {
                report.errors.push(format!("{e:#}"));
            }
        }
    }
    // What the sweep freed: try those containers again.
    for id in &unfinished {
        let undone = clean_container(root, id);
        report.errors.extend(undone.left);
    }
    let undone = undo_journal(&root.journal_path(), &Owner::root(root));
    report.warnings.extend(undone.warnings());
    report.errors.extend(undone.left);
    for h in &hierarchies {
        let dir = h.join(CGROUP_PARENT);
        if dir.is_dir() && !has_subdirs(&dir) {
            let _ = cgroups::remove_dir(&dir);
        }
    }
    let _ = std::fs::remove_file(root.journal_path());
    let _ = std::fs::remove_dir_all(root.path.join("trash"));
    report.temporaries = remove_temporaries(root);
    report.sockets = remove_stale_sockets(root);
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

fn has_subdirs(path: &Path) -> bool {
    std::fs::read_dir(path).is_ok_and(|d| d.flatten().any(|e| e.path().is_dir()))
}

/// Pure: whether a file name is one of glassbox's temporaries: a
/// `.tmp-LABEL-PID-RANDOM` directory (a load, an import, a build step) or a
/// `NAME.tmp-PID` file (a write replaced by rename).
pub fn is_temporary(name: &str) -> bool {
    if name.starts_with(".tmp-") {
        return true;
    }
    name.rsplit_once(".tmp-")
        .is_some_and(|(_, pid)| !pid.is_empty() && pid.chars().all(|c| c.is_ascii_digit()))
}

/// Removes what killed loads, builds and writes left: everything in `tmp/`,
/// the temporaries in `layers/` and under `images/`; and `ahead/`. Only with the root held
/// alone (no load or build can be using them). Returns how many went.
fn remove_temporaries(root: &DataRoot) -> usize {
    let mut removed = 0;
    let mut remove = |p: &Path| {
        let gone = if p.is_dir() && !p.is_symlink() {
            std::fs::remove_dir_all(p)
        } else {
            std::fs::remove_file(p)
        };
        if gone.is_ok() {
            removed += 1;
        }
    };
    if let Ok(entries) = std::fs::read_dir(root.path.join("tmp")) {
        for e in entries.flatten() {
            remove(&e.path());
        }
    }
    // The next container's directory, made ahead (and one a killed reaper
    // was making): not a leftover of anything, so not counted.
    let _ = std::fs::remove_dir_all(root.ahead());
    // Containers whose creation was cut short before their directory got its name.
    if let Ok(entries) = std::fs::read_dir(root.containers()) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(".tmp-") {
                remove(&e.path());
            }
        }
    }
    let mut dirs = vec![root.path.join("layers"), root.path.join("images")];
    while let Some(dir) = dirs.pop() {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if is_temporary(&name) {
                    remove(&e.path());
                } else if e.file_type().is_ok_and(|t| t.is_dir()) && !dir.ends_with("layers") {
                    // images/ and below; a layer's own files are image content.
                    dirs.push(e.path());
                }
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(id: Option<&str>) -> Owner {
        Owner {
            root: "/var/lib/glassbox".into(),
            key: "default".into(),
            container: id.map(String::from),
            dir: match id {
                Some(id) => PathBuf::from("/var/lib/glassbox/containers").join(id),
                None => "/var/lib/glassbox".into(),
            },
            hierarchies: std::cell::OnceCell::from(vec![
                PathBuf::from("/sys/fs/cgroup/memory"),
                "/sys/fs/cgroup/pids".into(),
            ]),
        }
    }

    const ID: &str = "3f2a9c01b7de5566778899aabbccddeeff00112233445566778899aabbccddee";

    #[test]
    fn paths_outside_the_container_are_refused() {
        let o = owner(Some(ID));
        let dir = format!("/var/lib/glassbox/containers/{ID}");
        assert!(
            o.admits(&Object::Mount(format!("{dir}/rootfs").into()))
                .is_ok()
        );
        for bad in [
            "/var/lib/glassbox".to_string(),
            "/var/lib/glas".to_string(),
            dir.clone(),
            format!("{dir}/../other/rootfs"),
            "/proc".to_string(),
            "rootfs".to_string(),
        ] {
            assert!(
                o.admits(&Object::Mount(bad.clone().into())).is_err(),
                "{bad}"
            );
            assert!(o.admits(&Object::Dir(bad.clone().into())).is_err(), "{bad}");
        }
        assert!(
            o.admits(&Object::Netns(format!("{dir}/netns").into()))
                .is_ok()
        );
        assert!(
            o.admits(&Object::Layer("/var/lib/glassbox/layers/ab/diff".into()))
                .is_ok()
        );
        assert!(o.admits(&Object::Layer("/var/lib/ab/diff".into())).is_err());
    }

    #[test]
    fn cgroups_outside_glassbox_key_are_refused() {
        let o = owner(Some(ID));
        let ok = [
            "/sys/fs/cgroup/memory/glassbox",
            "/sys/fs/cgroup/pids/glassbox/default-3f2a9c01b7de",
            // What an earlier glassbox made: glassbox/<key>/<id>.
            "/sys/fs/cgroup/memory/glassbox/default",
            "/sys/fs/cgroup/pids/glassbox/default/3f2a9c01b7de",
        ];
        for p in ok {
            assert!(o.admits(&Object::Cgroup(p.into())).is_ok(), "{p}");
        }
        assert_eq!(
            o.cgroup_role(Path::new(
                "/sys/fs/cgroup/pids/glassbox/default-3f2a9c01b7de"
            )),
            Ok(CgroupRole::Own)
        );
        assert_eq!(
            o.cgroup_role(Path::new(
                "/sys/fs/cgroup/pids/glassbox/default/3f2a9c01b7de"
            )),
            Ok(CgroupRole::Own)
        );
        assert_eq!(
            o.cgroup_role(Path::new("/sys/fs/cgroup/pids/glassbox")),
            Ok(CgroupRole::Parent)
        );
        assert_eq!(
            o.cgroup_role(Path::new("/sys/fs/cgroup/pids/glassbox/default")),
            Ok(CgroupRole::Parent)
        );
        for p in [
            "/sys/fs/cgroup/pids",
            "/sys/fs/cgroup/pids/user.slice",
            "/sys/fs/cgroup/pids/glassbox/0badc0de",
            "/sys/fs/cgroup/pids/glassbox/0badc0de-3f2a9c01b7de",
            "/sys/fs/cgroup/pids/glassbox/default-aaaaaaaaaaaa",
            "/sys/fs/cgroup/pids/glassbox/default-3f2a9c01b7de/x",
            "/sys/fs/cgroup/pids/glassbox/default/aaaaaaaaaaaa",
            "/sys/fs/cgroup/pids/glassbox/default/3f2a9c01b7de/../../x",
            "/tmp/glassbox/default/3f2a9c01b7de",
        ] {
            assert!(o.admits(&Object::Cgroup(p.into())).is_err(), "{p}");
        }
    }

    #[test]
    fn network_objects_must_be_the_containers() {
        let o = owner(Some(ID));
        assert!(o.admits(&Object::Link("gb3f2a9c01b7".into())).is_ok());
        assert!(o.admits(&Object::Link("eth0".into())).is_err());
        assert!(
            o.admits(&Object::Lease("/run/glassbox/net/leases/172.29.0.2".into()))
                .is_ok()
        );
        assert!(o.admits(&Object::Lease("/etc/passwd".into())).is_err());
        let rule = |comment: &str| Object::IptablesRule {
            table: "filter".into(),
            chain: "GLASSBOX-FORWARD".into(),
            args: [
                "-d",
                "172.29.0.2/32",
                "-m",
                "comment",
                "--comment",
                comment,
                "-j",
                "ACCEPT",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        };
        assert!(o.admits(&rule("glassbox web 3f2a9c01b7de")).is_ok());
        assert!(o.admits(&rule("glassbox web 0123456789ab")).is_err());
        let mut other_chain = rule("glassbox web 3f2a9c01b7de");
        if let Object::IptablesRule { chain, .. } = &mut other_chain {
            *chain = "INPUT".into();
        }
        assert!(o.admits(&other_chain).is_err());
        assert!(o.admits(&Object::SharedNetwork(BRIDGE.into())).is_err());
        assert!(
            owner(None)
                .admits(&Object::SharedNetwork(BRIDGE.into()))
                .is_ok()
        );
        assert!(
            owner(None)
                .admits(&Object::Link("gb3f2a9c01b7".into()))
                .is_err()
        );
    }

    #[test]
    fn temporaries_are_told_by_name() {
        assert!(is_temporary(".tmp-load-4242-0123456789abcdef"));
        assert!(is_temporary("repositories.tmp-4242"));
        assert!(!is_temporary("repositories.json"));
        assert!(!is_temporary("notes.tmp-x"));
    }
}
