//! Blueprint loading shared by `run` and `render`: fetches other stacks'
//! outputs only when the blueprint asks for them.

use anyhow::Context;

use crate::blueprint::{self, BlueprintError, LoadOptions, Plan, Target};
use crate::cli::{BlueprintArgs, GlobalArgs};
use crate::render::OutputTable;

/// Loads and renders the blueprint; `offline` for `render`, which must
/// work without the bucket. `bee_sha256` names the bee binary's S3 key.
pub async fn load(
    args: &BlueprintArgs,
    global: &GlobalArgs,
    offline: bool,
    bee_sha256: Option<String>,
) -> anyhow::Result<Plan> {
    let mut opts = options(args, offline, bee_sha256);
    match blueprint::load(&args.blueprint, &opts) {
        Err(BlueprintError::NeedsOutputs(wanted)) => {
            let clients =
                crate::aws::connect(global.region.as_deref(), global.profile.as_deref()).await?;
            for (stack, key) in wanted {
                let info = clients
                    .cfn
                    .describe(&stack)
                    .await?
                    .with_context(|| {
                        format!(
                            "{}: output {key} of stack {stack}: no such stack",
                            args.blueprint.display()
                        )
                    })
                    .map_err(|e| crate::exit::InputError(format!("{e:#}")))?;
                let value = info
                    .outputs
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| {
                        crate::exit::InputError(format!(
                            "{}: stack {stack} has no output {key}",
                            args.blueprint.display()
                        ))
                    })?;
                opts.outputs.insert(&stack, &key, &value);
            }
            Ok(blueprint::load(&args.blueprint, &opts)?)
        }
        other => Ok(other?),
    }
}

fn options(args: &BlueprintArgs, offline: bool, bee_sha256: Option<String>) -> LoadOptions {
    LoadOptions {
        offline,
        bee_sha256,
        vars: args.vars.clone(),
        run_id: args.run_id.clone(),
        env: std::env::vars().collect(),
        outputs: OutputTable::default(),
    }
}

/// Where the blueprint's bees run, without rendering the rest.
pub fn target(args: &BlueprintArgs) -> anyhow::Result<Target> {
    Ok(blueprint::target_of(
        &args.blueprint,
        &options(args, false, None),
    )?)
}
