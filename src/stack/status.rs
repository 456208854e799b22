//! The one vocabulary of stack statuses: CloudFormation's own enum from the
//! SDK, and one rule for each question asked of it. Statuses arrive as
//! text (events, DescribeStacks, LocalStack), so every check parses first.

use aws_sdk_cloudformation::types::StackStatus;

/// The SDK's enum for a status text; unknown texts stay `Unknown`.
pub fn parse(status: &str) -> StackStatus {
    StackStatus::from(status)
}

/// Whether the stack failed: a failed create, update, import or delete,
/// or any rollback (a rollback means something failed, even when the
/// rollback itself completed).
pub fn is_failed(status: &str) -> bool {
    use StackStatus as S;
    if !S::values().contains(&status) {
        // A status newer than this SDK: judge it by its name.
        return status.contains("ROLLBACK") || status.ends_with("_FAILED");
    }
    matches!(
        parse(status),
        S::CreateFailed
            | S::DeleteFailed
            | S::UpdateFailed
            | S::RollbackFailed
            | S::RollbackComplete
            | S::RollbackInProgress
            | S::UpdateRollbackFailed
            | S::UpdateRollbackComplete
            | S::UpdateRollbackInProgress
            | S::UpdateRollbackCompleteCleanupInProgress
            | S::ImportRollbackFailed
            | S::ImportRollbackComplete
            | S::ImportRollbackInProgress
    )
}

/// Whether a status is final: nothing more happens by itself.
pub fn is_settled(status: &str) -> bool {
    !status.is_empty() && !status.ends_with("_IN_PROGRESS")
}

/// Whether a settled creation succeeded.
pub fn is_created(status: &str) -> bool {
    matches!(
        parse(status),
        StackStatus::CreateComplete | StackStatus::UpdateComplete
    )
}

/// Whether the stack is gone or going.
pub fn is_deleting(status: &str) -> bool {
    matches!(
        parse(status),
        StackStatus::DeleteInProgress | StackStatus::DeleteComplete
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_for_failed() {
        for s in [
            "CREATE_FAILED",
            "ROLLBACK_COMPLETE",
            "ROLLBACK_IN_PROGRESS",
            "UPDATE_ROLLBACK_COMPLETE",
            "DELETE_FAILED",
            "IMPORT_ROLLBACK_FAILED",
        ] {
            assert!(is_failed(s), "{s}");
        }
        for s in [
            "CREATE_COMPLETE",
            "CREATE_IN_PROGRESS",
            "DELETE_COMPLETE",
            "UPDATE_COMPLETE",
        ] {
            assert!(!is_failed(s), "{s}");
        }
        assert!(is_failed("FUTURE_ROLLBACK_THING"));
    }

    #[test]
    fn settled_created_deleting() {
        assert!(is_settled("ROLLBACK_COMPLETE"));
        assert!(!is_settled("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"));
        assert!(is_created("UPDATE_COMPLETE"));
        assert!(!is_created("ROLLBACK_COMPLETE"));
        assert!(is_deleting("DELETE_IN_PROGRESS"));
        assert!(
            !is_deleting("DELETE_FAILED"),
            "a failed delete must be reaped again"
        );
    }
}
