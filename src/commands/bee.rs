//! `stampede bee --config URI`: the agent each load generator runs.

use std::process::ExitCode;

use crate::bee;
use crate::cli::{BeeArgs, GlobalArgs};
use crate::exit;
use crate::interrupt::Interrupt;

/// Runs the bee protocol; exits 1 when Done was FAILURE.
pub async fn run(global: &GlobalArgs, args: BeeArgs) -> anyhow::Result<ExitCode> {
    let env = std::env::vars().collect();
    let region = global
        .region
        .clone()
        .or_else(|| std::env::var("STAMPEDE_REGION").ok());
    let mut cfg = bee::load_config(&args.config, region.as_deref()).await?;
    cfg.apply_env(&env);
    let interrupt = Interrupt::install();
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
    if let Some(code) = interrupt.exit_code() {
        return Ok(ExitCode::from(code));
    }
    Ok(ExitCode::from(if report.failure.is_some() {
        exit::FAILED
    } else {
        exit::PASSED
    }))
}
