//! The gate's vocabulary of metrics: one type, so that parsing, reading a
//! value, formatting and noise models cannot disagree on a name.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::results::summary::LabelSummary;

/// A metric that a criterion may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Median elapsed, ms.
    P50,
    /// 90th percentile, ms.
    P90,
    /// 95th percentile, ms.
    P95,
    /// 99th percentile, ms.
    P99,
    /// Mean elapsed, ms.
    Mean,
    /// Largest elapsed, ms.
    Max,
    /// Failed samples / samples.
    ErrorRate,
    /// Samples per second.
    Throughput,
    /// Samples (used by the "the run produced results" check).
    Count,
    /// A collected CloudWatch series, reduced by the criterion's `stat`
    /// (see `crate::monitor::gate`); values in the series' own unit.
    CloudWatch,
}

/// How a metric's values are written and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Milliseconds: `800ms`, `2s`.
    Time,
    /// A fraction, written as a percentage: `1%`.
    Ratio,
    /// Per second: `250`, `250/s`.
    Rate,
    /// A plain count.
    Count,
}

impl Metric {
    /// Every metric a gate file may name, in the order the help lists them.
    pub const GATED: [Metric; 8] = [
        Metric::P50,
        Metric::P90,
        Metric::P95,
        Metric::P99,
        Metric::Mean,
        Metric::Max,
        Metric::ErrorRate,
        Metric::Throughput,
    ];

    /// The name used in gate files, tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Metric::P50 => "p50",
            Metric::P90 => "p90",
            Metric::P95 => "p95",
            Metric::P99 => "p99",
            Metric::Mean => "mean",
            Metric::Max => "max",
            Metric::ErrorRate => "error_rate",
            Metric::Throughput => "throughput",
            Metric::Count => "count",
            Metric::CloudWatch => "cloudwatch",
        }
    }

    /// The metric a gate file names, if any.
    pub fn parse(name: &str) -> Option<Self> {
        Self::GATED.into_iter().find(|m| m.name() == name)
    }

    /// How values of this metric are written.
    pub fn kind(self) -> Kind {
        match self {
            Metric::ErrorRate => Kind::Ratio,
            Metric::Throughput => Kind::Rate,
            Metric::Count | Metric::CloudWatch => Kind::Count,
            _ => Kind::Time,
        }
    }

    /// The quantile of a percentile metric.
    pub fn quantile(self) -> Option<f64> {
        match self {
            Metric::P50 => Some(0.50),
            Metric::P90 => Some(0.90),
            Metric::P95 => Some(0.95),
            Metric::P99 => Some(0.99),
            _ => None,
        }
    }

    /// This metric's value for one label of a run.
    pub fn of(self, l: &LabelSummary) -> f64 {
        match self {
            Metric::P50 => l.p50 as f64,
            Metric::P90 => l.p90 as f64,
            Metric::P95 => l.p95 as f64,
            Metric::P99 => l.p99 as f64,
            Metric::Mean => l.mean,
            Metric::Max => l.max as f64,
            Metric::ErrorRate => l.error_rate,
            Metric::Throughput => l.throughput,
            Metric::Count => l.count as f64,
            // Not a label's statistic: judged by `crate::monitor::gate`.
            Metric::CloudWatch => f64::NAN,
        }
    }

    /// A value with its unit.
    pub fn format(self, v: f64) -> String {
        match self {
            Metric::ErrorRate => format!("{:.2}%", v * 100.0),
            Metric::Throughput => format!("{v:.1}/s"),
            Metric::Mean => format!("{v:.1}ms"),
            Metric::Count => format!("{v:.0}"),
            Metric::CloudWatch => format!("{v:.2}"),
            _ => format!("{v:.0}ms"),
        }
    }

    /// A change from the baseline: relative, but in absolute points for
    /// error rates, because a rise from 0% is otherwise infinite.
    pub fn format_change(self, x: f64) -> String {
        if x.is_infinite() {
            return "+inf".into();
        }
        match self {
            Metric::ErrorRate => format!("{:+.2}pt", x * 100.0),
            _ => format!("{:+.1}%", x * 100.0),
        }
    }

    /// The change from `base` to `cur` that relative criteria bound.
    pub fn change(self, base: f64, cur: f64) -> f64 {
        if self == Metric::ErrorRate {
            return cur - base;
        }
        if base == 0.0 {
            return if cur == 0.0 { 0.0 } else { f64::INFINITY };
        }
        (cur - base) / base
    }

    /// Parses an absolute bound as written in a gate file. A bare number
    /// is refused where the unit decides the meaning: `max: 1` on an error
    /// rate could mean 1% or 100%, and on a time 1ms or 1s.
    pub fn absolute(self, s: &str) -> Result<f64, String> {
        let s = s.trim();
        match self.kind() {
            Kind::Time => {
                let v = if let Some(ms) = s.strip_suffix("ms") {
                    number(s, ms)?
                } else if let Some(sec) = s.strip_suffix('s') {
                    number(s, sec)? * 1000.0
                } else {
                    number(s, s)?;
                    return Err(format!(
                        "`{s}` has no unit: write `{s}ms` or `{s}s` for {}",
                        self.name()
                    ));
                };
                non_negative(s, v)
            }
            Kind::Ratio => percent(s),
            Kind::Rate | Kind::Count => non_negative(
                s,
                number(s, s.trim_end_matches("/s").trim_end_matches("rps"))?,
            ),
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Metric {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// The names a gate file may use, for error messages.
pub fn names() -> String {
    Metric::GATED.map(Metric::name).join(", ")
}

/// A finite number; `NaN`, `inf` and `1e999` make a bound that can never
/// be broken, so they are refused.
fn number(whole: &str, t: &str) -> Result<f64, String> {
    let v = t
        .trim()
        .parse::<f64>()
        .map_err(|_| format!("`{whole}` is not a number"))?;
    if !v.is_finite() {
        return Err(format!("`{whole}` is not a finite number"));
    }
    Ok(v)
}

fn non_negative(whole: &str, v: f64) -> Result<f64, String> {
    if v < 0.0 {
        return Err(format!("`{whole}` is negative"));
    }
    Ok(v)
}

/// `10%` → 0.10. A bare number is refused: `10` would silently mean +1000%.
pub fn percent(s: &str) -> Result<f64, String> {
    let s = s.trim();
    let Some(p) = s.strip_suffix('%') else {
        return match s.parse::<f64>() {
            Ok(v) if v.is_finite() => Err(format!(
                "`{s}` has no unit: write a percentage such as `{}%`",
                if v <= 1.0 && v > 0.0 {
                    format!("{}", v * 100.0)
                } else {
                    s.to_string()
                }
            )),
            _ => Err(format!("`{s}` is not a percentage like 10%")),
        };
    };
    let v = number(s, p)? / 100.0;
    non_negative(s, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in Metric::GATED {
            assert_eq!(Metric::parse(m.name()), Some(m));
        }
        assert_eq!(Metric::parse("p97"), None);
        assert_eq!(Metric::parse("count"), None, "count is not gated");
    }

    #[test]
    fn bare_numbers_are_refused_where_a_unit_decides() {
        let e = Metric::P95.absolute("800").unwrap_err();
        assert!(e.contains("no unit") && e.contains("800ms"), "{e}");
        let e = Metric::ErrorRate.absolute("1").unwrap_err();
        assert!(e.contains("no unit"), "{e}");
        let e = percent("10").unwrap_err();
        assert!(e.contains("`10%`"), "{e}");
        let e = percent("0.1").unwrap_err();
        assert!(e.contains("`10%`"), "{e}");
        assert_eq!(Metric::Throughput.absolute("250").unwrap(), 250.0);
        assert_eq!(Metric::Throughput.absolute("250/s").unwrap(), 250.0);
        assert_eq!(Metric::P95.absolute("2s").unwrap(), 2000.0);
        assert_eq!(Metric::ErrorRate.absolute("1%").unwrap(), 0.01);
    }

    #[test]
    fn bounds_are_finite() {
        for bad in ["NaN%", "inf%", "1e999%"] {
            assert!(percent(bad).is_err(), "{bad}");
        }
        for bad in ["NaNms", "infs", "1e999ms"] {
            assert!(Metric::P95.absolute(bad).is_err(), "{bad}");
        }
        assert!(Metric::Throughput.absolute("1e999").is_err());
        assert!(Metric::Throughput.absolute("-5").is_err());
    }
}
