//! Which error types stand for which outcome. This list lives at the top,
//! in the command layer (as nextest's does), so that the outcome table in
//! `exit` stays a leaf that the library modules can use without importing
//! each other through it.

use crate::exit::{Classify, InfraError, InputError, Outcome, TestFailed};

/// The outcome an error stands for: the first error in the chain that
/// knows its kind; anything unclassified is a bug.
pub fn of_error(err: &anyhow::Error) -> Outcome {
    err.chain().find_map(classify).unwrap_or(Outcome::Internal)
}

fn outcome_of_code(code: u8) -> Outcome {
    match code {
        crate::exit::BAD_INPUT => Outcome::BadInput,
        crate::exit::INFRA => Outcome::InfrastructureFailed,
        crate::exit::FAILED => Outcome::Failed,
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
    // A write that failed (a full disk, a folder made read-only) is the
    // machine's problem, not a bug.
    if cause.is::<std::io::Error>() {
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
    use crate::exit::{BAD_INPUT, INTERNAL};

    #[test]
    fn unclassified_errors_are_internal_never_a_failed_test() {
        let e = anyhow::anyhow!("index out of range");
        assert_eq!(of_error(&e), Outcome::Internal);
        assert_eq!(of_error(&e).code(), INTERNAL);
        let e = anyhow::Error::new(InputError("bad".into())).context("loading x");
        assert_eq!(of_error(&e).code(), BAD_INPUT);
    }
}
