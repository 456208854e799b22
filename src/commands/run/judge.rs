//! After the bees: the summary, the gate, and the stored history that
//! later builds compare against.

use crate::results::aggregate::capped_notice;
use anyhow::Context;

use super::gather::{self, Place};
use crate::aws::Clients;
use crate::blueprint::{Plan, Target};
use crate::cli::RunArgs;
use crate::commands::compare::verdict_outcome;
use crate::exit::{self, Outcome};
use crate::gate::{self, Baseline, Gate, Verdict};
use crate::monitor::watcher::Correlation;
use crate::report;
use crate::results::generators;
use crate::results::store::Store;
use crate::results::summary::{RunFacts, StackEventRecord};
use crate::results::{self, Summary, table};
use crate::ui::Reporter;

/// How the test part of a run ended.
pub struct RunVerdict {
    /// How the run ended, before cleanup.
    pub outcome: Outcome,
    /// What to tell the user.
    pub message: Option<String>,
    /// The summary, when there were results.
    pub summary: Option<Summary>,
    /// The gate's result, when a gate ran.
    pub gate: Option<gate::Outcome>,
}

impl RunVerdict {
    /// The final result object: status, exit code, gate and totals.
    pub fn result(&self, plan: &Plan) -> serde_json::Value {
        serde_json::json!({
            "run_id": plan.run.id,
            "status": self.outcome.status(),
            "exit_code": self.outcome.code(),
            "message": self.message,
            "gate": self.gate.as_ref().map(|g| g.verdict),
            "total": self.summary.as_ref().and_then(|s| s.total.as_ref()).map(|t| {
                serde_json::json!({"count": t.count, "errors": t.errors, "mean": t.mean, "p50": t.p50, "p95": t.p95, "p99": t.p99})
            }),
        })
    }

    /// The verdict of an error that stopped the run: its own kind, or an
    /// internal error.
    pub fn failed(err: &anyhow::Error) -> Self {
        Self::new(Outcome::of_error(err), format!("{err:#}"))
    }

    /// Sets the message (why the run ended as it did), keeping the note
    /// on saturated generators: it holds whatever else went wrong.
    pub fn say(&mut self, message: String) {
        let note = self
            .summary
            .as_ref()
            .and_then(|s| generators::verdict_note(&s.generators));
        self.message = Some(match note {
            Some(n) => format!("{message}; {n}"),
            None => message,
        });
    }

    /// A verdict without results.
    pub fn new(outcome: Outcome, message: impl Into<Option<String>>) -> Self {
        RunVerdict {
            outcome,
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
    stack_events: Vec<StackEventRecord>,
    correlation: Correlation,
) -> RunVerdict {
    match results_inner(plan, clients, args, ui, stack_events, correlation).await {
        Ok(v) => v,
        Err(e) => RunVerdict::failed(&e),
    }
}

async fn results_inner(
    plan: &Plan,
    clients: &Clients,
    args: &RunArgs,
    ui: &Reporter,
    stack_events: Vec<StackEventRecord>,
    correlation: Correlation,
) -> anyhow::Result<RunVerdict> {
    let report_dir = args.report.clone();
    let place = Place::S3 {
        s3: &clients.s3,
        bucket: plan.run.bucket.clone(),
        prefix: plan.run.results_prefix(),
        dir: report_dir.join("jtl"),
    };
    let Some(collected) = gather::gather(&place, plan, ui).await? else {
        return Ok(RunVerdict::new(
            Outcome::NoResults,
            format!(
                "no results: no bee left a JTL under s3://{}/{}",
                plan.run.bucket,
                plan.run.results_prefix()
            ),
        ));
    };
    let store = Store::new(&clients.s3, &plan.run.bucket, &plan.build.job);
    let mut summary = collected.summary;
    summary.stack_events = stack_events;
    correlation.apply(&mut summary);
    conclude(plan, args, ui, summary, collected.bees, Some(&store)).await
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
) -> anyhow::Result<RunVerdict> {
    let report_dir = args.report.clone();
    summary.phases = report::run::phases(&ui.phase_log());
    summary.run = Some(run_facts(plan, files));
    ui.info(&format!("results of {files} bee file(s):"));
    ui.block(&table::text(&summary));
    if let Some(notice) = capped_notice(summary.labels.iter().map(|l| &l.label)) {
        ui.warn(notice.trim_start_matches("warning: "));
    }
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
        write_html(&report_dir, None, None, ui);
        return Ok(RunVerdict::new(
            Outcome::NoResults,
            "no results: the result files hold no samples".to_string(),
        ));
    }
    if let Some(store) = store {
        let uri = store.put(&plan.build.number, &summary).await?;
        ui.info(&format!("stored the summary at {uri}"));
    }
    warn_on_errors(&summary, ui);
    let (mut verdict, baseline) = gate_run(plan, args, store, &summary, ui).await?;
    // The pointer moves last: a build whose reports could not be written
    // must not become the baseline of the next one.
    write_reports(args, &summary, verdict.gate.as_ref())?;
    write_html(&report_dir, verdict.gate.as_ref(), baseline.as_ref(), ui);
    if let Some(store) = store
        && verdict.outcome == Outcome::Passed
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
    // A saturated generator measured itself: the verdict says so, whatever
    // the gate made of the numbers.
    if let Some(note) = generators::verdict_note(&summary.generators) {
        verdict.message = Some(match verdict.message.take() {
            Some(m) => format!("{m}; {note}"),
            None => note,
        });
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

/// A stack that failed before any result: summary.json (phases and the
/// stack's events, no samples) and report.html, so the failure can be read
/// like any run.
pub fn record_failure(
    plan: &Plan,
    args: &RunArgs,
    ui: &Reporter,
    stack_events: Vec<StackEventRecord>,
) {
    let summary = Summary {
        run_id: Some(plan.run.id.clone()),
        stack: Some(plan.stack.clone()),
        build: serde_json::to_value(&plan.build).ok(),
        run: Some(run_facts(plan, 0)),
        phases: report::run::phases(&ui.phase_log()),
        stack_events,
        ..Summary::default()
    };
    let dir = &args.report;
    let path = dir.join("summary.json");
    match std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&path, summary.to_json())) {
        Ok(()) => write_html(dir, None, None, ui),
        Err(e) => ui.warn(&format!("could not write {}: {e}", path.display())),
    }
}

/// How the run was set up, for the report's facts.
fn run_facts(plan: &Plan, files: usize) -> RunFacts {
    RunFacts {
        blueprint: Some(plan.source.display().to_string()),
        mode: Some(match plan.target {
            Target::Aws => "aws".into(),
            Target::Local { .. } => "local".into(),
        }),
        region: plan.region.clone(),
        // Unknown when no bee left results (a stack that failed first).
        bees: (files > 0).then_some(files as u64),
        threads: plan
            .properties
            .iter()
            .find(|(k, _)| k == "threads")
            .map(|(_, v)| v.clone()),
    }
}

/// Writes report.html; a failure to is a warning, not the run's verdict.
fn write_html(
    dir: &std::path::Path,
    gate: Option<&gate::Outcome>,
    baseline: Option<&Summary>,
    ui: &Reporter,
) {
    match report::run::write(dir, gate, baseline) {
        Ok(path) => ui.info(&format!("wrote {}", path.display())),
        Err(e) => ui.warn(&format!("no HTML report: {e:#}")),
    }
}

async fn gate_run(
    plan: &Plan,
    args: &RunArgs,
    store: Option<&Store<'_>>,
    summary: &Summary,
    ui: &Reporter,
) -> anyhow::Result<(RunVerdict, Option<Summary>)> {
    let Some(path) = args.gate.clone().or_else(|| plan.gate.clone()) else {
        ui.info("no gate file: the built-in gate fails a run in which most samples failed (error_rate of total at most 50%)");
        return Ok((
            verdict_of(gate::judge(&Gate::sanity(), summary, None), args, ui),
            None,
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
    let verdict = verdict_of(gate::judge(&gate, summary, baseline.as_ref()), args, ui);
    Ok((verdict, baseline))
}

/// Shows the gate's table and turns its verdict into the run's.
fn verdict_of(outcome: gate::Outcome, args: &RunArgs, ui: &Reporter) -> RunVerdict {
    ui.block(&gate::report::text(&outcome));
    let message = match outcome.verdict {
        Verdict::Pass => None,
        Verdict::Unstable => Some("the gate says UNSTABLE".to_string()),
        Verdict::Fail => Some("the gate says FAIL".to_string()),
    };
    let mut v = RunVerdict::new(
        verdict_outcome(outcome.verdict, args.unstable_exit),
        message,
    );
    v.gate = Some(outcome);
    v
}

fn write_reports(
    args: &RunArgs,
    summary: &Summary,
    gate: Option<&gate::Outcome>,
) -> anyhow::Result<()> {
    if let Some(path) = &args.junit {
        // Without a gate, the one check is that the run produced results.
        let ran = gate::Outcome {
            checks: vec![gate::Check {
                criterion: "the run produced results".into(),
                metric: gate::Metric::Count,
                label: "total".into(),
                baseline: None,
                current: summary.total.as_ref().map(|t| t.count as f64),
                change: None,
                verdict: Verdict::Pass,
                note: "no gate configured".into(),
                noise: None,
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
