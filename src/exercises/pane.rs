//! The lab's exercise pane: the current topic's exercises, their last
//! verdicts, hints revealed one at a time, the solution on request, a skip,
//! and a predict exercise's answer typed in before the demo.
//!
//! This is state and intents only, with no I/O (the TUI draws it and the lab
//! runner grades and saves): [`Pane::lines`] is what the pane shows,
//! [`fingerprint`] is what the runner watches to re-check an exercise when
//! the state it reads changes (polling, which works where file watching
//! does not), and a manual re-check is always one key away.

use std::collections::BTreeMap;

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::progress::{ExerciseStatus, Progress};
use super::{Exercise, Graded, Kind, Status};
use crate::engine::DataRoot;

/// The pane's state.
#[derive(Debug, Clone, Default)]
pub struct Pane {
    pub exercises: Vec<Exercise>,
    pub progress: Progress,
    /// The last verdict of each exercise, by id.
    pub results: BTreeMap<String, Graded>,
    /// Which of the topic's exercises is shown.
    pub selected: usize,
    /// A predict answer being typed; `None` when not typing.
    pub answering: Option<String>,
    /// A check is running.
    pub checking: bool,
}

impl Pane {
    pub fn new(exercises: Vec<Exercise>, progress: Progress) -> Pane {
        Pane {
            exercises,
            progress,
            ..Pane::default()
        }
    }

    /// Takes in what the progress file holds now (another shell answered,
    /// hinted, skipped or passed): merged by exercise, so nothing the lab
    /// recorded is lost either; the lab's own topic stays.
    pub fn adopt(&mut self, file: &Progress) {
        let topic = self.progress.current_topic;
        self.progress.merge(file);
        if topic.is_some() {
            self.progress.current_topic = topic;
        }
    }

    /// The exercises of `topic`, in lesson order.
    pub fn of_topic(&self, topic: u32) -> Vec<&Exercise> {
        self.exercises.iter().filter(|e| e.topic == topic).collect()
    }

    /// The exercise shown for `topic`.
    pub fn current(&self, topic: u32) -> Option<&Exercise> {
        let list = self.of_topic(topic);
        list.get(self.selected.min(list.len().saturating_sub(1)))
            .copied()
    }

    /// The ids the runner grades for `topic`.
    pub fn ids(&self, topic: u32) -> Vec<String> {
        self.of_topic(topic).iter().map(|e| e.id.clone()).collect()
    }

    /// Shows the topic's next exercise; returns false past the last one
    /// (the caller then closes the pane), and starts again at the first.
    pub fn select_next(&mut self, topic: u32) -> bool {
        let n = self.of_topic(topic).len();
        self.answering = None;
        if self.selected + 1 < n {
            self.selected += 1;
            true
        } else {
            self.selected = 0;
            false
        }
    }

    /// Reveals the next hint; true when the progress changed (save it).
    pub fn next_hint(&mut self, topic: u32) -> bool {
        let Some(e) = self.current(topic) else {
            return false;
        };
        let (id, total) = (e.id.clone(), e.hints.len());
        self.progress.next_hint(&id, total).is_some()
    }

    pub fn show_solution(&mut self, topic: u32) -> bool {
        let Some(id) = self.current(topic).map(|e| e.id.clone()) else {
            return false;
        };
        self.progress.show_solution(&id);
        true
    }

    pub fn skip(&mut self, topic: u32) -> bool {
        let Some(id) = self.current(topic).map(|e| e.id.clone()) else {
            return false;
        };
        self.progress.skip(&id);
        true
    }

    /// Starts typing an answer, if the shown exercise is a prediction.
    pub fn start_answer(&mut self, topic: u32) -> bool {
        if self.current(topic).is_some_and(|e| e.kind == Kind::Predict) {
            self.answering = Some(String::new());
            true
        } else {
            false
        }
    }

    pub fn type_char(&mut self, c: char) {
        if let Some(a) = &mut self.answering
            && a.len() < 40
            && !c.is_control()
        {
            a.push(c);
        }
    }

    pub fn backspace(&mut self) {
        if let Some(a) = &mut self.answering {
            a.pop();
        }
    }

    pub fn cancel_answer(&mut self) {
        self.answering = None;
    }

    /// Stores the typed answer; true when there was one (save, then grade).
    pub fn submit_answer(&mut self, topic: u32) -> bool {
        let Some(answer) = self.answering.take() else {
            return false;
        };
        let Some(id) = self.current(topic).map(|e| e.id.clone()) else {
            return false;
        };
        if answer.trim().is_empty() {
            return false;
        }
        self.progress.set_answer(&id, &answer);
        true
    }

    /// Takes a batch of verdicts; true when the progress changed. Only a
    /// pass is written down: the lab re-checks on its own all the time, and
    /// an exercise not yet done is not a failure.
    pub fn record(&mut self, results: Vec<Graded>) -> bool {
        self.checking = false;
        let mut changed = false;
        for r in results {
            if r.status == Status::Pass {
                let before = self.progress.exercise(&r.id).status;
                self.progress.record(&r.id, true);
                changed |= before != ExerciseStatus::Passed;
            }
            self.results.insert(r.id.clone(), r);
        }
        changed
    }

    /// The pane's lines for `topic`. In presenter mode hints and the
    /// solution stay hidden: the room sees the task and the verdict.
    pub fn lines(&self, topic: u32, present: bool) -> Vec<Line<'static>> {
        let bold = Style::default().add_modifier(Modifier::BOLD);
        let list = self.of_topic(topic);
        let Some(e) = self.current(topic) else {
            return vec![Line::from("This topic has no exercise.")];
        };
        let p = self.progress.exercise(&e.id);
        let mut lines = vec![Line::from(Span::styled(
            format!(
                "Exercise {} of {} · {} · {}",
                self.selected.min(list.len().saturating_sub(1)) + 1,
                list.len(),
                e.kind.name(),
                e.title
            ),
            bold,
        ))];
        lines.push(Line::from(""));
        lines.push(Line::from(e.task.clone()));
        lines.push(Line::from(""));
        if e.kind == Kind::Predict {
            let answer = match (&self.answering, &p.answer) {
                (Some(typing), _) => {
                    format!("your answer: {typing}▏ (Enter keeps it, Esc cancels)")
                }
                (None, Some(a)) => format!("your answer: {a}"),
                (None, None) => "your answer: none yet (a to answer)".to_string(),
            };
            lines.push(Line::from(Span::styled(answer, bold)));
        }
        let verdict = match (self.checking, self.results.get(&e.id)) {
            (true, _) => Line::from("checking the kernel…"),
            (false, Some(r)) => {
                let (mark, word) = match r.status {
                    Status::Pass => ("✓", "PASS"),
                    Status::Fail => ("✗", "FAIL"),
                    Status::Error => ("?", "CANNOT CHECK"),
                };
                Line::from(vec![
                    Span::styled(format!("{mark} {word} "), bold),
                    Span::raw(r.message.clone()),
                ])
            }
            (false, None) => Line::from("not checked yet (x checks now)"),
        };
        lines.push(verdict);
        let status = match p.status {
            ExerciseStatus::Open => "open",
            ExerciseStatus::Passed => "passed",
            ExerciseStatus::Failed => "not passed yet",
            ExerciseStatus::Skipped => "skipped",
        };
        lines.push(Line::from(format!("progress: {status}")));
        if present {
            return lines;
        }
        if p.hints_shown > 0 {
            lines.push(Line::from(""));
            for (i, h) in e.hints.iter().take(p.hints_shown).enumerate() {
                lines.push(Line::from(format!("hint {}: {h}", i + 1)));
            }
        }
        if p.solution_shown {
            lines.push(Line::from(""));
            lines.push(Line::from(Span::styled("solution:", bold)));
            for s in &e.solution {
                lines.push(Line::from(format!("  $ {s}")));
            }
        }
        lines.push(Line::from(""));
        let more = if list.len() > 1 {
            "  e next exercise"
        } else {
            "  e close"
        };
        let hint_key = if p.hints_shown < e.hints.len() {
            format!("i hint ({} left)  ", e.hints.len() - p.hints_shown)
        } else {
            String::new()
        };
        let answer_key = if e.kind == Kind::Predict {
            "a answer  "
        } else {
            ""
        };
        lines.push(Line::from(Span::styled(
            format!("x check  {hint_key}{answer_key}s solution  S skip{more}"),
            Style::default().add_modifier(Modifier::DIM),
        )));
        lines
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exercises::{Check, Graded};

    fn ex(id: &str, topic: u32, kind: Kind) -> Exercise {
        Exercise {
            topic,
            topic_id: "t".into(),
            topic_title: "T".into(),
            id: id.into(),
            kind,
            title: format!("title {id}"),
            task: format!("task {id}"),
            hints: vec!["first".into(), "second".into()],
            solution: vec!["glassbox run x".into()],
            check: Check::Running {
                container: "x".into(),
            },
        }
    }

    fn text(lines: &[Line]) -> String {
        lines
            .iter()
            .map(|l| {
                l.spans
                    .iter()
                    .map(|s| s.content.as_ref())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn hints_reveal_one_at_a_time_and_hide_in_presenter_mode() {
        let mut pane = Pane::new(vec![ex("a", 4, Kind::Task)], Progress::default());
        assert!(!text(&pane.lines(4, false)).contains("hint 1"));
        assert!(pane.next_hint(4));
        let t = text(&pane.lines(4, false));
        assert!(t.contains("hint 1: first") && !t.contains("hint 2"));
        assert!(pane.next_hint(4));
        assert!(!pane.next_hint(4), "no third hint");
        assert!(
            !text(&pane.lines(4, true)).contains("hint"),
            "presenter hides hints"
        );
        assert!(pane.show_solution(4));
        assert!(text(&pane.lines(4, false)).contains("$ glassbox run x"));
        assert!(!text(&pane.lines(4, true)).contains("$ glassbox run x"));
    }

    #[test]
    fn answers_are_typed_and_kept_and_verdicts_recorded() {
        let mut pane = Pane::new(
            vec![ex("t", 1, Kind::Task), ex("p", 1, Kind::Predict)],
            Progress::default(),
        );
        assert!(!pane.start_answer(1), "a task takes no answer");
        assert!(pane.select_next(1));
        assert!(pane.start_answer(1));
        "1".chars().for_each(|c| pane.type_char(c));
        assert!(pane.submit_answer(1));
        assert_eq!(pane.progress.exercise("p").answer.as_deref(), Some("1"));
        let graded = Graded {
            id: "p".into(),
            topic: 1,
            title: "t".into(),
            kind: Kind::Predict,
            status: Status::Pass,
            message: "answered \"1\"; the kernel shows 1".into(),
            seconds: 0.0,
        };
        assert!(pane.record(vec![graded]));
        assert!(text(&pane.lines(1, false)).contains("✓ PASS"));
        assert_eq!(pane.progress.exercise("p").status, ExerciseStatus::Passed);
        assert!(!pane.select_next(1), "past the last exercise");
    }

    #[test]
    fn another_shells_answer_shows_beside_the_labs_pass() {
        let mut pane = Pane::new(vec![ex("p", 1, Kind::Predict)], Progress::default());
        pane.progress.jump(1);
        pane.progress.record("p", true);
        // `glassbox exercise answer p 1` in another shell, then the file changed.
        let mut file = Progress::default();
        file.set_answer("p", "1");
        file.jump(9);
        pane.adopt(&file);
        let t = text(&pane.lines(1, false));
        assert!(t.contains("your answer: 1"), "{t}");
        assert!(t.contains("progress: passed"), "{t}");
        assert_eq!(
            pane.progress.current_topic,
            Some(1),
            "the lab's topic stays"
        );
    }
}
