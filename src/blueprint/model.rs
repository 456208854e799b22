//! The blueprint file as written: every string still a template.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// A blueprint as parsed from YAML, before rendering.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBlueprint {
    /// Stack name.
    pub stack: String,
    /// AWS region.
    pub region: Option<String>,
    /// CloudFormation template path, relative to the blueprint.
    pub template: Option<String>,
    /// Bucket for testcases, templates and results.
    pub bucket: Option<String>,
    /// Variables, overridable with `--var`.
    #[serde(default)]
    pub vars: BTreeMap<String, Value>,
    /// JMeter testcase path.
    pub testcase: Option<String>,
    /// Stack parameters.
    #[serde(default)]
    pub parameters: BTreeMap<String, Value>,
    /// Stack tags.
    #[serde(default)]
    pub tags: BTreeMap<String, Value>,
    /// Userdata scripts by name.
    #[serde(default)]
    pub userdata: BTreeMap<String, String>,
    /// Where live metrics and results go.
    pub metrics: Option<RawMetrics>,
    /// Gate file path.
    pub gate: Option<String>,
    /// Longest the run may take, e.g. `45m`; default 60m.
    pub timeout: Option<Value>,
    /// `aws` (default) or `local`.
    pub target: Option<String>,
    /// Laptop mode settings.
    pub local: Option<RawLocal>,
    /// JMeter properties passed to every bee (`-Jkey=value`).
    #[serde(default)]
    pub properties: BTreeMap<String, Value>,
    /// Guardrails: most bees, longest duration, most instance-hours.
    pub limits: Option<super::limits::RawLimits>,
    /// The system under test, watched in CloudWatch during the run.
    pub monitor: Option<RawMonitor>,
}

/// The `monitor` section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMonitor {
    /// Tag filters (all must match).
    #[serde(default)]
    pub tags: BTreeMap<String, Value>,
    /// Stack names.
    #[serde(default)]
    pub stacks: Vec<String>,
    /// Seconds per data point.
    pub period: Option<Value>,
    /// Extra metrics.
    #[serde(default)]
    pub metrics: Vec<RawMetric>,
    /// Index of data points.
    pub index: Option<String>,
    /// Index of events.
    pub events_index: Option<String>,
}

/// One entry of `monitor.metrics`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetric {
    /// CloudWatch namespace.
    pub namespace: String,
    /// Metric name.
    pub metric: String,
    /// Dimensions; `*` for every discovered resource.
    #[serde(default)]
    pub dimensions: BTreeMap<String, Value>,
    /// Statistic; default Average.
    pub stat: Option<String>,
}

/// The `metrics` section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetrics {
    /// Elasticsearch / OpenSearch URL.
    pub es: Option<String>,
    /// Index name.
    pub index: Option<String>,
    /// How long shipping may go without indexing a row before it gives
    /// up (a duration like 30s or 2m).
    pub give_up_after: Option<Value>,
    /// Which raw rows still go to the index: all, errors or none.
    pub rows: Option<Value>,
    /// Seconds per rollup interval (a duration like 1s or 5s).
    pub rollup_interval: Option<Value>,
}

/// The `local` section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLocal {
    /// Number of local bee processes.
    pub bees: Option<Value>,
    /// Port of the built-in HTTP target to start, if any.
    pub serve: Option<Value>,
}

/// Turns a YAML scalar into the string CloudFormation expects.
pub fn scalar_to_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Parses `90`, `90s`, `45m`, `2h`, `1h30m` into seconds.
pub fn parse_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(n) = s.parse::<u64>() {
        return Some(n);
    }
    let mut total = 0u64;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().ok()?;
        num.clear();
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return None,
        };
        // Checked: `99999999999999999999h` must be an error, not a wrap.
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    num.is_empty().then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("600"), Some(600));
        assert_eq!(parse_duration("45m"), Some(2700));
        assert_eq!(parse_duration("1h30m"), Some(5400));
        assert_eq!(parse_duration("10x"), None);
        assert_eq!(parse_duration("10m5"), None);
        assert_eq!(parse_duration("9999999999999999999h"), None);
        assert_eq!(parse_duration("18446744073709551615s1s"), None);
    }
}
