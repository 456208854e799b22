//! `stampede delete STACK [--no-wait]`.

use super::Ctx;
use crate::cli::DeleteArgs;
use crate::exit::{Ended, Outcome};
use crate::stack::Follower;
use crate::stack::cleanup::{self, Deletion};

/// Deletes the stack and follows it to DELETE_COMPLETE.
pub async fn run(ctx: &Ctx<'_>, args: DeleteArgs) -> anyhow::Result<Ended> {
    let global = ctx.global;
    let clients = crate::aws::connect(global.region.as_deref(), global.profile.as_deref()).await?;
    let ui = ctx.feed;
    let Some(info) = clients.cfn.describe(&args.stack).await? else {
        ui.info(&format!(
            "stack {} does not exist; nothing to delete",
            args.stack
        ));
        return Ok(Ended::passed()
            .with("stack", args.stack)
            .with("stack_state", "absent"));
    };
    let mut f = Follower::new(&clients.cfn, ui, &info.id, global.poll_interval);
    // Old events are history; show what the deletion does.
    f.skip_history().await?;
    let d = cleanup::delete(&mut f, &info.id, !args.no_wait, ctx.interrupt.token()).await?;
    let outcome = match (&d, ctx.interrupt.exit_code()) {
        (Deletion::Deleted | Deletion::Started, _) => Outcome::Passed,
        (_, Some(code)) => {
            ui.warn(&format!(
                "stopped following; CloudFormation goes on deleting {}. Follow it with: stampede observe {}",
                args.stack, info.id
            ));
            Outcome::Interrupted { code }
        }
        (_, None) => {
            if let Some(advice) = cleanup::advice(&args.stack, &d) {
                ui.warn(&advice);
            }
            Outcome::InfrastructureFailed
        }
    };
    Ok(Ended::new(outcome)
        .with("stack", args.stack)
        .with("stack_state", d.name()))
}
