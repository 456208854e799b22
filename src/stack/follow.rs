//! Follows a stack: polls its events (and its nested stacks' events),
//! shows each new one, tracks the phase, and stops when the stack
//! settles, fails, disappears, times out or the user interrupts.

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::event::{EventLog, StackEvent};
use super::phase::{Phase, PhaseTracker, is_settled};
use crate::aws::{AwsError, AwsErrorKind, Cfn};
use crate::ui::Reporter;

/// What to wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// Creation: stop when the stack settles or a resource fails.
    Created,
    /// Any settled state.
    Settled,
}

/// Why following stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The stack reached this final status.
    Settled(String),
    /// A resource failed while the stack was still in progress.
    FailedEarly,
    /// The stack no longer exists.
    Gone,
    /// The user interrupted.
    Cancelled,
    /// The deadline passed.
    TimedOut,
}

/// Follows one stack.
pub struct Follower<'a> {
    cfn: &'a Cfn,
    ui: &'a Reporter,
    root: String,
    stacks: Vec<String>,
    log: EventLog,
    history: Vec<StackEvent>,
    tracker: PhaseTracker,
    interval: Duration,
}

impl<'a> Follower<'a> {
    /// Follows the stack with id (ARN) `root`, polling every `interval`.
    pub fn new(cfn: &'a Cfn, ui: &'a Reporter, root: &str, interval: Duration) -> Self {
        Follower {
            cfn,
            ui,
            root: root.to_string(),
            stacks: vec![root.to_string()],
            log: EventLog::default(),
            history: Vec::new(),
            tracker: PhaseTracker::new(root),
            interval,
        }
    }

    /// Every event seen so far, oldest first.
    pub fn history(&self) -> &[StackEvent] {
        &self.history
    }

    /// The current phase.
    #[cfg(test)]
    pub fn phase(&self) -> Phase {
        self.tracker.phase()
    }

    /// Moves to a phase stampede itself caused (such as deleting).
    pub fn set_phase(&mut self, p: Phase) {
        if self.tracker.set(p) {
            self.ui.phase(p);
        }
    }

    /// Calls DeleteStack on `stack`.
    pub async fn cfn_delete(&self, stack: &str) -> Result<(), AwsError> {
        self.cfn.delete(stack).await
    }

    /// Treats every event so far as shown: `observe` follows from now.
    pub async fn skip_history(&mut self) -> Result<(), AwsError> {
        let page = self.cfn.events(&self.root, |_| false).await?;
        self.log.absorb(page);
        Ok(())
    }

    /// Fetches and shows new events.
    pub async fn poll(&mut self) -> Result<(), AwsError> {
        let mut fresh = Vec::new();
        for id in self.stacks.clone() {
            match self.cfn.events(&id, |e| self.log.seen(e)).await {
                Ok(page) => fresh.extend(page),
                // A deleted nested stack (or an emulator that forgets
                // deleted stacks) has no more events to give.
                Err(e) if e.kind == AwsErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        for e in self.log.absorb(fresh) {
            if let Some(nested) = e.nested_stack()
                && !self.stacks.iter().any(|s| s == nested)
            {
                self.stacks.push(nested.to_string());
            }
            self.ui.event(&e, e.stack_id != self.root);
            if let Some(p) = self.tracker.observe(&e) {
                self.ui.phase(p);
            }
            self.history.push(e);
        }
        Ok(())
    }

    /// Polls until `until` is met, the deadline passes or `cancel` fires.
    pub async fn follow(
        &mut self,
        until: Until,
        cancel: &CancellationToken,
        deadline: Option<Instant>,
    ) -> Result<Stop, AwsError> {
        loop {
            let step = tokio::select! {
                biased;
                _ = cancel.cancelled() => return Ok(Stop::Cancelled),
                step = self.step(until) => step?,
            };
            if let Some(stop) = step {
                return Ok(stop);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(Stop::TimedOut);
            }
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return Ok(Stop::Cancelled),
                _ = tokio::time::sleep(self.interval) => {}
            }
        }
    }

    async fn step(&mut self, until: Until) -> Result<Option<Stop>, AwsError> {
        self.poll().await?;
        if until == Until::Created && self.tracker.phase() == Phase::Failed {
            return Ok(Some(Stop::FailedEarly));
        }
        let Some(info) = self.cfn.describe(&self.root).await? else {
            return Ok(Some(Stop::Gone));
        };
        if info.status == "DELETE_COMPLETE" {
            self.poll().await?;
            return Ok(Some(Stop::Gone));
        }
        if is_settled(&info.status) {
            // Events can trail the status by a moment.
            self.poll().await?;
            return Ok(Some(Stop::Settled(info.status)));
        }
        Ok(None)
    }
}
