//! Per-label accumulation: exact counts, sums and extremes, and an HDR
//! histogram for percentiles.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use hdrhistogram::Histogram;

use super::jtl::Sample;

/// Highest latency we track exactly enough: one hour. Longer samples are
/// clamped into the top bucket (their count and max stay exact).
pub const MAX_TRACKABLE_MS: u64 = 3_600_000;

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
    }

    fn insert(&mut self, label: &[u8]) -> usize {
        let i = self.labels.len();
        self.index.insert(label.into(), i);
        self.labels.push((
            String::from_utf8_lossy(label).into_owned(),
            LabelStats::default(),
        ));
        i
    }

    /// Adds everything in `other`.
    pub fn merge(&mut self, other: &Aggregate) {
        for (label, stats) in &other.labels {
            let i = match self.index.get(label.as_bytes()) {
                Some(&i) => i,
                None => self.insert(label.as_bytes()),
            };
            self.labels[i].1.merge(stats);
        }
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

    /// All labels together.
    pub fn total(&self) -> LabelStats {
        let mut t = LabelStats::default();
        for (_, s) in &self.labels {
            t.merge(s);
        }
        t
    }
}

/// HdrHistogram's layout for [`new_histogram`] (lowest 1, so no unit
/// shift; 3 significant digits, so 2048 sub-buckets): half a bucket's
/// sub-buckets as a power of two, the sub-bucket mask, and the base the
/// bucket index is counted down from by leading zeros.
const HALF_MAGNITUDE: u32 = 10;
const SUB_MASK: u64 = (1 << (HALF_MAGNITUDE + 1)) - 1;
const LEADING_ZERO_BASE: u32 = 64 - HALF_MAGNITUDE - 1;
/// Counts for values up to [`MAX_TRACKABLE_MS`]: 12 buckets of 1024, plus
/// the lower half of bucket 0.
const COUNTS_LEN: usize = {
    let mut buckets = 1;
    let mut smallest_untrackable = SUB_MASK + 1;
    while smallest_untrackable <= MAX_TRACKABLE_MS {
        smallest_untrackable <<= 1;
        buckets += 1;
    }
    (buckets + 1) << HALF_MAGNITUDE
};

/// The index HdrHistogram counts `value` at (1 ..= MAX_TRACKABLE_MS).
#[inline(always)]
fn hdr_index(value: u64) -> usize {
    let bucket = LEADING_ZERO_BASE - (value | SUB_MASK).leading_zeros();
    let sub = (value >> bucket) as usize;
    ((bucket as usize) << HALF_MAGNITUDE) + sub
}

/// The lowest value HdrHistogram counts at `index`.
fn hdr_value(index: usize) -> u64 {
    let half = 1usize << HALF_MAGNITUDE;
    if index < 2 * half {
        index as u64
    } else {
        let bucket = (index >> HALF_MAGNITUDE) - 1;
        (((index & (half - 1)) + half) as u64) << bucket
    }
}

/// One label's samples within a worker: [`LabelStats`] with a plain array
/// for the histogram, so that recording a sample is an increment. Counts
/// are u32 to halve the cache footprint; before one could overflow they
/// move to `spilled`.
#[derive(Debug)]
struct LocalStats {
    count: u64,
    errors: u64,
    sum_ms: u64,
    max_ms: u64,
    first_ts: i64,
    last_ts: i64,
    /// Smallest and largest values counted (clamped into range).
    low: u64,
    high: u64,
    /// Where the label first appeared: block, then order among the labels
    /// new in that block (one worker reads a block, in order).
    first_seen: (u64, usize),
    /// Samples in `counts` (no count there can exceed this).
    unspilled: u32,
    counts: Box<[u32]>,
    spilled: Option<Box<[u64]>>,
}

impl LocalStats {
    fn new(first_seen: (u64, usize)) -> Self {
        LocalStats {
            first_seen,
            count: 0,
            errors: 0,
            sum_ms: 0,
            max_ms: 0,
            first_ts: i64::MAX,
            last_ts: i64::MIN,
            low: u64::MAX,
            high: 0,
            unspilled: 0,
            counts: vec![0; COUNTS_LEN].into_boxed_slice(),
            spilled: None,
        }
    }

    #[inline(always)]
    fn record(&mut self, s: &Sample<'_>) {
        self.count += 1;
        self.errors += u64::from(!s.success);
        self.sum_ms += s.elapsed;
        self.max_ms = self.max_ms.max(s.elapsed);
        self.first_ts = self.first_ts.min(s.timestamp);
        self.last_ts = self.last_ts.max(s.timestamp);
        // As `LabelStats::record`: 0 ms counts as 1; past the last bucket
        // (a little above MAX_TRACKABLE_MS), HdrHistogram's
        // `saturating_record` counts MAX_TRACKABLE_MS.
        let mut v = s.elapsed.max(1);
        let mut i = hdr_index(v);
        if i >= COUNTS_LEN {
            v = MAX_TRACKABLE_MS;
            i = hdr_index(v);
        }
        self.low = self.low.min(v);
        self.high = self.high.max(v);
        if self.unspilled == u32::MAX {
            self.spill();
        }
        self.unspilled += 1;
        if let Some(c) = self.counts.get_mut(i) {
            *c += 1;
        }
    }

    #[cold]
    fn spill(&mut self) {
        let spilled = self
            .spilled
            .get_or_insert_with(|| vec![0; COUNTS_LEN].into_boxed_slice());
        for (s, c) in spilled.iter_mut().zip(self.counts.iter_mut()) {
            *s += u64::from(std::mem::take(c));
        }
        self.unspilled = 0;
    }

    /// Adds another worker's samples of the same label.
    fn merge(&mut self, other: &LocalStats) {
        self.first_seen = self.first_seen.min(other.first_seen);
        self.count += other.count;
        self.errors += other.errors;
        self.sum_ms += other.sum_ms;
        self.max_ms = self.max_ms.max(other.max_ms);
        self.first_ts = self.first_ts.min(other.first_ts);
        self.last_ts = self.last_ts.max(other.last_ts);
        self.low = self.low.min(other.low);
        self.high = self.high.max(other.high);
        if u64::from(self.unspilled) + u64::from(other.unspilled) > u64::from(u32::MAX) {
            self.spill();
        }
        self.unspilled += other.unspilled;
        for (c, o) in self.counts.iter_mut().zip(other.counts.iter()) {
            *c += o;
        }
        if let Some(theirs) = &other.spilled {
            let ours = self
                .spilled
                .get_or_insert_with(|| vec![0; COUNTS_LEN].into_boxed_slice());
            for (c, o) in ours.iter_mut().zip(theirs.iter()) {
                *c += o;
            }
        }
    }

    /// The same stats as recording every sample into a [`LabelStats`].
    fn into_stats(self) -> LabelStats {
        let mut hist = new_histogram();
        let (low, high) = (hdr_index(self.low), hdr_index(self.high));
        let spilled = self.spilled.as_deref().unwrap_or(&[]);
        for (i, &c) in self.counts.iter().enumerate() {
            let c = u64::from(c) + spilled.get(i).copied().unwrap_or(0);
            if c == 0 {
                continue;
            }
            // The histogram tracks its min and max from recorded values:
            // give it the real extremes, in their own buckets.
            let mut left = c;
            if i == low {
                let _ = hist.record_n(self.low, 1);
                left -= 1;
            }
            if i == high && left > 0 {
                let _ = hist.record_n(self.high, 1);
                left -= 1;
            }
            if left > 0 {
                let _ = hist.record_n(hdr_value(i), left);
            }
        }
        LabelStats {
            count: self.count,
            errors: self.errors,
            sum_ms: self.sum_ms,
            max_ms: self.max_ms,
            first_ts: self.first_ts,
            last_ts: self.last_ts,
            hist,
        }
    }
}

/// A cheap hash of a label from up to three words of it (its start, end
/// and middle) and its length; equal hashes are confirmed by comparing the
/// labels.
#[inline(always)]
fn label_hash(b: &[u8]) -> u64 {
    let n = b.len();
    let word = |at: usize| {
        b.get(at..at + 8)
            .map_or(0, |w| u64::from_le_bytes(w.try_into().unwrap_or([0; 8])))
    };
    let half = |at: usize| {
        b.get(at..at + 4).map_or(0, |w| {
            u64::from(u32::from_le_bytes(w.try_into().unwrap_or([0; 4])))
        })
    };
    let (a, c, m) = if n >= 8 {
        (
            word(0),
            word(n - 8),
            if n > 16 { word(n / 2 - 4) } else { 0 },
        )
    } else if n >= 4 {
        (half(0), half(n - 4), 0)
    } else if n > 0 {
        (
            u64::from(b[0]) | u64::from(b[n / 2]) << 8 | u64::from(b[n - 1]) << 16,
            0,
            0,
        )
    } else {
        (0, 0, 0)
    };
    let h = (a ^ 0x243f_6a88_85a3_08d3).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ (c ^ n as u64).wrapping_mul(FX_SEED)
        ^ m.wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
    h ^ (h >> 29)
}

/// Puts label `i` in the first free slot from its hash's.
fn place(slots: &mut [(u64, u32)], h: u64, i: usize) {
    let mask = slots.len() - 1;
    let mut at = h as usize & mask;
    while slots[at].1 != 0 {
        at = (at + 1) & mask;
    }
    slots[at] = (h, i as u32 + 1);
}

/// A worker's [`Aggregate`], cheaper per sample; [`Self::finish`] turns it
/// into the real thing.
#[derive(Debug, Default)]
pub(crate) struct LocalAggregate {
    /// Open addressing, a power of two long: (hash, label index + 1), or
    /// index 0 when free.
    slots: Vec<(u64, u32)>,
    labels: Vec<(Box<[u8]>, LocalStats)>,
    /// The block being read, and how many labels it brought so far.
    block: (u64, usize),
}

impl LocalAggregate {
    /// Adds one sample to its label.
    #[inline(always)]
    pub(crate) fn record(&mut self, s: &Sample<'_>) {
        let h = label_hash(s.label);
        let mask = self.slots.len().wrapping_sub(1);
        let mut at = h as usize & mask;
        let i = loop {
            match self.slots.get(at) {
                Some(&(sh, i)) if i != 0 => {
                    let i = i as usize - 1;
                    if sh == h && *self.labels[i].0 == *s.label {
                        break i;
                    }
                    at = (at + 1) & mask;
                }
                _ => break self.insert(s.label, h),
            }
        };
        self.labels[i].1.record(s);
    }

    #[cold]
    fn insert(&mut self, label: &[u8], h: u64) -> usize {
        let i = self.labels.len();
        self.labels
            .push((label.into(), LocalStats::new(self.block)));
        self.block.1 += 1;
        if self.slots.len() < 2 * self.labels.len() {
            let size = (4 * self.labels.len()).next_power_of_two();
            self.slots = vec![(0, 0); size];
            for (j, (l, _)) in self.labels.iter().enumerate() {
                place(&mut self.slots, label_hash(l), j);
            }
        } else {
            place(&mut self.slots, h, i);
        }
        i
    }

    /// Samples from now on come from block `seq` (for first-seen order
    /// across workers).
    pub(crate) fn start_block(&mut self, seq: u64) {
        self.block = (seq, 0);
    }

    /// Whether no sample was recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Adds another worker's samples (labels new here go last).
    pub(crate) fn merge(&mut self, other: &LocalAggregate) {
        for (label, stats) in &other.labels {
            let h = label_hash(label);
            let mask = self.slots.len().wrapping_sub(1);
            let mut at = h as usize & mask;
            let i = loop {
                match self.slots.get(at) {
                    Some(&(sh, i)) if i != 0 => {
                        let i = i as usize - 1;
                        if sh == h && self.labels[i].0 == *label {
                            break i;
                        }
                        at = (at + 1) & mask;
                    }
                    _ => break self.insert(label, h),
                }
            };
            self.labels[i].1.merge(stats);
        }
    }

    /// The aggregate, labels in first-seen order (in the input, whichever
    /// worker read them).
    pub(crate) fn finish(mut self) -> Aggregate {
        self.labels.sort_by_key(|(_, s)| s.first_seen);
        let mut agg = Aggregate::default();
        for (label, stats) in self.labels {
            let i = agg.insert(&label);
            agg.labels[i].1 = stats.into_stats();
        }
        agg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(label: &[u8], elapsed: u64, ts: i64, success: bool) -> Sample<'_> {
        Sample {
            timestamp: ts,
            elapsed,
            label,
            success,
        }
    }

    #[test]
    fn many_labels_and_spilled_counts() {
        let mut local = LocalAggregate::default();
        let names: Vec<String> = (0..500).map(|i| format!("label {i}")).collect();
        for round in 0..3 {
            for n in &names {
                local.record(&sample(n.as_bytes(), round, 0, true));
            }
        }
        // Force a spill half-way through a label's samples.
        local.labels[0].1.unspilled = u32::MAX - 1;
        local.record(&sample(b"label 0", 7, 0, true));
        local.record(&sample(b"label 0", 7, 0, true));
        let agg = local.finish();
        assert_eq!(agg.labels.len(), 500);
        assert_eq!(agg.labels[7].0, "label 7");
        assert_eq!(agg.labels[7].1.count, 3);
        let first = &agg.labels[0].1;
        assert_eq!((first.count, first.hist.len()), (5, 5));
        assert_eq!(first.hist.count_at(7), 2);
    }

    #[test]
    fn merged_workers_equal_one() {
        let mut one = LocalAggregate::default();
        let mut a = LocalAggregate::default();
        let mut b = LocalAggregate::default();
        for i in 0..3000u64 {
            let label: &[u8] = [&b"x"[..], b"y, z", b"w"][(i % 3) as usize];
            let s = sample(label, i * 37 % 5000, i as i64, i % 11 != 0);
            one.record(&s);
            // Blocks of 100 samples, alternately to each worker.
            let block = i / 100;
            let w = if block % 2 == 0 { &mut a } else { &mut b };
            if i % 100 == 0 {
                w.start_block(block);
            }
            w.record(&s);
        }
        assert_eq!(b.labels[0].0.as_ref(), b"y, z");
        b.labels[0].1.spill();
        // b read the earlier blocks: its labels come first.
        b.merge(&a);
        let a = b;
        let (one, a) = (one.finish(), a.finish());
        assert_eq!(one.labels.len(), a.labels.len());
        for (x, y) in one.labels.iter().zip(&a.labels) {
            assert_eq!(x.0, y.0);
            assert_eq!(
                (x.1.count, x.1.errors, x.1.sum_ms, x.1.max_ms),
                (y.1.count, y.1.errors, y.1.sum_ms, y.1.max_ms)
            );
            assert_eq!((x.1.first_ts, x.1.last_ts), (y.1.first_ts, y.1.last_ts));
            assert!(x.1.hist == y.1.hist, "{}", x.0);
        }
    }

    #[test]
    fn layout_matches_hdrhistogram() {
        let h = new_histogram();
        assert_eq!(COUNTS_LEN, 13 * 1024);
        let mut v = 1u64;
        while v <= MAX_TRACKABLE_MS {
            let i = hdr_index(v);
            assert!(i < COUNTS_LEN, "{v}");
            let low = hdr_value(i);
            assert_eq!(low, h.lowest_equivalent(v), "{v}");
            assert_eq!(hdr_index(low), i, "{v}");
            v = v + 1 + v / 97;
        }
        assert_eq!(
            hdr_index(MAX_TRACKABLE_MS),
            hdr_index(h.highest_equivalent(MAX_TRACKABLE_MS))
        );
    }

    #[test]
    fn local_aggregate_equals_direct_recording() {
        let mut direct = Aggregate::default();
        let mut local = LocalAggregate::default();
        let labels: [&[u8]; 8] = [
            b"a",
            b"bb, c",
            b"a much longer label than eight bytes",
            b"a much longer label than eight bytes!",
            b"",
            b"abcd",
            b"abcdefgh",
            b"abcdXefgh",
        ];
        let mut x = 12345u64;
        for i in 0..20_000u64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let elapsed = match i % 7 {
                0 => 0,
                1 => (x >> 40) % 10,
                2 => MAX_TRACKABLE_MS - 5000 + (x >> 50) * 100,
                3 => 1 << (20 + x % 28),
                _ => (x >> 33) % 100_000,
            };
            let s = sample(
                labels[(x >> 20) as usize % labels.len()],
                elapsed,
                (x >> 30) as i64,
                i % 13 != 0,
            );
            direct.record(&s);
            local.record(&s);
        }
        let local = local.finish();
        assert_eq!(local.labels.len(), direct.labels.len());
        for ((la, a), (lb, b)) in local.labels.iter().zip(&direct.labels) {
            assert_eq!(la, lb);
            assert_eq!(
                (a.count, a.errors, a.sum_ms, a.max_ms, a.first_ts, a.last_ts),
                (b.count, b.errors, b.sum_ms, b.max_ms, b.first_ts, b.last_ts)
            );
            let counts = |h: &Histogram<u64>| -> Vec<(u64, u64)> {
                h.iter_recorded()
                    .map(|v| (v.value_iterated_to(), v.count_at_value()))
                    .collect()
            };
            let (ca, cb) = (counts(&a.hist), counts(&b.hist));
            let diff = ca.iter().zip(&cb).find(|(x, y)| x != y);
            assert!(
                ca == cb,
                "{la}: counts differ: {} vs {} entries, first {diff:?}",
                ca.len(),
                cb.len()
            );
            assert_eq!(
                (a.hist.min(), a.hist.max(), a.hist.len(), a.hist.min_nz()),
                (b.hist.min(), b.hist.max(), b.hist.len(), b.hist.min_nz()),
                "{la}"
            );
            assert!(a.hist == b.hist, "{la}: histograms differ");
            for q in [0.0, 0.5, 0.9, 0.99, 0.999, 1.0] {
                assert_eq!(a.hist.value_at_quantile(q), b.hist.value_at_quantile(q));
            }
        }
    }
}
