//! `stampede run`: render, upload, create, follow, collect, delete.

mod beeconf;
mod collect;
mod judge;
mod live;
mod local;
mod monitor;
mod upload;

use std::process::ExitCode;
use std::time::Instant;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::aws::{self, Clients};
use crate::blueprint::{Plan, Target};
use crate::cli::{GlobalArgs, RunArgs};
use crate::exit;
use crate::interrupt::Interrupt;
use crate::monitor::watcher::{Correlation, Watcher};
use crate::stack::cleanup::{self, Deletion};
use crate::stack::phase::{self, DONE, Phase};
use crate::stack::{Follower, Stop, Until};
use crate::ui::Reporter;
use judge::RunVerdict;

/// Runs the whole lifecycle.
pub async fn run(global: &GlobalArgs, args: RunArgs) -> anyhow::Result<ExitCode> {
    let plan = super::plan::load(&args.blueprint, global).await?;
    let ui = Reporter::new(global.output);
    let interrupt = Interrupt::install();
    let watcher = monitor::start(&plan, global, &ui).await?;
    match plan.target {
        Target::Aws => aws_run(global, &args, &plan, &ui, &interrupt, watcher).await,
        Target::Local { .. } => local::run(&args, &plan, &ui, &interrupt, watcher).await,
    }
}

async fn aws_run(
    global: &GlobalArgs,
    args: &RunArgs,
    plan: &Plan,
    ui: &Reporter,
    interrupt: &Interrupt,
    mut watcher: Option<Watcher>,
) -> anyhow::Result<ExitCode> {
    let region = global.region.as_deref().or(plan.region.as_deref());
    let bee_binary = beeconf::binary(args.bee_binary.as_deref())?;
    let clients = aws::connect(region, global.profile.as_deref()).await?;
    ui.info(&format!("run {}: stack {}", plan.run.id, plan.stack));
    let request = upload::prepare(&clients.s3, plan, &bee_binary, ui, chrono::Utc::now()).await?;
    if let Some(code) = interrupt.exit_code() {
        ui.info("interrupted before the stack was created; nothing to clean up");
        return Ok(ExitCode::from(code));
    }
    // Named before the call, so a second signal during CreateStack still
    // tells the user which stack to delete.
    interrupt.guard(&plan.stack);
    let stack_id = match clients.cfn.create(&request).await {
        Ok(id) => id,
        Err(e) => {
            interrupt.release();
            return Err(e.into());
        }
    };
    ui.info(&format!("created stack {}", plan.stack));
    if let Some(w) = watcher.as_mut() {
        w.stack_event(format!("stack {} creation started", plan.stack));
    }
    let mut f = Follower::new(&clients.cfn, ui, &stack_id, global.poll_interval);
    ui.phase(Phase::Provisioning);
    let deadline = Instant::now() + plan.timeout;
    // Whatever happens while following, the stack gets deleted below.
    let source = live::source(
        beeconf::es_target(plan).as_ref(),
        &plan.run.id,
        live::Source::None,
        ui,
    )
    .await;
    let live_stop = CancellationToken::new();
    let (followed, (), ()) = tokio::join!(
        async {
            let r = f
                .follow(Until::Created, interrupt.token(), Some(deadline))
                .await;
            live_stop.cancel();
            r
        },
        live::show(source, ui, args.labels, &live_stop),
        monitor::during(watcher.as_mut(), ui, &live_stop)
    );
    let correlation = monitor::finish(watcher, ui).await;
    let verdict = match &followed {
        Ok(stop) => judge(stop, &f, plan, &clients, args, ui, interrupt, correlation).await,
        Err(e) => RunVerdict::new(
            exit::INFRA,
            "error",
            format!("following stack {}: {e}", plan.stack),
        ),
    };
    let deletion = finish_stack(&mut f, plan, &stack_id, args.keep, ui).await;
    interrupt.release();
    report(plan, ui, &verdict, deletion.as_ref());
    let code = match (interrupt.exit_code(), &deletion) {
        (Some(sig), _) => sig,
        (None, Some(Ok(Deletion::Deleted)) | None) => verdict.code,
        (None, Some(_)) => exit::INFRA,
    };
    Ok(ExitCode::from(code))
}

/// Turns how following ended into a verdict, collecting results when the
/// bees ran.
#[allow(clippy::too_many_arguments)]
async fn judge(
    stop: &Stop,
    f: &Follower<'_>,
    plan: &Plan,
    clients: &Clients,
    args: &RunArgs,
    ui: &Reporter,
    interrupt: &Interrupt,
    correlation: Correlation,
) -> RunVerdict {
    match stop {
        Stop::Cancelled => RunVerdict::new(
            interrupt.exit_code().unwrap_or(exit::SIGTERM),
            "interrupted",
            "interrupted: deleting the stack".to_string(),
        ),
        Stop::TimedOut => RunVerdict::new(
            exit::INFRA,
            "timed_out",
            format!(
                "the run took longer than its timeout of {}s",
                plan.timeout.as_secs()
            ),
        ),
        Stop::Gone => RunVerdict::new(
            exit::INFRA,
            "gone",
            "the stack disappeared while being created".to_string(),
        ),
        Stop::Settled(s) if phase::is_created(s) => {
            judge::results(plan, clients, args, ui, correlation).await
        }
        Stop::Settled(_) | Stop::FailedEarly => {
            let cause = phase::root_cause(f.history());
            let why = cause.map_or_else(
                || "the stack failed to create (no failed resource reported)".to_string(),
                |c| {
                    format!(
                        "stack failed to create: {} ({}) {}: {}",
                        c.logical_id,
                        c.resource_type,
                        c.status,
                        c.reason.as_deref().unwrap_or("no reason given")
                    )
                },
            );
            // A bee that signalled FAILURE on Done ran the test: its
            // results say what went wrong, and the test (not AWS) failed.
            if cause.is_some_and(|c| c.logical_id == DONE) {
                let mut v = judge::results(plan, clients, args, ui, correlation).await;
                v.code = exit::FAILED;
                v.status = "failed";
                v.message = Some(why);
                return v;
            }
            RunVerdict::new(exit::INFRA, "infrastructure_failed", why)
        }
    }
}

/// Deletes the stack unless `keep`; `None` when kept.
async fn finish_stack(
    f: &mut Follower<'_>,
    plan: &Plan,
    stack_id: &str,
    keep: bool,
    ui: &Reporter,
) -> Option<Result<Deletion, aws::AwsError>> {
    if keep {
        ui.warn(&format!(
            "--keep: stack {} stays and costs money until you run: stampede delete {}",
            plan.stack, plan.stack
        ));
        return None;
    }
    let never = CancellationToken::new();
    Some(cleanup::delete(f, stack_id, true, &never).await)
}

fn report(
    plan: &Plan,
    ui: &Reporter,
    verdict: &RunVerdict,
    deletion: Option<&Result<Deletion, aws::AwsError>>,
) {
    if let Some(m) = &verdict.message {
        if verdict.code == exit::PASSED {
            ui.info(m);
        } else {
            ui.warn(m);
        }
    }
    let deleted = match deletion {
        None => "kept".to_string(),
        Some(Ok(d)) => {
            if let Some(advice) = cleanup::advice(&plan.stack, d) {
                ui.warn(&advice);
            }
            match d {
                Deletion::Deleted => "deleted".into(),
                Deletion::Started => "deleting".into(),
                Deletion::Failed(_) => "delete_failed".into(),
                Deletion::Unfinished(s) => s.to_lowercase(),
            }
        }
        Some(Err(e)) => {
            ui.warn(&format!(
                "could not delete stack {}: {e}. It still costs money; delete it with: stampede delete {}",
                plan.stack, plan.stack
            ));
            "delete_error".into()
        }
    };
    let mut result = verdict.result(plan);
    result["stack"] = json!(plan.stack);
    result["stack_state"] = json!(deleted);
    ui.finish(result);
}
