//! Judging a run against criteria and a baseline.

use serde::Serialize;

use super::noise::{Interval, interval};
use super::{Bound, Criterion, Gate, Metric, glob};
use crate::results::summary::{LabelSummary, Summary};

/// A verdict, ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Within bounds.
    Pass,
    /// Worth a look; does not fail the build by default.
    Unstable,
    /// Fails the build.
    Fail,
}

impl Verdict {
    /// Upper-case name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Unstable => "UNSTABLE",
            Verdict::Fail => "FAIL",
        }
    }
}

/// One criterion applied to one label.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// The criterion as written.
    pub criterion: String,
    /// The metric.
    pub metric: Metric,
    /// The label (or `total`).
    pub label: String,
    /// The baseline's value, when there is one.
    pub baseline: Option<f64>,
    /// This run's value.
    pub current: Option<f64>,
    /// Relative change (a fraction; absolute points for error_rate).
    pub change: Option<f64>,
    /// The verdict.
    pub verdict: Verdict,
    /// Why, in a few words.
    pub note: String,
    /// Both runs' 95% intervals, for a relative criterion with a baseline
    /// on a metric with a noise model (the report's "noise" column).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noise: Option<Noise>,
}

/// The two intervals a relative criterion compared.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Noise {
    /// The baseline's interval.
    pub baseline: Interval,
    /// This run's interval.
    pub current: Interval,
}

/// The gate's result.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Every check, in criterion order.
    pub checks: Vec<Check>,
    /// The worst verdict.
    pub verdict: Verdict,
}

/// Applies every criterion of `gate` to `current`, relative ones against
/// `baseline` when there is one.
pub fn judge(gate: &Gate, current: &Summary, baseline: Option<&Summary>) -> Outcome {
    let mut checks = Vec::new();
    for c in &gate.criteria {
        if let Some(how) = c.reduce {
            checks.push(crate::monitor::gate::judge(c, how, current, baseline));
            continue;
        }
        let labels: Vec<&LabelSummary> = if c.label == "total" {
            current.total.iter().collect()
        } else {
            current
                .labels
                .iter()
                .filter(|l| glob(&c.label, &l.label))
                .collect()
        };
        if labels.is_empty() {
            let literal = !c.label.contains(['*', '?']);
            checks.push(Check {
                criterion: c.text.clone(),
                metric: c.metric,
                label: c.label.clone(),
                baseline: None,
                current: None,
                change: None,
                verdict: if literal { c.verdict } else { Verdict::Pass },
                note: if literal {
                    "no samples with this label in this run".into()
                } else {
                    "no label matches".into()
                },
                noise: None,
            });
            continue;
        }
        for l in labels {
            let base = baseline.and_then(|b| b.label(&l.label));
            checks.push(check(c, l, base, baseline.is_some()));
        }
    }
    let verdict = checks
        .iter()
        .map(|c| c.verdict)
        .max()
        .unwrap_or(Verdict::Pass);
    Outcome { checks, verdict }
}

fn check(
    c: &Criterion,
    cur: &LabelSummary,
    base: Option<&LabelSummary>,
    has_baseline: bool,
) -> Check {
    let value = Some(c.metric.of(cur));
    let base_value = base.map(|b| c.metric.of(b));
    let mut out = Check {
        criterion: c.text.clone(),
        metric: c.metric,
        label: cur.label.clone(),
        baseline: base_value,
        current: value,
        change: None,
        verdict: Verdict::Pass,
        note: String::new(),
        noise: None,
    };
    let Some(v) = value else { return out };
    match c.bound {
        Bound::Max(m) => {
            if v > m {
                out.verdict = c.verdict;
                out.note = format!("{} > {}", c.metric.format(v), c.metric.format(m));
            }
        }
        Bound::Min(m) => {
            if v < m {
                out.verdict = c.verdict;
                out.note = format!("{} < {}", c.metric.format(v), c.metric.format(m));
            }
        }
        Bound::MaxIncrease(limit) | Bound::MaxDecrease(limit) => {
            let (Some(b), Some(base)) = (base_value, base) else {
                out.note = if has_baseline {
                    "new label: no baseline to compare".into()
                } else {
                    "no baseline (first build): relative criteria pass".into()
                };
                return out;
            };
            let up = matches!(c.bound, Bound::MaxIncrease(_));
            let change = c.metric.change(b, v);
            out.change = Some(change);
            let (ci, bi) = (interval(c.metric, cur), interval(c.metric, base));
            if let (Some(current), Some(baseline)) = (ci, bi) {
                out.noise = Some(Noise { baseline, current });
            }
            let over = if up { change > limit } else { -change > limit };
            if !over {
                return out;
            }
            match (ci, bi) {
                (Some(ci), Some(bi)) if !separated(ci, bi, up) => {
                    out.note = format!(
                        "over the bound but within run-to-run noise ({})",
                        ranges(c.metric, bi, ci)
                    );
                }
                (Some(ci), Some(bi)) => {
                    out.verdict = c.verdict;
                    out.note = format!("beyond noise ({})", ranges(c.metric, bi, ci));
                }
                _ => {
                    out.verdict = c.verdict;
                    out.note = "over the bound (no noise model for this metric)".into();
                }
            }
        }
    }
    out
}

fn separated(cur: Interval, base: Interval, up: bool) -> bool {
    if up {
        cur.lo > base.hi
    } else {
        cur.hi < base.lo
    }
}

fn ranges(metric: Metric, base: Interval, cur: Interval) -> String {
    format!(
        "95% intervals: baseline {}..{}, current {}..{}",
        metric.format(base.lo),
        metric.format(base.hi),
        metric.format(cur.lo),
        metric.format(cur.hi)
    )
}

#[cfg(test)]
mod tests;
