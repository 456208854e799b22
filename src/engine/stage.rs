//! Where in its lifecycle a run is, finer than the fleet's phases: what a
//! signal interrupted, what a timeout cut short.

use std::sync::{Arc, Mutex, OnceLock};

use crate::feed::{Feed, Phase};

/// A step of the lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Checking inputs and the account.
    Preflight,
    /// Uploading the run's inputs.
    Upload,
    /// Creating the fleet (CreateStack, starting local bees).
    Create,
    /// The fleet boots; waiting for every bee's Ready.
    Provisioning,
    /// The bees run the test.
    Testing,
    /// Collecting and judging the results.
    Gather,
    /// Removing the fleet.
    Deleting,
}

impl Stage {
    /// The name in messages and in the run record.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Preflight => "preflight",
            Stage::Upload => "upload",
            Stage::Create => "create",
            Stage::Provisioning => "waiting for ready",
            Stage::Testing => "testing",
            Stage::Gather => "gather",
            Stage::Deleting => "deleting",
        }
    }
}

/// The current stage, and the stage the first signal arrived in.
#[derive(Clone)]
pub struct Stages {
    now: Arc<Mutex<Stage>>,
    at_signal: Arc<OnceLock<Stage>>,
}

impl Default for Stages {
    fn default() -> Self {
        Stages {
            now: Arc::new(Mutex::new(Stage::Preflight)),
            at_signal: Arc::new(OnceLock::new()),
        }
    }
}

impl Stages {
    /// Moves to `s`.
    pub fn enter(&self, s: Stage) {
        if let Ok(mut now) = self.now.lock() {
            *now = s;
        }
    }

    /// The stage now; while the fleet runs, the feed's phase says whether
    /// the bees are still booting or already testing.
    pub fn current(&self, feed: &Feed) -> Stage {
        let s = self.now.lock().map(|s| *s).unwrap_or(Stage::Preflight);
        match (s, feed.phase()) {
            (Stage::Provisioning, Some(p)) if p >= Phase::Testing => Stage::Testing,
            // The test is over once Done completed, and stays over when the
            // fleet's deletion (which starts before the gather) moves the phase on.
            (
                Stage::Provisioning | Stage::Testing,
                Some(Phase::Done | Phase::Deleting | Phase::Deleted | Phase::DeleteFailed),
            ) => Stage::Gather,
            _ => s,
        }
    }

    /// Notes the stage a signal arrived in (the first call counts).
    pub fn signal_arrived(&self, feed: &Feed) {
        let _ = self.at_signal.set(self.current(feed));
    }

    /// The stage the first signal arrived in.
    pub fn at_signal(&self) -> Option<Stage> {
        self.at_signal.get().copied()
    }
}
