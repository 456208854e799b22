//! One run engine for AWS and laptop runs: one lifecycle over a
//! [`Fleet`], one event feed, one run record, one result.
//!
//! checks → upload → create → follow ‖ live view ‖ monitor → diagnose →
//! start teardown ‖ gather → conclude → wait for teardown.
//!
//! Everything the run does is said through the feed; nothing here
//! renders. How the run ended is decided once, in [`finish`].

pub mod aws;
pub mod beeconf;
pub mod checks;
mod conclude;
mod ending;
pub mod fleet;
mod gather;
pub mod laptop;
mod live;
pub mod plan;
mod record;
pub mod stage;
pub mod store;
mod watch;

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures_util::FutureExt;
use tokio_util::sync::CancellationToken;

pub use ending::RunReport;
pub use fleet::{Fleet, Followed, Teardown};
pub use plan::RunPlan;

use crate::exit::{self, Outcome};
use crate::feed::{Feed, Kind};
use crate::interrupt::Interrupt;
use crate::monitor::watcher::{Correlation, Watcher};
use checks::Checks;
use stage::{Stage, Stages};

/// What every step of a run is given.
pub struct Cx<'a> {
    /// Where everything the run does is said.
    pub feed: &'a Feed,
    /// SIGINT / SIGTERM.
    pub interrupt: &'a Interrupt,
    /// Where in the lifecycle the run is.
    pub stages: Stages,
    /// Which outcome an error stands for (the command layer's list).
    pub classify: fn(&anyhow::Error) -> Outcome,
}

impl Cx<'_> {
    fn enter(&self, s: Stage) {
        self.stages.enter(s);
    }

    fn interrupted(&self) -> bool {
        self.interrupt.token().is_cancelled()
    }
}

/// Runs `plan` on `fleet` and reports how it ended.
pub async fn run<F: Fleet>(cx: &Cx<'_>, plan: &mut RunPlan, fleet: &mut F) -> RunReport {
    let done = CancellationToken::new();
    // Notes the stage the first signal arrived in, whatever step runs.
    let noticing = async {
        tokio::select! {
            () = cx.interrupt.token().cancelled() => cx.stages.signal_arrived(cx.feed),
            () = done.cancelled() => {}
        }
    };
    let lifecycle = async {
        let r = lifecycle(cx, plan, fleet).await;
        done.cancel();
        r
    };
    let ((report, teardown), ()) = tokio::join!(lifecycle, noticing);
    let report = finish(cx, report, teardown.as_ref());
    if teardown.is_some() {
        record::amend(cx.feed, &plan.exports.report, &report);
    }
    report
}

/// The lifecycle; the teardown's outcome once the fleet was created.
async fn lifecycle<F: Fleet>(
    cx: &Cx<'_>,
    plan: &mut RunPlan,
    fleet: &mut F,
) -> (RunReport, Option<Teardown>) {
    cx.enter(Stage::Preflight);
    if let Some(report) = preflight(cx, plan, fleet).await {
        return (report, None);
    }
    let watcher = match watch::start(plan, fleet.watch(), cx.feed).await {
        Ok(w) => w,
        Err(e) => return (failed(cx, &e), None),
    };
    cx.enter(Stage::Upload);
    let uploaded = tokio::select! {
        r = fleet.upload(cx, plan) => Some(r),
        () = cx.interrupt.token().cancelled() => None,
    };
    match uploaded {
        Some(Ok(())) if !cx.interrupted() => {}
        Some(Err(e)) => {
            fleet.remove_uploads(cx, plan).await;
            return (failed(cx, &e), None);
        }
        _ => {
            fleet.remove_uploads(cx, plan).await;
            return (not_created(cx), None);
        }
    }
    cx.enter(Stage::Create);
    if let Err(e) = fleet.create(cx, plan).await {
        fleet.remove_uploads(cx, plan).await;
        return (failed(cx, &e), None);
    }
    let mut watcher = watcher;
    if let (Some(w), Some(text)) = (watcher.as_mut(), fleet.created_event(plan)) {
        w.stack_event(text);
    }
    // Whatever happens from here on, a panic included, the fleet is torn
    // down below.
    let tested = AssertUnwindSafe(test(cx, plan, fleet, watcher))
        .catch_unwind()
        .await;
    let report = tested.unwrap_or_else(|_| {
        RunReport::new(
            Outcome::Internal,
            format!(
                "internal error: stampede panicked while the fleet of {} existed (a bug; see above); removing it",
                plan.blueprint.stack
            ),
        )
    });
    cx.enter(Stage::Deleting);
    let teardown = fleet.teardown(cx, plan).await;
    (report, Some(teardown))
}

/// The checks, all at once; `Some` when the run ends here (a problem, a
/// dry run, a signal).
async fn preflight<F: Fleet>(cx: &Cx<'_>, plan: &mut RunPlan, fleet: &mut F) -> Option<RunReport> {
    let mut checks = Checks::local(plan);
    tokio::select! {
        () = fleet.check(cx, plan, &mut checks) => {}
        () = cx.interrupt.token().cancelled() => {}
    }
    if cx.interrupted() {
        return Some(not_created(cx));
    }
    for p in &checks.problems {
        cx.feed.emit(Kind::Problem(p.text.clone()));
    }
    if let Err(e) = checks.into_result() {
        return Some(failed(cx, &e));
    }
    let line = plan.footprint.describe(&plan.blueprint);
    if plan.choices.dry_run {
        cx.feed.emit(Kind::Planned(line.clone()));
        let mut r = RunReport::new(Outcome::Passed, line);
        r.fields = plan.footprint.fields(&plan.blueprint);
        r.fields.insert("status".into(), "dry_run".into());
        return Some(r);
    }
    None
}

/// From the fleet's creation to the verdict: follows it while showing
/// live metrics and watching the target, explains how it ended, starts
/// its teardown, then gathers and judges the results.
async fn test<F: Fleet>(
    cx: &Cx<'_>,
    plan: &RunPlan,
    fleet: &mut F,
    mut watcher: Option<Watcher>,
) -> RunReport {
    cx.enter(Stage::Provisioning);
    crate::fault::panic_at("after-create");
    let deadline = Instant::now() + plan.blueprint.timeout;
    let source = fleet.live_source(cx, plan).await;
    let stop = CancellationToken::new();
    let (mut followed, (), ()) = tokio::join!(
        async {
            let f = fleet.follow(cx, plan, deadline).await;
            stop.cancel();
            f
        },
        live::show(source, cx.feed, plan.choices.labels, &stop),
        watch::during(watcher.as_mut(), cx.feed, &stop)
    );
    // Where the test was when following ended (a timeout's stage).
    let stage = cx.stages.current(cx.feed);
    let correlation = watch::finish(watcher, cx.feed).await;
    fleet.diagnose(cx, plan, &mut followed).await;
    // The results are in S3 or on disk: the fleet is not needed any more.
    fleet.start_teardown(cx, plan).await;
    cx.enter(Stage::Gather);
    gather(cx, plan, fleet, (followed, stage), correlation).await
}

/// Gathers and judges what the bees left, however the test ended; a
/// first signal during this step stops it.
async fn gather<F: Fleet>(
    cx: &Cx<'_>,
    plan: &RunPlan,
    fleet: &F,
    (followed, stage): (Followed, Stage),
    correlation: Correlation,
) -> RunReport {
    let timeout = plan.blueprint.timeout;
    let cut = match followed {
        Followed::FailedToStart(why) | Followed::Lost(why) => {
            let report = RunReport::new(Outcome::InfrastructureFailed, why);
            conclude::record_failure(cx, plan, &report);
            return report;
        }
        Followed::Interrupted => {
            let code = cx.interrupt.exit_code().unwrap_or(exit::SIGTERM);
            Some(cut_short(cx, Outcome::Interrupted { code }, stage, timeout))
        }
        Followed::TimedOut => Some(cut_short(cx, Outcome::TimedOut, stage, timeout)),
        Followed::Finished { failure: Some(why) } => Some(conclude::Cut {
            outcome: Outcome::Failed,
            stage: None,
            why,
        }),
        Followed::Finished { failure: None } => None,
    };
    let place = fleet.results(plan);
    let store = fleet.store(plan);
    let judged = conclude::results(cx, plan, &place, store.as_ref(), correlation, cut);
    if cx.interrupted() {
        return judged.await;
    }
    tokio::select! {
        r = judged => r,
        () = cx.interrupt.token().cancelled() => {
            let mut r = RunReport::new(
                Outcome::Interrupted { code: cx.interrupt.exit_code().unwrap_or(exit::SIGTERM) },
                "interrupted while gathering the results: the record holds no samples".to_string(),
            );
            r.stage = Some(Stage::Gather);
            // The record still says how the run ended.
            conclude::record_failure(cx, plan, &r);
            r
        }
    }
}

/// How a test that did not run to its end was cut short.
fn cut_short(
    cx: &Cx<'_>,
    outcome: Outcome,
    at_end: Stage,
    cx_timeout: std::time::Duration,
) -> conclude::Cut {
    let stage = match outcome {
        Outcome::Interrupted { .. } => cx.stages.at_signal().unwrap_or(at_end),
        _ => at_end,
    };
    let why = match outcome {
        Outcome::TimedOut => format!(
            "the run took longer than its timeout ({} while {}); the summary holds what the bees measured until then",
            crate::blueprint::limits::human(cx_timeout),
            stage.name()
        ),
        _ => format!(
            "interrupted: the bees were stopped while {}; the summary holds what they measured until then",
            stage.name()
        ),
    };
    conclude::Cut {
        outcome,
        stage: Some(stage),
        why,
    }
}

/// A run stopped by a signal before its fleet existed.
fn not_created(cx: &Cx<'_>) -> RunReport {
    let stage = cx.stages.at_signal().unwrap_or(Stage::Preflight);
    let mut r = RunReport::new(
        Outcome::Interrupted {
            code: cx.interrupt.exit_code().unwrap_or(exit::SIGTERM),
        },
        format!(
            "interrupted during {}: nothing was created, and nothing is left behind",
            stage.name()
        ),
    );
    r.stage = Some(stage);
    r
}

/// The report of an error that stopped the run.
fn failed(cx: &Cx<'_>, err: &anyhow::Error) -> RunReport {
    let mut r = RunReport::new((cx.classify)(err), format!("{err:#}"));
    r.error = true;
    r
}

/// The one place that decides how the run ended: a signal wins (the user
/// stopped it), then a fleet left behind (it costs money), then the test.
fn finish(cx: &Cx<'_>, mut report: RunReport, teardown: Option<&Teardown>) -> RunReport {
    if let Some(code) = cx.interrupt.exit_code() {
        if !matches!(report.outcome, Outcome::Interrupted { .. }) {
            report.stage = cx.stages.at_signal();
            let stage = report.stage.map_or("the run", Stage::name);
            report.say(format!("interrupted while {stage}"));
        }
        report.outcome = Outcome::Interrupted { code };
    }
    if let Some(t) = teardown {
        report.stack_state = Some(t.state());
        if let Teardown::Left { state } = t
            && !matches!(report.outcome, Outcome::Interrupted { .. })
        {
            report.outcome = Outcome::InfrastructureFailed;
            let why = format!("the fleet was not removed ({state})");
            let message = match report.message.take() {
                Some(m) => format!("{m}; {why}"),
                None => why,
            };
            report.message = Some(message);
        }
    }
    if let Some(m) = report.message.as_ref().filter(|_| !report.error) {
        if report.outcome == Outcome::Passed {
            cx.feed.info(m);
        } else {
            cx.feed.warn(m);
        }
    }
    report
}
