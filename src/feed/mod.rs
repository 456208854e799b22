//! The run's event feed: what happened, when it happened (by its source's
//! clock), as typed events. Runners emit them; sinks render or record
//! them (the terminal view, plain lines, NDJSON, the run's recorder).
//! Nothing that emits knows how an event is shown.

mod phase;
mod recorder;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

pub use phase::Phase;
pub use recorder::{Recorder, Recording};

use crate::aws::stack_event::StackEvent;

/// One thing that happened during a command.
#[derive(Debug, Clone)]
pub struct RunEvent {
    /// When it happened, by its source's clock: a stack event's own time,
    /// the coordinator's receipt of a signal, the first sample.
    pub at: DateTime<Utc>,
    /// What happened.
    pub kind: Kind,
}

/// How loud a note is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Progress and facts.
    Info,
    /// Something the user should act on or know went wrong.
    Warn,
}

/// Which wait condition a bee signalled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// The bee is ready to start.
    Ready,
    /// The bee finished.
    Done,
}

/// What happened.
#[derive(Debug, Clone)]
pub enum Kind {
    /// What the run is about to do (the plan, the active rules).
    Planned(String),
    /// A problem found before anything was created.
    Problem(String),
    /// The run entered a phase.
    Phase(Phase),
    /// A CloudFormation stack event; `nested` for a nested stack's.
    Stack {
        /// The event.
        event: StackEvent,
        /// Whether it belongs to a nested stack.
        nested: bool,
    },
    /// A bee signalled a wait condition.
    BeeSignal {
        /// The bee (instance id or local bee id).
        bee: String,
        /// Ready or Done.
        condition: Condition,
        /// SUCCESS or FAILURE.
        status: String,
        /// The bee's reason.
        reason: String,
    },
    /// Live test metrics: a one-line text, the numbers, and per-label
    /// lines when asked for.
    Live {
        /// One line for a status bar or a log.
        line: String,
        /// The numbers (NDJSON carries these).
        value: serde_json::Value,
        /// Per-label lines (`--labels`).
        labels: Option<String>,
    },
    /// A reading of the system under test.
    Target(String),
    /// A message.
    Note(Level, String),
    /// A block of text: a results table, the gate's table.
    Block(String),
    /// The final result object; the last event of a command.
    Finished(serde_json::Value),
}

/// Something that renders or records events.
pub trait Sink: Send + Sync {
    /// Takes one event, in the order emitted.
    fn emit(&self, event: &RunEvent);
}

/// The feed: hands every event to every sink, keeps the phase for the
/// tasks that start with one (the live view), and records the run.
pub struct Feed {
    sinks: Vec<Arc<dyn Sink>>,
    recorder: Arc<Recorder>,
    phase: tokio::sync::watch::Sender<Option<Phase>>,
    finished: Mutex<bool>,
}

impl Feed {
    /// A feed into `sinks`, plus its own recorder.
    pub fn new(sinks: Vec<Arc<dyn Sink>>) -> Self {
        Feed {
            sinks,
            recorder: Arc::new(Recorder::default()),
            phase: tokio::sync::watch::channel(None).0,
            finished: Mutex::new(false),
        }
    }

    /// Emits `kind` as having happened at `at`.
    pub fn emit_at(&self, at: DateTime<Utc>, kind: Kind) {
        if let Kind::Phase(p) = &kind {
            self.phase.send_replace(Some(*p));
        }
        if let Kind::Finished(_) = &kind {
            match self.finished.lock() {
                // One result object per command, however it ends.
                Ok(done) if *done => return,
                Ok(mut done) => *done = true,
                Err(_) => {}
            }
        }
        let event = RunEvent { at, kind };
        self.recorder.emit(&event);
        for s in &self.sinks {
            s.emit(&event);
        }
    }

    /// Emits `kind` as happening now.
    pub fn emit(&self, kind: Kind) {
        self.emit_at(Utc::now(), kind);
    }

    /// An informational message.
    pub fn info(&self, text: &str) {
        self.emit(Kind::Note(Level::Info, text.to_string()));
    }

    /// A warning.
    pub fn warn(&self, text: &str) {
        self.emit(Kind::Note(Level::Warn, text.to_string()));
    }

    /// A block of text (a table).
    pub fn block(&self, text: &str) {
        self.emit(Kind::Block(text.to_string()));
    }

    /// The run entered `p` at `at`.
    pub fn phase_at(&self, p: Phase, at: DateTime<Utc>) {
        self.emit_at(at, Kind::Phase(p));
    }

    /// The final result object.
    pub fn finish(&self, result: serde_json::Value) {
        self.emit(Kind::Finished(result));
    }

    /// Phase changes, for tasks that start with a phase (live metrics).
    pub fn phases(&self) -> tokio::sync::watch::Receiver<Option<Phase>> {
        self.phase.subscribe()
    }

    /// The latest phase.
    pub fn phase(&self) -> Option<Phase> {
        *self.phase.borrow()
    }

    /// What the recorder kept so far.
    pub fn recording(&self) -> Recording {
        self.recorder.snapshot()
    }
}
