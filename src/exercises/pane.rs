//! The lab's exercise pane: the current topic's exercises, their last
//! verdicts, hints revealed one at a time, the solution on request, a skip,
//! and a predict exercise's answer typed in before the demo.
//!
//! This is state and intents only, with no I/O: the TUI draws it
//! ([`crate::tui::exercise`]) and the lab's checker grades and saves
//! ([`crate::lab::exercises`]).

use std::collections::BTreeMap;

use super::progress::{ExerciseStatus, Progress};
use super::{Exercise, Graded, Kind, Status};

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
}
