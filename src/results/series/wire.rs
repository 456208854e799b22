//! The series as a bee summary carries it: every bucket's counts and its
//! histogram bins, so series of many bees add up exactly (summary.json's
//! percentiles per bucket cannot be added).
//!
//! Buckets are keyed by absolute interval number at an interval of
//! [`BASE_INTERVAL_MS`] << `shift`, so two bees that chose different
//! intervals or started at different times still line up: the finer one is
//! coarsened by merging bucket pairs, as the streaming pass itself does.

use serde::{Deserialize, Serialize};

use super::{BASE_INTERVAL_MS, BINS, Cells, MAX_POINTS, Series};

/// The most doublings of the base interval a series can have (2^40 s is
/// far beyond any run).
const MAX_SHIFT: u32 = 40;

/// A series in mergeable form: only non-empty buckets and bins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireSeries {
    /// Always [`BASE_INTERVAL_MS`]; stored so a reader can tell.
    pub base_interval_ms: i64,
    /// The interval is `base_interval_ms << shift`.
    pub shift: u32,
    /// Key (`timestamp / interval`) of bucket 0.
    pub lo: i64,
    /// Buckets in the range.
    pub len: usize,
    /// Histogram bins per bucket (the bin layout's identity).
    pub bins: usize,
    /// Per label, in the order of the bee summary's labels.
    pub labels: Vec<Vec<WireBucket>>,
}

/// One non-empty bucket: `[index, count, errors, [bin, n, bin, n, ...]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireBucket(pub usize, pub u64, pub u64, pub Vec<u64>);

impl Series {
    /// The series in mergeable form.
    pub fn to_wire(&self) -> WireSeries {
        let labels = self
            .labels
            .iter()
            .map(|c| {
                (0..self.len)
                    .filter(|&b| c.count[b] > 0)
                    .map(|b| {
                        let mut bins = Vec::new();
                        for k in 0..BINS {
                            let n = c.bin_count(b * BINS + k);
                            if n > 0 {
                                bins.extend([k as u64, n]);
                            }
                        }
                        WireBucket(b, c.count[b], c.errors[b], bins)
                    })
                    .collect()
            })
            .collect();
        WireSeries {
            base_interval_ms: BASE_INTERVAL_MS,
            shift: self.shift,
            lo: self.lo,
            len: self.len,
            bins: BINS,
            labels,
        }
    }

    /// Adds label `from` of a wire series into label `to` of this one,
    /// touching only the buckets and bins the wire series holds. The wire
    /// series must have passed [`WireSeries::check`].
    pub fn merge_wire(&mut self, to: usize, wire: &WireSeries, from: usize) {
        let Some(buckets) = wire.labels.get(from) else {
            return;
        };
        if to >= self.labels.len() {
            self.add_label(to);
        }
        if wire.len == 0 || buckets.is_empty() {
            return;
        }
        while self.shift < wire.shift {
            self.halve();
        }
        let key = |b: usize, shift: u32| (wire.lo + b as i64) >> (shift - wire.shift);
        self.cover(key(0, self.shift), key(wire.len - 1, self.shift));
        let shift = self.shift;
        let ours: &mut Cells = &mut self.labels[to];
        for WireBucket(b, count, errors, bins) in buckets {
            let at = (key(*b, shift) - self.lo) as usize;
            ours.count[at] += count;
            ours.errors[at] += errors;
            for pair in bins.chunks_exact(2) {
                ours.add_bin(at * BINS + pair[0] as usize, pair[1]);
            }
        }
    }
}

impl WireSeries {
    /// Checks that the series is one this build can merge and that it is
    /// consistent (bins add up to counts), so merging cannot go wrong
    /// half-way. `labels` is how many labels the summary names.
    pub fn check(&self, labels: usize) -> Result<(), String> {
        if self.base_interval_ms != BASE_INTERVAL_MS || self.bins != BINS {
            return Err(format!(
                "series of {} ms and {} bins, not this build's {BASE_INTERVAL_MS} ms and {BINS}",
                self.base_interval_ms, self.bins
            ));
        }
        if self.shift > MAX_SHIFT || self.len > MAX_POINTS {
            return Err(format!(
                "series interval shift {} or length {} out of range",
                self.shift, self.len
            ));
        }
        // Keys are epoch seconds (or coarser): anything beyond is not a run.
        if self.lo.unsigned_abs() > (i64::MAX / BASE_INTERVAL_MS) as u64 {
            return Err("series start out of range".into());
        }
        if self.labels.len() != labels {
            return Err(format!(
                "series has {} labels, the summary {labels}",
                self.labels.len()
            ));
        }
        for buckets in &self.labels {
            for WireBucket(b, count, errors, bins) in buckets {
                check_bucket(*b, *count, *errors, bins, self.len)?;
            }
        }
        Ok(())
    }

    /// Samples per label, for checking against the label totals.
    pub fn label_counts(&self) -> impl Iterator<Item = u64> + '_ {
        self.labels
            .iter()
            .map(|b| b.iter().map(|WireBucket(_, c, _, _)| *c).sum())
    }
}

fn check_bucket(b: usize, count: u64, errors: u64, bins: &[u64], len: usize) -> Result<(), String> {
    if b >= len || errors > count || bins.len() % 2 != 0 {
        return Err(format!("series bucket {b} is malformed"));
    }
    let mut sum: u64 = 0;
    for pair in bins.chunks_exact(2) {
        if pair[0] >= BINS as u64 {
            return Err(format!("series bucket {b} has bin {} of {BINS}", pair[0]));
        }
        sum = sum.saturating_add(pair[1]);
    }
    if sum != count {
        return Err(format!(
            "series bucket {b} holds {sum} samples in its bins but counts {count}"
        ));
    }
    Ok(())
}
