//! Where a run is: the phase vocabulary every part of a run shares.

use serde::{Deserialize, Serialize};

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The stack is being created; bees are booting.
    Provisioning,
    /// Every bee signalled Ready: the test starts.
    Ready,
    /// The bees are running the test.
    Testing,
    /// The stack completed: every bee signalled Done.
    Done,
    /// Something failed.
    Failed,
    /// The stack is being deleted.
    Deleting,
    /// The stack is gone.
    Deleted,
    /// Deletion failed; resources remain.
    DeleteFailed,
}

impl Phase {
    /// Lower-case name for display.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Provisioning => "provisioning",
            Phase::Ready => "ready",
            Phase::Testing => "testing",
            Phase::Done => "done",
            Phase::Failed => "failed",
            Phase::Deleting => "deleting",
            Phase::Deleted => "deleted",
            Phase::DeleteFailed => "delete failed",
        }
    }
}

impl PartialOrd for Phase {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some((*self as u8).cmp(&(*other as u8)))
    }
}
