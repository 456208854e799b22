//! The regression gate: criteria from a gate file, judged on a run's
//! summary against a baseline's, with run-to-run noise taken into account.

mod judge;
pub mod metric;
mod noise;
pub mod report;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use judge::{Check, Outcome, Verdict, judge};
pub use metric::Metric;

/// Gate file problems, with the file and line.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// Unreadable file.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: crate::input_file::InputFileError,
    },
    /// Invalid content.
    #[error("{}:{line}: {message}", path.display())]
    At {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl crate::exit::Classify for GateError {
    fn exit_code(&self) -> u8 {
        crate::exit::BAD_INPUT
    }
}

/// Where the baseline comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Baseline {
    /// The last build whose gate passed (the `latest-passed` pointer).
    Previous,
    /// A summary or JTL on disk.
    Path(PathBuf),
    /// A summary in S3.
    S3(String),
}

/// What a criterion bounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    /// The value may not exceed this.
    Max(f64),
    /// The value may not fall below this.
    Min(f64),
    /// Relative rise over the baseline (a fraction; for error_rate, in
    /// absolute points).
    MaxIncrease(f64),
    /// Relative fall below the baseline (a fraction).
    MaxDecrease(f64),
}

/// One criterion.
#[derive(Debug, Clone, PartialEq)]
pub struct Criterion {
    /// What is bounded.
    pub metric: Metric,
    /// `total`, a label, or a glob over labels (`*`, `api/*`).
    pub label: String,
    /// The bound.
    pub bound: Bound,
    /// The verdict when the bound is broken.
    pub verdict: Verdict,
    /// The criterion as written, for reports.
    pub text: String,
    /// For a `cloudwatch:` series: how its points are reduced.
    pub reduce: Option<crate::monitor::gate::Reduce>,
}

/// A gate file.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    /// Baseline source.
    pub baseline: Baseline,
    /// Criteria, in file order.
    pub criteria: Vec<Criterion>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGate {
    baseline: Option<String>,
    #[serde(default)]
    criteria: Vec<RawCriterion>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCriterion {
    metric: String,
    #[serde(default = "total")]
    label: String,
    max: Option<serde_json::Value>,
    min: Option<serde_json::Value>,
    max_increase: Option<serde_json::Value>,
    max_decrease: Option<serde_json::Value>,
    verdict: Option<String>,
    stat: Option<String>,
}

fn total() -> String {
    "total".into()
}

impl Gate {
    /// The gate `compare` uses when none is given: p95 of every label and
    /// of the total may rise at most 10%, the error rate at most 1 point,
    /// and most samples may not fail.
    pub fn default_gate() -> Self {
        Self::builtin(
            "criteria:\n  - { metric: p95, label: total, max_increase: 10% }\n  - { metric: p95, label: \"*\", max_increase: 10% }\n  - { metric: error_rate, label: total, max_increase: 1% }\n  - { metric: error_rate, label: total, max: 50% }\n",
        )
    }

    /// The gate a run without a gate file still applies: a test in which
    /// most samples failed tested nothing, and must not pass.
    pub fn sanity() -> Self {
        Self::builtin(SANITY_GATE)
    }

    fn builtin(text: &str) -> Self {
        match Self::parse(Path::new("(built-in gate)"), text) {
            Ok(g) => g,
            // The texts are constants checked by a unit test.
            Err(e) => unreachable!("built-in gate: {e}"),
        }
    }

    /// Reads a gate file.
    pub fn read(path: &Path) -> Result<Self, GateError> {
        let text = crate::input_file::read_text(path, crate::input_file::MAX_TEXT_BYTES).map_err(
            |source| GateError::Read {
                path: path.to_path_buf(),
                source,
            },
        )?;
        Self::parse(path, &text)
    }

    /// Parses gate YAML; `path` names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self, GateError> {
        let at = |line: usize, message: String| GateError::At {
            path: path.to_path_buf(),
            line,
            message,
        };
        let raw: RawGate = serde_norway::from_str(text).map_err(|e| {
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            at(e.location().map_or(1, |l| l.line()), msg)
        })?;
        let baseline = match raw.baseline.as_deref().map(str::trim) {
            None | Some("previous") => Baseline::Previous,
            Some(s) if s.starts_with("s3://") => Baseline::S3(s.to_string()),
            Some(s) => Baseline::Path(path.parent().unwrap_or(Path::new(".")).join(s)),
        };
        let metric_lines: Vec<usize> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.contains("metric:"))
            .map(|(i, _)| i + 1)
            .collect();
        let criteria = raw
            .criteria
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                criterion(c).map_err(|m| at(metric_lines.get(i).copied().unwrap_or(1), m))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if criteria.is_empty() {
            return Err(at(1, "the gate has no criteria".into()));
        }
        Ok(Gate { baseline, criteria })
    }
}

/// The built-in gate of a run without a gate file, as YAML.
pub const SANITY_GATE: &str = "criteria:\n  - { metric: error_rate, label: total, max: 50% }\n";

fn criterion(mut c: RawCriterion) -> Result<Criterion, String> {
    let reduce = if c.metric.starts_with("cloudwatch:") {
        crate::monitor::gate::check_id(&c.metric)?;
        let stat = c.stat.as_deref().unwrap_or("max");
        let r = crate::monitor::gate::Reduce::parse(stat)
            .ok_or_else(|| format!("stat: `{stat}` is not one of max, min, mean, sum, last"))?;
        // The series id stands where a label would.
        c.label = std::mem::take(&mut c.metric);
        c.metric = Metric::CloudWatch.name().into();
        Some(r)
    } else if c.stat.is_some() {
        return Err(format!(
            "stat: only for cloudwatch: series (`{}` is a statistic itself)",
            c.metric
        ));
    } else {
        None
    };
    let metric = if reduce.is_some() {
        Metric::CloudWatch
    } else {
        Metric::parse(&c.metric).ok_or_else(|| {
            format!(
                "unknown metric `{}` (one of: {})",
                c.metric,
                metric::names()
            )
        })?
    };
    let bounds = [
        ("max", c.max.as_ref()),
        ("min", c.min.as_ref()),
        ("max_increase", c.max_increase.as_ref()),
        ("max_decrease", c.max_decrease.as_ref()),
    ];
    let given: Vec<_> = bounds.iter().filter(|(_, v)| v.is_some()).collect();
    let [(name, Some(value))] = given.as_slice() else {
        return Err(format!(
            "criterion on {} {} needs exactly one of max, min, max_increase, max_decrease",
            c.metric, c.label
        ));
    };
    let raw = match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        other => return Err(format!("{name}: {other} is not a number")),
    };
    let bound = match *name {
        "max" => metric.absolute(&raw).map(Bound::Max),
        "min" => metric.absolute(&raw).map(Bound::Min),
        "max_increase" => metric::percent(&raw).map(Bound::MaxIncrease),
        _ => metric::percent(&raw).map(Bound::MaxDecrease),
    }
    .map_err(|e| format!("{name}: {e}"))?;
    let verdict = match c.verdict.as_deref() {
        None | Some("fail") => Verdict::Fail,
        Some("unstable") => Verdict::Unstable,
        Some(v) => return Err(format!("verdict: `{v}` is neither fail nor unstable")),
    };
    let text = match reduce {
        Some(r) => format!("{} {} {name} {raw}", c.label, r.name()),
        None => format!("{} {} {name} {raw}", c.metric, c.label),
    };
    Ok(Criterion {
        text,
        reduce,
        metric,
        label: c.label,
        bound,
        verdict,
    })
}

/// `*` and `?` globs, for label patterns.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_design_example() {
        let g = Gate::parse(
            Path::new("g.yml"),
            "baseline: previous\ncriteria:\n  - { metric: p95, label: total, max: 800ms }\n  - { metric: p95, label: \"*\", max_increase: 10%, verdict: unstable }\n  - { metric: error_rate, label: total, max: 1% }\n  - { metric: throughput, label: total, max_decrease: 5% }\n",
        )
        .unwrap();
        assert_eq!(g.baseline, Baseline::Previous);
        assert_eq!(g.criteria[0].bound, Bound::Max(800.0));
        assert_eq!(g.criteria[1].bound, Bound::MaxIncrease(0.10));
        assert_eq!(g.criteria[1].verdict, Verdict::Unstable);
        assert_eq!(g.criteria[2].bound, Bound::Max(0.01));
        assert_eq!(g.criteria[3].bound, Bound::MaxDecrease(0.05));
    }

    #[test]
    fn bad_criterion_names_its_line() {
        let e = Gate::parse(
            Path::new("g.yml"),
            "criteria:\n  - { metric: p95, max: 1s }\n  - { metric: p97, max: 1s }\n",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "g.yml:3: unknown metric `p97` (one of: p50, p90, p95, p99, mean, max, error_rate, throughput)"
        );
        let e = Gate::parse(
            Path::new("g.yml"),
            "criteria:\n  - { metric: p95, max: fast }\n",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(e, "g.yml:2: max: `fast` is not a number");
        let e = Gate::parse(
            Path::new("g.yml"),
            "criteria:\n  - { metric: p95, max: 1s, min: 2 }\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("needs exactly one of"), "{e}");
    }

    #[test]
    fn seconds_and_milliseconds() {
        let g = Gate::parse(
            Path::new("g"),
            "criteria:\n  - { metric: p99, max: 2s }\n  - { metric: mean, max: 250ms }\n",
        )
        .unwrap();
        assert_eq!(g.criteria[0].bound, Bound::Max(2000.0));
        assert_eq!(g.criteria[1].bound, Bound::Max(250.0));
    }

    #[test]
    fn a_bare_number_is_bad_input_with_a_suggestion() {
        // `max_increase: 10` once meant +1000%, so a +325% slowdown passed.
        let e = Gate::parse(
            Path::new("g.yml"),
            "criteria:\n  - { metric: p95, max_increase: 10 }\n",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "g.yml:2: max_increase: `10` has no unit: write a percentage such as `10%`"
        );
        let e = Gate::parse(
            Path::new("g.yml"),
            "criteria:\n  - { metric: error_rate, max: 1 }\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("g.yml:2: max: `1` has no unit"), "{e}");
        let e = Gate::parse(
            Path::new("g.yml"),
            "criteria:\n  - { metric: p95, max: NaN }\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("g.yml:2"), "{e}");
    }

    #[test]
    fn built_in_gates_parse() {
        assert_eq!(Gate::default_gate().criteria.len(), 4);
        assert_eq!(Gate::sanity().criteria[0].bound, Bound::Max(0.5));
    }

    #[test]
    fn globs() {
        assert!(glob("*", "checkout"));
        assert!(glob("api/*", "api/items"));
        assert!(!glob("api/*", "home"));
        assert!(glob("a?c*", "abcdef"));
        assert!(glob("search, filtered", "search, filtered"));
    }
}
