//! Exercises checked against the kernel.
//!
//! Every lesson (`lessons/NN-*.toml`) ends with its `[[exercise]]` tables: a
//! task the student does with the CLI ("run a container named capped limited
//! to 200 MiB and 64 processes") or a question to predict before a demo
//! ("what PID will the container's process have inside it?"). Each carries a
//! `check` that says which piece of kernel state proves it done ([`spec`]).
//!
//! - [`spec`]: the check kinds, as they are written in a lesson file;
//! - [`kernel`]: where the checks read the kernel (/proc, cgroupfs, a real
//!   TCP connection), and why that, not glassbox's records, is the truth;
//! - [`grade`](mod@grade): each check kind, with the reason a failure gives;
//! - [`report`]: `glassbox check`'s text, JSON and JUnit outputs;
//! - [`progress`]: the student's progress file (atomic, per user, also under sudo);
//! - [`workdir`]: the student's copy of the files exercises edit;
//! - [`honesty`]: the proof that every check can fail and that its stored
//!   solution makes it pass (`glassbox check --verify`), as rustlings' dev check.

pub mod grade;
pub mod honesty;
pub mod kernel;
pub mod pane;
pub mod progress;
pub mod report;
pub mod spec;
pub mod workdir;

use std::path::Path;
use std::time::Instant;

use crate::engine::DataRoot;
pub use spec::{Check, Observe};

/// An exercise's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The student does something with the CLI; the check reads the result.
    Task,
    /// The student answers before a demo; graded against the live value.
    Predict,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Task => "task",
            Kind::Predict => "predict",
        }
    }
}

/// One exercise of one topic, with its check read and validated.
#[derive(Debug, Clone)]
pub struct Exercise {
    pub topic: u32,
    /// The lesson's id (`cgroups`).
    pub topic_id: String,
    pub topic_title: String,
    pub id: String,
    pub kind: Kind,
    pub title: String,
    pub task: String,
    pub hints: Vec<String>,
    /// Commands that solve it, run by `sh -c` with this glassbox first on PATH.
    pub solution: Vec<String>,
    pub check: Check,
}

/// A problem with the exercises of a lessons directory.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read the lessons in {dir}: {source}")]
    Dir { dir: String, source: std::io::Error },
    #[error("{file}: {message}")]
    Lesson { file: String, message: String },
}

/// The parts of a lesson file the exercises need (the lab's loader
/// validates the rest of it).
#[derive(serde::Deserialize)]
struct LessonView {
    topic: u32,
    id: String,
    title: String,
    #[serde(default)]
    exercise: Vec<ExerciseView>,
}

#[derive(serde::Deserialize)]
struct ExerciseView {
    id: String,
    #[serde(default = "task")]
    kind: String,
    title: String,
    task: String,
    #[serde(default)]
    hints: Vec<String>,
    #[serde(default)]
    solution: Vec<String>,
    #[serde(default)]
    check: Option<toml::Table>,
}

fn task() -> String {
    "task".into()
}

/// Reads every exercise of the lesson files in `dir`, in topic order.
/// Each must have a well-formed check: an exercise that cannot be checked
/// is reported here, with its file.
pub fn load(dir: &Path) -> Result<Vec<Exercise>, CatalogError> {
    let entries = std::fs::read_dir(dir).map_err(|source| CatalogError::Dir {
        dir: dir.display().to_string(),
        source,
    })?;
    let mut files: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let bad = |message: String| CatalogError::Lesson {
            file: file.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(&file).map_err(|e| bad(e.to_string()))?;
        let lesson: LessonView = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        for ex in lesson.exercise {
            let kind = match ex.kind.as_str() {
                "task" => Kind::Task,
                "predict" => Kind::Predict,
                other => return Err(bad(format!("exercise {}: unknown kind {other:?}", ex.id))),
            };
            let table = ex.check.ok_or_else(|| {
                bad(format!(
                    "exercise {} has no [exercise.check]: every exercise must say what proves it done",
                    ex.id
                ))
            })?;
            let check = spec::from_table(&table)
                .map_err(|m| bad(format!("exercise {}: check: {m}", ex.id)))?;
            if (kind == Kind::Predict) != matches!(check, Check::Answer { .. }) {
                return Err(bad(format!(
                    "exercise {}: a predict exercise is checked by kind \"answer\", and only it",
                    ex.id
                )));
            }
            if ex.solution.is_empty() {
                return Err(bad(format!(
                    "exercise {} has no solution: the honesty check runs it",
                    ex.id
                )));
            }
            out.push(Exercise {
                topic: lesson.topic,
                topic_id: lesson.id.clone(),
                topic_title: lesson.title.clone(),
                id: ex.id,
                kind,
                title: ex.title,
                task: ex.task,
                hints: ex.hints,
                solution: ex.solution,
                check,
            });
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for e in &out {
        if !seen.insert(e.id.as_str()) {
            return Err(CatalogError::Lesson {
                file: dir.display().to_string(),
                message: format!("exercise id {} appears twice", e.id),
            });
        }
    }
    out.sort_by_key(|e| e.topic);
    Ok(out)
}

/// The verdict on one exercise.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    /// The check could not read what it needs.
    Error,
}

/// One graded exercise.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Graded {
    pub id: String,
    pub topic: u32,
    pub title: String,
    pub kind: Kind,
    pub status: Status,
    /// The evidence for a pass, or the reason for a fail or an error.
    pub message: String,
    pub seconds: f64,
}

/// A prediction counts only before the demo shows the value: refuses an
/// answer when the container it observes already shows it (it exists; for an
/// exit code, it has exited). The reason says how to start over.
pub fn check_answer_in_time(root: &DataRoot, exercise: &Exercise) -> Result<(), String> {
    let Check::Answer { observe, .. } = &exercise.check else {
        return Ok(());
    };
    match grade::shown_at(root, observe) {
        None => Ok(()),
        Some(_) => {
            let name = observe.container();
            Err(format!(
                "too late for a prediction: {name} already shows the answer. \
                 Remove it (`glassbox rm -f {name}`), answer, then run the demo again"
            ))
        }
    }
}

/// Grades one exercise now; `answer` is the student's answer to a predict one.
pub fn grade(root: &DataRoot, exercise: &Exercise, answer: Option<&str>) -> Graded {
    grade_answered(root, exercise, answer, None)
}

/// [`grade()`], with the moment the answer was given (ns since 1970): a
/// prediction made after the demo showed the value does not count.
pub fn grade_answered(
    root: &DataRoot,
    exercise: &Exercise,
    answer: Option<&str>,
    answered_at: Option<u64>,
) -> Graded {
    let started = Instant::now();
    let grader = grade::Grader {
        root,
        answer,
        answered_at,
    };
    let (status, message) = match grader.grade(&exercise.check) {
        Ok(evidence) => (Status::Pass, evidence),
        Err(kernel::Problem::Fail(reason)) => match remake(root, exercise) {
            Some(how) => (Status::Fail, format!("{reason}. {how}")),
            None => (Status::Fail, reason),
        },
        Err(kernel::Problem::Error(reason)) => (Status::Error, reason),
    };
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

/// For a prediction whose container is gone (the lab removes its containers
/// when it quits, r removes them too) or no longer running: the commands
/// that make it again, so that `glassbox check` can grade the answer later.
fn remake(root: &DataRoot, exercise: &Exercise) -> Option<String> {
    let Check::Answer { observe, .. } = &exercise.check else {
        return None;
    };
    let name = observe.container();
    let gone = match crate::engine::container::find(root, name) {
        Err(_) => true,
        // An exit code is read from an exited container; the rest from a
        // running one.
        Ok(r) => !matches!(observe, Observe::ExitCode { .. }) && !r.is_running(),
    };
    gone.then(|| format!("{name} is made again by: {}", remake_commands(exercise)))
}

/// A prediction's container, as the student makes it: its solution's
/// commands, each in backquotes, in order.
pub fn remake_commands(exercise: &Exercise) -> String {
    exercise
        .solution
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", then ")
}

/// The exercises of one topic, by number (`4`) or lesson id (`cgroups`); all
/// of them for `None`.
pub fn select<'a>(all: &'a [Exercise], topic: Option<&str>) -> Vec<&'a Exercise> {
    match topic {
        None => all.iter().collect(),
        Some(key) => {
            let n = key.parse::<u32>().ok();
            all.iter()
                .filter(|e| Some(e.topic) == n || e.topic_id == key || e.id == key)
                .collect()
        }
    }
}
