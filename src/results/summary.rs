//! `summary.json`: per-label statistics plus each label's histogram, so a
//! later build can recompute any percentile.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

use super::ResultsError;
use super::aggregate::{Aggregate, LabelStats};
use super::series::SeriesSummary;

/// Statistics of one label (or of all, as `total`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabelSummary {
    /// The label; `total` for all labels.
    pub label: String,
    /// Samples.
    pub count: u64,
    /// Failed samples.
    pub errors: u64,
    /// errors / count.
    pub error_rate: f64,
    /// Mean elapsed, ms.
    pub mean: f64,
    /// Median, ms.
    pub p50: u64,
    /// 90th percentile, ms.
    pub p90: u64,
    /// 95th percentile, ms.
    pub p95: u64,
    /// 99th percentile, ms.
    pub p99: u64,
    /// Largest elapsed, ms.
    pub max: u64,
    /// Samples per second over the span of timestamps.
    pub throughput: f64,
    /// Span of sample start times, ms (throughput's denominator).
    #[serde(default)]
    pub span_ms: i64,
    /// HdrHistogram V2 (deflate), base64.
    pub histogram: String,
    /// The decoded histogram.
    #[serde(skip)]
    pub hist: Option<Histogram<u64>>,
}

/// The run's summary.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Run id, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Stack, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
    /// Build identity, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<serde_json::Value>,
    /// How the run was set up, when a run (not `analyze`) wrote this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<RunFacts>,
    /// First sample start, RFC 3339.
    pub start: Option<String>,
    /// Last sample start, RFC 3339.
    pub end: Option<String>,
    /// Per label.
    pub labels: Vec<LabelSummary>,
    /// All labels.
    pub total: Option<LabelSummary>,
    /// Rows that could not be read.
    #[serde(default)]
    pub malformed: u64,
    /// Per-interval aggregates (SCHEMA.md `series`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<SeriesSummary>,
    /// When the run entered each phase (SCHEMA.md `phases`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<PhaseAt>,
    /// The stack's events as the run followed them, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stack_events: Vec<StackEventRecord>,
}

/// A phase and when the run entered it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseAt {
    /// `provisioning`, `ready`, `testing`, `done` or `failed`.
    pub phase: String,
    /// RFC 3339.
    pub at: String,
}

/// One stack event, as kept in summary.json.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackEventRecord {
    /// RFC 3339.
    pub time: String,
    /// The stack the event belongs to (nested stacks have their own).
    pub stack_name: String,
    /// Logical id of the resource.
    pub logical_id: String,
    /// Resource type.
    pub resource_type: String,
    /// Status, e.g. `CREATE_FAILED`.
    pub status: String,
    /// CloudFormation's reason, when it gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The failure that started the stack's failure.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub root_cause: bool,
}

/// How a run was set up, for the report's facts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunFacts {
    /// The blueprint file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blueprint: Option<String>,
    /// `aws` or `local`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// AWS region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Bees whose results came back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bees: Option<u64>,
    /// The `threads` property, when the blueprint sets one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<String>,
}

/// The shortest span throughput is computed over, so a burst within one
/// second does not report absurd rates.
const MIN_SPAN_MS: i64 = 1000;

impl LabelSummary {
    /// Summarises one label's stats.
    pub fn from_stats(label: &str, s: &LabelStats) -> Self {
        let q = |p: f64| {
            if s.count == 0 {
                0
            } else {
                s.hist.value_at_quantile(p).min(s.max_ms)
            }
        };
        let span_ms = if s.count == 0 {
            0
        } else {
            s.last_ts - s.first_ts
        };
        LabelSummary {
            label: label.to_string(),
            count: s.count,
            errors: s.errors,
            error_rate: ratio(s.errors as f64, s.count as f64),
            mean: ratio(s.sum_ms as f64, s.count as f64),
            p50: q(0.50),
            p90: q(0.90),
            p95: q(0.95),
            p99: q(0.99),
            max: s.max_ms,
            throughput: ratio(s.count as f64 * 1000.0, span_ms.max(MIN_SPAN_MS) as f64),
            span_ms,
            histogram: encode(&s.hist),
            hist: Some(s.hist.clone()),
        }
    }

    /// The histogram, decoding it from `histogram` if needed.
    pub fn histogram(&self) -> Result<Histogram<u64>, String> {
        if let Some(h) = &self.hist {
            return Ok(h.clone());
        }
        decode(&self.histogram)
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 { 0.0 } else { a / b }
}

fn rfc3339(ms: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

impl Summary {
    /// Summarises an aggregate.
    pub fn from_aggregate(agg: &Aggregate, malformed: u64) -> Self {
        let total = agg.total();
        let labels = agg
            .labels
            .iter()
            .map(|(l, s)| LabelSummary::from_stats(l, s))
            .collect();
        let (start, end) = if total.count == 0 {
            (None, None)
        } else {
            (rfc3339(total.first_ts), rfc3339(total.last_ts))
        };
        let names: Vec<&str> = agg.labels.iter().map(|(l, _)| l.as_str()).collect();
        let series = (total.count > 0).then(|| agg.series.summarise(&names));
        Summary {
            start,
            end,
            labels,
            total: Some(LabelSummary::from_stats("total", &total)),
            malformed,
            series,
            ..Summary::default()
        }
    }

    /// One label's summary, or the total for `total`.
    pub fn label(&self, name: &str) -> Option<&LabelSummary> {
        if name == "total" {
            return self.total.as_ref();
        }
        self.labels.iter().find(|l| l.label == name)
    }

    /// Reads a summary JSON file.
    pub fn read(path: &Path) -> Result<Self, ResultsError> {
        let text = std::fs::read_to_string(path).map_err(|source| ResultsError::Io {
            path: path.to_path_buf(),
            error: source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses summary JSON; `path` names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ResultsError> {
        serde_json::from_str(text).map_err(|e| ResultsError::Summary {
            path: path.to_path_buf(),
            line: e.line(),
            message: e.to_string(),
        })
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }
}

/// Serialises a histogram compactly: V2 deflate, base64.
pub fn encode(h: &Histogram<u64>) -> String {
    let mut buf = Vec::new();
    match V2DeflateSerializer::new().serialize(h, &mut buf) {
        Ok(_) => B64.encode(buf),
        Err(_) => String::new(),
    }
}

/// Reads what [`encode`] wrote.
pub fn decode(s: &str) -> Result<Histogram<u64>, String> {
    let bytes = B64
        .decode(s.trim())
        .map_err(|e| format!("histogram is not base64: {e}"))?;
    Deserializer::new()
        .deserialize(&mut &bytes[..])
        .map_err(|e| format!("histogram does not decode: {e:?}"))
}
