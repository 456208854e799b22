//! How a command ended, as one typed outcome, and the one table that maps
//! outcomes and errors to exit codes. AWS and laptop mode both end in an
//! [`Outcome`], so the same situation gives the same code.

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

    /// The outcome an error stands for: the first error in the chain that
    /// knows its kind; anything unclassified is a bug.
    pub fn of_error(err: &anyhow::Error) -> Self {
        err.chain().find_map(classify).unwrap_or(Outcome::Internal)
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

fn outcome_of_code(code: u8) -> Outcome {
    match code {
        BAD_INPUT => Outcome::BadInput,
        INFRA => Outcome::InfrastructureFailed,
        FAILED => Outcome::Failed,
        _ => Outcome::Internal,
    }
}

fn classify(cause: &(dyn std::error::Error + 'static)) -> Option<Outcome> {
    if cause.is::<InputError>() {
        return Some(Outcome::BadInput);
    }
    if cause.is::<TestFailed>() {
        return Some(Outcome::Failed);
    }
    if cause.is::<InfraError>() {
        return Some(Outcome::InfrastructureFailed);
    }
    let code = if let Some(e) = cause.downcast_ref::<crate::blueprint::BlueprintError>() {
        e.exit_code()
    } else if let Some(e) = cause.downcast_ref::<crate::aws::AwsError>() {
        e.exit_code()
    } else if let Some(e) = cause.downcast_ref::<crate::results::ResultsError>() {
        e.exit_code()
    } else if let Some(e) = cause.downcast_ref::<crate::gate::GateError>() {
        e.exit_code()
    } else if let Some(e) = cause.downcast_ref::<crate::report::input::ReportError>() {
        e.exit_code()
    } else {
        return None;
    };
    Some(outcome_of_code(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unclassified_errors_are_internal_never_a_failed_test() {
        let e = anyhow::anyhow!("index out of range");
        assert_eq!(Outcome::of_error(&e), Outcome::Internal);
        assert_eq!(Outcome::of_error(&e).code(), INTERNAL);
        let e = anyhow::Error::new(InputError("bad".into())).context("loading x");
        assert_eq!(Outcome::of_error(&e).code(), BAD_INPUT);
    }

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
