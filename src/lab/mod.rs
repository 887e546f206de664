//! The lab: twenty topics, each a lesson file, a demo that starts real
//! containers through the glassbox binary, and live panels fed by a sampler.
//!
//! - [`lesson`] is the lesson file format and [`check`] validates a directory
//!   of them (`glassbox lessons --check`);
//! - [`demo`] runs a step's actions: docker's verbs through the real binary
//!   (`std::env::current_exe()`), never a shortcut into the engine, so what the
//!   lab does is what a student can type; [`tools`] first checks that the
//!   programs they run are in the container's image;
//! - [`sample`] is the data the panels draw and [`sampler`] fills it from the
//!   kernel through [`crate::inspect`], on its own thread;
//! - [`shell`] is the shell pane's pty: `glassbox exec -it NAME sh` with the
//!   lab as its terminal emulator;
//! - [`run`] owns the terminal: the event loop that joins the input thread,
//!   the sampler and the demo worker to the [`crate::tui`] app.

pub mod check;
pub mod demo;
pub mod exercises;
pub mod lesson;
pub mod netview;
pub mod run;
pub mod sample;
pub mod sampler;
pub mod shell;
pub mod starts;
pub mod tools;

use std::path::{Path, PathBuf};

pub use lesson::Lesson;

/// The environment variable that points the lab at a lessons directory.
pub const LESSONS_ENV: &str = "GLASSBOX_LESSONS";

/// Where the lessons are: `$GLASSBOX_LESSONS`, else `./lessons`, else next
/// to the binary (`BIN/lessons`, or `PREFIX/share/glassbox/lessons` for a
/// binary in `PREFIX/bin`), else the `lessons/` of the source tree glassbox
/// was built from, else /usr/share/glassbox/lessons. Their `assets/` is the
/// directory beside them.
pub fn find_lessons_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os(LESSONS_ENV) {
        return Ok(PathBuf::from(dir));
    }
    let mut candidates = vec![PathBuf::from("lessons")];
    if let Ok(exe) = std::env::current_exe()
        && let Some(bin) = exe.parent()
    {
        candidates.push(bin.join("lessons"));
        if let Some(prefix) = bin.parent() {
            candidates.push(prefix.join("share/glassbox/lessons"));
        }
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons"));
    candidates.push(PathBuf::from("/usr/share/glassbox/lessons"));
    candidates
        .into_iter()
        .find(|d| d.join("01-container-is-a-process.toml").is_file())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no lessons directory found: run glassbox from its source tree, or set {LESSONS_ENV}=/path/to/lessons"
            )
        })
}

/// Loads the lessons, turning problems into one error that lists each.
pub fn load_lessons(dir: &Path) -> anyhow::Result<Vec<Lesson>> {
    check::load_dir(dir).map_err(|diagnostics| {
        let lines: Vec<String> = diagnostics.iter().map(|d| d.to_string()).collect();
        anyhow::anyhow!(
            "the lessons in {} have problems (`glassbox lessons --check` lists them):\n{}",
            dir.display(),
            lines.join("\n")
        )
    })
}

/// Finds a topic by number (`4`, `04`) or id (`cgroups`); returns its index.
pub fn find_topic(lessons: &[Lesson], key: &str) -> Option<usize> {
    if let Ok(n) = key.parse::<u32>() {
        return lessons.iter().position(|l| l.topic() == n);
    }
    lessons.iter().position(|l| l.id() == key)
}
