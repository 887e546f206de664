//! The exercise pane's text: the current topic's exercise, its task, the
//! answer being typed, the last verdict, the hints revealed so far and the
//! solution when asked for. Pure over [`Pane`], the state the lab keeps.

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use crate::exercises::pane::Pane;
use crate::exercises::progress::ExerciseStatus;
use crate::exercises::{Kind, Status};

/// The pane's lines for `topic`. In presenter mode hints and the
/// solution stay hidden: the room sees the task and the verdict.
pub fn lines(pane: &Pane, topic: u32, present: bool) -> Vec<Line<'static>> {
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let list = pane.of_topic(topic);
    let Some(e) = pane.current(topic) else {
        return vec![Line::from("This topic has no exercise.")];
    };
    let p = pane.progress.exercise(&e.id);
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "Exercise {} of {} · {} · {}",
            pane.selected.min(list.len().saturating_sub(1)) + 1,
            list.len(),
            e.kind.name(),
            e.title
        ),
        bold,
    ))];
    lines.push(Line::from(""));
    lines.push(Line::from(e.task.clone()));
    lines.push(Line::from(""));
    if let crate::exercises::Check::Answer { observe, .. } = &e.check {
        // The container the answer is graded against, and how to make it
        // again once the lab has removed it (not a spoiler: it shows the
        // value only once made).
        lines.push(Line::from(format!(
            "graded on {}, which these make (again, once the lab has removed it):",
            observe.container()
        )));
        for c in &e.solution {
            lines.push(Line::from(format!("  $ {c}")));
        }
        lines.push(Line::from(""));
    }
    if e.kind == Kind::Predict {
        let answer = match (&pane.answering, &p.answer) {
            (Some(typing), _) => {
                format!("your answer: {typing}▏ (Enter keeps it, Esc cancels)")
            }
            (None, Some(a)) => format!("your answer: {a}"),
            (None, None) => "your answer: none yet (a to answer)".to_string(),
        };
        lines.push(Line::from(Span::styled(answer, bold)));
    }
    let verdict = match (pane.checking, pane.results.get(&e.id)) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exercises::progress::Progress;
    use crate::exercises::{Check, Exercise, Graded};

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
        assert!(!text(&lines(&pane, 4, false)).contains("hint 1"));
        assert!(pane.next_hint(4));
        let t = text(&lines(&pane, 4, false));
        assert!(t.contains("hint 1: first") && !t.contains("hint 2"));
        assert!(pane.next_hint(4));
        assert!(!pane.next_hint(4), "no third hint");
        assert!(
            !text(&lines(&pane, 4, true)).contains("hint"),
            "presenter hides hints"
        );
        assert!(pane.show_solution(4));
        assert!(text(&lines(&pane, 4, false)).contains("$ glassbox run x"));
        assert!(!text(&lines(&pane, 4, true)).contains("$ glassbox run x"));
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
        assert!(text(&lines(&pane, 1, false)).contains("✓ PASS"));
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
        let t = text(&lines(&pane, 1, false));
        assert!(t.contains("your answer: 1"), "{t}");
        assert!(t.contains("progress: passed"), "{t}");
        assert_eq!(
            pane.progress.current_topic,
            Some(1),
            "the lab's topic stays"
        );
    }
}
