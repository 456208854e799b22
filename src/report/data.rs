//! What the page shows, computed once in Rust and embedded as JSON: the
//! page's script only lays it out.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::stored::MonitorSeries;
pub use super::stored::{Extras, GateRow, GateView};

use crate::results::series::SeriesSummary;
use crate::results::summary::{LabelSummary, StackEventRecord, Summary};

/// Everything the page needs.
#[derive(Debug, Serialize)]
pub struct ReportData {
    /// Page title.
    pub title: String,
    /// `pass`, `unstable` or `fail`; `None` without a gate; how the run
    /// ended (`interrupted`, `timed_out`, ...) when it did not run its
    /// course, which no gate verdict can hide.
    pub verdict: Option<String>,
    /// How a run that did not end well ended, in words
    /// (`interrupted by SIGTERM while testing`).
    pub ended: Option<String>,
    /// The gate's checks.
    pub gate: Vec<GateRow>,
    /// The run's facts, in display order.
    pub facts: Vec<(String, String)>,
    /// Per-interval series, as in summary.json.
    pub series: Option<SeriesSummary>,
    /// Phases and events drawn across every chart, by time.
    pub markers: Vec<Marker>,
    /// One chart per monitored namespace and metric.
    pub monitor: Vec<MonitorChart>,
    /// Response time by percentile, this run and the baseline.
    pub curve: Option<Curve>,
    /// The per-label table.
    pub labels: Vec<LabelRow>,
    /// Stack events, the root cause first when the stack failed.
    pub stack_events: Vec<StackEventRecord>,
}

/// A vertical line across every chart.
#[derive(Debug, Serialize)]
pub struct Marker {
    /// Epoch ms.
    pub t: i64,
    /// Epoch ms of its end, for events with a duration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<i64>,
    /// `phase`, or the event's source.
    pub kind: String,
    /// What to print next to it.
    pub text: String,
}

/// One monitor chart: aligned points of every series of one metric.
#[derive(Debug, Serialize)]
pub struct MonitorChart {
    /// `namespace/metric (stat)`.
    pub title: String,
    /// The unit, when CloudWatch gives one.
    pub unit: Option<String>,
    /// Epoch ms.
    pub t: Vec<i64>,
    /// Series names (their dimensions).
    pub names: Vec<String>,
    /// Values per series, aligned with `t`.
    pub values: Vec<Vec<Option<f64>>>,
}

/// Response time by percentile.
#[derive(Debug, Serialize)]
pub struct Curve {
    /// Percentiles (0..100).
    pub q: Vec<f64>,
    /// This run's response time at each, ms.
    pub current: Vec<u64>,
    /// The baseline's, when there is one.
    pub baseline: Option<Vec<u64>>,
}

/// One row of the per-label table.
#[derive(Debug, Serialize)]
pub struct LabelRow {
    /// The label's numbers.
    pub cur: Stats,
    /// The baseline's, when it has the label.
    pub base: Option<Stats>,
}

/// The numbers of one label.
#[derive(Debug, Serialize)]
pub struct Stats {
    /// The label.
    pub label: String,
    /// Samples.
    pub count: u64,
    /// Failed samples.
    pub errors: u64,
    /// Failed share.
    pub error_rate: f64,
    /// Mean, ms.
    pub mean: f64,
    /// Percentiles, ms.
    pub p50: u64,
    /// 90th.
    pub p90: u64,
    /// 95th.
    pub p95: u64,
    /// 99th.
    pub p99: u64,
    /// Max, ms.
    pub max: u64,
    /// Samples per second.
    pub throughput: f64,
    /// A Transaction Controller's row (not in total).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub transaction: bool,
}

impl From<&LabelSummary> for Stats {
    fn from(l: &LabelSummary) -> Self {
        Stats {
            label: l.label.clone(),
            count: l.count,
            errors: l.errors,
            error_rate: l.error_rate,
            mean: l.mean,
            p50: l.p50,
            p90: l.p90,
            p95: l.p95,
            p99: l.p99,
            max: l.max,
            throughput: l.throughput,
            transaction: l.transaction,
        }
    }
}

fn epoch_ms(rfc3339: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .ok()
        .map(|d| d.timestamp_millis())
}

/// Percentiles the curve is drawn at: 0, then 1 - 10^(-k/10) up to
/// 99.999%, evenly spaced on the page's log axis.
fn curve_points() -> Vec<f64> {
    (0..=50)
        .map(|k| 100.0 * (1.0 - 10f64.powf(-f64::from(k) / 10.0)))
        .collect()
}

fn curve(cur: &LabelSummary, base: Option<&LabelSummary>) -> Option<Curve> {
    let h = cur.histogram().ok()?;
    let q = curve_points();
    let at = |h: &hdrhistogram::Histogram<u64>, max: u64| -> Vec<u64> {
        q.iter()
            .map(|&p| h.value_at_quantile(p / 100.0).min(max))
            .collect()
    };
    let baseline = base.and_then(|b| b.histogram().ok().map(|h| at(&h, b.max)));
    Some(Curve {
        current: at(&h, cur.max),
        baseline,
        q,
    })
}

fn monitor(extras: &Extras) -> Vec<MonitorChart> {
    let mut groups: BTreeMap<(String, String, String), Vec<&MonitorSeries>> = BTreeMap::new();
    for s in extras.monitor.iter().flat_map(|m| &m.series) {
        groups
            .entry((s.namespace.clone(), s.metric.clone(), s.stat.clone()))
            .or_default()
            .push(s);
    }
    groups
        .into_iter()
        .map(|((ns, metric, stat), series)| {
            let t: Vec<i64> = series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.0))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let values = series
                .iter()
                .map(|s| {
                    let by: BTreeMap<i64, f64> = s.points.iter().copied().collect();
                    t.iter().map(|x| by.get(x).copied()).collect()
                })
                .collect();
            let names = series
                .iter()
                .map(|s| {
                    let d: Vec<String> = s
                        .dimensions
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect();
                    if d.is_empty() {
                        metric.clone()
                    } else {
                        d.join(", ")
                    }
                })
                .collect();
            MonitorChart {
                title: format!("{ns} {metric} ({stat})"),
                unit: series.iter().find_map(|s| s.unit.clone()),
                t,
                names,
                values,
            }
        })
        .collect()
}

fn markers(summary: &Summary, extras: &Extras) -> Vec<Marker> {
    let mut out: Vec<Marker> = summary
        .phases
        .iter()
        .filter_map(|p| {
            Some(Marker {
                t: epoch_ms(&p.at)?,
                end: None,
                kind: "phase".into(),
                text: p.phase.clone(),
            })
        })
        .collect();
    // The run's phases are in the events index too (for Grafana); drawn
    // once here, from the run record's own list.
    let phases_drawn = !summary.phases.is_empty();
    out.extend(extras.events.iter().filter_map(|e| {
        if phases_drawn && e.source == "stampede" && e.tags.iter().any(|t| t == "phase") {
            return None;
        }
        Some(Marker {
            t: epoch_ms(&e.timestamp)?,
            end: e.end.as_deref().and_then(epoch_ms),
            kind: if e.source.is_empty() {
                "event".into()
            } else {
                e.source.clone()
            },
            text: e.text.clone(),
        })
    }));
    out.sort_by_key(|m| m.t);
    out
}

fn facts(s: &Summary) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut add = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            out.push((k.to_string(), v));
        }
    };
    let build = |k: &str| {
        s.build
            .as_ref()
            .and_then(|b| b.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let run = s.run.as_ref();
    add("run", s.run_id.clone());
    add(
        "build",
        build("job")
            .zip(build("number"))
            .map(|(j, n)| format!("{j} #{n}")),
    );
    add("commit", build("commit"));
    add("blueprint", run.and_then(|r| r.blueprint.clone()));
    add("mode", run.and_then(|r| r.mode.clone()));
    add("stack", s.stack.clone());
    add("region", run.and_then(|r| r.region.clone()));
    add("bees", run.and_then(|r| r.bees).map(|b| b.to_string()));
    add("threads per bee", run.and_then(|r| r.threads.clone()));
    let (start, end) = (
        s.start.as_deref().and_then(epoch_ms),
        s.end.as_deref().and_then(epoch_ms),
    );
    if let (Some(a), Some(b)) = (start, end) {
        let secs = (b - a) / 1000;
        add(
            "duration",
            Some(format!(
                "{}:{:02}:{:02}",
                secs / 3600,
                secs / 60 % 60,
                secs % 60
            )),
        );
    }
    add("start", s.start.clone());
    add("end", s.end.clone());
    if let Some(t) = &s.total {
        add("samples", Some(t.count.to_string()));
        add("errors", Some(t.errors.to_string()));
    }
    add("labels", Some(s.labels.len().to_string()));
    if s.malformed > 0 {
        add("malformed rows", Some(s.malformed.to_string()));
    }
    out
}

/// Puts the root cause first, the rest oldest first.
fn stack_events(events: &[StackEventRecord]) -> Vec<StackEventRecord> {
    let mut out: Vec<StackEventRecord> = events.to_vec();
    out.sort_by_key(|e| !e.root_cause);
    out
}

/// Builds the page's data from a run, its baseline and the gate's result.
pub fn build(
    summary: &Summary,
    extras: &Extras,
    baseline: Option<&Summary>,
    gate: Option<&GateView>,
) -> ReportData {
    let title = summary
        .run_id
        .clone()
        .or_else(|| summary.stack.clone())
        .or_else(|| summary.start.as_ref().map(|s| format!("results from {s}")))
        .unwrap_or_else(|| "results".into());
    let labels = summary
        .total
        .iter()
        .chain(&summary.labels)
        .map(|l| LabelRow {
            cur: l.into(),
            base: baseline.and_then(|b| b.label(&l.label)).map(Stats::from),
        })
        .collect();
    let ended = summary
        .ended
        .as_ref()
        .filter(|e| !matches!(e.status.as_str(), "passed" | "unstable" | "gate_failed"));
    ReportData {
        title,
        ended: ended.map(|e| e.describe()),
        // A stack that failed to create failed the run, gate or not.
        verdict: ended
            .map(|e| e.status.clone())
            .or_else(|| gate.map(|g| g.verdict.clone()))
            .or_else(|| {
                summary
                    .stack_events
                    .iter()
                    .any(|e| e.root_cause)
                    .then(|| "fail".to_string())
            }),
        gate: gate.map(|g| g.checks.clone()).unwrap_or_default(),
        facts: facts(summary),
        series: summary.series.clone(),
        markers: markers(summary, extras),
        monitor: monitor(extras),
        curve: summary
            .total
            .as_ref()
            .filter(|t| t.count > 0)
            .and_then(|t| curve(t, baseline.and_then(|b| b.total.as_ref()))),
        labels,
        stack_events: stack_events(&summary.stack_events),
    }
}
