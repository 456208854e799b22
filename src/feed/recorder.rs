//! The sink that keeps what the run record (`summary.json`) needs: each
//! phase with its source's time, and the stack's events.

use std::sync::Mutex;

use chrono::{DateTime, Utc};

use super::{Condition, Kind, Phase, RunEvent, Sink};
use crate::aws::stack_event::StackEvent;

/// What was recorded.
#[derive(Debug, Clone, Default)]
pub struct Recording {
    /// Each phase entered, when it happened, in the order emitted.
    pub phases: Vec<(Phase, DateTime<Utc>)>,
    /// Every stack event, in the order seen.
    pub stack_events: Vec<StackEvent>,
    /// Each bee signal: bee, condition, status, reason, when received.
    pub signals: Vec<(String, Condition, String, String, DateTime<Utc>)>,
}

/// Records the events the run record is built from.
#[derive(Debug, Default)]
pub struct Recorder {
    kept: Mutex<Recording>,
}

impl Recorder {
    /// A copy of what was recorded.
    pub fn snapshot(&self) -> Recording {
        self.kept.lock().map(|k| k.clone()).unwrap_or_default()
    }
}

impl Sink for Recorder {
    fn emit(&self, e: &RunEvent) {
        let Ok(mut k) = self.kept.lock() else { return };
        match &e.kind {
            Kind::Phase(p) => k.phases.push((*p, e.at)),
            Kind::Stack { event, .. } => k.stack_events.push(event.clone()),
            Kind::BeeSignal {
                bee,
                condition,
                status,
                reason,
            } => k.signals.push((
                bee.clone(),
                *condition,
                status.clone(),
                reason.clone(),
                e.at,
            )),
            _ => {}
        }
    }
}
