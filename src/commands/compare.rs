//! `stampede compare CURRENT BASELINE`: the regression gate on two runs.

use anyhow::Context;

use super::Ctx;
use crate::cli::{CompareArgs, OutputMode};
use crate::exit::{Ended, Outcome};
use crate::gate::{Gate, Verdict, judge, report};
use crate::results::{self, table};

/// Compares and prints the verdicts; exits 1 on fail.
pub async fn run(ctx: &Ctx<'_>, args: CompareArgs) -> anyhow::Result<Ended> {
    let global = ctx.global;
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
    Ok(
        Ended::new(verdict_outcome(outcome.verdict, args.unstable_exit))
            .with("gate", serde_json::to_value(outcome.verdict)?)
            .with("checks", outcome.checks.len()),
    )
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
