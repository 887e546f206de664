//! The honesty check: every exercise can fail, and its stored solution makes
//! it pass (rustlings' `dev check` does the same for its exercises).
//!
//! For each exercise, on a data root with no containers:
//! 1. grade it: it must FAIL (a check that passes on a clean machine proves
//!    nothing);
//! 2. run its solution, each command with `sh -c`, this glassbox first on
//!    PATH and `GLASSBOX_ROOT` set, in a scratch copy of `assets/` that is
//!    also its work directory (`GLASSBOX_WORK`), so a solution that edits a
//!    Dockerfile edits the copy;
//! 3. grade it again: it must PASS; a predict exercise must also FAIL for a
//!    wrong answer;
//! 4. clean up: `glassbox cleanup` removes every container and kernel object.
//!
//! A solution that needs something this glassbox or host lacks (port
//! publishing, `build`) fails here with the command's own error: nothing is
//! skipped quietly.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{Exercise, Graded, Status, grade};
use crate::engine::DataRoot;

/// How long one solution command may take.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// Where to run solutions from.
pub struct Setup {
    /// The glassbox binary the solutions call (`glassbox` on their PATH).
    pub glassbox: PathBuf,
    /// The `assets/` directory, copied for each exercise, if there is one.
    pub assets: Option<PathBuf>,
}

/// Proves one exercise honest; the verdict says which step went wrong.
pub fn verify(root: &DataRoot, setup: &Setup, exercise: &Exercise) -> Graded {
    let started = Instant::now();
    let (status, message) = match verify_steps(root, setup, exercise) {
        Ok(evidence) => (Status::Pass, evidence),
        Err((status, reason)) => (status, reason),
    };
    if let Err(e) = crate::engine::cleanup::cleanup(root) {
        crate::errln!("glassbox: cleanup after {}: {e:#}", exercise.id);
    }
    Graded {
        id: exercise.id.clone(),
        topic: exercise.topic,
        title: exercise.title.clone(),
        kind: exercise.kind,
        status,
        message,
        seconds: started.elapsed().as_secs_f64(),
    }
}

fn expected_answer(exercise: &Exercise) -> Option<&str> {
    match &exercise.check {
        super::Check::Answer { answer, .. } => Some(answer),
        _ => None,
    }
}

fn verify_steps(
    root: &DataRoot,
    setup: &Setup,
    exercise: &Exercise,
) -> Result<String, (Status, String)> {
    let answer = expected_answer(exercise);
    if crate::engine::container::list(root)
        .map(|l| !l.is_empty())
        .unwrap_or(false)
    {
        crate::engine::cleanup::cleanup(root)
            .map_err(|e| (Status::Error, format!("cannot clean the data root: {e:#}")))?;
    }
    let before = grade(root, exercise, answer);
    match before.status {
        Status::Pass => {
            return Err((
                Status::Fail,
                format!(
                    "the check passes before its solution ran, so it proves nothing: {}",
                    before.message
                ),
            ));
        }
        Status::Error => {
            return Err((
                Status::Error,
                format!("before the solution: {}", before.message),
            ));
        }
        Status::Fail => {}
    }
    let work = scratch(setup).map_err(|e| (Status::Error, e))?;
    let ran = run_solution(root, setup, exercise, work.path());
    drop(work);
    ran?;
    let after = grade(root, exercise, answer);
    if after.status != Status::Pass {
        return Err((
            Status::Fail,
            format!(
                "after its solution the check still fails: {}",
                after.message
            ),
        ));
    }
    if let Some(a) = answer {
        let wrong = format!("{a}0");
        let w = grade(root, exercise, Some(&wrong));
        if w.status == Status::Pass {
            return Err((
                Status::Fail,
                format!("a wrong answer ({wrong:?}) passes too: {}", w.message),
            ));
        }
    }
    Ok(format!(
        "fails before ({}); passes after its solution ({})",
        before.message, after.message
    ))
}

/// A scratch directory (removed when dropped) holding a copy of `assets/`.
struct Scratch(PathBuf);

impl Scratch {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(setup: &Setup) -> Result<Scratch, String> {
    let dir = std::env::temp_dir().join(format!(
        "glassbox-verify-work-{}-{}",
        std::process::id(),
        crate::engine::container::new_id().get(..8).unwrap_or("0")
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    let s = Scratch(dir);
    if let Some(assets) = &setup.assets {
        copy_dir(assets, &s.0.join("assets"))
            .map_err(|e| format!("cannot copy {}: {e}", assets.display()))?;
    }
    Ok(s)
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

fn run_solution(
    root: &DataRoot,
    setup: &Setup,
    exercise: &Exercise,
    cwd: &Path,
) -> Result<(), (Status, String)> {
    let bin_dir = setup
        .glassbox
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let path = match std::env::var_os("PATH") {
        Some(p) => {
            let mut dirs = vec![bin_dir];
            dirs.extend(std::env::split_paths(&p));
            std::env::join_paths(dirs).unwrap_or(p)
        }
        None => bin_dir.into_os_string(),
    };
    for (i, cmd) in exercise.solution.iter().enumerate() {
        // Output goes to a file, not a pipe: a detached container's monitor
        // inherits the descriptors and would hold a pipe open for its life.
        let log_path = cwd.join(format!(".solution-{}.log", i + 1));
        let log = std::fs::File::create(&log_path).map_err(|e| {
            (
                Status::Error,
                format!("cannot create {}: {e}", log_path.display()),
            )
        })?;
        let log2 = log
            .try_clone()
            .map_err(|e| (Status::Error, format!("cannot duplicate a descriptor: {e}")))?;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .current_dir(cwd)
            .env("PATH", &path)
            .env("GLASSBOX_ROOT", &root.path)
            // `glassbox exercise workdir` names the scratch copy: a solution
            // that starts with `cd "$(glassbox exercise workdir)"`, as a
            // student's does, edits it and not the student's own.
            .env(super::workdir::WORK_ENV, cwd)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| (Status::Error, format!("cannot start sh: {e}")))?;
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) if Instant::now() > deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err((
                        Status::Fail,
                        format!(
                            "solution command {} `{cmd}` took longer than {}s",
                            i + 1,
                            COMMAND_TIMEOUT.as_secs()
                        ),
                    ));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => return Err((Status::Error, format!("waiting for `{cmd}`: {e}"))),
            }
        };
        if !status.success() {
            let stderr = std::fs::read_to_string(&log_path).unwrap_or_default();
            // clap and glassbox put the reason on an `error:` line; else the last line.
            let last = stderr
                .lines()
                .find(|l| l.to_ascii_lowercase().contains("error"))
                .or_else(|| stderr.lines().last())
                .unwrap_or("")
                .trim()
                .to_string();
            return Err((
                Status::Fail,
                format!(
                    "solution command {} `{cmd}` failed ({status}){}",
                    i + 1,
                    if last.is_empty() {
                        String::new()
                    } else {
                        format!(": {last}")
                    }
                ),
            ));
        }
    }
    Ok(())
}
