//! The run's phases, read off stack events, and the verdicts drawn from
//! an event history: root cause of a failure, what blocked a deletion.
//! Pure functions, tested on recorded event sequences.

use super::event::StackEvent;

/// Logical id of the wait condition that completes when every bee is
/// ready.
pub const READY: &str = "Ready";
/// Logical id of the wait condition that completes when every bee is done.
pub const DONE: &str = "Done";

pub use crate::feed::Phase;

/// Follows the phase of one (root) stack through its events.
#[derive(Debug)]
pub struct PhaseTracker {
    root: String,
    phase: Phase,
}

impl PhaseTracker {
    /// Starts in `Provisioning` for the stack with id `root`.
    pub fn new(root: &str) -> Self {
        PhaseTracker {
            root: root.to_string(),
            phase: Phase::Provisioning,
        }
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Moves to `p` (deletion is started by stampede, not seen in events
    /// first). Returns whether the phase changed.
    pub fn set(&mut self, p: Phase) -> bool {
        let changed = self.phase != p;
        self.phase = p;
        changed
    }

    /// Reads one event; returns the new phase when it changed.
    pub fn observe(&mut self, e: &StackEvent) -> Option<Phase> {
        if e.stack_id != self.root {
            return None;
        }
        let next = if e.is_stack_event() {
            match e.status.as_str() {
                "CREATE_COMPLETE" => Phase::Done,
                "DELETE_IN_PROGRESS" => Phase::Deleting,
                "DELETE_COMPLETE" => Phase::Deleted,
                "DELETE_FAILED" => Phase::DeleteFailed,
                s if super::status::is_failed(s) => Phase::Failed,
                _ => return None,
            }
        } else {
            match (e.logical_id.as_str(), e.status.as_str()) {
                (_, "CREATE_FAILED") if self.phase < Phase::Done => Phase::Failed,
                (READY, "CREATE_COMPLETE") if self.phase == Phase::Provisioning => Phase::Ready,
                (DONE, "CREATE_IN_PROGRESS") if self.phase <= Phase::Ready => Phase::Testing,
                _ => return None,
            }
        };
        // Once failed, only deletion moves the phase on.
        if self.phase == Phase::Failed && next < Phase::Deleting {
            return None;
        }
        self.set(next).then_some(next)
    }
}

pub use super::status::{is_created, is_settled};

/// Reasons CloudFormation gives to resources that failed only because
/// something else did.
const CASCADE: &[&str] = &[
    "Resource creation cancelled",
    "Resource update cancelled",
    "The following resource(s) failed",
    "Embedded stack",
    "Stack creation time exceeded",
];

/// The failure that started it all: a capacity failure (a fleet that
/// could not start explains every failure after it), else the oldest
/// failed resource whose reason is not a consequence of another failure.
pub fn root_cause(events: &[StackEvent]) -> Option<&StackEvent> {
    let failed = |e: &&StackEvent| e.status.ends_with("_FAILED") && !e.is_stack_event();
    let cascade = |e: &StackEvent| {
        e.reason
            .as_deref()
            .is_some_and(|r| CASCADE.iter().any(|c| r.starts_with(c)))
    };
    let mut by_time: Vec<&StackEvent> = events.iter().filter(failed).collect();
    by_time.sort_by_key(|e| e.time);
    let capacity = |e: &&&StackEvent| super::capacity::in_event(e).is_some();
    by_time
        .iter()
        .find(capacity)
        .or_else(|| by_time.iter().find(|e| !cascade(e)))
        .or_else(|| by_time.first())
        .copied()
}

/// A failed resource for the user: what, its status and reason, and for a
/// capacity failure what to change.
pub fn describe(cause: &StackEvent) -> String {
    let mut text = format!(
        "{} ({}) {}: {}",
        cause.logical_id,
        cause.resource_type,
        cause.status,
        cause.reason.as_deref().unwrap_or("no reason given")
    );
    if let Some(found) = super::capacity::in_event(cause) {
        text.push_str("\n  what to change: ");
        text.push_str(found.kind.advice());
    }
    text
}

/// Resources whose latest event is DELETE_FAILED, with the reason.
pub fn delete_blockers(events: &[StackEvent]) -> Vec<(String, String)> {
    let mut latest: Vec<&StackEvent> = Vec::new();
    let mut sorted: Vec<&StackEvent> = events.iter().filter(|e| !e.is_stack_event()).collect();
    sorted.sort_by_key(|e| e.time);
    for e in sorted {
        latest.retain(|l| l.logical_id != e.logical_id || l.stack_id != e.stack_id);
        latest.push(e);
    }
    latest
        .into_iter()
        .filter(|e| e.status == "DELETE_FAILED")
        .map(|e| (e.logical_id.clone(), e.reason.clone().unwrap_or_default()))
        .collect()
}

#[cfg(test)]
mod tests;
