//! `stampede observe STACK`: follows a stack's events until it settles.

use std::process::ExitCode;

use crate::cli::{GlobalArgs, ObserveArgs};
use crate::exit;
use crate::interrupt::Interrupt;
use crate::stack::{Follower, Stop, Until, phase, status};
use crate::ui::Reporter;

/// Shows the stack's history, then follows it until it settles.
pub async fn run(global: &GlobalArgs, args: ObserveArgs) -> anyhow::Result<ExitCode> {
    let clients = crate::aws::connect(global.region.as_deref(), global.profile.as_deref()).await?;
    let Some(info) = clients.cfn.describe(&args.stack).await? else {
        anyhow::bail!(exit::InputError(format!(
            "stack {} does not exist",
            args.stack
        )));
    };
    let ui = Reporter::new(global.output);
    let interrupt = Interrupt::install();
    let mut f = Follower::new(&clients.cfn, &ui, &info.id, global.poll_interval);
    let stop = f.follow(Until::Settled, interrupt.token(), None).await?;
    let (code, status) = match &stop {
        Stop::Cancelled => (
            interrupt.exit_code().unwrap_or(exit::SIGINT),
            "interrupted".to_string(),
        ),
        Stop::Gone => (exit::PASSED, "DELETE_COMPLETE".to_string()),
        Stop::Settled(s) if status::is_failed(s) => {
            if let Some(c) = phase::root_cause(f.history()) {
                ui.warn(&format!("root cause: {}", phase::describe(c)));
            }
            (exit::INFRA, s.clone())
        }
        Stop::Settled(s) => (exit::PASSED, s.clone()),
        Stop::TimedOut | Stop::FailedEarly => (exit::INFRA, "unsettled".to_string()),
    };
    ui.info(&format!("stack {} is {status}", args.stack));
    ui.finish(serde_json::json!({"stack": args.stack, "status": status, "exit_code": code}));
    Ok(ExitCode::from(code))
}
