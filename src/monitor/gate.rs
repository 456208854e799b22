//! Gate criteria on collected CloudWatch series, e.g.
//! `{ metric: "cloudwatch:AWS/RDS/CPUUtilization", stat: max, max: 80 }`:
//! every series with that id (all groups, all statistics collected) is
//! reduced over the test window by `stat`, and the bound applies to that
//! one number. No noise model fits CloudWatch series, so the bound alone
//! decides, for relative bounds too.

use super::spec;
use super::summary::MonitorSummary;
use crate::gate::{Bound, Check, Criterion, Metric, Verdict};
use crate::results::summary::Summary;

/// How a criterion reduces the points of the matching series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduce {
    /// Largest point.
    Max,
    /// Smallest point.
    Min,
    /// Mean of the points.
    Mean,
    /// Sum of the points (counts: requests, 5xx).
    Sum,
    /// The newest point.
    Last,
}

impl Reduce {
    /// Parses `max`, `min`, `mean` (or `avg`), `sum`, `last`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "max" | "maximum" => Reduce::Max,
            "min" | "minimum" => Reduce::Min,
            "mean" | "avg" | "average" => Reduce::Mean,
            "sum" => Reduce::Sum,
            "last" => Reduce::Last,
            _ => return None,
        })
    }

    /// The name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Reduce::Max => "max",
            Reduce::Min => "min",
            Reduce::Mean => "mean",
            Reduce::Sum => "sum",
            Reduce::Last => "last",
        }
    }
}

/// Checks a criterion's series id: `cloudwatch:<namespace>/<metric>`.
pub fn check_id(id: &str) -> Result<(), String> {
    let rest = id.strip_prefix("cloudwatch:").unwrap_or(id);
    let Some((ns, metric)) = rest.rsplit_once('/') else {
        return Err(format!(
            "`{id}` is not a collected series (write cloudwatch:<namespace>/<metric>, e.g. cloudwatch:AWS/RDS/CPUUtilization)"
        ));
    };
    spec::check_namespace(ns)?;
    spec::check_metric(metric)
}

/// The value of the series `id` reduced by `how`, over every series with
/// that id; `None` when none has points.
pub fn value(m: &MonitorSummary, id: &str, how: Reduce) -> Option<f64> {
    let mut points: Vec<(i64, f64)> = m
        .series
        .iter()
        .filter(|s| s.id == id)
        .flat_map(|s| s.points.iter().copied())
        .collect();
    if points.is_empty() {
        return None;
    }
    let values = points.iter().map(|p| p.1);
    Some(match how {
        Reduce::Max => values.fold(f64::MIN, f64::max),
        Reduce::Min => values.fold(f64::MAX, f64::min),
        Reduce::Sum => values.sum(),
        Reduce::Mean => values.sum::<f64>() / points.len() as f64,
        Reduce::Last => {
            points.sort_by_key(|p| p.0);
            points.last()?.1
        }
    })
}

/// Judges one CloudWatch criterion.
pub fn judge(c: &Criterion, how: Reduce, current: &Summary, baseline: Option<&Summary>) -> Check {
    let id = c.label.as_str();
    let cur = current.monitor.as_ref().and_then(|m| value(m, id, how));
    let base = baseline
        .and_then(|b| b.monitor.as_ref())
        .and_then(|m| value(m, id, how));
    let mut out = Check {
        criterion: c.text.clone(),
        metric: Metric::CloudWatch,
        label: format!("{id} {}", how.name()),
        baseline: base,
        current: cur,
        change: None,
        verdict: Verdict::Pass,
        note: String::new(),
        // CloudWatch statistics arrive aggregated: no noise model.
        noise: None,
    };
    let Some(v) = cur else {
        out.verdict = c.verdict;
        out.note = "no collected points for this series in this run".into();
        return out;
    };
    let f = |x: f64| Metric::CloudWatch.format(x);
    match c.bound {
        Bound::Max(m) if v > m => {
            out.verdict = c.verdict;
            out.note = format!("{} > {}", f(v), f(m));
        }
        Bound::Min(m) if v < m => {
            out.verdict = c.verdict;
            out.note = format!("{} < {}", f(v), f(m));
        }
        Bound::Max(_) | Bound::Min(_) => {}
        Bound::MaxIncrease(limit) | Bound::MaxDecrease(limit) => {
            let Some(b) = base else {
                out.note = "no baseline series: relative criteria pass".into();
                return out;
            };
            let change = Metric::CloudWatch.change(b, v);
            out.change = Some(change);
            let up = matches!(c.bound, Bound::MaxIncrease(_));
            if (up && change > limit) || (!up && -change > limit) {
                out.verdict = c.verdict;
                out.note = "over the bound (no noise model for CloudWatch series: the bound alone decides)".into();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::gate::Gate;
    use crate::monitor::summary::SeriesSummary;

    fn summary(points: &[(i64, f64)]) -> Summary {
        Summary {
            monitor: Some(MonitorSummary {
                series: vec![SeriesSummary {
                    id: "cloudwatch:AWS/RDS/CPUUtilization".into(),
                    namespace: "AWS/RDS".into(),
                    metric: "CPUUtilization".into(),
                    dimensions: [("DBInstanceIdentifier".to_string(), "db1".to_string())].into(),
                    stat: "Average".into(),
                    period: 60,
                    unit: None,
                    points: points.to_vec(),
                }],
                ..MonitorSummary::default()
            }),
            ..Summary::default()
        }
    }

    fn gate(text: &str) -> Gate {
        Gate::parse(Path::new("g.yml"), text).unwrap()
    }

    #[test]
    fn absolute_and_relative_bounds_on_a_collected_series() {
        let g = gate(
            "criteria:\n  - { metric: \"cloudwatch:AWS/RDS/CPUUtilization\", stat: max, max: 80 }\n  - { metric: \"cloudwatch:AWS/RDS/CPUUtilization\", stat: mean, max_increase: 20% }\n",
        );
        let hot = summary(&[(1, 50.0), (2, 91.5), (3, 60.0)]);
        let cool = summary(&[(1, 40.0), (2, 50.0)]);
        let o = crate::gate::judge(&g, &hot, Some(&cool));
        assert_eq!(o.checks[0].verdict, Verdict::Fail, "{:?}", o.checks[0]);
        assert_eq!(o.checks[0].current, Some(91.5));
        assert_eq!(o.checks[0].note, "91.50 > 80.00");
        // Mean 67.2 against 45: +49%.
        assert_eq!(o.checks[1].verdict, Verdict::Fail, "{:?}", o.checks[1]);
        let o = crate::gate::judge(&g, &cool, Some(&cool));
        assert_eq!(o.verdict, Verdict::Pass, "{:?}", o.checks);
    }

    #[test]
    fn a_missing_series_takes_the_criterion_verdict() {
        let g = gate(
            "criteria:\n  - { metric: \"cloudwatch:Shop/OrdersPlaced\", stat: sum, min: 1, verdict: unstable }\n",
        );
        let o = crate::gate::judge(&g, &summary(&[(1, 1.0)]), None);
        assert_eq!(o.verdict, Verdict::Unstable);
        assert!(o.checks[0].note.contains("no collected points"));
    }

    #[test]
    fn bad_cloudwatch_criteria_name_their_line() {
        for (text, msg) in [
            (
                "criteria:\n  - { metric: \"cloudwatch:AWS/Rds/CPUUtilization\", stat: max, max: 80 }\n",
                "unknown AWS namespace",
            ),
            (
                "criteria:\n  - { metric: \"cloudwatch:CPU\", stat: max, max: 80 }\n",
                "not a collected series",
            ),
            (
                "criteria:\n  - { metric: \"cloudwatch:AWS/RDS/CPUUtilization\", stat: median, max: 80 }\n",
                "stat: `median`",
            ),
            (
                "criteria:\n  - { metric: p95, stat: max, max: 1s }\n",
                "only for cloudwatch",
            ),
        ] {
            let e = Gate::parse(Path::new("g.yml"), text)
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("g.yml:2: "), "{e}");
            assert!(e.contains(msg), "{e}");
        }
    }
}
