//! The exercises inside `glassbox lab`: loading them with the student's
//! progress, the checker thread that re-grades when the data root's state
//! changes (and on the `x` key), saving progress, and the presenter's reset
//! of the images the lab built. The TUI itself stays free of I/O: it asks
//! for these through its effects.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use super::demo::{DemoEvent, DemoRunner, LineKind, LogLine};
use crate::engine::DataRoot;
use crate::exercises::pane::Pane;
use crate::exercises::progress::{self, Owner, Progress};
use crate::exercises::{Exercise, Graded, Status};

/// How often the checker looks for a change of state.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// State the fingerprint cannot see (a file written into an upper dir, a
/// limit changed by hand in cgroupfs) is caught by grading again this often.
const REGRADE_EVERY: Duration = Duration::from_secs(5);

/// What the exercise checks of a data root can depend on, cheaply read: each
/// container's name, state and PID, the image tags, and the kernel's cgroup
/// directories under the root's parent. When it changes, the lab re-checks.
pub fn fingerprint(root: &DataRoot) -> String {
    let mut out = String::new();
    if let Ok(list) = crate::engine::container::list(root) {
        for r in list {
            out.push_str(&format!("{}:{}:{};", r.name, r.state.status, r.state.pid));
        }
    }
    if let Ok(tags) = root.images().tags() {
        for (tag, id) in tags {
            out.push_str(&format!("{tag}={id};"));
        }
    }
    out
}

/// Where the progress file is and whose it is.
#[derive(Debug, Clone, Default)]
pub struct ProgressFile {
    pub path: Option<PathBuf>,
    pub owner: Option<Owner>,
}

/// The pane for the lessons in `dir`, the progress file, and notes for the
/// lab's output (a corrupt progress file, exercises that did not load).
pub fn load(dir: &Path) -> (Pane, ProgressFile, Vec<String>) {
    let mut notes = Vec::new();
    let exercises = match crate::exercises::load(dir) {
        Ok(e) => e,
        Err(e) => {
            notes.push(format!("exercises unavailable: {e}"));
            Vec::new()
        }
    };
    let (file, progress) = match progress::default_path() {
        Ok((path, owner)) => match progress::load(&path) {
            Ok(loaded) => {
                notes.extend(loaded.warning);
                (
                    ProgressFile {
                        path: Some(path),
                        owner,
                    },
                    loaded.progress,
                )
            }
            Err(e) => {
                notes.push(format!("{e}: progress is not kept this time"));
                (ProgressFile::default(), Progress::default())
            }
        },
        Err(e) => {
            notes.push(format!("{e}: progress is not kept this time"));
            (ProgressFile::default(), Progress::default())
        }
    };
    (Pane::new(exercises, progress), file, notes)
}

/// Saves the progress, merged under the lock with what the file holds now
/// (another shell may have written it); returns the merged progress, or a
/// line for the lab's output. `Ok(None)` when progress is not kept.
pub fn save(file: &ProgressFile, p: &Progress) -> Result<Option<Progress>, String> {
    let Some(path) = file.path.as_ref() else {
        return Ok(None);
    };
    progress::save(path, p, file.owner.as_ref())
        .map(Some)
        .map_err(|e| e.to_string())
}

/// How often the lab looks at the progress file for another writer's change.
const PROGRESS_POLL: Duration = Duration::from_millis(500);

/// Starts the thread that watches the progress file: when another program
/// (`glassbox exercise hint` in another shell, `glassbox check`) changed it,
/// `send` gets what it holds now. Polling a stat(2) twice a second costs
/// nothing and works where inotify does not (network home directories).
pub fn spawn_progress_watcher(
    file: ProgressFile,
    stop: Arc<AtomicBool>,
    send: impl Fn(Progress) -> bool + Send + 'static,
) -> Option<std::thread::JoinHandle<()>> {
    let path = file.path?;
    Some(std::thread::spawn(move || {
        let mut last = progress::stamp(&path);
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(PROGRESS_POLL);
            let now = progress::stamp(&path);
            if now == last {
                continue;
            }
            last = now;
            if let Ok(loaded) = progress::load(&path)
                && loaded.warning.is_none()
                && !send(loaded.progress)
            {
                break;
            }
        }
    }))
}

/// Starts the checker thread. It grades the ids it is sent, and the current
/// topic's (`current`) whenever the data root's [`fingerprint`] changes and
/// at least every few seconds; `send` returns false once the lab has gone.
pub fn spawn_checker(
    root: Option<DataRoot>,
    exercises: Vec<Exercise>,
    current: Arc<Mutex<Vec<String>>>,
    requests: mpsc::Receiver<Vec<String>>,
    stop: Arc<AtomicBool>,
    send: impl Fn(Vec<Graded>) -> bool + Send + 'static,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut last = root.as_ref().map(fingerprint);
        let mut graded_at = std::time::Instant::now();
        let mut answers = Progress::default();
        while !stop.load(Ordering::Relaxed) {
            let ids = match requests.recv_timeout(WATCH_EVERY) {
                Ok(ids) => ids,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let now = root.as_ref().map(fingerprint);
                    if now == last && graded_at.elapsed() < REGRADE_EVERY {
                        continue;
                    }
                    last = now;
                    current.lock().map(|c| c.clone()).unwrap_or_default()
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            // The answers live in the progress file the lab just saved.
            if let Ok((path, _)) = progress::default_path()
                && let Ok(l) = progress::load(&path)
            {
                answers = l.progress;
            }
            graded_at = std::time::Instant::now();
            let results = grade_ids(root.as_ref(), &exercises, &ids, &answers);
            if !results.is_empty() && !send(results) {
                break;
            }
        }
    })
}

fn grade_ids(
    root: Option<&DataRoot>,
    exercises: &[Exercise],
    ids: &[String],
    answers: &Progress,
) -> Vec<Graded> {
    exercises
        .iter()
        .filter(|e| ids.contains(&e.id))
        .map(|e| match root {
            Some(root) => {
                let given = answers.exercise(&e.id);
                crate::exercises::grade_answered(
                    root,
                    e,
                    given.answer.as_deref(),
                    given.answered_at,
                )
            }
            None => Graded {
                id: e.id.clone(),
                topic: e.topic,
                title: e.title.clone(),
                kind: e.kind,
                status: Status::Error,
                message: "checks read other processes' kernel state: run the lab with sudo".into(),
                seconds: 0.0,
            },
        })
        .collect()
}

/// The presenter's reset also removes the images the lab's demos built
/// (tags named `lab-…`), so that the next build starts without a cache.
pub fn remove_lab_images(
    runner: &DemoRunner,
    root: &Option<DataRoot>,
    emit: &mut dyn FnMut(DemoEvent),
) {
    let Some(root) = root else { return };
    let tags: Vec<String> = root
        .images()
        .tags()
        .map(|t| t.into_keys().filter(|k| k.starts_with("lab-")).collect())
        .unwrap_or_default();
    for tag in tags {
        emit(DemoEvent::Line(LogLine::new(
            LineKind::Command,
            format!("$ glassbox rmi -f {tag}"),
        )));
        let out = std::process::Command::new(&runner.exe)
            .arg("--root")
            .arg(&runner.root)
            .args(["rmi", "-f", &tag])
            .stdin(std::process::Stdio::null())
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => emit(DemoEvent::Line(LogLine::new(
                LineKind::Fail,
                String::from_utf8_lossy(&o.stderr).trim().to_string(),
            ))),
            Err(e) => emit(DemoEvent::Line(LogLine::new(
                LineKind::Fail,
                format!("cannot run {}: {e}", runner.exe.display()),
            ))),
        }
    }
}
