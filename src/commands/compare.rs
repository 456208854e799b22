//! `stampede compare CURRENT BASELINE`: the regression gate on two runs.

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{CompareArgs, GlobalArgs, OutputMode};
use crate::exit::Outcome;
use crate::gate::{Gate, Verdict, judge, report};
use crate::results::{self, table};

/// Compares and prints the verdicts; exits 1 on fail.
pub async fn run(global: &GlobalArgs, args: CompareArgs) -> anyhow::Result<ExitCode> {
    let gate = match &args.gate {
        Some(path) => Gate::read(path)?,
        None => Gate::default_gate(),
    };
    let (cur_path, base_path) = (args.current.clone(), args.baseline.clone());
    let (current, baseline) = tokio::task::spawn_blocking(move || {
        Ok::<_, results::ResultsError>((
            results::load_run(&cur_path)?,
            results::load_run(&base_path)?,
        ))
    })
    .await
    .context("the results reader stopped")??;
    let outcome = judge(&gate, &current, Some(&baseline));
    if global.output == OutputMode::Json {
        println!("{}", serde_json::to_string(&outcome)?);
    } else {
        print!("{}", report::text(&outcome));
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, report::junit(&outcome, "stampede.gate"))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.markdown {
        let md = format!(
            "{}\n{}",
            table::markdown(&current),
            report::markdown(&outcome)
        );
        std::fs::write(path, md).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(ExitCode::from(
        verdict_outcome(outcome.verdict, args.unstable_exit).code(),
    ))
}

/// The outcome of a gate verdict.
pub fn verdict_outcome(v: Verdict, unstable_exit: u8) -> Outcome {
    match v {
        Verdict::Pass => Outcome::Passed,
        Verdict::Unstable => Outcome::Unstable {
            code: unstable_exit,
        },
        Verdict::Fail => Outcome::GateFailed,
    }
}
