//! `stampede observe STACK`: follows a stack's events until it settles.

use super::Ctx;
use crate::cli::ObserveArgs;
use crate::exit::{self, Ended, Outcome};
use crate::stack::{Follower, Stop, Until, phase, status};

/// Shows the stack's history, then follows it until it settles.
pub async fn run(ctx: &Ctx<'_>, args: ObserveArgs) -> anyhow::Result<Ended> {
    let global = ctx.global;
    let clients = crate::aws::connect(global.region.as_deref(), global.profile.as_deref()).await?;
    let Some(info) = clients.cfn.describe(&args.stack).await? else {
        anyhow::bail!(exit::InputError(format!(
            "stack {} does not exist",
            args.stack
        )));
    };
    let ui = ctx.feed;
    let mut f = Follower::new(&clients.cfn, ui, &info.id, global.poll_interval);
    let stop = f
        .follow(Until::Settled, ctx.interrupt.token(), None)
        .await?;
    let (outcome, status) = match &stop {
        Stop::Cancelled => (
            Outcome::Interrupted {
                code: ctx.interrupt.exit_code().unwrap_or(exit::SIGINT),
            },
            "interrupted".to_string(),
        ),
        Stop::Gone => (Outcome::Passed, "DELETE_COMPLETE".to_string()),
        Stop::Settled(s) if status::is_failed(s) => {
            if let Some(c) = phase::root_cause(f.history()) {
                ui.warn(&format!("root cause: {}", phase::describe(c)));
            }
            (Outcome::InfrastructureFailed, s.clone())
        }
        Stop::Settled(s) => (Outcome::Passed, s.clone()),
        Stop::TimedOut | Stop::FailedEarly => {
            (Outcome::InfrastructureFailed, "unsettled".to_string())
        }
    };
    let message = format!("stack {} is {status}", args.stack);
    ui.info(&message);
    Ok(Ended::new(outcome)
        .with("stack", args.stack)
        .with("stack_status", status))
}
