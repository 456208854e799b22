//! `stampede delete STACK [--no-wait]`.

use std::process::ExitCode;

use crate::cli::{DeleteArgs, GlobalArgs};
use crate::exit;
use crate::interrupt::Interrupt;
use crate::stack::Follower;
use crate::stack::cleanup::{self, Deletion};
use crate::ui::Reporter;

/// Deletes the stack and follows it to DELETE_COMPLETE.
pub async fn run(global: &GlobalArgs, args: DeleteArgs) -> anyhow::Result<ExitCode> {
    let clients = crate::aws::connect(global.region.as_deref(), global.profile.as_deref()).await?;
    let ui = Reporter::new(global.output);
    let Some(info) = clients.cfn.describe(&args.stack).await? else {
        ui.info(&format!(
            "stack {} does not exist; nothing to delete",
            args.stack
        ));
        ui.finish(serde_json::json!({"stack": args.stack, "status": "absent", "exit_code": 0}));
        return Ok(ExitCode::SUCCESS);
    };
    let interrupt = Interrupt::install();
    let mut f = Follower::new(&clients.cfn, &ui, &info.id, global.poll_interval);
    // Old events are history; show what the deletion does.
    f.skip_history().await?;
    let d = cleanup::delete(&mut f, &info.id, !args.no_wait, interrupt.token()).await?;
    let code = match (&d, interrupt.exit_code()) {
        (Deletion::Deleted | Deletion::Started, _) => exit::PASSED,
        (_, Some(sig)) => {
            ui.warn(&format!(
                "stopped following; CloudFormation goes on deleting {}. Follow it with: stampede observe {}",
                args.stack, info.id
            ));
            sig
        }
        (_, None) => {
            if let Some(advice) = cleanup::advice(&args.stack, &d) {
                ui.warn(&advice);
            }
            exit::INFRA
        }
    };
    ui.finish(
        serde_json::json!({"stack": args.stack, "status": format!("{d:?}"), "exit_code": code}),
    );
    Ok(ExitCode::from(code))
}
