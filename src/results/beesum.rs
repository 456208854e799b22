//! A bee's own summary of its JTL (`<bee id>.summary.json`), in a form that
//! merges exactly: per-label totals with their HdrHistogram, and the series
//! with every bucket's histogram bins (see [`super::series::WireSeries`]).
//! `run` adds these up instead of downloading and re-parsing every JTL.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::aggregate::{Aggregate, LabelStats};
use super::generators::GeneratorSummary;
use super::series::WireSeries;
use super::summary::{decode, encode};

/// The `format` every bee summary carries.
pub const FORMAT: &str = "stampede-bee-summary";
/// The version this build writes and the only one it merges: another
/// version falls back to the bee's JTL.
pub const FORMAT_VERSION: u64 = 1;
/// The largest bee summary read: far above what the bounded series and a
/// few thousand labels take.
pub const MAX_BYTES: u64 = 64 << 20;

/// One label's exact totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BeeLabel {
    /// The label.
    pub label: String,
    /// Samples.
    pub count: u64,
    /// Failed samples.
    pub errors: u64,
    /// Sum of elapsed ms.
    pub sum_ms: u64,
    /// Largest elapsed ms.
    pub max_ms: u64,
    /// Earliest sample start, epoch ms.
    pub first_ts: i64,
    /// Latest sample start, epoch ms.
    pub last_ts: i64,
    /// HdrHistogram V2 (deflate), base64.
    pub histogram: String,
    /// A Transaction Controller's label (left out of the total).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub transaction: bool,
}

/// A bee's summary file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BeeSummary {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`] when this build wrote it.
    pub format_version: u64,
    /// The bee.
    pub bee: String,
    /// Rows read from the JTL.
    pub rows: u64,
    /// Rows that could not be read.
    pub malformed: u64,
    /// Per label, in first-seen order.
    pub labels: Vec<BeeLabel>,
    /// Per-interval aggregates of the same labels.
    pub series: WireSeries,
    /// The bee's own health over the run, when it sampled it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<GeneratorSummary>,
}

/// Timestamps beyond this (epoch ms, about year 292,000) are not a run's.
const MAX_TS: u64 = (i64::MAX / 1000) as u64;

/// Why a bee summary cannot be merged (its JTL is read instead).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Unusable {
    /// No summary beside the JTL.
    #[error("no summary")]
    Missing,
    /// The file could not be fetched or read.
    #[error("summary unreadable: {0}")]
    Unreadable(String),
    /// The JSON ends early: the upload was cut off.
    #[error("summary truncated ({0} bytes)")]
    Truncated(usize),
    /// Not a bee summary at all.
    #[error("not a bee summary: {0}")]
    NotBeeSummary(String),
    /// Written by a stampede with another format.
    #[error("summary format_version {0}, this stampede merges {FORMAT_VERSION}")]
    OtherVersion(String),
    /// Parses, but its parts disagree.
    #[error("summary inconsistent: {0}")]
    Inconsistent(String),
}

/// A parsed, checked summary with its histograms decoded: merging it
/// cannot fail half-way.
pub struct Checked {
    summary: BeeSummary,
    hists: Vec<Histogram<u64>>,
}

impl BeeSummary {
    /// A bee's summary of its aggregate.
    pub fn of(
        bee: &str,
        agg: &Aggregate,
        rows: u64,
        malformed: u64,
        generator: Option<GeneratorSummary>,
    ) -> Self {
        let labels = agg
            .labels
            .iter()
            .map(|(label, s)| BeeLabel {
                label: label.clone(),
                count: s.count,
                errors: s.errors,
                sum_ms: s.sum_ms,
                max_ms: s.max_ms,
                first_ts: s.first_ts,
                last_ts: s.last_ts,
                histogram: encode(&s.hist),
                transaction: s.transaction,
            })
            .collect();
        BeeSummary {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            bee: bee.into(),
            rows,
            malformed,
            labels,
            series: agg.series.to_wire(),
            generator,
        }
    }

    /// Compact JSON (it is read by machines, and 500 of them at once).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses and checks a summary file's bytes. One pass in the common
    /// case; the format and version are looked at apart only when the
    /// whole does not parse, to say why.
    pub fn parse(bytes: &[u8]) -> Result<Checked, Unusable> {
        let summary: BeeSummary = match serde_json::from_slice(bytes) {
            Ok(s) => s,
            Err(e) if e.is_eof() => return Err(Unusable::Truncated(bytes.len())),
            Err(e) => return Err(why_not(bytes, e)),
        };
        if summary.format != FORMAT {
            return Err(Unusable::NotBeeSummary(format!(
                "format is {:?}, not {FORMAT}",
                summary.format
            )));
        }
        if summary.format_version != FORMAT_VERSION {
            return Err(Unusable::OtherVersion(summary.format_version.to_string()));
        }
        summary.check()
    }

    fn check(self) -> Result<Checked, Unusable> {
        let bad = Unusable::Inconsistent;
        self.series.check(self.labels.len()).map_err(bad)?;
        let mut hists = Vec::with_capacity(self.labels.len());
        let mut total = 0u64;
        for (l, series_count) in self.labels.iter().zip(self.series.label_counts()) {
            let h = decode(&l.histogram).map_err(|e| bad(format!("label {:?}: {e}", l.label)))?;
            let times_ok = l.count == 0
                || (l.first_ts <= l.last_ts
                    && l.first_ts.unsigned_abs() <= MAX_TS
                    && l.last_ts.unsigned_abs() <= MAX_TS);
            let sums_ok = l.sum_ms <= l.count.saturating_mul(l.max_ms);
            if !times_ok || !sums_ok {
                return Err(bad(format!(
                    "label {:?} has impossible times or sums",
                    l.label
                )));
            }
            if h.len() != l.count || series_count != l.count || l.errors > l.count {
                return Err(bad(format!(
                    "label {:?} counts {} samples, its histogram {} and its series {series_count}",
                    l.label,
                    l.count,
                    h.len()
                )));
            }
            total = total.saturating_add(l.count);
            hists.push(h);
        }
        if total != self.rows {
            return Err(bad(format!(
                "{} rows but its labels hold {total}",
                self.rows
            )));
        }
        Ok(Checked {
            summary: self,
            hists,
        })
    }
}

/// Why a file that does not parse as this version's summary is unusable:
/// another format or version (named as such), or not a bee summary.
fn why_not(bytes: &[u8], e: serde_json::Error) -> Unusable {
    #[derive(Deserialize)]
    struct Head {
        format: Option<serde_json::Value>,
        format_version: Option<serde_json::Value>,
    }
    let Ok(head) = serde_json::from_slice::<Head>(bytes) else {
        return Unusable::NotBeeSummary(e.to_string());
    };
    if head.format.as_ref().and_then(|f| f.as_str()) != Some(FORMAT) {
        return Unusable::NotBeeSummary(format!(
            "format is {}, not {FORMAT}",
            head.format.map_or("missing".into(), |f| f.to_string())
        ));
    }
    match head.format_version {
        Some(v) if v.as_u64() == Some(FORMAT_VERSION) => Unusable::NotBeeSummary(e.to_string()),
        other => Unusable::OtherVersion(other.map_or("missing".into(), |v| v.to_string())),
    }
}

impl Checked {
    /// The bee's health, if it sampled it.
    pub fn generator(&self) -> Option<&GeneratorSummary> {
        self.summary.generator.as_ref()
    }

    /// Rows that could not be read from the bee's JTL.
    pub fn malformed(&self) -> u64 {
        self.summary.malformed
    }

    /// Adds this bee's samples to `into`: histograms and bins add, so the
    /// result is what one pass over every bee's JTL would have given.
    pub fn merge_into(self, into: &mut Aggregate) {
        let Checked { summary, hists } = self;
        for (j, (l, hist)) in summary.labels.into_iter().zip(hists).enumerate() {
            let stats = LabelStats {
                count: l.count,
                errors: l.errors,
                sum_ms: l.sum_ms,
                max_ms: l.max_ms,
                first_ts: l.first_ts,
                last_ts: l.last_ts,
                hist,
                transaction: l.transaction,
            };
            let i = into.label_index(&l.label);
            into.labels[i].1.merge(&stats);
            into.series.merge_wire(i, &summary.series, j);
        }
        into.series.merge_wire_threads(&summary.series);
    }
}

#[cfg(test)]
mod tests;
