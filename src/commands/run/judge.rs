//! After the bees: the summary, the gate, and the stored history that
//! later builds compare against.

use anyhow::Context;

use super::collect;
use crate::aws::Clients;
use crate::blueprint::Plan;
use crate::cli::RunArgs;
use crate::commands::compare::verdict_code;
use crate::exit;
use crate::gate::{self, Baseline, Gate, Outcome, Verdict};
use crate::monitor::watcher::Correlation;
use crate::results::store::Store;
use crate::results::{self, Summary, table};
use crate::ui::Reporter;

/// How the test part of a run ended.
pub struct RunVerdict {
    /// Exit code before cleanup.
    pub code: u8,
    /// Short status for the result object.
    pub status: &'static str,
    /// What to tell the user.
    pub message: Option<String>,
    /// The summary, when there were results.
    pub summary: Option<Summary>,
    /// The gate's result, when a gate ran.
    pub gate: Option<Outcome>,
}

impl RunVerdict {
    /// The final result object: status, exit code, gate and totals.
    pub fn result(&self, plan: &Plan) -> serde_json::Value {
        serde_json::json!({
            "run_id": plan.run.id,
            "status": self.status,
            "exit_code": self.code,
            "message": self.message,
            "gate": self.gate.as_ref().map(|g| g.verdict),
            "total": self.summary.as_ref().and_then(|s| s.total.as_ref()).map(|t| {
                serde_json::json!({"count": t.count, "errors": t.errors, "mean": t.mean, "p50": t.p50, "p95": t.p95, "p99": t.p99})
            }),
        })
    }

    /// A verdict without results.
    pub fn new(code: u8, status: &'static str, message: impl Into<Option<String>>) -> Self {
        RunVerdict {
            code,
            status,
            message: message.into(),
            summary: None,
            gate: None,
        }
    }
}

/// Collects the bees' results, summarises, stores and gates them.
pub async fn results(
    plan: &Plan,
    clients: &Clients,
    args: &RunArgs,
    ui: &Reporter,
    correlation: Correlation,
) -> RunVerdict {
    match results_inner(plan, clients, args, ui, correlation).await {
        Ok(v) => v,
        Err(e) => RunVerdict::new(exit::INFRA, "error", format!("{e:#}")),
    }
}

async fn results_inner(
    plan: &Plan,
    clients: &Clients,
    args: &RunArgs,
    ui: &Reporter,
    correlation: Correlation,
) -> anyhow::Result<RunVerdict> {
    let report_dir = args.report.clone();
    let collected = collect::collect(&clients.s3, plan, &report_dir.join("jtl")).await?;
    let Some(collected) = collected else {
        return Ok(RunVerdict::new(
            exit::FAILED,
            "no_results",
            format!(
                "no results: no bee left a JTL under s3://{}/{}",
                plan.run.bucket,
                plan.run.results_prefix()
            ),
        ));
    };
    let store = Store::new(&clients.s3, &plan.run.bucket, &plan.build.job);
    conclude(
        plan,
        args,
        ui,
        collected.summary,
        collected.files,
        Some(&store),
        correlation,
    )
    .await
}

/// Shows, writes, stores and gates a run's summary. Without a store
/// (laptop mode) nothing goes to S3 and `baseline: previous` has nothing
/// to compare with.
pub async fn conclude(
    plan: &Plan,
    args: &RunArgs,
    ui: &Reporter,
    mut summary: Summary,
    files: usize,
    store: Option<&Store<'_>>,
    correlation: Correlation,
) -> anyhow::Result<RunVerdict> {
    let report_dir = args.report.clone();
    summary.monitor = correlation.monitor;
    summary.events = correlation.events;
    ui.info(&format!("results of {files} bee file(s):"));
    ui.block(&table::text(&summary));
    if summary.malformed > 0 {
        ui.warn(&format!(
            "{} malformed result rows were skipped",
            summary.malformed
        ));
    }
    let path = report_dir.join("summary.json");
    std::fs::create_dir_all(&report_dir)
        .and_then(|()| std::fs::write(&path, summary.to_json()))
        .with_context(|| format!("writing {}", path.display()))?;
    ui.info(&format!("wrote {}", path.display()));
    if summary.total.as_ref().is_none_or(|t| t.count == 0) {
        return Ok(RunVerdict::new(
            exit::FAILED,
            "no_results",
            "no results: the result files hold no samples".to_string(),
        ));
    }
    if let Some(store) = store {
        let uri = store.put(&plan.build.number, &summary).await?;
        ui.info(&format!("stored the summary at {uri}"));
    }
    warn_on_errors(&summary, ui);
    let mut verdict = gate_run(plan, args, store, &summary, ui).await?;
    // The pointer moves last: a build whose reports could not be written
    // must not become the baseline of the next one.
    write_reports(args, &summary, verdict.gate.as_ref())?;
    if let Some(store) = store
        && verdict.code == exit::PASSED
        && verdict
            .gate
            .as_ref()
            .is_none_or(|g| g.verdict == Verdict::Pass)
    {
        store.mark_passed(&plan.build.number).await?;
        ui.info(&format!(
            "build {} is now the baseline of {}",
            plan.build.number, plan.build.job
        ));
    }
    verdict.summary = Some(summary);
    Ok(verdict)
}

/// An error rate above this gets a warning in every run, gate or not.
const HIGH_ERROR_RATE: f64 = 0.10;

fn warn_on_errors(summary: &Summary, ui: &Reporter) {
    if let Some(t) = &summary.total
        && t.error_rate > HIGH_ERROR_RATE
    {
        ui.warn(&format!(
            "{:.1}% of the {} samples failed: check the target and the testcase",
            t.error_rate * 100.0,
            t.count
        ));
    }
}

async fn gate_run(
    plan: &Plan,
    args: &RunArgs,
    store: Option<&Store<'_>>,
    summary: &Summary,
    ui: &Reporter,
) -> anyhow::Result<RunVerdict> {
    let Some(path) = args.gate.clone().or_else(|| plan.gate.clone()) else {
        ui.info("no gate file: the built-in gate fails a run in which most samples failed (error_rate of total at most 50%)");
        return Ok(verdict_of(
            gate::judge(&Gate::sanity(), summary, None),
            args,
            ui,
        ));
    };
    let gate = Gate::read(&path)?;
    let baseline = match &gate.baseline {
        Baseline::Previous if store.is_none() => {
            ui.info("baseline: laptop mode keeps no build history: relative criteria pass");
            None
        }
        Baseline::Previous => match store.expect("checked above").latest_passed().await? {
            Some((build, s)) => {
                ui.info(&format!("baseline: build {build} (the last that passed)"));
                Some(s)
            }
            None => {
                ui.info("baseline: none yet (first build): relative criteria pass");
                None
            }
        },
        Baseline::Path(p) => {
            let p = p.clone();
            Some(tokio::task::spawn_blocking(move || results::load_run(&p)).await??)
        }
        Baseline::S3(uri) => {
            let (bucket, key) = crate::aws::s3::parse_uri(uri).ok_or_else(|| {
                exit::InputError(format!(
                    "{}: baseline {uri} is not an s3:// URI",
                    path.display()
                ))
            })?;
            let store = store.ok_or_else(|| {
                exit::InputError(format!(
                    "{}: an s3:// baseline needs an AWS run",
                    path.display()
                ))
            })?;
            Some(Store::new(store.s3(), bucket, "").get_key(key).await?)
        }
    };
    Ok(verdict_of(
        gate::judge(&gate, summary, baseline.as_ref()),
        args,
        ui,
    ))
}

/// Shows the gate's table and turns its verdict into the run's.
fn verdict_of(outcome: Outcome, args: &RunArgs, ui: &Reporter) -> RunVerdict {
    ui.block(&gate::report::text(&outcome));
    let code = verdict_code(outcome.verdict, args.unstable_exit);
    let (status, message) = match outcome.verdict {
        Verdict::Pass => ("passed", None),
        Verdict::Unstable => ("unstable", Some("the gate says UNSTABLE".to_string())),
        Verdict::Fail => ("gate_failed", Some("the gate says FAIL".to_string())),
    };
    let mut v = RunVerdict::new(code, status, message);
    v.gate = Some(outcome);
    v
}

fn write_reports(args: &RunArgs, summary: &Summary, gate: Option<&Outcome>) -> anyhow::Result<()> {
    if let Some(path) = &args.junit {
        // Without a gate, the one check is that the run produced results.
        let ran = Outcome {
            checks: vec![gate::Check {
                criterion: "the run produced results".into(),
                metric: gate::Metric::Count,
                label: "total".into(),
                baseline: None,
                current: summary.total.as_ref().map(|t| t.count as f64),
                change: None,
                verdict: Verdict::Pass,
                note: "no gate configured".into(),
            }],
            verdict: Verdict::Pass,
        };
        std::fs::write(
            path,
            gate::report::junit(gate.unwrap_or(&ran), "stampede.gate"),
        )
        .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.markdown {
        let mut md = table::markdown(summary);
        if let Some(g) = gate {
            md.push('\n');
            md.push_str(&gate::report::markdown(g));
        }
        std::fs::write(path, md).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
