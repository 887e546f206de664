//! `glassbox check` (grade exercises against the kernel, or prove them honest
//! with `--verify`) and `glassbox exercise` (hints, solution, skip, answers).

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use crate::engine::DataRoot;
use crate::exercises::progress::{self, Progress};
use crate::exercises::report::{self, Format, Summary};
use crate::exercises::{self, Exercise, Kind, honesty};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Topics (number or id, e.g. 4 or cgroups) or exercise ids; all when absent
    pub topics: Vec<String>,
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Prove each exercise honest instead: it fails on a clean data root, its
    /// stored solution makes it pass; then everything is cleaned up
    #[arg(long)]
    pub verify: bool,
    /// Do not record the results in the progress file
    #[arg(long)]
    pub no_save: bool,
}

#[derive(Debug, Args)]
pub struct ExerciseArgs {
    #[command(subcommand)]
    pub command: ExerciseCommand,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ExerciseCommand {
    /// List the exercises, with your progress
    List { topic: Option<String> },
    /// Show the next hint of an exercise (one at a time)
    Hint { id: String },
    /// Show the commands that solve an exercise
    Solution { id: String },
    /// Skip an exercise
    Skip { id: String },
    /// Answer a predict exercise (graded by `glassbox check` against the live value)
    Answer { id: String, value: String },
    /// Make your work directory (~/glassbox-work: a copy of the files the
    /// exercises edit) and print its path: cd there to do them
    Workdir,
}

/// Where the lessons are: as the lab finds them ([`crate::lab::find_lessons_dir`]):
/// `$GLASSBOX_LESSONS`, `./lessons`, next to the binary or in its install
/// prefix, the source tree's, /usr/share/glassbox/lessons.
pub fn lessons_dir() -> anyhow::Result<PathBuf> {
    crate::lab::find_lessons_dir()
}

fn load_exercises() -> anyhow::Result<(PathBuf, Vec<Exercise>)> {
    let dir = lessons_dir()?;
    let all = exercises::load(&dir)?;
    Ok((dir, all))
}

/// Loads the progress file, saying so on stderr when it was corrupt.
fn load_progress() -> anyhow::Result<(PathBuf, Option<progress::Owner>, Progress)> {
    let (path, owner) = progress::default_path()?;
    let loaded = progress::load(&path)?;
    if let Some(w) = loaded.warning {
        crate::errln!("glassbox: {w}");
    }
    Ok((path, owner, loaded.progress))
}

/// `glassbox check`: the exit code is 0 only when every exercise checked passed.
pub fn check(root: &DataRoot, args: CheckArgs) -> anyhow::Result<i32> {
    let (dir, all) = load_exercises()?;
    let mut selected: Vec<&Exercise> = Vec::new();
    if args.topics.is_empty() {
        selected = exercises::select(&all, None);
    }
    for key in &args.topics {
        let found = exercises::select(&all, Some(key));
        if found.is_empty() {
            bail!(
                "no exercise matches {key:?} (topics are 1 to 20, a lesson id, or an exercise id; `glassbox exercise list` lists them)"
            );
        }
        for e in found {
            if !selected.iter().any(|s| s.id == e.id) {
                selected.push(e);
            }
        }
    }
    let results: Vec<_> = if args.verify {
        crate::engine::require_root("glassbox check --verify")?;
        let setup = honesty::Setup {
            glassbox: std::env::current_exe().context("cannot find this glassbox binary")?,
            assets: dir
                .parent()
                .map(|p| p.join("assets"))
                .filter(|a| a.is_dir()),
        };
        // Text streams one line per exercise as it is proved (a full run
        // takes minutes); JSON and JUnit come whole at the end.
        selected
            .iter()
            .map(|e| {
                let r = honesty::verify(root, &setup, e);
                if args.format == Format::Text {
                    crate::out!("{}", report::line(&r));
                }
                r
            })
            .collect()
    } else {
        let (path, owner, mut progress) = if args.no_save {
            (PathBuf::new(), None, Progress::default())
        } else {
            load_progress()?
        };
        let results: Vec<_> = selected
            .iter()
            .map(|e| {
                let given = progress.exercise(&e.id);
                exercises::grade_answered(root, e, given.answer.as_deref(), given.answered_at)
            })
            .collect();
        if !args.no_save {
            for r in &results {
                progress.record(&r.id, r.status == exercises::Status::Pass);
            }
            // Merged under the lock with what the file holds now.
            if let Err(e) = progress::save(&path, &progress, owner.as_ref()) {
                crate::errln!("glassbox: {e}");
            }
        }
        results
    };
    let title = if args.verify {
        "glassbox check --verify"
    } else {
        "glassbox check"
    };
    if args.verify && args.format == Format::Text {
        crate::out!("{}", report::summary_line(&results));
    } else {
        crate::out!("{}", report::render(args.format, title, &results));
    }
    Ok(if Summary::of(&results).all_passed() {
        0
    } else {
        1
    })
}

/// `glassbox exercise …`. A change is made under the progress file's lock,
/// on what the file holds at that moment ([`progress::update`]), so the lab
/// open in another terminal loses nothing and shows it.
pub fn exercise(root_path: &std::path::Path, args: ExerciseArgs) -> anyhow::Result<i32> {
    if let ExerciseCommand::Workdir = args.command {
        let lessons = lessons_dir()?;
        let assets = lessons
            .canonicalize()
            .ok()
            .and_then(|d| d.parent().map(|p| p.join("assets")))
            .ok_or_else(|| anyhow::anyhow!("no assets/ beside {}", lessons.display()))?;
        let owner = exercises::progress::invoking_user();
        let work = exercises::workdir::path(owner.as_ref()).ok_or_else(|| {
            anyhow::anyhow!(
                "cannot find a home directory for the work directory: set HOME or {}",
                exercises::workdir::WORK_ENV
            )
        })?;
        let copied = exercises::workdir::prepare(&work, &assets, owner.as_ref())
            .map_err(|e| anyhow::anyhow!(e))?;
        for c in copied {
            crate::errln!("copied {c} from {}", assets.display());
        }
        crate::outln!("{}", work.display());
        return Ok(0);
    }
    let (_, all) = load_exercises()?;
    let (path, owner, progress) = load_progress()?;
    let find = |id: &str| -> anyhow::Result<&Exercise> {
        all.iter().find(|e| e.id == id).ok_or_else(|| {
            anyhow::anyhow!("no exercise {id:?} (`glassbox exercise list` lists them)")
        })
    };
    let mut said: Vec<String> = Vec::new();
    match args.command {
        ExerciseCommand::List { topic } => {
            for e in exercises::select(&all, topic.as_deref()) {
                let p = progress.exercise(&e.id);
                crate::outln!(
                    "{:>2}  {:<22} {:<7} {:<8} {}",
                    e.topic,
                    e.id,
                    e.kind.name(),
                    format!("{:?}", p.status).to_lowercase(),
                    e.title
                );
            }
            return Ok(0);
        }
        ExerciseCommand::Hint { id } => {
            let e = find(&id)?;
            progress::update(&path, owner.as_ref(), |p| {
                match p.next_hint(&id, e.hints.len()) {
                    Some(i) => said.push(format!(
                        "hint {} of {}: {}",
                        i + 1,
                        e.hints.len(),
                        e.hints[i]
                    )),
                    None if e.hints.is_empty() => said.push(format!("{id} has no hints")),
                    None => {
                        said.push(format!("all {} hints are shown:", e.hints.len()));
                        for (i, h) in e.hints.iter().enumerate() {
                            said.push(format!("hint {}: {h}", i + 1));
                        }
                        said.push(format!(
                            "`glassbox exercise solution {id}` shows the solution"
                        ));
                    }
                }
            })?;
        }
        ExerciseCommand::Solution { id } => {
            let e = find(&id)?;
            progress::update(&path, owner.as_ref(), |p| p.show_solution(&id))?;
            said.extend(e.solution.iter().cloned());
        }
        ExerciseCommand::Skip { id } => {
            find(&id)?;
            progress::update(&path, owner.as_ref(), |p| p.skip(&id))?;
            said.push(format!("skipped {id}"));
        }
        ExerciseCommand::Answer { id, value } => {
            let e = find(&id)?;
            if e.kind != Kind::Predict {
                bail!("{id} is a task, not a question: do it, then run `glassbox check {id}`");
            }
            // Where the data root can be read, refuse a prediction the demo
            // has already answered (grading checks the times as well).
            if let Ok(root) = DataRoot::open(root_path) {
                exercises::check_answer_in_time(&root, e).map_err(|why| anyhow::anyhow!(why))?;
            }
            progress::update(&path, owner.as_ref(), |p| p.set_answer(&id, &value))?;
            said.push(format!(
                "answered {id}: {value} (now watch the demo; `glassbox check {id}` grades it)"
            ));
        }
        ExerciseCommand::Workdir => {}
    }
    for line in said {
        crate::outln!("{line}");
    }
    Ok(0)
}
