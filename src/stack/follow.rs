//! Follows a stack: polls its events (and its nested stacks' events),
//! shows each new one, tracks the phase, and stops when the stack
//! settles, fails, disappears, times out or the user interrupts.

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::event::{EventLog, StackEvent};
use super::phase::{Phase, PhaseTracker, is_settled};
use crate::aws::{AwsError, AwsErrorKind, Cfn};
use crate::feed::{Feed, Kind};

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
    feed: &'a Feed,
    root: String,
    stacks: Vec<String>,
    log: EventLog,
    history: Vec<StackEvent>,
    tracker: PhaseTracker,
    interval: Duration,
}

impl<'a> Follower<'a> {
    /// Follows the stack with id (ARN) `root`, polling every `interval`.
    pub fn new(cfn: &'a Cfn, feed: &'a Feed, root: &str, interval: Duration) -> Self {
        Follower {
            cfn,
            feed,
            root: root.to_string(),
            stacks: vec![root.to_string()],
            log: EventLog::default(),
            history: Vec::new(),
            tracker: PhaseTracker::new(root),
            interval,
        }
    }

    /// Goes on from where an earlier follower of the same stack stopped:
    /// the events it showed are not shown again, and its phase is kept.
    pub fn resume(mut self, seen: EventLog, phase: Phase) -> Self {
        self.log = seen;
        self.tracker.set(phase);
        self
    }

    /// The events shown so far, for a follower that goes on later.
    pub fn take_seen(&mut self) -> EventLog {
        std::mem::take(&mut self.log)
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
            self.feed.phase_at(p, chrono::Utc::now());
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

    /// Fetches and shows new events. A nested stack found in this poll is
    /// fetched in the same poll, so its events take their place in time.
    pub async fn poll(&mut self) -> Result<(), AwsError> {
        let mut fresh = Vec::new();
        let mut pending = self.stacks.clone();
        while let Some(id) = pending.pop() {
            let page = match self.cfn.events(&id, |e| self.log.seen(e)).await {
                Ok(page) => page,
                // A deleted nested stack (or an emulator that forgets
                // deleted stacks) has no more events to give.
                Err(e) if e.kind == AwsErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            for e in &page {
                if let Some(nested) = e.nested_stack()
                    && !self.stacks.iter().any(|s| s == nested)
                {
                    self.stacks.push(nested.to_string());
                    pending.push(nested.to_string());
                }
            }
            fresh.extend(page);
        }
        for e in self.log.absorb(fresh) {
            // The event's own time, not when this poll noticed it.
            let at = e.time;
            let nested = e.stack_id != self.root;
            let phase = self.tracker.observe(&e);
            self.history.push(e.clone());
            self.feed.emit_at(at, Kind::Stack { event: e, nested });
            if let Some(p) = phase {
                self.feed.phase_at(p, at);
            }
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

#[cfg(test)]
mod tests {
    use aws_sdk_cloudformation::Client;
    use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
    use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
    use aws_sdk_cloudformation::types::{Stack, StackStatus};
    use aws_smithy_mocks::mock;

    use super::*;
    use crate::aws::cfn::tests::{STACK_ID, client, sdk_event};

    const NESTED: &str = "arn:aws:cloudformation:us-east-1:1:stack/s-Net-X/2";

    /// A stack with a nested stack: the nested stack's events are followed
    /// too, each shown once, oldest first.
    #[tokio::test]
    async fn nested_stack_events_are_followed() {
        let root = mock!(Client::describe_stack_events)
            .match_requests(|r| r.stack_name() == Some(STACK_ID))
            .then_output(|| {
                // A stack resource whose physical id is the nested stack.
                let mut nested = sdk_event(
                    2,
                    "Net",
                    "AWS::CloudFormation::Stack",
                    "CREATE_IN_PROGRESS",
                    None,
                );
                nested.physical_resource_id = Some(NESTED.into());
                DescribeStackEventsOutput::builder()
                    .stack_events(sdk_event(
                        9,
                        "s",
                        "AWS::CloudFormation::Stack",
                        "CREATE_COMPLETE",
                        None,
                    ))
                    .stack_events(nested)
                    .stack_events(sdk_event(
                        1,
                        "s",
                        "AWS::CloudFormation::Stack",
                        "CREATE_IN_PROGRESS",
                        None,
                    ))
                    .build()
            });
        let child = mock!(Client::describe_stack_events)
            .match_requests(|r| r.stack_name() == Some(NESTED))
            .then_output(|| {
                let mut e = sdk_event(5, "Queue", "AWS::SQS::Queue", "CREATE_COMPLETE", None);
                e.stack_id = Some(NESTED.into());
                e.stack_name = Some("s-Net-X".into());
                DescribeStackEventsOutput::builder().stack_events(e).build()
            });
        let stacks = mock!(Client::describe_stacks).then_output(|| {
            DescribeStacksOutput::builder()
                .stacks(
                    Stack::builder()
                        .stack_id(STACK_ID)
                        .stack_name("s")
                        .stack_status(StackStatus::CreateComplete)
                        .creation_time(aws_sdk_cloudformation::primitives::DateTime::from_secs(1))
                        .build(),
                )
                .build()
        });
        let cfn = client(&[&root, &child, &stacks], 1);
        let ui = crate::feed::Feed::new(Vec::new());
        let mut f = Follower::new(&cfn, &ui, STACK_ID, Duration::from_millis(1));
        let stop = f
            .follow(Until::Settled, &CancellationToken::new(), None)
            .await
            .unwrap();
        assert_eq!(stop, Stop::Settled("CREATE_COMPLETE".into()));
        let seen: Vec<&str> = f.history().iter().map(|e| e.logical_id.as_str()).collect();
        assert_eq!(seen, vec!["s", "Net", "Queue", "s"]);
        assert_eq!(f.phase(), Phase::Done);
    }
}
