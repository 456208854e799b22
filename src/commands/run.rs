//! `stampede run`: the arguments become a validated [`RunPlan`] (the
//! blueprint rendered once, the gate parsed once, a baseline file read
//! once), then the engine runs it on the blueprint's fleet.

use super::Ctx;
use crate::blueprint::Target;
use crate::cli::RunArgs;
use crate::engine::aws::AwsFleet;
use crate::engine::aws::beebin;
use crate::engine::checks::{Footprint, Problem};
use crate::engine::laptop::LaptopFleet;
use crate::engine::plan::{BaselineChoice, Choices, Exports, GatePlan, RunPlan};
use crate::engine::stage::Stages;
use crate::engine::{self, Cx};
use crate::exit::Ended;
use crate::gate::{Baseline, Gate};

/// Prepares the plan, runs it, and says how it ended.
pub async fn run(ctx: &Ctx<'_>, args: RunArgs) -> anyhow::Result<Ended> {
    let target = super::plan::target(&args.blueprint)?;
    // The bee binary's content hash names its S3 key, which the template
    // refers to: known before the one rendering.
    let bee = match target {
        Target::Aws => {
            let given = args.bee_binary.clone();
            let bee = tokio::task::spawn_blocking(move || beebin::prepare(given.as_deref()))
                .await
                .map_err(|e| anyhow::anyhow!("preparing the bee binary: {e}"))?;
            Some(bee.map_err(|e| format!("{e:#}")))
        }
        Target::Local { .. } => None,
    };
    let sha = bee
        .as_ref()
        .and_then(|b| b.as_ref().ok())
        .map(|b| b.sha256.clone());
    let blueprint = super::plan::load(&args.blueprint, ctx.global, false, sha).await?;
    let mut plan = prepare(ctx, &args, blueprint).await;
    let cx = Cx {
        feed: ctx.feed,
        interrupt: ctx.interrupt,
        stages: Stages::default(),
        classify: super::outcome::of_error,
    };
    let report = match bee {
        Some(bee) => engine::run(&cx, &mut plan, &mut AwsFleet::new(bee)).await,
        None => engine::run(&cx, &mut plan, &mut LaptopFleet::default()).await,
    };
    if report.error
        && let Some(m) = &report.message
    {
        eprintln!("error: {}", crate::ui::redact(m));
    }
    Ok(report.into_ended(&plan.blueprint.run.id, &plan.blueprint.stack))
}

/// The run's plan; what cannot be prepared becomes a problem the checks
/// report with every other one.
async fn prepare(ctx: &Ctx<'_>, args: &RunArgs, blueprint: crate::blueprint::Plan) -> RunPlan {
    let mut problems = Vec::new();
    let gate_path = args.gate.clone().or_else(|| blueprint.gate.clone());
    let gate = match &gate_path {
        None => GatePlan {
            path: None,
            gate: Gate::sanity(),
            baseline: BaselineChoice::None("no gate file".into()),
        },
        Some(path) => match Gate::read(path) {
            Ok(gate) => {
                let baseline = baseline(path, &gate.baseline, &mut problems).await;
                GatePlan {
                    path: Some(path.clone()),
                    gate,
                    baseline,
                }
            }
            Err(e) => {
                problems.push(Problem {
                    aws: false,
                    text: e.to_string(),
                });
                GatePlan {
                    path: Some(path.clone()),
                    gate: Gate::sanity(),
                    baseline: BaselineChoice::None("the gate file is unusable".into()),
                }
            }
        },
    };
    let global = ctx.global;
    RunPlan {
        footprint: Footprint::of(&blueprint),
        choices: Choices {
            keep: args.keep,
            dry_run: args.dry_run,
            labels: args.labels,
            unstable_exit: args.unstable_exit,
            poll_interval: global.poll_interval,
            region: global.region.clone().or_else(|| blueprint.region.clone()),
            profile: global.profile.clone(),
        },
        exports: Exports {
            report: args.report.clone(),
            junit: args.junit.clone(),
            markdown: args.markdown.clone(),
        },
        blueprint,
        gate,
        problems,
    }
}

/// A baseline file is read now, once; one that lives in S3 (or the last
/// passing build) is resolved by the fleet's checks.
async fn baseline(
    gate: &std::path::Path,
    b: &Baseline,
    problems: &mut Vec<Problem>,
) -> BaselineChoice {
    let Baseline::Path(p) = b else {
        return BaselineChoice::Pending(b.clone());
    };
    let path = p.clone();
    let loaded = tokio::task::spawn_blocking(move || crate::results::load_run(&path)).await;
    match loaded {
        Ok(Ok(summary)) => BaselineChoice::Found {
            name: p.display().to_string(),
            summary: Box::new(summary),
        },
        Ok(Err(e)) => {
            problems.push(Problem {
                aws: false,
                text: format!("{}: baseline: {e}", gate.display()),
            });
            BaselineChoice::None("the baseline is unusable".into())
        }
        Err(e) => {
            problems.push(Problem {
                aws: false,
                text: format!("{}: baseline: the reader stopped: {e}", gate.display()),
            });
            BaselineChoice::None("the baseline is unusable".into())
        }
    }
}
