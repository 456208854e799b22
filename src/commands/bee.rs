//! `stampede bee --config URI`: the agent each load generator runs.

use super::Ctx;
use crate::bee;
use crate::cli::BeeArgs;
use crate::exit::{Ended, Outcome};

/// Runs the bee protocol; exits 1 when Done was FAILURE.
pub async fn run(ctx: &Ctx<'_>, args: BeeArgs) -> anyhow::Result<Ended> {
    let (global, interrupt) = (ctx.global, ctx.interrupt);
    let env = std::env::vars().collect();
    let region = global
        .region
        .clone()
        .or_else(|| std::env::var("STAMPEDE_REGION").ok());
    let mut cfg = bee::load_config(&args.config, region.as_deref()).await?;
    cfg.apply_env(&env);
    let log = |m: &str| eprintln!("{m}");
    let report = bee::run(&cfg, interrupt.token(), &log).await?;
    eprintln!(
        "bee {}: JMeter {:?}; results at {}{}",
        cfg.id(),
        report.jmeter,
        report.uploaded,
        report.shipped.map_or(String::new(), |s| format!(
            "; {} rows shipped, {} lost",
            s.rows, s.lost
        ))
    );
    let outcome = match (interrupt.exit_code(), &report.failure) {
        (Some(code), _) => Outcome::Interrupted { code },
        (None, Some(_)) => Outcome::Failed,
        (None, None) => Outcome::Passed,
    };
    let mut ended = Ended::new(outcome).with("bee", cfg.id());
    ended.message = report.failure.clone();
    Ok(ended)
}
