//! Per-interval aggregates (counts, errors, latency percentiles) per label,
//! built in the same streaming pass as the totals.
//!
//! The span of a run is not known until the last row, so buckets are keyed
//! by absolute interval number (`timestamp / interval`) and the interval
//! doubles, merging neighbouring buckets in pairs, whenever the span would
//! need more buckets than allowed. Intervals are 1 s times a power of two,
//! so any two series can be brought to the same interval and merged.
//!
//! Each bucket keeps a small log-linear latency histogram (8 sub-buckets
//! per power of two: percentiles within about 6%, plenty for a chart), so
//! memory is labels x buckets x [`BINS`] counters, bounded by [`MAX_CELLS`].

use std::collections::HashMap;

/// The finest interval.
pub const BASE_INTERVAL_MS: i64 = 1000;
/// At most this many buckets per series.
pub const MAX_POINTS: usize = 600;
/// At most this many (label, bucket) cells, whatever the label count: with
/// many labels the interval grows instead of the memory.
pub const MAX_CELLS: usize = 12_000;
/// Values below this are counted exactly.
const EXACT: u64 = 16;
/// Sub-buckets per power of two above [`EXACT`].
const SUB_BITS: u32 = 3;
/// Latencies are clamped to 2^22 ms (70 minutes).
const TOP_BIT: u32 = 22;
/// Histogram bins per bucket.
pub const BINS: usize =
    EXACT as usize + ((TOP_BIT - EXACT.trailing_zeros()) as usize) * (1 << SUB_BITS);

/// The bin of a latency in ms.
#[inline(always)]
fn bin(v: u64) -> usize {
    if v < EXACT {
        return v as usize;
    }
    let v = v.min((1 << TOP_BIT) - 1);
    let e = 63 - v.leading_zeros();
    let sub = (v >> (e - SUB_BITS)) as usize & ((1 << SUB_BITS) - 1);
    EXACT as usize + ((e - EXACT.trailing_zeros()) as usize) * (1 << SUB_BITS) + sub
}

/// The middle of a bin's range of values.
fn bin_value(b: usize) -> u64 {
    if b < EXACT as usize {
        return b as u64;
    }
    let i = b - EXACT as usize;
    let e = (i >> SUB_BITS) as u32 + EXACT.trailing_zeros();
    let sub = (i & ((1 << SUB_BITS) - 1)) as u64;
    let width = 1u64 << (e - SUB_BITS);
    (1u64 << e) + sub * width + width / 2
}

/// One label's buckets: counts, errors and flat histograms (bucket-major).
/// Histogram counters are u16; one about to overflow moves to `spill`.
#[derive(Debug, Clone, Default)]
struct Cells {
    count: Vec<u64>,
    errors: Vec<u64>,
    bins: Vec<u16>,
    /// Flat bin index -> counts beyond what fit in `bins`.
    spill: HashMap<usize, u64>,
}

impl Cells {
    fn with_len(len: usize) -> Self {
        Cells {
            count: vec![0; len],
            errors: vec![0; len],
            bins: vec![0; len * BINS],
            spill: HashMap::new(),
        }
    }

    #[inline(always)]
    fn add(&mut self, at: usize, elapsed: u64, success: bool) {
        self.count[at] += 1;
        self.errors[at] += u64::from(!success);
        let i = at * BINS + bin(elapsed);
        let c = &mut self.bins[i];
        if *c == u16::MAX {
            *self.spill.entry(i).or_default() += u64::from(*c);
            *c = 0;
        }
        *c += 1;
    }

    fn bin_count(&self, i: usize) -> u64 {
        u64::from(self.bins[i]) + self.spill.get(&i).copied().unwrap_or(0)
    }

    /// Adds `n` to flat bin `i`.
    fn add_bin(&mut self, i: usize, n: u64) {
        let total = u64::from(self.bins[i]) + n;
        if total > u64::from(u16::MAX) {
            *self.spill.entry(i).or_default() += total;
            self.bins[i] = 0;
        } else {
            self.bins[i] = total as u16;
        }
    }

    /// Grows to `len` buckets, `front` of them new before the first.
    fn extend(&mut self, front: usize, len: usize) {
        let old = self.count.len();
        let back = len - old - front;
        let grow = |v: &mut Vec<u64>| {
            v.splice(0..0, std::iter::repeat_n(0, front));
            v.extend(std::iter::repeat_n(0, back));
        };
        grow(&mut self.count);
        grow(&mut self.errors);
        self.bins.splice(0..0, std::iter::repeat_n(0, front * BINS));
        self.bins.extend(std::iter::repeat_n(0, back * BINS));
        if front > 0 && !self.spill.is_empty() {
            self.spill = self
                .spill
                .drain()
                .map(|(i, n)| (i + front * BINS, n))
                .collect();
        }
    }

    /// Merges bucket pairs: the bucket at key k goes to key k/2. `odd`
    /// says whether the first bucket's key is odd (it then merges alone).
    fn halve(&mut self, odd: bool) {
        let old = self.count.len();
        let len = (old + usize::from(odd)).div_ceil(2);
        let mut out = Cells::with_len(len);
        for b in 0..old {
            let to = (b + usize::from(odd)) / 2;
            out.count[to] += self.count[b];
            out.errors[to] += self.errors[b];
            for k in 0..BINS {
                let n = self.bin_count(b * BINS + k);
                if n > 0 {
                    out.add_bin(to * BINS + k, n);
                }
            }
        }
        *self = out;
    }
}

/// Per-interval aggregates of several labels (by label index, as in the
/// aggregate that owns them) over one shared range of buckets.
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// The interval is [`BASE_INTERVAL_MS`] << `shift`: keys come from a
    /// division by a constant and a shift, not a division per sample.
    shift: u32,
    /// Key (timestamp / interval) of the first bucket.
    lo: i64,
    /// Buckets in the range; 0 before the first sample.
    len: usize,
    labels: Vec<Cells>,
    /// Active threads per bucket (JMeter's `allThreads`, the most seen in
    /// the bucket), empty when no sample carried them: see [`threads`].
    threads: Vec<u32>,
}

impl Series {
    /// Most buckets allowed with the current label count.
    fn max_len(&self) -> usize {
        (MAX_CELLS / self.labels.len().max(1)).clamp(8, MAX_POINTS)
    }

    /// Adds one sample of label `label` (an index, dense from 0).
    #[cfg(test)]
    pub fn record(&mut self, label: usize, timestamp: i64, elapsed: u64, success: bool) {
        self.record_sample(label, timestamp, elapsed, success, 0);
    }

    /// [`Self::record`], with the threads active when the sample was
    /// taken (0: unknown), in the same bucket.
    #[inline(always)]
    pub fn record_sample(
        &mut self,
        label: usize,
        timestamp: i64,
        elapsed: u64,
        success: bool,
        threads: u32,
    ) {
        if label >= self.labels.len() {
            self.add_label(label);
        }
        let key = self.key(timestamp);
        let at = key.wrapping_sub(self.lo) as u64;
        let at = if at < self.len as u64 {
            at as usize
        } else {
            self.cover(key, key);
            (self.key(timestamp) - self.lo) as usize
        };
        self.labels[label].add(at, elapsed, success);
        if threads > 0 {
            self.threads_at(at, threads);
        }
    }

    /// The bucket key of a timestamp: floor(ts / interval).
    #[inline(always)]
    fn key(&self, timestamp: i64) -> i64 {
        timestamp.div_euclid(BASE_INTERVAL_MS) >> self.shift
    }

    /// The bucket width.
    pub fn interval_ms(&self) -> i64 {
        BASE_INTERVAL_MS << self.shift
    }

    #[cold]
    fn add_label(&mut self, label: usize) {
        while self.labels.len() <= label {
            self.labels.push(Cells::with_len(self.len));
        }
        while self.len > self.max_len() {
            self.halve();
        }
    }

    /// Grows the range to hold keys `from..=to` (at the current interval),
    /// coarsening first if it would be too long.
    #[cold]
    fn cover(&mut self, mut from: i64, mut to: i64) {
        if self.len == 0 {
            self.lo = from;
        }
        loop {
            let lo = self.lo.min(from);
            let hi = (self.lo + self.len.max(1) as i64 - 1).max(to);
            if ((hi - lo + 1) as u64) <= self.max_len() as u64 {
                let front = (self.lo - lo) as usize;
                let len = (hi - lo + 1) as usize;
                for c in &mut self.labels {
                    c.extend(front, len);
                }
                if !self.threads.is_empty() {
                    threads::extend(&mut self.threads, front, len);
                }
                self.lo = lo;
                self.len = len;
                return;
            }
            self.halve();
            from = from.div_euclid(2);
            to = to.div_euclid(2);
        }
    }

    /// Doubles the interval.
    fn halve(&mut self) {
        if self.len > 0 {
            let odd = self.lo.rem_euclid(2) == 1;
            for c in &mut self.labels {
                c.halve(odd);
            }
            threads::halve(&mut self.threads, odd);
            self.len = (self.len + usize::from(odd)).div_ceil(2);
        }
        self.lo = self.lo.div_euclid(2);
        self.shift += 1;
    }

    /// Adds `other`'s label `from` into label `to` of this series.
    /// `other` is brought to this interval on the fly (this one coarsens
    /// first when `other`'s is coarser).
    pub fn merge_label(&mut self, to: usize, other: &Series, from: usize) {
        let Some(theirs) = other.labels.get(from) else {
            return;
        };
        if other.len == 0 {
            return;
        }
        if to >= self.labels.len() {
            self.add_label(to);
        }
        while self.shift < other.shift {
            self.halve();
        }
        let key = |b: usize, shift: u32| (other.lo + b as i64) >> (shift - other.shift);
        self.cover(key(0, self.shift), key(other.len - 1, self.shift));
        // Covering may have coarsened again.
        let shift = self.shift;
        for b in 0..other.len {
            if theirs.count[b] == 0 {
                continue;
            }
            let at = (key(b, shift) - self.lo) as usize;
            let ours = &mut self.labels[to];
            ours.count[at] += theirs.count[b];
            ours.errors[at] += theirs.errors[b];
            for k in 0..BINS {
                let n = theirs.bin_count(b * BINS + k);
                if n > 0 {
                    ours.add_bin(at * BINS + k, n);
                }
            }
        }
    }

    /// Reorders labels: label `order[i]` becomes label `i`.
    pub fn reorder(&mut self, order: &[usize]) {
        let mut old: Vec<Option<Cells>> = std::mem::take(&mut self.labels)
            .into_iter()
            .map(Some)
            .collect();
        self.labels = order
            .iter()
            .map(|&i| {
                old.get_mut(i)
                    .and_then(Option::take)
                    .unwrap_or_else(|| Cells::with_len(self.len))
            })
            .collect();
    }

    /// The summary: per label (named by `names`, in order) and in total.
    #[cfg(test)]
    pub fn summarise(&self, names: &[&str]) -> SeriesSummary {
        self.summarise_without(names, &[])
    }

    /// [`Self::summarise`], leaving the labels that `transactions` marks
    /// out of the total (their samplers' samples are in it already).
    pub fn summarise_without(&self, names: &[&str], transactions: &[bool]) -> SeriesSummary {
        let mut labels = Vec::with_capacity(names.len() + 1);
        let mut total = Cells::with_len(1);
        let mut total_out = PointsBuilder::new(self.len);
        let mut outs: Vec<PointsBuilder> =
            names.iter().map(|_| PointsBuilder::new(self.len)).collect();
        for b in 0..self.len {
            total.count[0] = 0;
            total.errors[0] = 0;
            total.bins.fill(0);
            total.spill.clear();
            for (i, c) in self.labels.iter().enumerate() {
                if let Some(out) = outs.get_mut(i) {
                    out.push(c, b);
                }
                if transactions.get(i) == Some(&true) {
                    continue;
                }
                total.count[0] += c.count[b];
                total.errors[0] += c.errors[b];
                for k in 0..BINS {
                    let n = c.bin_count(b * BINS + k);
                    if n > 0 {
                        total.add_bin(k, n);
                    }
                }
            }
            total_out.push(&total, 0);
        }
        labels.push(("total".to_string(), total_out.points));
        for (name, out) in names.iter().zip(outs) {
            labels.push((name.to_string(), out.points));
        }
        SeriesSummary {
            interval_ms: self.interval_ms(),
            start_ms: self.lo * self.interval_ms(),
            labels: OrderedLabels(labels),
            threads: self.threads_summary(),
        }
    }
}

struct PointsBuilder {
    points: Points,
}

impl PointsBuilder {
    fn new(len: usize) -> Self {
        PointsBuilder {
            points: Points {
                count: Vec::with_capacity(len),
                errors: Vec::with_capacity(len),
                p50: Vec::with_capacity(len),
                p95: Vec::with_capacity(len),
                p99: Vec::with_capacity(len),
            },
        }
    }

    fn push(&mut self, c: &Cells, b: usize) {
        let n = c.count.get(b).copied().unwrap_or(0);
        let p = &mut self.points;
        p.count.push(n);
        p.errors.push(c.errors.get(b).copied().unwrap_or(0));
        let [p50, p95, p99] = quantiles(c, b, n, [0.50, 0.95, 0.99]);
        p.p50.push(p50);
        p.p95.push(p95);
        p.p99.push(p99);
    }
}

/// Quantiles of bucket `b` (holding `n` samples): the middle of the bin
/// where the cumulative count reaches each rank; `None` when empty.
fn quantiles(c: &Cells, b: usize, n: u64, qs: [f64; 3]) -> [Option<u64>; 3] {
    let mut out = [None; 3];
    if n == 0 {
        return out;
    }
    let ranks = qs.map(|q| ((q * n as f64).ceil() as u64).clamp(1, n));
    let mut seen = 0;
    let mut next = 0;
    for k in 0..BINS {
        seen += c.bin_count(b * BINS + k);
        while next < 3 && seen >= ranks[next] {
            out[next] = Some(bin_value(k));
            next += 1;
        }
        if next == 3 {
            break;
        }
    }
    out
}

mod json;
pub mod threads;
mod wire;

pub use json::{OrderedLabels, Points, SeriesSummary};
pub use wire::WireSeries;
#[cfg(test)]
pub use wire::encode_bins;

#[cfg(test)]
mod tests;
