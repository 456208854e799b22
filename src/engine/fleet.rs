//! What differs between an AWS run and a laptop run, and nothing else:
//! the engine drives any [`Fleet`] through one lifecycle.

use std::time::Instant;

use super::Cx;
use super::checks::Checks;
use super::gather::Place;
use super::live;
use super::plan::RunPlan;
use crate::engine::store::Store;

/// How following the fleet ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Followed {
    /// The test ran to its end; `failure` names a bee that failed.
    Finished {
        /// The first failure's reason.
        failure: Option<String>,
    },
    /// The fleet failed before any test ran: nothing to gather.
    FailedToStart(String),
    /// The run passed its timeout.
    TimedOut,
    /// A signal arrived.
    Interrupted,
    /// Following failed or the fleet vanished (AWS refused, the stack
    /// disappeared).
    Lost(String),
}

/// How removing the fleet ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Teardown {
    /// Nothing left that costs anything.
    Gone,
    /// `--keep`: left on purpose.
    Kept,
    /// Not removed; what is left and how to remove it.
    Left {
        /// The state it was left in (`delete_failed`, `delete_error`).
        state: String,
    },
}

impl Teardown {
    /// The state for the result object's `stack_state`.
    pub fn state(&self) -> String {
        match self {
            Teardown::Gone => "deleted".into(),
            Teardown::Kept => "kept".into(),
            Teardown::Left { state } => state.clone(),
        }
    }
}

/// A fleet of bees: an AWS stack or local processes.
#[allow(async_fn_in_trait)] // used generically, never as a trait object
pub trait Fleet {
    /// Checks that need the fleet's world (AWS: credentials, bucket,
    /// stack name) and resolves a baseline that lives there.
    async fn check(&mut self, cx: &Cx<'_>, plan: &mut RunPlan, checks: &mut Checks);
    /// Uploads what the bees need (nothing to clean up yet if this
    /// fails).
    async fn upload(&mut self, cx: &Cx<'_>, plan: &RunPlan) -> anyhow::Result<()>;
    /// Creates the fleet. From here on, [`Fleet::teardown`] must run.
    async fn create(&mut self, cx: &Cx<'_>, plan: &RunPlan) -> anyhow::Result<()>;
    /// The fleet's CloudWatch clients, when it has them (the monitor
    /// reuses them rather than loading the configuration again).
    fn watch(&self) -> Option<&crate::aws::watch::Watch>;
    /// The event the monitor records when the fleet was created, if any.
    fn created_event(&self, plan: &RunPlan) -> Option<String>;
    /// Where live numbers come from: the search cluster the bees ship
    /// to, else what the fleet offers.
    async fn live_source(&self, cx: &Cx<'_>, plan: &RunPlan) -> live::Source;
    /// Follows the fleet until the test ends, the deadline passes or a
    /// signal arrives, emitting phases and signals at their own times.
    async fn follow(&mut self, cx: &Cx<'_>, plan: &RunPlan, deadline: Instant) -> Followed;
    /// Explains how following ended while the fleet still exists (bee
    /// logs, capacity); may add to the reason in `followed`.
    async fn diagnose(&mut self, cx: &Cx<'_>, plan: &RunPlan, followed: &mut Followed);
    /// Starts removing the fleet: the results do not need it.
    async fn start_teardown(&mut self, cx: &Cx<'_>, plan: &RunPlan);
    /// Where the bees left their results.
    fn results(&self, plan: &RunPlan) -> Place<'_>;
    /// The build history, when the fleet keeps one (AWS).
    fn store<'a>(&'a self, plan: &'a RunPlan) -> Option<Store<'a>>;
    /// Waits until the fleet is gone (or says what is left).
    async fn teardown(&mut self, cx: &Cx<'_>, plan: &RunPlan) -> Teardown;
    /// Removes what `upload` left (a run that never created its fleet).
    async fn remove_uploads(&mut self, cx: &Cx<'_>, plan: &RunPlan);
}
