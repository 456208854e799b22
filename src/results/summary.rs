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
    /// CloudWatch series of the system under test over the test window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<crate::monitor::summary::MonitorSummary>,
    /// The run's events: phases, scaling activities (Grafana's
    /// annotation shape).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<crate::events::Event>,
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
        Summary {
            start,
            end,
            labels,
            total: Some(LabelSummary::from_stats("total", &total)),
            malformed,
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
            source,
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
