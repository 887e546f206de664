//! `wait`: block until a container stops, and say its exit code.
//!
//! docker's three conditions: `not-running` (return at once if it is not
//! running), `next-exit` (the next time it exits, even if it has not started
//! yet: `docker run` asks this before it starts the container), `removed`
//! (until it is gone: `docker run --rm`). The shim that saw the exit writes
//! a `die` event with the exit code to the root's event log before it
//! removes an `--rm` container, so the code is known even for a container
//! that ran, exited and vanished between two looks.

use super::DataRoot;
use super::container;
use super::events;
use std::time::Duration;

/// docker's wait conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    NotRunning,
    NextExit,
    Removed,
}

impl Condition {
    pub fn parse(s: &str) -> Result<Condition, super::EngineError> {
        match s {
            "" | "not-running" => Ok(Condition::NotRunning),
            "next-exit" => Ok(Condition::NextExit),
            "removed" => Ok(Condition::Removed),
            other => Err(super::EngineError::Invalid(format!(
                "invalid condition: \"{other}\""
            ))),
        }
    }
}

/// A registered wait: what was true when it began. Taking it before
/// answering the client (or before starting the container) is what makes
/// `next-exit` race-free: an exit after this point is the next one.
#[derive(Debug, Clone)]
pub struct Waiter {
    pub id: String,
    pub condition: Condition,
    /// Where the event log ended when the wait began.
    offset: u64,
    /// `finished_at` of the record then.
    finished_at: u64,
    last_code: i32,
}

/// Registers a wait on container `name`.
pub fn begin(root: &DataRoot, name: &str, condition: Condition) -> anyhow::Result<Waiter> {
    let offset = events::end(root);
    let r = container::find(root, name)?;
    Ok(Waiter {
        id: r.id.clone(),
        condition,
        offset,
        finished_at: r.state.finished_at,
        last_code: r.state.exit_code,
    })
}

/// The outcome of a wait: the exit code, and an error text if the wait
/// itself could not finish (docker's `Error.Message`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub code: i32,
    pub error: Option<String>,
}

impl Waiter {
    /// One look: `Some` when the condition holds.
    pub fn poll(&mut self, root: &DataRoot) -> Option<Outcome> {
        // The record first, the events after: the shim writes `die` before
        // it removes a --rm container, so a record found gone here has its
        // `die` in the events read next.
        let record = container::load_by_id(root, &self.id).ok();
        let (evs, next) = events::read_from(root, self.offset);
        self.offset = next;
        let mut died = None;
        let mut destroyed = false;
        for e in &evs {
            if e["Actor"]["ID"].as_str() != Some(self.id.as_str()) {
                continue;
            }
            match e["Action"].as_str() {
                Some("die") => {
                    let code = e["Actor"]["Attributes"]["exitCode"]
                        .as_str()
                        .and_then(|c| c.parse().ok())
                        .unwrap_or(0);
                    self.last_code = code;
                    died = Some(code);
                }
                Some("destroy") => destroyed = true,
                _ => {}
            }
        }
        let code = |r: &container::Record| Outcome {
            code: r.state.exit_code,
            error: None,
        };
        match self.condition {
            Condition::Removed => {
                if destroyed || record.is_none() {
                    return Some(Outcome {
                        code: died.unwrap_or(self.last_code),
                        error: None,
                    });
                }
                if let Some(r) = &record
                    && r.state.status == "exited"
                {
                    self.last_code = r.state.exit_code;
                }
                None
            }
            Condition::NextExit | Condition::NotRunning => {
                if let Some(c) = died {
                    return Some(Outcome {
                        code: c,
                        error: None,
                    });
                }
                let r = record?;
                // `dead`: it ended while no one watched (its shim was killed).
                let ended = r.state.status == "exited" || r.state.status == "dead";
                let exited_since = ended && r.state.finished_at > self.finished_at;
                let not_running =
                    r.state.status != "running" && self.condition == Condition::NotRunning;
                // An exit the shim could not record (it was killed): the
                // record, read against the kernel, says exited.
                (exited_since || not_running).then(|| code(&r))
            }
        }
    }

    /// Waits until the condition holds or `alive()` turns false (the client left).
    pub fn wait(&mut self, root: &DataRoot, alive: &dyn Fn() -> bool) -> Option<Outcome> {
        loop {
            if let Some(o) = self.poll(root) {
                return Some(o);
            }
            if !alive() {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
