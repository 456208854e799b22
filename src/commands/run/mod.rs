//! `stampede run`: render, upload, create, follow, collect, delete.

mod collect;
mod upload;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::aws::{self, Clients};
use crate::blueprint::{Plan, Target};
use crate::cli::{GlobalArgs, RunArgs};
use crate::exit;
use crate::interrupt::Interrupt;
use crate::results::{Summary, table};
use crate::stack::cleanup::{self, Deletion};
use crate::stack::phase::{self, DONE, Phase};
use crate::stack::{Follower, Stop, Until};
use crate::ui::Reporter;

/// How the test part of a run ended, before cleanup.
struct Verdict {
    code: u8,
    status: &'static str,
    message: Option<String>,
    summary: Option<Summary>,
}

impl Verdict {
    fn new(code: u8, status: &'static str, message: impl Into<Option<String>>) -> Self {
        Verdict {
            code,
            status,
            message: message.into(),
            summary: None,
        }
    }
}

/// Runs the whole lifecycle.
pub async fn run(global: &GlobalArgs, args: RunArgs) -> anyhow::Result<ExitCode> {
    let plan = super::plan::load(&args.blueprint, global).await?;
    let ui = Reporter::new(global.output);
    let interrupt = Interrupt::install();
    match plan.target {
        Target::Aws => aws_run(global, &args, &plan, &ui, &interrupt).await,
        Target::Local { .. } => anyhow::bail!(exit::InputError(format!(
            "{}: target: local is not supported by this build yet",
            plan.source.display()
        ))),
    }
}

async fn aws_run(
    global: &GlobalArgs,
    args: &RunArgs,
    plan: &Plan,
    ui: &Reporter,
    interrupt: &Interrupt,
) -> anyhow::Result<ExitCode> {
    let region = global.region.as_deref().or(plan.region.as_deref());
    let clients = aws::connect(region, global.profile.as_deref()).await?;
    ui.info(&format!("run {}: stack {}", plan.run.id, plan.stack));
    let request = upload::prepare(&clients.s3, plan, ui, chrono::Utc::now()).await?;
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
    let mut f = Follower::new(&clients.cfn, ui, &stack_id, global.poll_interval);
    ui.phase(Phase::Provisioning);
    let deadline = Instant::now() + plan.timeout;
    // Whatever happens while following, the stack gets deleted below.
    let followed = f
        .follow(Until::Created, interrupt.token(), Some(deadline))
        .await;
    let verdict = match &followed {
        Ok(stop) => judge(stop, &f, plan, &clients, args, ui, interrupt).await,
        Err(e) => Verdict::new(
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
async fn judge(
    stop: &Stop,
    f: &Follower<'_>,
    plan: &Plan,
    clients: &Clients,
    args: &RunArgs,
    ui: &Reporter,
    interrupt: &Interrupt,
) -> Verdict {
    match stop {
        Stop::Cancelled => Verdict::new(
            interrupt.exit_code().unwrap_or(exit::SIGTERM),
            "interrupted",
            "interrupted: deleting the stack".to_string(),
        ),
        Stop::TimedOut => Verdict::new(
            exit::INFRA,
            "timed_out",
            format!(
                "the run took longer than its timeout of {}s",
                plan.timeout.as_secs()
            ),
        ),
        Stop::Gone => Verdict::new(
            exit::INFRA,
            "gone",
            "the stack disappeared while being created".to_string(),
        ),
        Stop::Settled(s) if phase::is_created(s) => results_verdict(plan, clients, args, ui).await,
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
                let mut v = results_verdict(plan, clients, args, ui).await;
                v.code = exit::FAILED;
                v.status = "failed";
                v.message = Some(why);
                return v;
            }
            Verdict::new(exit::INFRA, "infrastructure_failed", why)
        }
    }
}

async fn results_verdict(plan: &Plan, clients: &Clients, args: &RunArgs, ui: &Reporter) -> Verdict {
    let report_dir = args.report.clone().unwrap_or_else(|| PathBuf::from("."));
    let jtl_dir = report_dir.join("jtl");
    let collected = match collect::collect(&clients.s3, plan, &jtl_dir).await {
        Ok(c) => c,
        Err(e) => return Verdict::new(exit::INFRA, "error", format!("collecting results: {e:#}")),
    };
    let Some(collected) = collected else {
        return Verdict::new(
            exit::FAILED,
            "no_results",
            format!(
                "no results: no bee left a JTL under s3://{}/{}",
                plan.run.bucket,
                plan.run.results_prefix()
            ),
        );
    };
    let summary = collected.summary;
    ui.info(&format!("results of {} bee file(s):", collected.files));
    ui.block(&table::text(&summary));
    if summary.malformed > 0 {
        ui.warn(&format!(
            "{} malformed result rows were skipped",
            summary.malformed
        ));
    }
    let path = report_dir.join("summary.json");
    if let Err(e) = std::fs::create_dir_all(&report_dir)
        .and_then(|()| std::fs::write(&path, summary.to_json()))
        .with_context(|| format!("writing {}", path.display()))
    {
        return Verdict::new(exit::FAILED, "error", format!("{e:#}"));
    }
    ui.info(&format!("wrote {}", path.display()));
    let count = summary.total.as_ref().map_or(0, |t| t.count);
    let mut v = if count == 0 {
        Verdict::new(
            exit::FAILED,
            "no_results",
            "no results: the result files hold no samples".to_string(),
        )
    } else {
        Verdict::new(exit::PASSED, "passed", None)
    };
    v.summary = Some(summary);
    v
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
    verdict: &Verdict,
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
    ui.finish(json!({
        "run_id": plan.run.id,
        "stack": plan.stack,
        "status": verdict.status,
        "exit_code": verdict.code,
        "message": verdict.message,
        "stack_state": deleted,
        "total": verdict.summary.as_ref().and_then(|s| s.total.as_ref()).map(|t| {
            json!({"count": t.count, "errors": t.errors, "mean": t.mean, "p50": t.p50, "p95": t.p95, "p99": t.p99})
        }),
    }));
}
