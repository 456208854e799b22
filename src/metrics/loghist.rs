//! A latency histogram that a search cluster can add up: fixed
//! log-spaced buckets, each 1 % wide, from 1 ms to an hour. Every bee
//! uses the same buckets, so histograms of any number of bees add
//! exactly, and a percentile read from the sum is within half a bucket
//! (0.5 %) of the exact value.
//!
//! On the wire a histogram is a list of `long`s, one per non-empty bucket:
//! `bucket << 32 | count`. Sorted by value, that is sorted by bucket, so
//! the pairing survives doc values (which sort), and the cluster merges
//! them with one `scripted_metric` aggregation instead of one field or
//! nested document per bucket.

use std::sync::OnceLock;

/// Width of a bucket: each is 1 % wider than the one before.
pub const RATIO: f64 = 1.01;
/// Highest latency kept apart: an hour. Longer samples go in the top bucket.
pub const MAX_MS: u64 = 3_600_000;
/// Buckets from 1 ms (bucket 0 also holds 0 ms) to [`MAX_MS`].
pub const BUCKETS: usize = 1_518;
/// Below this, the bucket of a value comes from a table, not a logarithm.
const TABLE_MS: u64 = 65_536;

/// The bucket that holds `ms`.
#[inline]
pub fn bucket(ms: u64) -> usize {
    if ms < TABLE_MS {
        return table()[ms as usize] as usize;
    }
    computed(ms)
}

fn computed(ms: u64) -> usize {
    if ms <= 1 {
        return 0;
    }
    let ms = ms.min(MAX_MS) as f64;
    // The small nudge keeps exact powers of the ratio in their own bucket
    // despite the rounding of `ln`.
    ((ms.ln() / RATIO.ln()) + 1e-9)
        .floor()
        .min((BUCKETS - 1) as f64) as usize
}

fn table() -> &'static [u16] {
    static TABLE: OnceLock<Vec<u16>> = OnceLock::new();
    TABLE.get_or_init(|| (0..TABLE_MS).map(|ms| computed(ms) as u16).collect())
}

/// The value a bucket stands for in percentiles: its single whole
/// millisecond when it holds one (below ~100 ms, where JMeter's whole
/// milliseconds are coarser than the buckets), else its geometric middle.
pub fn value(k: usize) -> f64 {
    let lo = RATIO.powi(k as i32);
    let hi = lo * RATIO;
    let whole = lo.ceil();
    if k == 0 {
        1.0
    } else if whole < hi && whole + 1.0 >= hi {
        whole
    } else {
        (lo * hi).sqrt()
    }
}

/// Counts per bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogHist {
    counts: Vec<u64>,
    total: u64,
}

impl Default for LogHist {
    fn default() -> Self {
        LogHist {
            counts: vec![0; BUCKETS],
            total: 0,
        }
    }
}

impl LogHist {
    /// Adds one sample of `ms`.
    #[inline]
    pub fn record(&mut self, ms: u64) {
        self.counts[bucket(ms)] += 1;
        self.total += 1;
    }

    /// Adds `n` samples to bucket `k` (ignored when `k` is out of range:
    /// a document from a newer version with more buckets).
    pub fn add_bucket(&mut self, k: usize, n: u64) {
        if let Some(c) = self.counts.get_mut(k) {
            *c += n;
            self.total += n;
        }
    }

    /// Adds another histogram.
    pub fn add(&mut self, other: &LogHist) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
    }

    /// Samples recorded.
    #[cfg(test)]
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The value at quantile `q` (0..=1): the smallest bucket whose
    /// cumulative count reaches `ceil(q * total)`, as HDR histograms and
    /// `analyze` count ranks. 0 when empty.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (k, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return value(k);
            }
        }
        value(BUCKETS - 1)
    }

    /// The wire form: `bucket << 32 | count` per non-empty bucket (a count
    /// past 32 bits is split over several entries of the same bucket).
    pub fn encode(&self) -> Vec<u64> {
        let mut out = Vec::new();
        for (k, &c) in self.counts.iter().enumerate() {
            let mut left = c;
            while left > 0 {
                let part = left.min(u64::from(u32::MAX));
                out.push(((k as u64) << 32) | part);
                left -= part;
            }
        }
        out
    }

    /// Adds pairs `[bucket, count, bucket, count, ...]` as the cluster's
    /// merge answers them.
    pub fn add_pairs(&mut self, pairs: &[serde_json::Value]) {
        for p in pairs.chunks_exact(2) {
            if let (Some(k), Some(n)) = (p[0].as_u64(), p[1].as_u64()) {
                self.add_bucket(k as usize, n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_one_ms_to_an_hour_at_one_percent() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(1), 0);
        assert_eq!(bucket(MAX_MS), BUCKETS - 1);
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
        assert_eq!(computed(TABLE_MS - 1), bucket(TABLE_MS - 1));
        for ms in [2u64, 7, 99, 100, 101, 1234, 65_535, 65_536, 999_999] {
            let v = value(bucket(ms));
            assert!(
                (v - ms as f64).abs() / ms as f64 <= 0.005 + 1e-9,
                "{ms} -> {v}"
            );
        }
        // Whole milliseconds below ~100 ms come back exactly.
        for ms in 1..90u64 {
            assert_eq!(value(bucket(ms)), ms as f64, "{ms}");
        }
    }

    #[test]
    fn encoding_round_trips_and_histograms_add() {
        let mut a = LogHist::default();
        for ms in [1, 5, 5, 300, 40_000] {
            a.record(ms);
        }
        let wire = a.encode();
        assert_eq!(wire.len(), 4);
        assert!(wire.windows(2).all(|w| w[0] < w[1]), "sorted by bucket");
        let mut b = LogHist::default();
        for v in &wire {
            b.add_bucket((v >> 32) as usize, v & 0xFFFF_FFFF);
        }
        assert_eq!(a, b);
        b.add(&a);
        assert_eq!(b.total(), 10);
        assert_eq!(b.quantile(0.5), 5.0);
        assert_eq!(b.quantile(0.0), 1.0);
    }
}
