//! How a run ended: one typed report that yields both the final result
//! object and the process exit code, and the `ended` the run record keeps.

use super::stage::Stage;
use crate::exit::{self, Ended, Outcome};
use crate::gate;
use crate::results::Summary;
use crate::results::summary::RunEnded;

/// The run's report, from which the result object and exit code come.
#[derive(Debug)]
pub struct RunReport {
    /// How it ended.
    pub outcome: Outcome,
    /// The stage a signal or the timeout cut short.
    pub stage: Option<Stage>,
    /// Why, in words.
    pub message: Option<String>,
    /// The summary, when there were results.
    pub summary: Option<Summary>,
    /// The gate's outcome, when a gate ran.
    pub gate: Option<gate::Outcome>,
    /// What became of the fleet (`deleted`, `kept`, `delete_failed`).
    pub stack_state: Option<String>,
    /// Fields of the result object beyond the common ones (a dry run's).
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// An error stopped the run (said as `error:` on stderr, like every
    /// command's errors).
    pub error: bool,
}

impl RunReport {
    /// A report without results.
    pub fn new(outcome: Outcome, message: impl Into<Option<String>>) -> Self {
        RunReport {
            outcome,
            stage: None,
            message: message.into(),
            summary: None,
            gate: None,
            stack_state: None,
            fields: serde_json::Map::new(),
            error: false,
        }
    }

    /// Sets the message (why the run ended as it did), keeping the note
    /// on saturated generators: it holds whatever else went wrong.
    pub fn say(&mut self, message: String) {
        let note = self
            .summary
            .as_ref()
            .and_then(|s| crate::results::generators::verdict_note(&s.generators));
        self.message = Some(match note {
            Some(n) if !message.contains(&n) => format!("{message}; {n}"),
            _ => message,
        });
    }

    /// The record's `ended`.
    pub fn ended(&self) -> RunEnded {
        let signal = match self.outcome {
            Outcome::Interrupted { code } if code == exit::SIGINT => Some("SIGINT".to_string()),
            Outcome::Interrupted { .. } => Some("SIGTERM".to_string()),
            _ => None,
        };
        RunEnded {
            status: self.outcome.status().to_string(),
            signal,
            stage: self.stage.map(|s| s.name().to_string()),
            exit_code: self.outcome.code(),
            message: self.message.clone(),
        }
    }

    /// The command's ending: the result object's fields and the code.
    pub fn into_ended(self, run_id: &str, stack: &str) -> Ended {
        let ended = self.ended();
        let mut e = Ended::new(self.outcome)
            .with("run_id", run_id)
            .with("stack", stack)
            .with("ended", serde_json::to_value(&ended).unwrap_or_default());
        if let Some(s) = &self.stack_state {
            e = e.with("stack_state", s.as_str());
        }
        if let Some(g) = &self.gate {
            e = e.with("gate", serde_json::to_value(g.verdict).unwrap_or_default());
        }
        if let Some(t) = self.summary.as_ref().and_then(|s| s.total.as_ref()) {
            e = e.with(
                "total",
                serde_json::json!({"count": t.count, "errors": t.errors, "mean": t.mean,
                    "p50": t.p50, "p95": t.p95, "p99": t.p99}),
            );
        }
        e.fields.extend(self.fields);
        e.message = self.message;
        e
    }
}
