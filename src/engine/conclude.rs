//! After the bees: the run record (`summary.json`), the gate, the reports,
//! and the stored history that later builds compare against. A run that
//! was cut short keeps what its bees measured, says so, and is never a
//! pass.

use anyhow::Context;

use super::Cx;
use super::ending::RunReport;
use super::gather::{self, Place};
use super::plan::{BaselineChoice, RunPlan};
use super::stage::Stage;
use crate::blueprint::Target;
use crate::engine::store::Store;
use crate::exit::Outcome;
use crate::feed::Phase;
use crate::gate::{self, Verdict};
use crate::monitor::watcher::Correlation;
use crate::report;
use crate::results::aggregate::capped_notice;
use crate::results::generators;
use crate::results::summary::{PhaseAt, RunFacts, StackEventRecord};
use crate::results::{Summary, table};

/// How a test that did not end well ended, before its results are read.
#[derive(Debug, Clone)]
pub struct Cut {
    /// Interrupted, timed out, or failed (a bee signalled FAILURE).
    pub outcome: Outcome,
    /// The stage it was cut short in.
    pub stage: Option<Stage>,
    /// Why, in words.
    pub why: String,
}

/// An error rate above this gets a warning in every run, gate or not.
const HIGH_ERROR_RATE: f64 = 0.10;

/// Gathers the bees' results, then records, stores and gates them.
pub async fn results(
    cx: &Cx<'_>,
    plan: &RunPlan,
    place: &Place<'_>,
    store: Option<&Store<'_>>,
    correlation: Correlation,
    cut: Option<Cut>,
) -> RunReport {
    crate::fault::pause_at("gather").await;
    let gathered = match gather::gather(place, &plan.blueprint, cx.feed).await {
        Ok(g) => g,
        Err(e) => return with_cut(RunReport::new((cx.classify)(&e), format!("{e:#}")), cut),
    };
    let Some(gathered) = gathered else {
        let why = format!("no results: no bee left a JTL in {}", place.describe());
        let report = with_cut(RunReport::new(Outcome::NoResults, why), cut);
        record_failure(cx, plan, &report);
        return report;
    };
    let mut summary = gathered.summary;
    correlation.apply(&mut summary);
    match conclude(cx, plan, summary, gathered.bees, store, cut.clone()).await {
        Ok(r) => r,
        Err(e) => with_cut(RunReport::new((cx.classify)(&e), format!("{e:#}")), cut),
    }
}

/// A report whose outcome is the cut's when there was one.
fn with_cut(mut report: RunReport, cut: Option<Cut>) -> RunReport {
    if let Some(c) = cut {
        let why = match &report.message {
            Some(m) => format!("{}; {m}", c.why),
            None => c.why,
        };
        report.outcome = c.outcome;
        report.stage = c.stage;
        report.say(why);
    }
    report
}

/// Shows, writes, stores and gates a run's summary.
async fn conclude(
    cx: &Cx<'_>,
    plan: &RunPlan,
    mut summary: Summary,
    files: usize,
    store: Option<&Store<'_>>,
    cut: Option<Cut>,
) -> anyhow::Result<RunReport> {
    let feed = cx.feed;
    fill_record(cx, plan, &mut summary, files);
    feed.info(&format!("results of {files} bee file(s):"));
    feed.block(&table::text(&summary));
    if let Some(notice) = capped_notice(summary.labels.iter().map(|l| &l.label)) {
        feed.warn(notice.trim_start_matches("warning: "));
    }
    if summary.malformed > 0 {
        feed.warn(&format!(
            "{} malformed result rows were skipped",
            summary.malformed
        ));
    }
    if summary.total.as_ref().is_none_or(|t| t.count == 0) {
        let report = with_cut(
            RunReport::new(
                Outcome::NoResults,
                "no results: the result files hold no samples".to_string(),
            ),
            cut,
        );
        write_record(cx, plan, &mut summary, &report, None)?;
        return Ok(report);
    }
    if let Some(store) = store {
        let uri = store.put(&plan.blueprint.build.number, &summary).await?;
        feed.info(&format!("stored the summary at {uri}"));
    }
    warn_on_errors(&summary, cx);
    let mut outcome = judge(cx, plan, &summary);
    let mut report = verdict_report(plan, outcome.verdict);
    if let Some(c) = &cut {
        outcome.checks.insert(0, completed_check(c));
        outcome.verdict = Verdict::Fail;
    }
    // Shown once the table is whole: the log agrees with gate.json.
    cx.feed.block(&gate::report::text(&outcome));
    report.gate = Some(outcome);
    let mut report = with_cut(report, cut.clone());
    // A saturated generator measured itself: the verdict says so, whatever
    // the gate made of the numbers.
    if let Some(note) = generators::verdict_note(&summary.generators) {
        report.message = Some(match report.message.take() {
            Some(m) if m.contains(&note) => m,
            Some(m) => format!("{m}; {note}"),
            None => note,
        });
    }
    write_record(cx, plan, &mut summary, &report, report.gate.as_ref())?;
    // The pointer moves last: a build whose reports could not be written
    // must not become the baseline of the next one.
    if let Some(store) = store
        && report.outcome == Outcome::Passed
    {
        store.mark_passed(&plan.blueprint.build.number).await?;
        feed.info(&format!(
            "build {} is now the baseline of {}",
            plan.blueprint.build.number, plan.blueprint.build.job
        ));
    }
    report.summary = Some(summary);
    Ok(report)
}

/// The gate's check that the run ran its course: a cut-short run's
/// numbers are partial, so no gate passes it.
fn completed_check(cut: &Cut) -> gate::Check {
    gate::Check {
        criterion: "the run completed".into(),
        metric: gate::Metric::Count,
        label: "total".into(),
        baseline: None,
        current: None,
        change: None,
        verdict: Verdict::Fail,
        note: format!("{}: the numbers cover only part of the test", cut.why),
        noise: None,
    }
}

/// Run id, stack, build, facts, phases (by their sources' times) and the
/// stack's events: what the record holds beside the numbers.
fn fill_record(cx: &Cx<'_>, plan: &RunPlan, summary: &mut Summary, files: usize) {
    let recording = cx.feed.recording();
    summary.run_id = Some(plan.blueprint.run.id.clone());
    summary.stack = Some(plan.blueprint.stack.clone());
    summary.build = serde_json::to_value(&plan.blueprint.build).ok();
    summary.run = Some(run_facts(plan, files));
    summary.phases = phases(&recording.phases, summary.start.as_deref());
    summary.stack_events = stack_events(&recording.stack_events);
}

/// Writes summary.json (with how the run ended), the exports and
/// report.html.
fn write_record(
    cx: &Cx<'_>,
    plan: &RunPlan,
    summary: &mut Summary,
    report: &RunReport,
    gate: Option<&gate::Outcome>,
) -> anyhow::Result<()> {
    summary.ended = Some(report.ended());
    let dir = &plan.exports.report;
    let path = dir.join("summary.json");
    std::fs::create_dir_all(dir)
        .and_then(|()| crate::atomic::write(&path, summary.to_json()))
        .with_context(|| format!("writing {}", path.display()))?;
    cx.feed.info(&format!("wrote {}", path.display()));
    write_exports(plan, summary, gate)?;
    write_html(cx, dir, gate, plan.gate.baseline.summary());
    Ok(())
}

/// A run that left no results: summary.json (phases and the stack's
/// events, no samples) and report.html, so the failure can be read like
/// any run.
pub fn record_failure(cx: &Cx<'_>, plan: &RunPlan, report: &RunReport) {
    let mut summary = Summary::default();
    fill_record(cx, plan, &mut summary, 0);
    if let Err(e) = write_record(cx, plan, &mut summary, report, None) {
        cx.feed.warn(&format!("{e:#}"));
    }
}

/// The run's own phases (not the fleet's deletion), each at its source's
/// time; testing starts with the first sample when that came later than
/// the signal to start (JMeter takes seconds to begin).
fn phases(
    log: &[(Phase, chrono::DateTime<chrono::Utc>)],
    first_sample: Option<&str>,
) -> Vec<PhaseAt> {
    let first = first_sample
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.to_utc());
    log.iter()
        .filter(|(p, _)| {
            matches!(
                p,
                Phase::Provisioning | Phase::Ready | Phase::Testing | Phase::Done | Phase::Failed
            )
        })
        .map(|(p, at)| {
            let at = match first {
                Some(f) if *p == Phase::Testing && f > *at => f,
                _ => *at,
            };
            PhaseAt {
                phase: p.name().to_string(),
                at: at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            }
        })
        .collect()
}

/// The stack's events for summary.json, oldest first, the root cause
/// marked.
fn stack_events(history: &[crate::stack::event::StackEvent]) -> Vec<StackEventRecord> {
    let cause = crate::stack::phase::root_cause(history).map(|c| c.id.as_str());
    let mut out: Vec<StackEventRecord> = history
        .iter()
        .map(|e| StackEventRecord {
            time: e.time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            stack_name: e.stack_name.clone(),
            logical_id: e.logical_id.clone(),
            resource_type: e.resource_type.clone(),
            status: e.status.clone(),
            reason: e.reason.clone(),
            root_cause: Some(e.id.as_str()) == cause,
        })
        .collect();
    out.sort_by(|a, b| a.time.cmp(&b.time));
    out
}

fn warn_on_errors(summary: &Summary, cx: &Cx<'_>) {
    if let Some(t) = &summary.total
        && t.error_rate > HIGH_ERROR_RATE
    {
        cx.feed.warn(&format!(
            "{:.1}% of the {} samples failed: check the target and the testcase",
            t.error_rate * 100.0,
            t.count
        ));
    }
}

/// How the run was set up, for the report's facts.
fn run_facts(plan: &RunPlan, files: usize) -> RunFacts {
    let b = &plan.blueprint;
    RunFacts {
        blueprint: Some(b.source.display().to_string()),
        mode: Some(match b.target {
            Target::Aws => "aws".into(),
            Target::Local { .. } => "local".into(),
        }),
        region: b.region.clone(),
        // Unknown when no bee left results (a stack that failed first).
        bees: (files > 0).then_some(files as u64),
        threads: b
            .properties
            .iter()
            .find(|(k, _)| k == "threads")
            .map(|(_, v)| v.clone()),
    }
}

/// Writes gate.json, baseline.json and report.html; a failure to is a
/// warning, not the run's verdict.
fn write_html(
    cx: &Cx<'_>,
    dir: &std::path::Path,
    gate: Option<&gate::Outcome>,
    baseline: Option<&Summary>,
) {
    match report::run::write(dir, gate, baseline) {
        Ok(path) => cx.feed.info(&format!("wrote {}", path.display())),
        Err(e) => cx.feed.warn(&format!("no HTML report: {e:#}")),
    }
}

/// The gate's outcome on `summary`, against the baseline the plan
/// resolved (the one the preflight named).
fn judge(cx: &Cx<'_>, plan: &RunPlan, summary: &Summary) -> gate::Outcome {
    let g = &plan.gate;
    match (&g.path, &g.baseline) {
        (None, _) => cx.feed.info("no gate file: the built-in gate fails a run in which most samples failed (error_rate of total at most 50%)"),
        (Some(_), BaselineChoice::Found { name, .. }) => cx.feed.info(&format!("baseline: {name}")),
        (Some(_), BaselineChoice::None(why)) => cx.feed.info(&format!("baseline: {why}")),
        (Some(_), BaselineChoice::Pending(_)) => {
            cx.feed.info("baseline: not resolved: relative criteria pass");
        }
    }
    gate::judge(&g.gate, summary, g.baseline.summary())
}

/// The run's report for a gate verdict.
fn verdict_report(plan: &RunPlan, v: Verdict) -> RunReport {
    let message = match v {
        Verdict::Pass => None,
        Verdict::Unstable => Some("the gate says UNSTABLE".to_string()),
        Verdict::Fail => Some("the gate says FAIL".to_string()),
    };
    let outcome = match v {
        Verdict::Pass => Outcome::Passed,
        Verdict::Unstable => Outcome::Unstable {
            code: plan.choices.unstable_exit,
        },
        Verdict::Fail => Outcome::GateFailed,
    };
    RunReport::new(outcome, message)
}

fn write_exports(
    plan: &RunPlan,
    summary: &Summary,
    gate: Option<&gate::Outcome>,
) -> anyhow::Result<()> {
    if let Some(path) = &plan.exports.junit {
        // Without a gate, the one check is that the run produced results.
        let ran = gate::Outcome {
            checks: vec![gate::Check {
                criterion: "the run produced results".into(),
                metric: gate::Metric::Count,
                label: "total".into(),
                baseline: None,
                current: summary.total.as_ref().map(|t| t.count as f64),
                change: None,
                verdict: if summary.total.as_ref().is_some_and(|t| t.count > 0) {
                    Verdict::Pass
                } else {
                    Verdict::Fail
                },
                note: "no gate configured".into(),
                noise: None,
            }],
            verdict: Verdict::Pass,
        };
        crate::atomic::write(
            path,
            gate::report::junit(gate.unwrap_or(&ran), "stampede.gate"),
        )
        .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &plan.exports.markdown {
        let mut md = table::markdown(summary);
        if let Some(g) = gate {
            md.push('\n');
            md.push_str(&gate::report::markdown(g));
        }
        crate::atomic::write(path, md).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
