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
    /// A Transaction Controller's row: left out of `total` (see
    /// [`LabelStats::transaction`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub transaction: bool,
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
    /// All labels but transactions (JMeter's Total).
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
    /// CloudWatch series of the system under test over the test window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<crate::monitor::summary::MonitorSummary>,
    /// The run's events: phases, scaling activities (Grafana's
    /// annotation shape).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<crate::events::Event>,
    /// How the run ended (SCHEMA.md `ended`); absent for `analyze`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<RunEnded>,
    /// Each bee's own health over the run (SCHEMA.md `generators`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub generators: Vec<super::generators::GeneratorSummary>,
}

/// How a run ended, as its record keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunEnded {
    /// `passed`, `unstable`, `gate_failed`, `failed`, `no_results`,
    /// `interrupted`, `timed_out`, `infrastructure_failed` or
    /// `internal_error`: the result object's status.
    pub status: String,
    /// `SIGINT` or `SIGTERM`, for an interrupted run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    /// The stage a signal or the timeout cut short (`testing`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// The process's exit code.
    pub exit_code: u8,
    /// Why, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl RunEnded {
    /// One line: `interrupted by SIGTERM while testing`.
    pub fn describe(&self) -> String {
        let mut s = self.status.replace('_', " ");
        if let Some(sig) = &self.signal {
            s.push_str(&format!(" by {sig}"));
        }
        if let Some(stage) = &self.stage {
            s.push_str(&format!(" while {stage}"));
        }
        s
    }
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

/// The version of summary.json this stampede writes; it reads 1 (no
/// field) up to this.
pub const FORMAT_VERSION: u64 = 2;

/// The summary format versions this build reads (files without the key
/// are version 1).
pub const READS_FORMAT_VERSIONS: std::ops::RangeInclusive<u64> = 1..=FORMAT_VERSION;

/// Largest summary file read: a run with many labels and a long series
/// stays far below it.
pub const MAX_SUMMARY_BYTES: u64 = 256 << 20;

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
            transaction: s.transaction,
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
        let series =
            (total.count > 0).then(|| agg.series.summarise_without(&names, &agg.transactions()));
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
        let io = |error| ResultsError::Io {
            path: path.to_path_buf(),
            error,
        };
        use crate::input_file::InputFileError;
        let text = match crate::input_file::read_text(path, MAX_SUMMARY_BYTES) {
            Ok(text) => text,
            Err(InputFileError::Io(e)) => return Err(io(e)),
            Err(other) => {
                return Err(ResultsError::Summary {
                    path: path.to_path_buf(),
                    line: 1,
                    message: other.to_string(),
                });
            }
        };
        Self::parse(path, &text)
    }

    /// Parses summary JSON; `path` names it in errors. The format version
    /// is checked first, so a newer file is not misread as this one.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ResultsError> {
        let err = |e: serde_json::Error| ResultsError::Summary {
            path: path.to_path_buf(),
            line: e.line(),
            message: e.to_string(),
        };
        #[derive(Deserialize)]
        struct Version {
            format_version: Option<serde_json::Value>,
        }
        let v: Version = serde_json::from_str(text).map_err(err)?;
        if let Some(found) = v.format_version
            && !found
                .as_u64()
                .is_some_and(|n| READS_FORMAT_VERSIONS.contains(&n))
        {
            return Err(ResultsError::Summary {
                path: path.to_path_buf(),
                line: 1,
                message: format!(
                    "format_version {found} is not one this stampede reads (1 to {FORMAT_VERSION})"
                ),
            });
        }
        serde_json::from_str(text).map_err(err)
    }

    /// Pretty JSON, with the format version.
    pub fn to_json(&self) -> String {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(obj) = v.as_object_mut() {
            obj.insert("format_version".into(), FORMAT_VERSION.into());
        }
        serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
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
    if s.len() > MAX_HISTOGRAM_B64 {
        return Err(format!(
            "histogram is {} bytes of base64, over the {MAX_HISTOGRAM_B64} a summary's histogram can take",
            s.len()
        ));
    }
    let bytes = B64
        .decode(s.trim())
        .map_err(|e| format!("histogram is not base64: {e}"))?;
    check_histogram_header(&bytes)?;
    Deserializer::new()
        .deserialize(&mut &bytes[..])
        .map_err(|e| format!("histogram does not decode: {e:?}"))
}

/// The largest histogram a summary holds: a full one of stampede's bounds
/// takes well under 1 MiB.
const MAX_HISTOGRAM_B64: usize = 4 << 20;
const V2_COOKIE: u32 = 0x1c84_9303;
const V2_DEFLATE_COOKIE: u32 = 0x1c84_9304;

/// Checks a serialised histogram's header before the decoder allocates
/// from it: its bounds decide the allocation, so a 40-byte histogram could
/// ask for gigabytes.
fn check_histogram_header(bytes: &[u8]) -> Result<(), String> {
    use std::io::Read;
    let be32 = |b: &[u8], at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
    };
    let be64 = |b: &[u8], at: usize| -> Option<u64> {
        Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
    };
    let short = || "histogram is truncated".to_string();
    let mut payload = Vec::new();
    // The cookie's second-lowest nibble carries a word size; ignore it.
    let header: &[u8] = match be32(bytes, 0).ok_or_else(short)? & 0xffff_ff0f {
        V2_DEFLATE_COOKIE => {
            let body = bytes.get(8..).ok_or_else(short)?;
            flate2::read::ZlibDecoder::new(body)
                .take(40)
                .read_to_end(&mut payload)
                .map_err(|e| format!("histogram does not inflate: {e}"))?;
            &payload
        }
        V2_COOKIE => bytes,
        other => {
            return Err(format!(
                "histogram has an unknown format (cookie {other:#x})"
            ));
        }
    };
    let digits = be32(header, 12).ok_or_else(short)?;
    let lowest = be64(header, 16).ok_or_else(short)?;
    let highest = be64(header, 24).ok_or_else(short)?;
    let limit = super::aggregate::MAX_TRACKABLE_MS;
    if digits > 5 || lowest == 0 || lowest > highest || highest > limit.saturating_mul(1000) {
        return Err(format!(
            "histogram bounds {lowest}..{highest} with {digits} significant digits are not a stampede histogram's"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hostile_histogram_header_is_refused_before_decoding() {
        // A plain V2 header claiming a range up to u64::MAX with 5 digits:
        // the decoder would allocate gigabytes for it.
        let mut h = Vec::new();
        h.extend_from_slice(&V2_COOKIE.to_be_bytes());
        h.extend_from_slice(&0u32.to_be_bytes());
        h.extend_from_slice(&0u32.to_be_bytes());
        h.extend_from_slice(&5u32.to_be_bytes());
        h.extend_from_slice(&1u64.to_be_bytes());
        h.extend_from_slice(&u64::MAX.to_be_bytes());
        h.extend_from_slice(&1f64.to_be_bytes());
        let e = decode(&B64.encode(&h)).unwrap_err();
        assert!(e.contains("are not a stampede histogram's"), "{e}");
        let mut real = crate::results::aggregate::new_histogram();
        real.record(42).unwrap();
        assert_eq!(decode(&encode(&real)).unwrap().len(), 1);
    }

    #[test]
    fn a_summary_of_another_format_version_is_refused() {
        let p = Path::new("s.json");
        let e = Summary::parse(p, "{\"format_version\": 9, \"labels\": []}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("format_version 9"), "{e}");
        let s = Summary::default();
        let back = Summary::parse(p, &s.to_json()).unwrap();
        assert!(back.labels.is_empty());
        assert!(s.to_json().contains("\"format_version\": 2"));
    }
}
