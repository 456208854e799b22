//! Per-label accumulation: exact counts, sums and extremes, and an HDR
//! histogram for percentiles.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use hdrhistogram::Histogram;

use super::jtl::Sample;
use super::series::Series;
use super::series::threads::Combine;

/// Highest latency we track exactly enough: one hour. Longer samples are
/// clamped into the top bucket (their count and max stay exact).
pub const MAX_TRACKABLE_MS: u64 = 3_600_000;

/// Distinct labels kept apart. Every label costs a histogram per reader
/// (about 150 KiB), so a JTL with a label per URL (10,000 and more) would
/// take gigabytes: labels past this many share one row, [`OTHER_LABEL`],
/// and the output says so. Totals stay exact.
pub const MAX_LABELS: usize = 1000;

/// The row that labels past [`MAX_LABELS`] share.
pub const OTHER_LABEL: &str = "(other labels)";

/// The warning for a summary whose labels were capped, if they were.
pub fn capped_notice(labels: impl IntoIterator<Item = impl AsRef<str>>) -> Option<String> {
    labels
        .into_iter()
        .any(|l| l.as_ref() == OTHER_LABEL)
        .then(|| {
            format!(
                "warning: more than {MAX_LABELS} distinct labels: the rest are counted together as \
             `{OTHER_LABEL}` (totals stay exact; with several readers, where a label near the \
             cap falls depends on reading order). Name samples by endpoint, not by URL."
            )
        })
}

/// A new histogram with the bounds every summary uses: 1 ms to an hour,
/// three significant digits (0.1% error).
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_TRACKABLE_MS, 3).expect("constant bounds are valid")
}

/// Accumulated samples of one label.
#[derive(Debug, Clone)]
pub struct LabelStats {
    /// Samples.
    pub count: u64,
    /// Failed samples.
    pub errors: u64,
    /// Sum of elapsed ms, for the exact mean.
    pub sum_ms: u64,
    /// Largest elapsed ms, exact.
    pub max_ms: u64,
    /// Earliest sample start, epoch ms.
    pub first_ts: i64,
    /// Latest sample start, epoch ms.
    pub last_ts: i64,
    /// Elapsed-time histogram.
    pub hist: Histogram<u64>,
    /// A Transaction Controller's label: its samples are controller
    /// samples (see [`crate::results::jtl::is_controller`]), which keep
    /// this row but are left out of the total, as JMeter's dashboard and
    /// console summariser leave them out. A label with any controller
    /// sample counts as one.
    pub transaction: bool,
}

impl Default for LabelStats {
    fn default() -> Self {
        LabelStats {
            count: 0,
            errors: 0,
            sum_ms: 0,
            max_ms: 0,
            first_ts: i64::MAX,
            last_ts: i64::MIN,
            hist: new_histogram(),
            transaction: false,
        }
    }
}

impl LabelStats {
    /// Adds one sample.
    #[inline]
    pub fn record(&mut self, s: &Sample<'_>) {
        self.count += 1;
        self.errors += u64::from(!s.success);
        self.sum_ms += s.elapsed;
        self.max_ms = self.max_ms.max(s.elapsed);
        self.first_ts = self.first_ts.min(s.timestamp);
        self.last_ts = self.last_ts.max(s.timestamp);
        self.transaction |= s.controller;
        // Zero-ms samples are real (cached responses); the histogram's
        // floor is 1 ms, so they count as 1 ms there and in percentiles.
        self.hist.saturating_record(s.elapsed.max(1));
    }

    /// Adds another label's samples.
    pub fn merge(&mut self, other: &LabelStats) {
        self.count += other.count;
        self.errors += other.errors;
        self.sum_ms += other.sum_ms;
        self.max_ms = self.max_ms.max(other.max_ms);
        self.first_ts = self.first_ts.min(other.first_ts);
        self.last_ts = self.last_ts.max(other.last_ts);
        self.transaction |= other.transaction;
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.hist.add(&other.hist);
    }
}

/// A fast hash for short keys (labels), after rustc's FxHash: labels are
/// not attacker-chosen in a way that matters here, and SipHash's cost per
/// row showed up in profiles.
#[derive(Debug, Default, Clone, Copy)]
pub struct LabelHasher(u64);

const FX_SEED: u64 = 0xf135_7aea_2e62_a9c5;

impl LabelHasher {
    #[inline(always)]
    fn add(&mut self, word: u64) {
        self.0 = (self.0 ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for LabelHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // The multiply leaves the high bits best mixed; the table indexes
        // by the low ones.
        self.0.rotate_left(26)
    }
}

/// Samples by label, in first-seen order.
#[derive(Debug, Default, Clone)]
pub struct Aggregate {
    index: HashMap<Box<[u8]>, usize, BuildHasherDefault<LabelHasher>>,
    /// Labels and their stats, in first-seen order.
    pub labels: Vec<(String, LabelStats)>,
    /// Per-interval aggregates, by the same label index as `labels`.
    pub series: Series,
}

impl Aggregate {
    /// Adds one sample to its label.
    #[inline]
    pub fn record(&mut self, s: &Sample<'_>) {
        let i = match self.index.get(s.label) {
            Some(&i) => i,
            None => self.insert(s.label),
        };
        self.labels[i].1.record(s);
        self.series
            .record_sample(i, s.timestamp, s.elapsed, s.success, s.threads);
    }

    fn insert(&mut self, label: &[u8]) -> usize {
        if self.labels.len() >= MAX_LABELS && label != OTHER_LABEL.as_bytes() {
            return match self.index.get(OTHER_LABEL.as_bytes()) {
                Some(&i) => i,
                None => self.insert(OTHER_LABEL.as_bytes()),
            };
        }
        let i = self.labels.len();
        self.index.insert(label.into(), i);
        self.labels.push((
            String::from_utf8_lossy(label).into_owned(),
            LabelStats::default(),
        ));
        i
    }

    /// The index of `label`, added (with no samples) if new.
    pub(crate) fn label_index(&mut self, label: &str) -> usize {
        match self.index.get(label.as_bytes()) {
            Some(&i) => i,
            None => self.insert(label.as_bytes()),
        }
    }

    /// Adds everything in `other`.
    pub fn merge(&mut self, other: &Aggregate) {
        for (j, (label, stats)) in other.labels.iter().enumerate() {
            let i = match self.index.get(label.as_bytes()) {
                Some(&i) => i,
                None => self.insert(label.as_bytes()),
            };
            self.labels[i].1.merge(stats);
            self.series.merge_label(i, &other.series, j);
        }
        // Another file or bee: another JMeter instance.
        self.series.merge_threads(&other.series, Combine::Sum);
    }

    /// Adds everything in `other`, taking it whole when `self` is empty
    /// (no histogram copies).
    pub fn absorb(&mut self, other: Aggregate) {
        if self.labels.is_empty() {
            *self = other;
        } else {
            self.merge(&other);
        }
    }

    /// Total samples.
    #[cfg(test)]
    pub fn count(&self) -> u64 {
        self.labels.iter().map(|(_, s)| s.count).sum()
    }

    /// All labels together but transactions, whose samples the samplers
    /// inside them already count (JMeter's Total).
    pub fn total(&self) -> LabelStats {
        let mut t = LabelStats::default();
        for (_, s) in self.labels.iter().filter(|(_, s)| !s.transaction) {
            t.merge(s);
        }
        t
    }

    /// Per label, whether it is a transaction (in label order).
    pub fn transactions(&self) -> Vec<bool> {
        self.labels.iter().map(|(_, s)| s.transaction).collect()
    }
}

mod worker;

pub(crate) use worker::LocalAggregate;

#[cfg(test)]
mod tests;
