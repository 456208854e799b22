//! The series as a bee summary carries it: every bucket's counts and its
//! histogram bins, so series of many bees add up exactly (summary.json's
//! percentiles per bucket cannot be added).
//!
//! Buckets are keyed by absolute interval number at an interval of
//! [`BASE_INTERVAL_MS`] << `shift`, so two bees that chose different
//! intervals or started at different times still line up: the finer one is
//! coarsened by merging bucket pairs, as the streaming pass itself does.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
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
    /// Active threads per bucket (see [`super::threads`]), when the JTL
    /// had them; older bee summaries have none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub threads: Vec<u32>,
}

/// One non-empty bucket: `[index, count, errors, bins]`, where `bins` is
/// the base64 of LEB128 varints: for each non-empty histogram bin, its
/// index less the previous one's, then its count. (A third of the size of
/// JSON numbers, and much faster to read for 500 bees.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireBucket(pub usize, pub u64, pub u64, pub String);

/// Encodes (bin, count) pairs, bins ascending.
pub fn encode_bins(pairs: impl Iterator<Item = (usize, u64)>) -> String {
    let mut out = Vec::new();
    let mut last = 0;
    for (k, n) in pairs {
        put_varint(&mut out, (k - last) as u64);
        put_varint(&mut out, n);
        last = k;
    }
    B64.encode(out)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Decodes [`encode_bins`]' text, calling `f(bin, count)`; fails on bad
/// base64, a cut varint or a bin out of range.
pub fn decode_bins(text: &str, mut f: impl FnMut(usize, u64)) -> Result<(), String> {
    let bytes = B64
        .decode(text)
        .map_err(|e| format!("bins are not base64: {e}"))?;
    let mut at = 0;
    let mut bin = 0u64;
    while at < bytes.len() {
        bin = bin.saturating_add(varint(&bytes, &mut at)?);
        let n = varint(&bytes, &mut at)?;
        if bin >= BINS as u64 {
            return Err(format!("bin {bin} of {BINS}"));
        }
        f(bin as usize, n);
    }
    Ok(())
}

fn varint(bytes: &[u8], at: &mut usize) -> Result<u64, String> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at).ok_or("bins are cut short")?;
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err("a bin's varint is too long".into())
}

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
                        let pairs = (0..BINS)
                            .map(|k| (k, c.bin_count(b * BINS + k)))
                            .filter(|&(_, n)| n > 0);
                        WireBucket(b, c.count[b], c.errors[b], encode_bins(pairs))
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
            threads: {
                let t = self.thread_buckets();
                let used = t.iter().rposition(|&n| n > 0).map_or(0, |i| i + 1);
                t[..used].to_vec()
            },
        }
    }

    /// Adds a wire series' thread counts: another bee, so they add up.
    pub fn merge_wire_threads(&mut self, wire: &WireSeries) {
        self.merge_thread_buckets(
            wire.shift,
            wire.lo,
            &wire.threads,
            super::threads::Combine::Sum,
        );
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
            // Checked before: cannot fail here.
            let _ = decode_bins(bins, |k, n| ours.add_bin(at * BINS + k, n));
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
        if self.threads.len() > self.len {
            return Err(format!(
                "series has {} thread counts for {} buckets",
                self.threads.len(),
                self.len
            ));
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

fn check_bucket(b: usize, count: u64, errors: u64, bins: &str, len: usize) -> Result<(), String> {
    if b >= len || errors > count {
        return Err(format!("series bucket {b} is malformed"));
    }
    let mut sum: u64 = 0;
    decode_bins(bins, |_, n| sum = sum.saturating_add(n))
        .map_err(|e| format!("series bucket {b}: {e}"))?;
    if sum != count {
        return Err(format!(
            "series bucket {b} holds {sum} samples in its bins but counts {count}"
        ));
    }
    Ok(())
}
