//! `stampede run`: render, upload, create, follow, collect, delete.

pub(super) mod beebin;
mod beeconf;
mod fleet;
mod gather;
mod judge;
mod live;
mod local;
mod monitor;
mod preflight;
mod roll_call;
mod upload;

use std::panic::AssertUnwindSafe;
use std::process::ExitCode;

use futures_util::FutureExt;
use std::time::Instant;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::aws::{self, Clients};
use crate::blueprint::{Plan, Target};
use crate::cli::{GlobalArgs, RunArgs};
use crate::exit::{self, Outcome};
use crate::interrupt::Interrupt;
use crate::monitor::watcher::{Correlation, Watcher};
use crate::results::summary::StackEventRecord;
use crate::stack::capacity;
use crate::stack::cleanup::{self, Deletion};
use crate::stack::phase::{self, DONE, Phase};
use crate::stack::{Follower, Stop, Until};
use crate::ui::Reporter;
use judge::RunVerdict;
use preflight::{Checks, Footprint};

/// Runs the whole lifecycle.
pub async fn run(global: &GlobalArgs, args: RunArgs) -> anyhow::Result<ExitCode> {
    let mut plan = super::plan::load(&args.blueprint, global, false, None).await?;
    let ui = Reporter::new(global.output);
    // The bee binary's content hash names its S3 key, which the template
    // refers to: render again once it is known.
    let bee = if plan.target == Target::Aws {
        let given = args.bee_binary.clone();
        let bee = tokio::task::spawn_blocking(move || beebin::prepare(given.as_deref()))
            .await
            .map_err(|e| anyhow::anyhow!("preparing the bee binary: {e}"))?;
        if let Ok(b) = &bee {
            plan =
                super::plan::load(&args.blueprint, global, false, Some(b.sha256.clone())).await?;
        }
        Some(bee)
    } else {
        None
    };
    let footprint = Footprint::of(&plan);
    let checks = tokio::task::block_in_place(|| Checks::local(&plan, &args, &footprint));
    let interrupt = Interrupt::install();
    match (plan.target.clone(), bee) {
        (Target::Aws, Some(bee)) => {
            aws_run(
                global, &args, &plan, &ui, &interrupt, checks, &footprint, bee,
            )
            .await
        }
        (Target::Aws, None) => unreachable!("the bee binary is prepared for every AWS run"),
        (Target::Local { .. }, _) => {
            checks.into_result()?;
            if args.dry_run {
                return Ok(dry_run(&plan, &footprint, &ui));
            }
            let watcher = monitor::start(&plan, global, None, &ui).await?;
            local::run(&args, &plan, &ui, &interrupt, watcher).await
        }
    }
}

/// Prints what would be created; the checks have passed.
fn dry_run(plan: &Plan, footprint: &Footprint, ui: &Reporter) -> ExitCode {
    let line = footprint.describe(plan);
    ui.info(&line);
    ui.finish(json!({
        "run_id": plan.run.id,
        "status": "dry_run",
        "exit_code": exit::PASSED,
        "message": line,
        "stack": plan.stack,
        "bees": footprint.bees,
        "instance_type": footprint.instance_type,
        "timeout_s": footprint.timeout.as_secs(),
        "instance_hours_max": crate::blueprint::limits::instance_hours(footprint.bees, footprint.timeout),
    }));
    ExitCode::from(exit::PASSED)
}

#[allow(clippy::too_many_arguments)]
async fn aws_run(
    global: &GlobalArgs,
    args: &RunArgs,
    plan: &Plan,
    ui: &Reporter,
    interrupt: &Interrupt,
    mut checks: Checks,
    footprint: &Footprint,
    bee: anyhow::Result<beebin::BeeBinary>,
) -> anyhow::Result<ExitCode> {
    let region = global.region.as_deref().or(plan.region.as_deref());
    let bee_binary = match bee {
        Ok(b) => {
            for note in &b.notes {
                ui.warn(note);
            }
            Some(b)
        }
        Err(e) => {
            checks.problems.push(preflight::Problem {
                aws: false,
                text: format!("{e:#}"),
            });
            None
        }
    };
    let clients = aws::connect(region, global.profile.as_deref()).await?;
    ui.info(&format!("run {}: stack {}", plan.run.id, plan.stack));
    checks.remote(plan, args, &clients, ui).await;
    checks.into_result()?;
    let Some(bee_binary) = bee_binary else {
        unreachable!("a missing bee binary is a problem above")
    };
    if args.dry_run {
        return Ok(dry_run(plan, footprint, ui));
    }
    let mut watcher = monitor::start(plan, global, Some(&clients.watch), ui).await?;
    // An earlier run's summary must not be archived or compared as this
    // run's if this one fails before writing its own.
    let _ = std::fs::remove_file(args.report.join("summary.json"));
    // A signal stops the uploads too: nothing exists yet to clean up.
    let request = tokio::select! {
        r = upload::prepare(&clients.s3, plan, &bee_binary, ui, chrono::Utc::now()) => Some(r?),
        () = interrupt.token().cancelled() => None,
    };
    if let (None, code) | (_, code @ Some(_)) = (&request, interrupt.exit_code()) {
        let code = code.unwrap_or(exit::SIGTERM);
        ui.info("interrupted before the stack was created; nothing to clean up");
        return Ok(ExitCode::from(code));
    }
    let Some(request) = request else {
        unreachable!("an interrupted upload returned above")
    };
    // Named before the call, so a second signal during CreateStack still
    // tells the user which stack to delete.
    interrupt.guard(&plan.stack);
    let stack_id = match clients.cfn.create(&request).await {
        Ok(id) => id,
        Err(e) => {
            interrupt.release();
            upload::remove_inputs(&clients.s3, plan, ui).await;
            return Err(e.into());
        }
    };
    ui.info(&format!("created stack {}", plan.stack));
    if let Some(w) = watcher.as_mut() {
        w.stack_event(format!("stack {} creation started", plan.stack));
    }
    let mut f = Follower::new(&clients.cfn, ui, &stack_id, global.poll_interval);
    // Whatever happens from here on, a panic included, the stack gets
    // deleted below.
    let tested = AssertUnwindSafe(test(&mut f, plan, &clients, args, ui, interrupt, watcher))
        .catch_unwind()
        .await;
    let verdict = tested.unwrap_or_else(|_| {
        RunVerdict::new(
            Outcome::Internal,
            format!(
                "internal error: stampede panicked while stack {} existed (a bug; see above); deleting the stack",
                plan.stack
            ),
        )
    });
    let deletion = finish_stack(&mut f, plan, &stack_id, args.keep, ui).await;
    interrupt.release();
    monitor::stack_deleted(plan, deletion.as_ref(), ui).await;
    if !args.keep {
        upload::remove_inputs(&clients.s3, plan, ui).await;
    }
    report(plan, ui, &verdict, deletion.as_ref());
    let code = match (interrupt.exit_code(), &deletion) {
        (Some(sig), _) => sig,
        (None, Some(Ok(Deletion::Deleted)) | None) => verdict.outcome.code(),
        (None, Some(_)) => exit::INFRA,
    };
    Ok(ExitCode::from(code))
}

/// From CreateStack to the verdict: follows the stack while showing live
/// metrics, then collects and judges the results. A signal stops any part.
async fn test(
    f: &mut Follower<'_>,
    plan: &Plan,
    clients: &Clients,
    args: &RunArgs,
    ui: &Reporter,
    interrupt: &Interrupt,
    mut watcher: Option<Watcher>,
) -> RunVerdict {
    ui.phase(Phase::Provisioning);
    crate::fault::panic_at("after-create");
    let deadline = Instant::now() + plan.timeout;
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
    let stop = match followed {
        Ok(stop) => stop,
        Err(e) => {
            return RunVerdict::new(
                Outcome::InfrastructureFailed,
                format!("following stack {}: {e}", plan.stack),
            );
        }
    };
    tokio::select! {
        v = judge(&stop, f, plan, clients, args, ui, interrupt, correlation) => v,
        () = interrupt.token().cancelled() => interrupted(interrupt, "interrupted while collecting the results: deleting the stack"),
    }
}

fn interrupted(interrupt: &Interrupt, why: &str) -> RunVerdict {
    RunVerdict::new(
        Outcome::Interrupted {
            code: interrupt.exit_code().unwrap_or(exit::SIGTERM),
        },
        why.to_string(),
    )
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
        Stop::Cancelled => interrupted(interrupt, "interrupted: deleting the stack"),
        Stop::TimedOut => {
            roll_call::explain(clients, plan, f.history(), ui).await;
            let why = format!(
                "the run took longer than its timeout of {}s",
                plan.timeout.as_secs()
            );
            RunVerdict::new(
                Outcome::TimedOut,
                fleet::explain(clients, f.history(), why).await,
            )
        }
        Stop::Gone => RunVerdict::new(
            Outcome::InfrastructureFailed,
            "the stack disappeared while being created".to_string(),
        ),
        Stop::Settled(s) if phase::is_created(s) => {
            roll_call::print_done_notes(clients, plan, ui).await;
            judge::results(
                plan,
                clients,
                args,
                ui,
                stack_events(f.history()),
                correlation,
            )
            .await
        }
        Stop::Settled(_) | Stop::FailedEarly => {
            let cause = phase::root_cause(f.history());
            roll_call::explain(clients, plan, f.history(), ui).await;
            let why = cause.map_or_else(
                || "the stack failed to create (no failed resource reported)".to_string(),
                |c| format!("stack failed to create: {}", phase::describe(c)),
            );
            let why = if cause.and_then(capacity::in_event).is_none() {
                fleet::explain(clients, f.history(), why).await
            } else {
                why
            };
            // A bee that signalled FAILURE on Done ran the test: its
            // results say what went wrong, and the test (not AWS) failed.
            if cause.is_some_and(|c| c.logical_id == DONE) {
                let mut v = judge::results(
                    plan,
                    clients,
                    args,
                    ui,
                    stack_events(f.history()),
                    correlation,
                )
                .await;
                v.outcome = Outcome::Failed;
                v.say(why);
                return v;
            }
            judge::record_failure(plan, args, ui, stack_events(f.history()));
            RunVerdict::new(Outcome::InfrastructureFailed, why)
        }
    }
}

/// The stack's events for summary.json, oldest first, the root cause
/// marked.
fn stack_events(history: &[crate::stack::event::StackEvent]) -> Vec<StackEventRecord> {
    let cause = phase::root_cause(history).map(|c| c.id.as_str());
    let mut out: Vec<StackEventRecord> = history
        .iter()
        .map(|e| StackEventRecord {
            time: e.time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            stack_name: e.stack_name.clone(),
            logical_id: e.logical_id.clone(),
            resource_type: e.resource_type.clone(),
            status: e.status.clone(),
            reason: e.reason.clone(),
            root_cause: Some(e.id.as_str()) == cause,
        })
        .collect();
    out.sort_by(|a, b| a.time.cmp(&b.time));
    out
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
        if verdict.outcome == Outcome::Passed {
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
