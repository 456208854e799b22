//! Exit codes, in one place, and the mapping from errors to them.

use std::process::ExitCode;

/// The test ran and passed (and so did the gate).
pub const PASSED: u8 = 0;
/// The test or the gate failed, or produced no results.
pub const FAILED: u8 = 1;
/// Bad usage or bad input: blueprint, template, JTL, gate file.
pub const BAD_INPUT: u8 = 2;
/// Infrastructure failed: the stack did not create, AWS refused.
pub const INFRA: u8 = 3;
/// Interrupted by SIGINT, after cleanup.
pub const SIGINT: u8 = 130;
/// Interrupted by SIGTERM, after cleanup.
pub const SIGTERM: u8 = 143;

/// Errors that know which exit code they mean.
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

/// Walks an error chain for the first error that knows its exit code.
/// Unclassified errors are infrastructure trouble (exit 3) only when they
/// come from AWS; anything else is a plain failure.
pub fn code_for(err: &anyhow::Error) -> ExitCode {
    for cause in err.chain() {
        if let Some(code) = classify(cause) {
            return ExitCode::from(code);
        }
    }
    ExitCode::from(FAILED)
}

fn classify(cause: &(dyn std::error::Error + 'static)) -> Option<u8> {
    if cause.is::<InputError>() {
        return Some(BAD_INPUT);
    }
    if cause.is::<TestFailed>() {
        return Some(FAILED);
    }
    if let Some(e) = cause.downcast_ref::<crate::blueprint::BlueprintError>() {
        return Some(e.exit_code());
    }
    if let Some(e) = cause.downcast_ref::<crate::aws::AwsError>() {
        return Some(e.exit_code());
    }
    if let Some(e) = cause.downcast_ref::<crate::results::ResultsError>() {
        return Some(e.exit_code());
    }
    if let Some(e) = cause.downcast_ref::<crate::gate::GateError>() {
        return Some(e.exit_code());
    }
    None
}
