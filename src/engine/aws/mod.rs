//! The AWS fleet: the run's inputs in S3, a CloudFormation stack of bees
//! that signal wait conditions, and the stack's deletion.

pub mod beebin;
mod capacity;
mod roll_call;
pub mod upload;

use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::Cx;
use super::checks::Checks;
use super::fleet::{Fleet, Followed, Teardown};
use super::gather::Place;
use super::live;
use super::plan::RunPlan;
use crate::aws::cfn::CreateRequest;
use crate::aws::watch::Watch;
use crate::aws::{self, AwsError, Clients};
use crate::engine::store::Store;
use crate::stack::cleanup::{self, Deletion};
use crate::stack::phase::{self, DONE};
use crate::stack::{Follower, Stop, Until, capacity as stack_capacity};
use beebin::BeeBinary;

/// A stack of bees in an AWS account.
pub struct AwsFleet {
    /// The bee binary (or why it could not be prepared: a preflight
    /// problem).
    bee: Result<BeeBinary, String>,
    clients: Option<Clients>,
    request: Option<CreateRequest>,
    stack_id: Option<String>,
    history: Vec<crate::stack::event::StackEvent>,
    seen: crate::stack::event::EventLog,
    deletion: Option<Result<(), AwsError>>,
}

impl AwsFleet {
    /// A fleet that will ship `bee`.
    pub fn new(bee: Result<BeeBinary, String>) -> Self {
        AwsFleet {
            bee,
            clients: None,
            request: None,
            stack_id: None,
            history: Vec::new(),
            seen: Default::default(),
            deletion: None,
        }
    }

    fn clients(&self) -> &Clients {
        self.clients
            .as_ref()
            .expect("the clients are made by the checks, before anything else")
    }
}

impl Fleet for AwsFleet {
    async fn check(&mut self, cx: &Cx<'_>, plan: &mut RunPlan, checks: &mut Checks) {
        match &self.bee {
            Ok(b) => b.notes.iter().for_each(|n| cx.feed.warn(n)),
            Err(e) => checks.input(e.clone()),
        }
        let c = &plan.choices;
        match aws::connect(c.region.as_deref(), c.profile.as_deref()).await {
            Ok(clients) => {
                cx.feed.info(&format!(
                    "run {}: stack {}",
                    plan.blueprint.run.id, plan.blueprint.stack
                ));
                checks.remote(plan, &clients, cx.feed).await;
                self.clients = Some(clients);
            }
            Err(e) => checks.refused(format!("{e:#}")),
        }
    }

    async fn upload(&mut self, cx: &Cx<'_>, plan: &RunPlan) -> anyhow::Result<()> {
        // An earlier run's summary must not be archived or compared as this
        // run's if this one fails before writing its own.
        let _ = std::fs::remove_file(plan.exports.report.join("summary.json"));
        crate::fault::pause_at("upload").await;
        let bee = self.bee.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?;
        let request = upload::prepare(
            &self.clients().s3,
            &plan.blueprint,
            bee,
            cx.feed,
            chrono::Utc::now(),
        )
        .await?;
        self.request = Some(request);
        Ok(())
    }

    async fn create(&mut self, cx: &Cx<'_>, plan: &RunPlan) -> anyhow::Result<()> {
        let stack = &plan.blueprint.stack;
        // Named before the call, so a second signal during CreateStack still
        // tells the user which stack to delete.
        cx.interrupt.guard(stack);
        let request = self.request.take().expect("uploaded before create");
        match self.clients().cfn.create(&request).await {
            Ok(id) => {
                cx.feed.info(&format!("created stack {stack}"));
                self.stack_id = Some(id);
                Ok(())
            }
            Err(e) => {
                cx.interrupt.release();
                Err(e.into())
            }
        }
    }

    fn watch(&self) -> Option<&Watch> {
        self.clients.as_ref().map(|c| &c.watch)
    }

    fn created_event(&self, plan: &RunPlan) -> Option<String> {
        Some(format!("stack {} creation started", plan.blueprint.stack))
    }

    async fn live_source(&self, cx: &Cx<'_>, plan: &RunPlan) -> live::Source {
        let b = &plan.blueprint;
        let es = super::beeconf::es_target(b);
        live::source(es.as_ref(), &b.run.id, live::Source::None, cx.feed).await
    }

    async fn follow(&mut self, cx: &Cx<'_>, plan: &RunPlan, deadline: Instant) -> Followed {
        let clients = self.clients.as_ref().expect("checked");
        let id = self.stack_id.clone().expect("created");
        cx.feed
            .phase_at(crate::feed::Phase::Provisioning, chrono::Utc::now());
        let mut f = Follower::new(&clients.cfn, cx.feed, &id, plan.choices.poll_interval);
        let stop = f
            .follow(Until::Created, cx.interrupt.token(), Some(deadline))
            .await;
        self.history = f.history().to_vec();
        self.seen = f.take_seen();
        match stop {
            Ok(stop) => self.followed(stop),
            Err(e) => Followed::Lost(format!("following stack {}: {e}", plan.blueprint.stack)),
        }
    }

    async fn diagnose(&mut self, cx: &Cx<'_>, plan: &RunPlan, followed: &mut Followed) {
        let clients = self.clients.as_ref().expect("checked");
        let (b, feed) = (&plan.blueprint, cx.feed);
        match followed {
            Followed::Finished { failure: None } => {
                roll_call::print_done_notes(clients, b, feed).await;
            }
            Followed::Interrupted | Followed::Lost(_) => {}
            Followed::TimedOut => {
                roll_call::explain(clients, b, &self.history, feed).await;
                let why = format!(
                    "the run took longer than its timeout of {}s",
                    b.timeout.as_secs()
                );
                feed.warn(&capacity::explain(clients, &self.history, why).await);
            }
            Followed::Finished { failure: Some(why) } | Followed::FailedToStart(why) => {
                roll_call::explain(clients, b, &self.history, feed).await;
                let cause = phase::root_cause(&self.history);
                if cause.and_then(stack_capacity::in_event).is_none() {
                    *why = capacity::explain(clients, &self.history, why.clone()).await;
                }
            }
        }
    }

    async fn start_teardown(&mut self, cx: &Cx<'_>, plan: &RunPlan) {
        if plan.choices.keep || self.deletion.is_some() {
            return;
        }
        let (Some(clients), Some(id)) = (&self.clients, &self.stack_id) else {
            return;
        };
        let called = if crate::fault::fails_at("delete") {
            Err(AwsError {
                op: "DeleteStack",
                target: plan.blueprint.stack.clone(),
                kind: crate::aws::AwsErrorKind::AccessDenied,
                message: "refused (injected fault STAMPEDE_FAULT=fail-delete)".into(),
            })
        } else {
            clients.cfn.delete(id).await
        };
        if called.is_ok() {
            cx.feed
                .phase_at(crate::feed::Phase::Deleting, chrono::Utc::now());
        }
        self.deletion = Some(called);
    }

    fn results(&self, plan: &RunPlan) -> Place<'_> {
        let run = &plan.blueprint.run;
        Place::S3 {
            s3: &self.clients().s3,
            bucket: run.bucket.clone(),
            prefix: run.results_prefix(),
            dir: plan.exports.report.join("jtl"),
        }
    }

    fn store<'a>(&'a self, plan: &'a RunPlan) -> Option<Store<'a>> {
        let b = &plan.blueprint;
        Some(Store::new(&self.clients().s3, &b.run.bucket, &b.build.job))
    }

    async fn teardown(&mut self, cx: &Cx<'_>, plan: &RunPlan) -> Teardown {
        let b = &plan.blueprint;
        let teardown = if plan.choices.keep {
            cx.feed.warn(&format!(
                "--keep: stack {} stays and costs money until you run: stampede delete {}",
                b.stack, b.stack
            ));
            Teardown::Kept
        } else {
            self.start_teardown(cx, plan).await;
            self.follow_deletion(cx, plan).await
        };
        cx.interrupt.release();
        super::watch::fleet_removed(b, &teardown.state(), cx.feed).await;
        if !plan.choices.keep {
            self.remove_uploads(cx, plan).await;
        }
        teardown
    }

    async fn remove_uploads(&mut self, cx: &Cx<'_>, plan: &RunPlan) {
        if let Some(c) = &self.clients {
            upload::remove_inputs(&c.s3, &plan.blueprint, cx.feed).await;
        }
    }
}

impl AwsFleet {
    /// How following the stack's creation ended, as the engine sees it.
    fn followed(&self, stop: Stop) -> Followed {
        match stop {
            Stop::Cancelled => Followed::Interrupted,
            Stop::TimedOut => Followed::TimedOut,
            Stop::Gone => Followed::Lost("the stack disappeared while being created".into()),
            Stop::Settled(s) if phase::is_created(&s) => Followed::Finished { failure: None },
            Stop::Settled(_) | Stop::FailedEarly => {
                let cause = phase::root_cause(&self.history);
                let why = cause.map_or_else(
                    || "the stack failed to create (no failed resource reported)".to_string(),
                    |c| format!("stack failed to create: {}", phase::describe(c)),
                );
                // A bee that signalled FAILURE on Done ran the test: its
                // results say what went wrong, and the test (not AWS) failed.
                if cause.is_some_and(|c| c.logical_id == DONE) {
                    Followed::Finished { failure: Some(why) }
                } else {
                    Followed::FailedToStart(why)
                }
            }
        }
    }

    /// Follows the deletion the teardown started to its end; says loudly
    /// what is left when it does not end well.
    async fn follow_deletion(&mut self, cx: &Cx<'_>, plan: &RunPlan) -> Teardown {
        let stack = &plan.blueprint.stack;
        let (Some(clients), Some(id)) = (&self.clients, &self.stack_id) else {
            return Teardown::Gone;
        };
        if let Some(Err(e)) = &self.deletion {
            cx.feed.warn(&format!(
                "could not delete stack {stack}: {e}. It still costs money; delete it with: stampede delete {stack}"
            ));
            return Teardown::Left {
                state: "delete_error".into(),
            };
        }
        crate::fault::pause_at("deleting").await;
        let mut f = Follower::new(&clients.cfn, cx.feed, id, plan.choices.poll_interval)
            .resume(std::mem::take(&mut self.seen), crate::feed::Phase::Deleting);
        // The first signal asked for this deletion: it must not stop it.
        let never = CancellationToken::new();
        match cleanup::follow(&mut f, &never).await {
            Ok(Deletion::Deleted) => Teardown::Gone,
            Ok(d) => {
                if let Some(advice) = cleanup::advice(stack, &d) {
                    cx.feed.warn(&advice);
                }
                Teardown::Left { state: d.name() }
            }
            Err(e) => {
                cx.feed.warn(&format!(
                    "could not follow the deletion of stack {stack}: {e}. Check it with: stampede observe {stack}"
                ));
                Teardown::Left {
                    state: "delete_error".into(),
                }
            }
        }
    }
}
