//! The lab's commands: `glassbox lessons [--check]` and `glassbox lab [TOPIC]`.

use std::path::PathBuf;

use clap::Args;

/// `glassbox lessons`' flags.
#[derive(Debug, Clone, Default, Args)]
pub struct LessonsArgs {
    /// Validate every lesson file and report each problem as file:line:col
    #[arg(long)]
    pub check: bool,
    /// The lessons directory (default: $GLASSBOX_LESSONS, ./lessons, or the source tree's)
    #[arg(long)]
    pub lessons: Option<PathBuf>,
}

/// `glassbox lessons`: one topic a line; with `--check`, every problem in
/// every file, exit 1 if there was any.
pub fn lessons(args: LessonsArgs) -> anyhow::Result<i32> {
    let dir = match args.lessons {
        Some(d) => d,
        None => super::find_lessons_dir()?,
    };
    let (lessons, diagnostics) = super::check::check_dir(&dir);
    if args.check {
        for d in &diagnostics {
            println!("{d}");
        }
        if diagnostics.is_empty() {
            println!("{}: {} lessons, no problems", dir.display(), lessons.len());
            return Ok(0);
        }
        println!("{} problem(s) in {}", diagnostics.len(), dir.display());
        return Ok(1);
    }
    if !diagnostics.is_empty() {
        anyhow::bail!(
            "the lessons in {} have {} problem(s): run `glassbox lessons --check`",
            dir.display(),
            diagnostics.len()
        );
    }
    for lesson in &lessons {
        println!("{:>2}  {}", lesson.topic(), lesson.title);
    }
    Ok(0)
}
