//! Loading and validating `lessons/`: what `glassbox lessons --check` reports.
//!
//! serde checks the shape of each file (a misspelt key, a string where a
//! number goes) and that every action and panel is one the lab knows (they
//! deserialize into [`super::lesson::ActionKind`] and
//! [`PanelKind`](super::lesson::PanelKind)); this module checks the rest, as
//! rustlings' `dev check` does for its exercises: each action has the fields
//! it needs, every asset a build names exists under `assets/`, ids are
//! unique, and topics run 1, 2, 3… in files named after them. Each problem is reported at its place
//! in the file (`lessons/04-cgroups.toml:12:9: unknown panel "cgroups"`),
//! using the spans that the toml parser keeps for every value.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::lesson::{ActionKind, EXERCISE_KINDS, FORMAT_VERSION, Lesson, NEEDS};

/// One problem in one lesson file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based line and column (in characters).
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.col,
            self.message
        )
    }
}

/// A lesson file's text, for turning byte offsets into line and column.
struct Source<'a> {
    file: &'a Path,
    text: &'a str,
}

impl Source<'_> {
    fn at(&self, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        let (line, col) = line_col(self.text, span.start);
        Diagnostic {
            file: self.file.to_path_buf(),
            line,
            col,
            message: message.into(),
        }
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col = before
        .get(line_start..)
        .map(|s| s.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

/// The lessons of a directory, in topic order, or every problem found.
pub fn load_dir(dir: &Path) -> Result<Vec<Lesson>, Vec<Diagnostic>> {
    let (lessons, diagnostics) = check_dir(dir);
    if diagnostics.is_empty() {
        Ok(lessons)
    } else {
        Err(diagnostics)
    }
}

/// Loads and checks every `*.toml` in `dir`; returns the lessons that parsed
/// (in topic order) and all problems found. Assets are looked up in
/// `dir/../assets`.
pub fn check_dir(dir: &Path) -> (Vec<Lesson>, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect(),
        Err(e) => {
            diagnostics.push(Diagnostic {
                file: dir.to_path_buf(),
                line: 0,
                col: 0,
                message: format!("cannot read the lessons directory: {e}"),
            });
            return (Vec::new(), diagnostics);
        }
    };
    files.sort();
    if files.is_empty() {
        diagnostics.push(Diagnostic {
            file: dir.to_path_buf(),
            line: 0,
            col: 0,
            message: "no lesson files (NN-slug.toml) in this directory".into(),
        });
    }
    let assets = dir.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut parsed: Vec<(PathBuf, String, Lesson)> = Vec::new();
    for file in files {
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => {
                diagnostics.push(Diagnostic {
                    file: file.clone(),
                    line: 0,
                    col: 0,
                    message: format!("cannot read: {e}"),
                });
                continue;
            }
        };
        let src = Source {
            file: &file,
            text: &text,
        };
        match toml::from_str::<Lesson>(&text) {
            Ok(lesson) => {
                diagnostics.extend(check_lesson(&src, &lesson, &assets));
                parsed.push((file.clone(), text.clone(), lesson));
            }
            Err(e) => {
                let span = e.span().unwrap_or(0..0);
                diagnostics.push(src.at(span, e.message().trim().to_string()));
            }
        }
    }
    diagnostics.extend(check_across(&parsed));
    diagnostics.sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
    parsed.sort_by_key(|(_, _, l)| l.topic());
    (parsed.into_iter().map(|(_, _, l)| l).collect(), diagnostics)
}

/// The `NN` and `slug` of `NN-slug.toml`.
fn split_file_name(file: &Path) -> Option<(u32, String)> {
    let stem = file.file_stem()?.to_str()?;
    let (nn, slug) = stem.split_once('-')?;
    if nn.len() != 2 || slug.is_empty() {
        return None;
    }
    Some((nn.parse().ok()?, slug.to_string()))
}

fn one_of(names: &[&str]) -> String {
    names.join(", ")
}

/// Problems within one file.
fn check_lesson(src: &Source, lesson: &Lesson, assets_root: &Path) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let version = *lesson.format_version.get_ref();
    if version != FORMAT_VERSION {
        out.push(src.at(
            lesson.format_version.span(),
            format!(
                "format_version {version} is not supported: this glassbox reads version {FORMAT_VERSION}"
            ),
        ));
    }
    match split_file_name(src.file) {
        None => out.push(src.at(
            0..0,
            "the file name must be NN-slug.toml (two digits, a dash, the lesson's id)",
        )),
        Some((nn, slug)) => {
            if nn != lesson.topic() {
                out.push(src.at(
                    lesson.topic.span(),
                    format!(
                        "topic {} does not match the file name's number {nn:02}",
                        lesson.topic()
                    ),
                ));
            }
            if slug != lesson.id() {
                out.push(src.at(
                    lesson.id.span(),
                    format!(
                        "id \"{}\" does not match the file name's slug \"{slug}\"",
                        lesson.id()
                    ),
                ));
            }
        }
    }
    if !(1..=99).contains(&lesson.topic()) {
        out.push(src.at(
            lesson.topic.span(),
            format!(
                "topic {} is out of range: topics are 1 to 99",
                lesson.topic()
            ),
        ));
    }
    for need in &lesson.needs {
        if !NEEDS.contains(&need.get_ref().as_str()) {
            out.push(src.at(
                need.span(),
                format!(
                    "unknown need \"{}\": expected one of {}",
                    need.get_ref(),
                    one_of(&NEEDS)
                ),
            ));
        }
    }
    if lesson.step.is_empty() {
        out.push(src.at(
            lesson.id.span(),
            "the lesson has no steps: add at least one [[step]]",
        ));
    }
    let mut step_ids: BTreeMap<&str, Range<usize>> = BTreeMap::new();
    for step in &lesson.step {
        if let Some(first) = step_ids.get(step.id()) {
            let (line, _) = line_col(src.text, first.start);
            out.push(src.at(
                step.id.span(),
                format!(
                    "duplicate step id \"{}\" (first used on line {line})",
                    step.id()
                ),
            ));
        } else {
            step_ids.insert(step.id(), step.id.span());
        }
        if let Some(focus) = &step.focus
            && !focus.get_ref().starts_with("lab-")
        {
            out.push(src.at(
                focus.span(),
                format!(
                    "focus \"{}\" must name a lab- container (the lab removes lab-… containers when you leave)",
                    focus.get_ref()
                ),
            ));
        }
        for action in &step.actions {
            out.extend(check_action(src, action, assets_root));
        }
    }
    for exercise in &lesson.exercise {
        let kind = exercise.kind.get_ref();
        if !EXERCISE_KINDS.contains(&kind.as_str()) {
            out.push(src.at(
                exercise.kind.span(),
                format!(
                    "unknown exercise kind \"{kind}\": expected one of {}",
                    one_of(&EXERCISE_KINDS)
                ),
            ));
        }
        // The check itself: its kinds are crate::exercises::spec's.
        let id = exercise.id.get_ref();
        match &exercise.check {
            None => out.push(src.at(
                exercise.id.span(),
                format!("exercise \"{id}\" has no check: every exercise says what proves it done"),
            )),
            Some(table) => {
                if let Err(message) = crate::exercises::spec::from_table(table) {
                    out.push(src.at(
                        exercise.id.span(),
                        format!("exercise \"{id}\": check: {message}"),
                    ));
                }
            }
        }
    }
    out
}

/// Problems with one action's fields.
fn check_action(
    src: &Source,
    action: &super::lesson::Action,
    assets_root: &Path,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let verb = action.verb();
    match verb {
        ActionKind::Build => {
            if action.tag.is_none() {
                out.push(src.at(
                    action.verb.span(),
                    "action build needs `tag` (the image's name)",
                ));
            }
            match &action.asset {
                None => out.push(src.at(
                    action.verb.span(),
                    "action build needs `asset` (a directory under assets/ with a Dockerfile)",
                )),
                Some(asset) => {
                    let rel = asset.get_ref();
                    let path = Path::new(rel);
                    let inside = path.starts_with("assets")
                        && !path
                            .components()
                            .any(|c| matches!(c, std::path::Component::ParentDir));
                    if !inside {
                        out.push(src.at(
                            asset.span(),
                            format!("asset \"{rel}\" must be a path under assets/"),
                        ));
                    } else if !assets_root.join(path).join("Dockerfile").is_file() {
                        out.push(src.at(
                            asset.span(),
                            format!(
                                "missing asset \"{rel}\": no Dockerfile at {}",
                                assets_root.join(path).join("Dockerfile").display()
                            ),
                        ));
                    }
                }
            }
        }
        ActionKind::Commit => {
            if action.tag.is_none() {
                out.push(src.at(
                    action.verb.span(),
                    "action commit needs `tag` (the new image's name)",
                ));
            }
        }
        ActionKind::Curl => {
            if action.port.is_none() {
                out.push(src.at(action.verb.span(), "action curl needs `port` (a host port)"));
            }
        }
        ActionKind::Daemon => {
            if !action.args.is_empty() {
                out.push(src.at(
                    action.verb.span(),
                    "action daemon takes no `args`: it listens on the lab's own socket",
                ));
            }
        }
        ActionKind::Docker => match action.args.first().map(String::as_str) {
            None => out.push(src.at(
                action.verb.span(),
                "action docker needs `args` (the docker command: [\"run\", …])",
            )),
            Some("run") => out.extend(check_run_name(src, action, &action.args[1..])),
            Some(_) => {}
        },
        ActionKind::Run => out.extend(check_run_name(src, action, &action.args)),
        ActionKind::Exec
        | ActionKind::Stop
        | ActionKind::Kill
        | ActionKind::Rm
        | ActionKind::Inspect
        | ActionKind::Logs
        | ActionKind::Top
        | ActionKind::Ps
        | ActionKind::Stats
        | ActionKind::History
        | ActionKind::Plain => {}
        ActionKind::Starts => {
            if action.args.len() > 1 || action.args.iter().any(|n| !n.starts_with("lab-")) {
                out.push(src.at(
                    action.verb.span(),
                    "action starts takes at most one argument: the lab-… container whose bundle crun and runc run",
                ));
            }
        }
    }
    if verb != ActionKind::Build && action.asset.is_some() {
        out.push(src.at(
            action.verb.span(),
            format!("action {} takes no `asset`", verb.name()),
        ));
    }
    out
}

/// A `run` (glassbox's or docker's) names its container lab-… or removes it
/// (`--rm`), so that leaving the lab removes what it made.
fn check_run_name(
    src: &Source,
    action: &super::lesson::Action,
    args: &[String],
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let name = args
        .iter()
        .position(|a| a == "--name")
        .and_then(|i| args.get(i + 1));
    let detached = args.iter().any(|a| a == "-d" || a == "--detach");
    let auto_remove = args.iter().any(|a| a == "--rm");
    match name {
            Some(n) if !n.starts_with("lab-") => out.push(src.at(
                action.verb.span(),
                format!("run names its container \"{n}\": lab containers are named lab-… so that leaving the lab removes them"),
            )),
            None if !auto_remove => out.push(src.at(
                action.verb.span(),
                format!(
                    "run{} needs --name lab-… (or --rm) so that leaving the lab removes the container",
                    if detached { " -d" } else { "" }
                ),
            )),
            _ => {}
        }
    out
}

/// Problems between files: duplicate ids, topic order.
fn check_across(parsed: &[(PathBuf, String, Lesson)]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut lesson_ids: BTreeMap<&str, (&PathBuf, usize, usize)> = BTreeMap::new();
    let mut exercise_ids: BTreeMap<&str, (&PathBuf, usize, usize)> = BTreeMap::new();
    let mut topics: BTreeMap<u32, (&PathBuf, usize, usize)> = BTreeMap::new();
    for (file, text, lesson) in parsed {
        let src = Source { file, text };
        let (line, col) = line_col(text, lesson.id.span().start);
        if let Some((other, l, c)) = lesson_ids.get(lesson.id()) {
            out.push(src.at(
                lesson.id.span(),
                format!(
                    "duplicate lesson id \"{}\" (also in {}:{l}:{c})",
                    lesson.id(),
                    other.display()
                ),
            ));
        } else {
            lesson_ids.insert(lesson.id(), (file, line, col));
        }
        let (tl, tc) = line_col(text, lesson.topic.span().start);
        if let Some((other, l, c)) = topics.get(&lesson.topic()) {
            out.push(src.at(
                lesson.topic.span(),
                format!(
                    "topic {} appears twice (also in {}:{l}:{c})",
                    lesson.topic(),
                    other.display()
                ),
            ));
        } else {
            topics.insert(lesson.topic(), (file, tl, tc));
        }
        for exercise in &lesson.exercise {
            let id = exercise.id.get_ref().as_str();
            let (el, ec) = line_col(text, exercise.id.span().start);
            if let Some((other, l, c)) = exercise_ids.get(id) {
                out.push(src.at(
                    exercise.id.span(),
                    format!(
                        "duplicate exercise id \"{id}\" (also in {}:{l}:{c})",
                        other.display()
                    ),
                ));
            } else {
                exercise_ids.insert(id, (file, el, ec));
            }
        }
    }
    // Topics run 1, 2, 3… : report the first topic after each gap.
    let mut expected = 1;
    for (&topic, (file, line, col)) in &topics {
        if topic != expected {
            let missing: Vec<String> = (expected..topic).map(|t| t.to_string()).collect();
            out.push(Diagnostic {
                file: (*file).clone(),
                line: *line,
                col: *col,
                message: format!(
                    "wrong order: topics must run 1, 2, 3… without gaps, and topic {} is missing before topic {topic}",
                    missing.join(", ")
                ),
            });
        }
        expected = topic + 1;
    }
    out
}
