//! What the report reads besides the summary's own statistics, leniently:
//! the gate's stored outcome and the correlation part's `monitor` and
//! `events` (SCHEMA.md), so additions on their side do not break reports.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One gate check, as `gate.json` (the gate's outcome) holds it; read
/// leniently so that it survives additions to the gate's own types.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct GateRow {
    /// The criterion as written.
    pub criterion: String,
    /// The metric's name.
    pub metric: serde_json::Value,
    /// The label.
    pub label: String,
    /// The baseline's value.
    pub baseline: Option<f64>,
    /// This run's value.
    pub current: Option<f64>,
    /// Relative change.
    pub change: Option<f64>,
    /// `pass`, `unstable` or `fail`.
    pub verdict: String,
    /// The gate's note.
    pub note: String,
    /// The 95% noise intervals, when the gate gives them.
    pub noise: Option<serde_json::Value>,
}

/// The gate's outcome as stored in `gate.json`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GateView {
    /// Every check.
    #[serde(default)]
    pub checks: Vec<GateRow>,
    /// The worst verdict.
    pub verdict: String,
}

/// The correlation helper's keys, read leniently (SCHEMA.md `monitor`
/// and `events`); absent keys leave them empty.
#[derive(Debug, Default, Deserialize)]
pub struct Extras {
    /// Collected CloudWatch series.
    #[serde(default)]
    pub monitor: Option<MonitorView>,
    /// Events (Grafana annotation shape).
    #[serde(default)]
    pub events: Vec<EventView>,
}

/// `monitor`.
#[derive(Debug, Default, Deserialize)]
pub struct MonitorView {
    /// The series.
    #[serde(default)]
    pub series: Vec<MonitorSeries>,
}

/// One collected series.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MonitorSeries {
    /// Namespace.
    pub namespace: String,
    /// Metric name.
    pub metric: String,
    /// Dimensions.
    pub dimensions: BTreeMap<String, String>,
    /// Statistic.
    pub stat: String,
    /// Unit.
    pub unit: Option<String>,
    /// `[epoch ms, value]` pairs.
    pub points: Vec<(i64, f64)>,
}

/// One event.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EventView {
    /// RFC 3339.
    #[serde(rename = "@timestamp")]
    pub timestamp: String,
    /// RFC 3339, for events with a duration.
    pub end: Option<String>,
    /// What happened.
    pub text: String,
    /// Where it came from.
    pub source: String,
    /// Its tags (`phase` marks the run's own phase events).
    #[serde(default)]
    pub tags: Vec<String>,
}
