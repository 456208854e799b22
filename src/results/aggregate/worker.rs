//! Per-worker aggregation: a small label table and flat histogram arrays
//! in HdrHistogram's exact layout, so recording a sample is an
//! increment; converted into [`Aggregate`]s once, when workers merge.

use super::*;
use crate::results::series::threads::Combine;

/// HdrHistogram's layout for [`new_histogram`] (lowest 1, so no unit
/// shift; 3 significant digits, so 2048 sub-buckets): half a bucket's
/// sub-buckets as a power of two, the sub-bucket mask, and the base the
/// bucket index is counted down from by leading zeros.
pub(super) const HALF_MAGNITUDE: u32 = 10;
pub(super) const SUB_MASK: u64 = (1 << (HALF_MAGNITUDE + 1)) - 1;
pub(super) const LEADING_ZERO_BASE: u32 = 64 - HALF_MAGNITUDE - 1;
/// Counts for values up to [`MAX_TRACKABLE_MS`]: 12 buckets of 1024, plus
/// the lower half of bucket 0.
pub(super) const COUNTS_LEN: usize = {
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
pub(super) fn hdr_index(value: u64) -> usize {
    let bucket = LEADING_ZERO_BASE - (value | SUB_MASK).leading_zeros();
    let sub = (value >> bucket) as usize;
    ((bucket as usize) << HALF_MAGNITUDE) + sub
}

/// The lowest value HdrHistogram counts at `index`.
pub(super) fn hdr_value(index: usize) -> u64 {
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
pub(super) struct LocalStats {
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
    /// Whether any sample was a Transaction Controller's.
    transaction: bool,
    /// Samples in `counts` (no count there can exceed this).
    pub(super) unspilled: u32,
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
            transaction: false,
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
        self.transaction |= s.controller;
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
    pub(super) fn spill(&mut self) {
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
        self.transaction |= other.transaction;
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
            transaction: self.transaction,
        }
    }
}

/// A cheap hash of a label from up to three words of it (its start, end
/// and middle) and its length; equal hashes are confirmed by comparing the
/// labels.
#[inline(always)]
pub(super) fn label_hash(b: &[u8]) -> u64 {
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
pub(super) fn place(slots: &mut [(u64, u32)], h: u64, i: usize) {
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
    pub(super) labels: Vec<(Box<[u8]>, LocalStats)>,
    /// Per-interval aggregates, by the same label index.
    series: Series,
    /// The block being read, and how many labels it brought so far.
    block: (u64, usize),
}

impl LocalAggregate {
    /// Adds one sample to its label.
    #[inline(always)]
    pub(crate) fn record(&mut self, s: &Sample<'_>) {
        let i = self.index(s.label);
        self.labels[i].1.record(s);
        self.series
            .record_sample(i, s.timestamp, s.elapsed, s.success, s.threads);
    }

    /// The label's slot, inserting it when new (open addressing, linear
    /// probing).
    #[inline(always)]
    fn index(&mut self, label: &[u8]) -> usize {
        let h = label_hash(label);
        let mask = self.slots.len().wrapping_sub(1);
        let mut at = h as usize & mask;
        loop {
            match self.slots.get(at) {
                Some(&(sh, i)) if i != 0 => {
                    let i = i as usize - 1;
                    if sh == h && *self.labels[i].0 == *label {
                        return i;
                    }
                    at = (at + 1) & mask;
                }
                _ => return self.insert(label, h),
            }
        }
    }

    #[cold]
    fn insert(&mut self, label: &[u8], h: u64) -> usize {
        if self.labels.len() >= MAX_LABELS && label != OTHER_LABEL.as_bytes() {
            // Not kept in the table: such labels come back here, which
            // is slow only for inputs past the cap.
            return self.index(OTHER_LABEL.as_bytes());
        }
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
        for (j, (label, stats)) in other.labels.iter().enumerate() {
            let i = self.index(label);
            self.labels[i].1.merge(stats);
            self.series.merge_label(i, &other.series, j);
        }
        // Workers of one file: one JMeter instance.
        self.series.merge_threads(&other.series, Combine::Max);
    }

    /// The aggregate, labels in first-seen order (in the input, whichever
    /// worker read them).
    pub(crate) fn finish(self) -> Aggregate {
        let mut order: Vec<usize> = (0..self.labels.len()).collect();
        order.sort_by_key(|&i| self.labels[i].1.first_seen);
        let mut series = self.series;
        series.reorder(&order);
        let mut labels: Vec<Option<(Box<[u8]>, LocalStats)>> =
            self.labels.into_iter().map(Some).collect();
        let mut agg = Aggregate::default();
        for i in order {
            if let Some((label, stats)) = labels[i].take() {
                let at = agg.insert(&label);
                agg.labels[at].1 = stats.into_stats();
            }
        }
        agg.series = series;
        agg
    }
}
