//! The student's progress: a small TOML file a person can read and edit.
//!
//! ```toml
//! format_version = 1
//! current_topic = 4
//!
//! [exercises.topic4-capped]
//! status = "passed"
//! hints_shown = 1
//! ```
//!
//! It belongs to the person at the keyboard, also when glassbox runs under
//! sudo (as it must, for namespaces and cgroups): the file goes to
//! `SUDO_USER`'s home, not root's, and is handed back to that user with
//! chown(2). It lives at `$XDG_STATE_HOME/glassbox/progress.toml` (default
//! `~/.local/state`); `GLASSBOX_PROGRESS` names another file.
//!
//! Several programs write it: the lab (open for an hour, holding its copy)
//! and `glassbox exercise hint|skip|answer` or `glassbox check` from another
//! shell. So every writer takes an exclusive lock (flock(2) on
//! `.progress.toml.lock` beside the file: a lock on the file itself would be
//! lost with the rename), re-reads the file, merges its own copy into it
//! exercise by exercise ([`Progress::merge`]: a pass, a skip, a hint, an
//! answer once recorded are never taken back by an older copy), and writes
//! the result; the lab reloads when the file changes ([`stamp`]).
//!
//! Writes are atomic: the new content goes to a temporary file in the same
//! directory, is flushed to disk, and is renamed over the old one, so a crash
//! or a kill at any moment leaves the old file or the new one, never half of
//! each. A file that does not parse (edited by hand, or truncated by a disk
//! that lied) is reported, kept beside as `progress.toml.corrupt`, and
//! replaced by a fresh one: losing progress is bad, refusing to start is worse.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The environment variable that names the progress file.
pub const PROGRESS_ENV: &str = "GLASSBOX_PROGRESS";

/// The format this glassbox writes.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum ProgressError {
    #[error("cannot find a home directory for the progress file: set HOME or {PROGRESS_ENV}")]
    NoHome,
    #[error("cannot write the progress file {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot lock the progress file with {path}: {source}")]
    Lock {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot read the progress file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot encode the progress: {0}")]
    Encode(#[from] toml::ser::Error),
}

/// Where an exercise stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExerciseStatus {
    // The order is the merge's: a later variant wins over an earlier one.
    #[default]
    Open,
    Failed,
    /// The student chose to skip it.
    Skipped,
    Passed,
}

/// One exercise's progress.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExerciseProgress {
    #[serde(default)]
    pub status: ExerciseStatus,
    /// How many hints were revealed (they come one at a time).
    #[serde(default)]
    pub hints_shown: usize,
    /// Whether the student asked for the solution.
    #[serde(default)]
    pub solution_shown: bool,
    /// A predict exercise's answer, given before the demo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// When it was given (ns since 1970): grading compares it with the moment
    /// the demo showed the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<u64>,
    /// When it last passed (seconds since 1970).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passed_at: Option<u64>,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub format_version: u32,
    /// The topic the lab opens at next time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_topic: Option<u32>,
    #[serde(default)]
    pub exercises: BTreeMap<String, ExerciseProgress>,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            format_version: FORMAT_VERSION,
            current_topic: None,
            exercises: BTreeMap::new(),
        }
    }
}

impl Progress {
    pub fn exercise(&self, id: &str) -> ExerciseProgress {
        self.exercises.get(id).cloned().unwrap_or_default()
    }

    fn entry(&mut self, id: &str) -> &mut ExerciseProgress {
        self.exercises.entry(id.to_string()).or_default()
    }

    /// Reveals the next hint; returns its index (0-based), or `None` when all
    /// of `total` are already shown.
    pub fn next_hint(&mut self, id: &str, total: usize) -> Option<usize> {
        let e = self.entry(id);
        if e.hints_shown >= total {
            return None;
        }
        e.hints_shown += 1;
        Some(e.hints_shown - 1)
    }

    pub fn show_solution(&mut self, id: &str) {
        self.entry(id).solution_shown = true;
    }

    pub fn skip(&mut self, id: &str) {
        self.entry(id).status = ExerciseStatus::Skipped;
    }

    pub fn set_answer(&mut self, id: &str, answer: &str) {
        let e = self.entry(id);
        e.answer = Some(answer.trim().to_string());
        e.answered_at = Some(crate::timefmt::now_unix_ns());
    }

    /// Records a check's verdict. A pass is kept even if a later check fails
    /// (the student cleaned up after passing); a skip stays a skip until a pass.
    pub fn record(&mut self, id: &str, passed: bool) {
        let e = self.entry(id);
        if passed {
            e.status = ExerciseStatus::Passed;
            e.passed_at = Some(now_secs());
        } else if e.status == ExerciseStatus::Open {
            e.status = ExerciseStatus::Failed;
        }
    }

    /// Jumps to a topic: the lab opens there next time.
    pub fn jump(&mut self, topic: u32) {
        self.current_topic = Some(topic);
    }

    /// Merges `other` (another writer's copy) into this one, exercise by
    /// exercise, so that nothing either recorded is lost: the furthest status
    /// (passed over skipped over failed over open), the most hints, a shown
    /// solution, the latest answer (by `answered_at`), the latest pass.
    /// `current_topic` is `other`'s when it has one. Merging is idempotent
    /// and order-free for the exercises, so two writers that merge under the
    /// lock always end with the union of what they did.
    pub fn merge(&mut self, other: &Progress) {
        if other.current_topic.is_some() {
            self.current_topic = other.current_topic;
        }
        for (id, theirs) in &other.exercises {
            let mine = self.entry(id);
            mine.status = mine.status.max(theirs.status);
            mine.hints_shown = mine.hints_shown.max(theirs.hints_shown);
            mine.solution_shown |= theirs.solution_shown;
            if theirs.answer.is_some() && theirs.answered_at >= mine.answered_at {
                mine.answer = theirs.answer.clone();
                mine.answered_at = theirs.answered_at;
            }
            mine.passed_at = mine.passed_at.max(theirs.passed_at);
        }
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The user the file belongs to: `SUDO_USER` under sudo, else whoever runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

/// Finds the invoking user: when root runs glassbox through sudo, that is
/// `SUDO_USER` (its uid, gid and home from the password database).
pub fn invoking_user() -> Option<Owner> {
    use nix::unistd::{Uid, User};
    if Uid::effective().is_root()
        && let Ok(name) = std::env::var("SUDO_USER")
        && let Ok(Some(u)) = User::from_name(&name)
        && !u.uid.is_root()
    {
        return Some(Owner {
            uid: u.uid.as_raw(),
            gid: u.gid.as_raw(),
            home: u.dir,
        });
    }
    let uid = Uid::effective();
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .or_else(|| User::from_uid(uid).ok().flatten().map(|u| u.dir))?;
    Some(Owner {
        uid: uid.as_raw(),
        gid: nix::unistd::Gid::effective().as_raw(),
        home,
    })
}

/// The progress file of the invoking user.
pub fn default_path() -> Result<(PathBuf, Option<Owner>), ProgressError> {
    if let Some(p) = std::env::var_os(PROGRESS_ENV) {
        return Ok((PathBuf::from(p), invoking_user()));
    }
    let owner = invoking_user().ok_or(ProgressError::NoHome)?;
    // Under sudo, root's XDG_STATE_HOME (if any) is not the student's.
    let state = match std::env::var_os("XDG_STATE_HOME") {
        Some(d) if std::env::var_os("SUDO_USER").is_none() => PathBuf::from(d),
        _ => owner.home.join(".local/state"),
    };
    Ok((state.join("glassbox/progress.toml"), Some(owner)))
}

/// What loading found.
#[derive(Debug)]
pub struct Loaded {
    pub progress: Progress,
    /// Set when the file was corrupt: what was wrong and where the old copy went.
    pub warning: Option<String>,
}

/// Reads the file; a missing file is a fresh start, a corrupt one is
/// reported, kept aside as `<file>.corrupt`, and replaced by a fresh start.
pub fn load(path: &Path) -> Result<Loaded, ProgressError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Loaded {
                progress: Progress::default(),
                warning: None,
            });
        }
        Err(source) => {
            return Err(ProgressError::Read {
                path: path.display().to_string(),
                source,
            });
        }
    };
    let parsed = std::str::from_utf8(&bytes)
        .map_err(|e| e.to_string())
        .and_then(|text| toml::from_str::<Progress>(text).map_err(|e| e.message().to_string()));
    match parsed {
        Ok(progress) => Ok(Loaded {
            progress,
            warning: None,
        }),
        Err(reason) => {
            let aside = path.with_extension("toml.corrupt");
            let kept = std::fs::rename(path, &aside).is_ok();
            Ok(Loaded {
                progress: Progress::default(),
                warning: Some(format!(
                    "the progress file {} was corrupt ({reason}){}; starting fresh",
                    path.display(),
                    if kept {
                        format!(", kept as {}", aside.display())
                    } else {
                        String::new()
                    }
                )),
            })
        }
    }
}

/// The lock file beside `path` (`.progress.toml.lock`).
fn lock_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "progress.toml".into());
    path.with_file_name(format!(".{name}.lock"))
}

/// Holds the exclusive lock on the progress file until dropped (the kernel
/// drops it too if the process dies).
struct Locked(#[allow(dead_code)] nix::fcntl::Flock<std::fs::File>);

fn lock(path: &Path, owner: Option<&Owner>) -> Result<Locked, ProgressError> {
    let lock = lock_path(path);
    let err = |source: std::io::Error| ProgressError::Lock {
        path: lock.display().to_string(),
        source,
    };
    let dir = lock.parent().unwrap_or(Path::new("."));
    if !dir.exists() {
        make_dirs(dir, owner).map_err(err)?;
    }
    let existed = lock.exists();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock)
        .map_err(err)?;
    if !existed {
        give_to(&lock, owner).map_err(err)?;
    }
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
        .map(Locked)
        .map_err(|(_, e)| err(std::io::Error::from(e)))
}

/// Saves `progress` into the file without losing another writer's work:
/// under the lock, re-reads the file, merges `progress` into it
/// ([`Progress::merge`]) and writes the result atomically, given (with a
/// directory it had to make) to `owner`. Returns what the file now holds.
pub fn save(
    path: &Path,
    progress: &Progress,
    owner: Option<&Owner>,
) -> Result<Progress, ProgressError> {
    update(path, owner, |p| p.merge(progress))
}

/// Changes the file under the lock: `change` gets what the file holds now
/// (a corrupt file is set aside and counts as empty, as in [`load`]); the
/// result is written atomically and returned.
pub fn update(
    path: &Path,
    owner: Option<&Owner>,
    change: impl FnOnce(&mut Progress),
) -> Result<Progress, ProgressError> {
    let _held = lock(path, owner)?;
    let mut now = load(path)?.progress;
    change(&mut now);
    write(path, &now, owner)?;
    Ok(now)
}

/// Writes the file atomically (temp file, fsync, rename, fsync of the
/// directory); the caller holds the lock.
fn write(path: &Path, progress: &Progress, owner: Option<&Owner>) -> Result<(), ProgressError> {
    let err = |source: std::io::Error| ProgressError::Write {
        path: path.display().to_string(),
        source,
    };
    let text = toml::to_string(progress)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    if !dir.exists() {
        make_dirs(dir, owner).map_err(err)?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "progress.toml".into());
    remove_stale_temps(dir, &name);
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        give_to(&tmp, owner)?;
        std::fs::rename(&tmp, path)?;
        // The rename itself is durable once the directory is synced.
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(err)
}

/// What identifies one version of the file (inode, size, mtime): the lab
/// reloads when it changes. `None` when there is no file.
pub fn stamp(path: &Path) -> Option<(u64, u64, i64, i64)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some((m.ino(), m.size(), m.mtime(), m.mtime_nsec()))
}

/// Removes the temporary files of writers that were killed mid-write (their
/// PID is gone): what a crash leaves is never read, only tidied.
fn remove_stale_temps(dir: &Path, name: &str) {
    let prefix = format!(".{name}.tmp-");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(pid) = file
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// mkdir -p, handing each directory it makes to `owner`.
fn make_dirs(dir: &Path, owner: Option<&Owner>) -> std::io::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        make_dirs(parent, owner)?;
    }
    match std::fs::create_dir(dir) {
        Ok(()) => give_to(dir, owner),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// chown(2) to the owner when we run as someone else (root under sudo).
fn give_to(path: &Path, owner: Option<&Owner>) -> std::io::Result<()> {
    let Some(o) = owner else { return Ok(()) };
    if nix::unistd::Uid::effective().as_raw() == o.uid {
        return Ok(());
    }
    std::os::unix::fs::chown(path, Some(o.uid), Some(o.gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_come_one_at_a_time() {
        let mut p = Progress::default();
        assert_eq!(p.next_hint("x", 2), Some(0));
        assert_eq!(p.next_hint("x", 2), Some(1));
        assert_eq!(p.next_hint("x", 2), None);
        assert_eq!(p.exercise("x").hints_shown, 2);
    }

    #[test]
    fn a_pass_is_kept_and_a_skip_waits_for_a_pass() {
        let mut p = Progress::default();
        p.record("a", true);
        p.record("a", false);
        assert_eq!(p.exercise("a").status, ExerciseStatus::Passed);
        p.skip("b");
        p.record("b", false);
        assert_eq!(p.exercise("b").status, ExerciseStatus::Skipped);
        p.record("b", true);
        assert_eq!(p.exercise("b").status, ExerciseStatus::Passed);
    }

    #[test]
    fn merging_keeps_what_either_copy_recorded() {
        let mut file = Progress::default();
        file.next_hint("a", 3);
        file.next_hint("a", 3);
        file.set_answer("q", "1");
        file.skip("s");
        let mut lab = Progress::default();
        lab.next_hint("a", 3);
        lab.record("s", true);
        lab.show_solution("b");
        lab.jump(7);
        let before = file.clone();
        file.merge(&lab);
        assert_eq!(file.exercise("a").hints_shown, 2);
        assert_eq!(file.exercise("q").answer.as_deref(), Some("1"));
        assert_eq!(file.exercise("s").status, ExerciseStatus::Passed);
        assert!(file.exercise("b").solution_shown);
        assert_eq!(file.current_topic, Some(7));
        // Idempotent, and the other order gives the same exercises.
        let once = file.clone();
        file.merge(&lab);
        assert_eq!(file, once);
        let mut other = lab.clone();
        other.merge(&before);
        assert_eq!(other.exercises, once.exercises);
        // A newer answer replaces an older one; an older one does not.
        let mut newer = Progress::default();
        newer.set_answer("q", "2");
        file.merge(&newer);
        assert_eq!(file.exercise("q").answer.as_deref(), Some("2"));
        file.merge(&before);
        assert_eq!(file.exercise("q").answer.as_deref(), Some("2"));
    }
}
