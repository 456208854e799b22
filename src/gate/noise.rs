//! Run-to-run noise: 95% confidence intervals for each metric of one run.
//! A relative criterion fires only when the two runs' intervals do not
//! overlap, which for two independent runs means the difference is
//! significant at about the 0.5% level.
//!
//! - Percentiles: the distribution-free order-statistic interval. The
//!   rank of the q-quantile in n samples is binomial(n, q), so the
//!   interval runs from the value at quantile q - z*sqrt(q(1-q)/n) to the
//!   value at q + z*sqrt(q(1-q)/n), read off the run's HDR histogram.
//! - Mean: mean ± z·sd/√n from the histogram.
//! - Error rate: the Wilson score interval of errors / count.
//! - Throughput: count is Poisson, so rate ± z·√count / span.
//! - Max: a single extreme has no noise model; bounds alone decide.

use hdrhistogram::Histogram;

use super::Metric;
use crate::results::summary::LabelSummary;

/// Two-sided 95% normal quantile.
const Z: f64 = 1.96;

/// A confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Interval {
    /// Lower end.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
}

fn quantile(h: &Histogram<u64>, q: f64) -> Option<Interval> {
    let n = h.len() as f64;
    if n < 1.0 {
        return None;
    }
    let half = Z * (q * (1.0 - q) / n).sqrt();
    Some(Interval {
        lo: h.lowest_equivalent(h.value_at_quantile((q - half).max(0.0))) as f64,
        hi: h.value_at_quantile((q + half).min(1.0)) as f64,
    })
}

fn mean(h: &Histogram<u64>) -> Option<Interval> {
    let n = h.len() as f64;
    if n < 2.0 {
        return None;
    }
    let half = Z * h.stdev() / n.sqrt();
    Some(Interval {
        lo: h.mean() - half,
        hi: h.mean() + half,
    })
}

fn wilson(errors: u64, count: u64) -> Option<Interval> {
    if count == 0 {
        return None;
    }
    let n = count as f64;
    let p = errors as f64 / n;
    let z2 = Z * Z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    Some(Interval {
        lo: (centre - half).max(0.0),
        hi: (centre + half).min(1.0),
    })
}

fn rate(l: &LabelSummary) -> Option<Interval> {
    if l.count == 0 || l.throughput == 0.0 {
        return None;
    }
    let span_s = l.count as f64 / l.throughput;
    let half = Z * (l.count as f64).sqrt() / span_s;
    Some(Interval {
        lo: l.throughput - half,
        hi: l.throughput + half,
    })
}

/// The 95% interval of `metric` for one run's label; `None` when the
/// metric has no noise model or the data to build one is missing.
pub fn interval(metric: Metric, l: &LabelSummary) -> Option<Interval> {
    match metric {
        Metric::ErrorRate => wilson(l.errors, l.count),
        Metric::Throughput => rate(l),
        Metric::Mean => mean(&l.histogram().ok()?),
        m => quantile(&l.histogram().ok()?, m.quantile()?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::aggregate::new_histogram;

    #[test]
    fn quantile_interval_narrows_with_samples_and_holds_the_value() {
        let mut small = new_histogram();
        let mut large = new_histogram();
        for i in 0..1_000u64 {
            small.record(1 + i % 100).unwrap();
        }
        for i in 0..100_000u64 {
            large.record(1 + i % 100).unwrap();
        }
        let s = quantile(&small, 0.95).unwrap();
        let l = quantile(&large, 0.95).unwrap();
        assert!(s.lo <= 95.0 && 95.0 <= s.hi, "{s:?}");
        assert!(l.lo <= 95.0 && 95.0 <= l.hi, "{l:?}");
        assert!(l.hi - l.lo < s.hi - s.lo);
    }

    #[test]
    fn wilson_interval() {
        let i = wilson(10, 1000).unwrap();
        assert!(
            i.lo > 0.004 && i.lo < 0.01 && i.hi > 0.01 && i.hi < 0.02,
            "{i:?}"
        );
        let zero = wilson(0, 1000).unwrap();
        assert_eq!(zero.lo, 0.0);
        assert!(zero.hi > 0.0);
    }
}
