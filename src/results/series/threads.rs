//! Active threads over time, from JMeter's `allThreads` column: the
//! number of threads running in one JMeter instance when a sample ended.
//! Within one instance (one JTL, read by several workers) a bucket keeps
//! the most seen; across instances (files, bees) the buckets add up, so a
//! run's curve is the fleet's threads. Intervals coarsen by the maximum:
//! threads are a level, not a count.

use super::Series;

/// How two sources' thread counts in one bucket combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combine {
    /// The same JMeter instance (workers of one file): the most seen.
    Max,
    /// Different instances (files, bees): they add up.
    Sum,
}

/// Grows `threads` to `len` buckets, `front` of them new before the first.
pub(super) fn extend(threads: &mut Vec<u32>, front: usize, len: usize) {
    let back = len.saturating_sub(threads.len() + front);
    threads.splice(0..0, std::iter::repeat_n(0, front));
    threads.extend(std::iter::repeat_n(0, back));
}

/// Merges bucket pairs as [`Series`] does when its interval doubles.
pub(super) fn halve(threads: &mut Vec<u32>, odd: bool) {
    if threads.is_empty() {
        return;
    }
    let len = (threads.len() + usize::from(odd)).div_ceil(2);
    let mut out = vec![0; len];
    for (b, &t) in threads.iter().enumerate() {
        let to = (b + usize::from(odd)) / 2;
        out[to] = out[to].max(t);
    }
    *threads = out;
}

impl Series {
    /// Records that `n` threads were active when a sample at `timestamp`
    /// was taken. The sample itself must have been recorded first (so its
    /// bucket exists).
    #[cfg(test)]
    pub fn record_threads(&mut self, timestamp: i64, n: u32) {
        let at = (self.key(timestamp) - self.lo) as usize;
        self.threads_at(at, n);
    }

    /// `n` threads seen in bucket `at`.
    #[inline]
    pub(super) fn threads_at(&mut self, at: usize, n: u32) {
        if self.threads.len() != self.len {
            self.threads.resize(self.len, 0);
        }
        if let Some(t) = self.threads.get_mut(at) {
            *t = (*t).max(n);
        }
    }

    /// Adds `other`'s thread counts, bucket by bucket. A finer `other`
    /// first takes its own maximum within each of this series' buckets.
    pub fn merge_threads(&mut self, other: &Series, combine: Combine) {
        self.merge_thread_buckets(other.shift, other.lo, &other.threads, combine);
    }

    /// [`Self::merge_threads`] on raw buckets: `threads[b]` is bucket key
    /// `lo + b` at interval shift `shift`.
    pub(super) fn merge_thread_buckets(
        &mut self,
        shift: u32,
        lo: i64,
        threads: &[u32],
        combine: Combine,
    ) {
        let Some(last) = threads.iter().rposition(|&t| t > 0) else {
            return;
        };
        while self.shift < shift {
            self.halve();
        }
        let key = |b: usize, to: u32| (lo + b as i64) >> (to - shift);
        self.cover(key(0, self.shift), key(last, self.shift));
        if self.threads.len() != self.len {
            self.threads.resize(self.len, 0);
        }
        // Theirs at our interval first: their own maximum per bucket.
        let mut theirs: Vec<(usize, u32)> = Vec::new();
        for (b, &t) in threads.iter().enumerate().take(last + 1) {
            if t == 0 {
                continue;
            }
            let at = (key(b, self.shift) - self.lo) as usize;
            match theirs.last_mut() {
                Some((a, m)) if *a == at => *m = (*m).max(t),
                _ => theirs.push((at, t)),
            }
        }
        for (at, t) in theirs {
            let ours = &mut self.threads[at];
            *ours = match combine {
                Combine::Max => (*ours).max(t),
                Combine::Sum => ours.saturating_add(t),
            };
        }
    }

    /// The per-bucket threads for `summary.json`, when any sample had them.
    pub(super) fn threads_summary(&self) -> Option<Vec<Option<u64>>> {
        if !self.threads.iter().any(|&t| t > 0) {
            return None;
        }
        Some(
            (0..self.len)
                .map(|b| {
                    let t = self.threads.get(b).copied().unwrap_or(0);
                    (t > 0).then_some(u64::from(t))
                })
                .collect(),
        )
    }

    /// The raw per-bucket threads (for the bee summary's wire form).
    pub(super) fn thread_buckets(&self) -> &[u32] {
        &self.threads
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000;

    fn one(samples: &[(i64, u32)]) -> Series {
        let mut s = Series::default();
        for &(ms, n) in samples {
            s.record(0, T0 + ms, 10, true);
            s.record_threads(T0 + ms, n);
        }
        s
    }

    #[test]
    fn one_instance_keeps_the_most_and_instances_add_up() {
        let a = one(&[(0, 5), (500, 8), (1500, 10)]);
        let b = one(&[(200, 3), (1200, 4)]);
        assert_eq!(a.threads_summary(), Some(vec![Some(8), Some(10)]));
        // Two workers of one file: the most seen.
        let mut same = a.clone();
        same.merge_threads(&b, Combine::Max);
        assert_eq!(same.threads_summary(), Some(vec![Some(8), Some(10)]));
        // Two bees: they add up.
        let mut fleet = a.clone();
        fleet.merge_threads(&b, Combine::Sum);
        assert_eq!(fleet.threads_summary(), Some(vec![Some(11), Some(14)]));
    }

    #[test]
    fn a_finer_source_takes_its_own_maximum_before_adding() {
        let mut coarse = one(&[(0, 2)]);
        coarse.halve();
        let fine = one(&[(0, 5), (1000, 7)]);
        coarse.merge_threads(&fine, Combine::Sum);
        // Its two 1 s buckets are one 2 s bucket: 7 threads, not 12.
        assert_eq!(coarse.threads_summary(), Some(vec![Some(9)]));
    }

    #[test]
    fn without_threads_the_summary_has_none() {
        let mut s = Series::default();
        s.record(0, T0, 10, true);
        assert_eq!(s.threads_summary(), None);
    }
}
