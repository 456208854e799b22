//! How a command ended, as one typed outcome, and the exit-code table.
//! A leaf: it imports nothing of the crate. Which error types stand for
//! which outcome is decided at the top, in `commands::outcome`.

use serde::Serialize;

/// The test ran and passed (and so did the gate).
pub const PASSED: u8 = 0;
/// The test or the gate failed, or produced no results.
pub const FAILED: u8 = 1;
/// Bad usage or bad input: blueprint, template, JTL, gate file.
pub const BAD_INPUT: u8 = 2;
/// Infrastructure failed: the stack did not create, AWS refused, the run
/// did not finish within its timeout.
pub const INFRA: u8 = 3;
/// An internal error: a bug in stampede. Never 1, which means "slower".
pub const INTERNAL: u8 = 4;
/// Interrupted by SIGINT, after cleanup.
pub const SIGINT: u8 = 130;
/// Interrupted by SIGTERM, after cleanup.
pub const SIGTERM: u8 = 143;

/// The exit-code table, as `--help` and the README print it.
pub const TABLE: &str = "Exit codes:
  0    passed (the gate too; `--unstable-exit N` for an unstable verdict)
  1    the test or the gate failed, or the run produced no results
  2    bad usage or bad input (blueprint, gate, template, JTL), nothing created
  3    infrastructure: the stack did not create, AWS refused, the run timed out,
       or the stack could not be deleted
  4    internal error (a bug in stampede; please report it)
  130  interrupted by SIGINT, after cleanup
  143  interrupted by SIGTERM, after cleanup";

/// How a run ended. Each variant has one exit code and one status name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The test ran and every check passed.
    Passed,
    /// The gate says unstable; exits with the code the user chose.
    Unstable {
        /// `--unstable-exit`.
        code: u8,
    },
    /// The gate says fail.
    GateFailed,
    /// A bee reported failure (JMeter crashed, the testcase failed).
    Failed,
    /// No bee left results.
    NoResults,
    /// Bad input.
    BadInput,
    /// The stack failed to create, AWS refused, or deletion failed.
    InfrastructureFailed,
    /// The run took longer than its timeout.
    TimedOut,
    /// A bug.
    Internal,
    /// SIGINT or SIGTERM; carries the signal's exit code.
    Interrupted {
        /// 130 or 143.
        code: u8,
    },
}

impl Outcome {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Outcome::Passed => PASSED,
            Outcome::Unstable { code } | Outcome::Interrupted { code } => code,
            Outcome::GateFailed | Outcome::Failed | Outcome::NoResults => FAILED,
            Outcome::BadInput => BAD_INPUT,
            Outcome::InfrastructureFailed | Outcome::TimedOut => INFRA,
            Outcome::Internal => INTERNAL,
        }
    }

    /// The status name in the final result object.
    pub fn status(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Unstable { .. } => "unstable",
            Outcome::GateFailed => "gate_failed",
            Outcome::Failed => "failed",
            Outcome::NoResults => "no_results",
            Outcome::BadInput => "bad_input",
            Outcome::InfrastructureFailed => "infrastructure_failed",
            Outcome::TimedOut => "timed_out",
            Outcome::Internal => "internal_error",
            Outcome::Interrupted { .. } => "interrupted",
        }
    }
}

/// The final `{"type":"result",...}` object of `--output json`: the
/// status and exit code of `outcome`, a message when there is one, and
/// the command's own fields. Every command's last line is one of these,
/// made here so that `exit_code` is always the process's.
pub fn result_object(
    outcome: Outcome,
    message: Option<&str>,
    fields: serde_json::Map<String, serde_json::Value>,
) -> serde_json::Value {
    let mut v = serde_json::Map::new();
    v.insert("type".into(), "result".into());
    v.extend(fields);
    v.insert("status".into(), outcome.status().into());
    v.insert("exit_code".into(), outcome.code().into());
    if let Some(m) = message {
        v.insert("message".into(), m.into());
    }
    serde_json::Value::Object(v)
}

/// How a command ended: the outcome (which alone decides the exit code),
/// what to tell the user, and the command's own fields for the result
/// object.
#[derive(Debug, Clone)]
pub struct Ended {
    /// The outcome.
    pub outcome: Outcome,
    /// Why it ended so, when that needs saying.
    pub message: Option<String>,
    /// The command's own fields (counts, names, the gate's verdict).
    pub fields: serde_json::Map<String, serde_json::Value>,
}

impl Ended {
    /// An ending with no message and no fields.
    pub fn new(outcome: Outcome) -> Self {
        Ended {
            outcome,
            message: None,
            fields: serde_json::Map::new(),
        }
    }

    /// A command that did what it was asked.
    pub fn passed() -> Self {
        Self::new(Outcome::Passed)
    }

    /// Adds a field to the result object.
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.fields.insert(key.to_string(), value.into());
        self
    }

    /// Sets the message.
    pub fn saying(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// The final result object.
    pub fn result(&self) -> serde_json::Value {
        result_object(self.outcome, self.message.as_deref(), self.fields.clone())
    }

    /// The process exit code: the outcome's, the same the result says.
    pub fn code(&self) -> u8 {
        self.outcome.code()
    }
}

/// Errors that know which outcome they mean.
pub trait Classify {
    /// The process exit code this error should produce.
    fn exit_code(&self) -> u8;
}

/// An error in what the user gave us; exits 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// The test itself failed; exits 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TestFailed(pub String);

/// Infrastructure outside AWS's SDK refused or failed (a busy port, an
/// unreachable service); exits 3.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InfraError(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lists_every_code() {
        for o in [
            Outcome::Passed,
            Outcome::GateFailed,
            Outcome::BadInput,
            Outcome::TimedOut,
            Outcome::Internal,
            Outcome::Interrupted { code: SIGINT },
            Outcome::Interrupted { code: SIGTERM },
        ] {
            assert!(
                TABLE.contains(&format!("\n  {:<4}", o.code())) || o.code() == 0,
                "{o:?}"
            );
        }
    }
}
