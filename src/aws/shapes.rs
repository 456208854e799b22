//! What the watching wrapper ([`super::watch`]) takes and returns, as
//! stampede's own types: the describe answers' shapes (in the AWS JSON
//! shape, so recorded answers load straight into them), CloudWatch's
//! statistics and one series to fetch. Discovery and queries in
//! `monitor` are pure functions over these.

use std::fmt;

use serde::Deserialize;

/// A resource the Tagging API returned.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaggedArn {
    /// Its ARN.
    #[serde(rename = "ResourceARN")]
    pub arn: String,
}

/// One resource of a stack (DescribeStackResources).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StackResource {
    /// Physical id, once created.
    #[serde(default)]
    pub physical_resource_id: Option<String>,
    /// `AWS::...` type.
    pub resource_type: String,
}

/// An Auto Scaling group (DescribeAutoScalingGroups).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Group {
    /// Its name (the dimension value).
    pub auto_scaling_group_name: String,
    /// Its instances now.
    #[serde(default)]
    pub instances: Vec<GroupInstance>,
    /// Target groups it registers with.
    #[serde(default, rename = "TargetGroupARNs")]
    pub target_group_arns: Vec<String>,
    /// Classic load balancers it registers with.
    #[serde(default)]
    pub load_balancer_names: Vec<String>,
}

/// An instance of a group.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupInstance {
    /// Instance id.
    pub instance_id: String,
}

/// A target group (DescribeTargetGroups).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetGroup {
    /// Its ARN.
    pub target_group_arn: String,
    /// Load balancers forwarding to it.
    #[serde(default)]
    pub load_balancer_arns: Vec<String>,
}

/// A CloudWatch statistic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stat {
    /// Mean of the period's samples.
    Average,
    /// Sum.
    Sum,
    /// Smallest sample.
    Minimum,
    /// Largest sample.
    Maximum,
    /// Number of samples.
    SampleCount,
    /// A percentile, 0 < p < 100.
    Percentile(f64),
}

impl Stat {
    /// Parses CloudWatch's names (`Average`, `p99.9`) and the short forms
    /// (`avg`, `max`).
    pub fn parse(s: &str) -> Option<Stat> {
        let lower = s.trim().to_ascii_lowercase();
        Some(match lower.as_str() {
            "average" | "avg" | "mean" => Stat::Average,
            "sum" => Stat::Sum,
            "minimum" | "min" => Stat::Minimum,
            "maximum" | "max" => Stat::Maximum,
            "samplecount" | "count" => Stat::SampleCount,
            p if p.starts_with('p') => {
                let v: f64 = p[1..].parse().ok()?;
                if !(v > 0.0 && v < 100.0) {
                    return None;
                }
                Stat::Percentile(v)
            }
            _ => return None,
        })
    }
}

impl fmt::Display for Stat {
    /// The name CloudWatch expects in `MetricStat.Stat`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stat::Average => f.write_str("Average"),
            Stat::Sum => f.write_str("Sum"),
            Stat::Minimum => f.write_str("Minimum"),
            Stat::Maximum => f.write_str("Maximum"),
            Stat::SampleCount => f.write_str("SampleCount"),
            Stat::Percentile(p) => write!(f, "p{p}"),
        }
    }
}

/// One CloudWatch series to fetch.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// Namespace.
    pub namespace: String,
    /// Metric name.
    pub metric: String,
    /// Dimensions, sorted by name.
    pub dimensions: Vec<(String, String)>,
    /// Statistic.
    pub stat: Stat,
    /// Seconds per point.
    pub period: u32,
}

impl Query {
    /// `cloudwatch:<namespace>/<metric>`: how the summary, the live view
    /// and the gate name the series.
    pub fn series_id(&self) -> String {
        format!("cloudwatch:{}/{}", self.namespace, self.metric)
    }

    /// A stable text key: namespace, metric, dimensions, statistic, period.
    pub fn key(&self) -> String {
        let dims: Vec<String> = self
            .dimensions
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
            self.namespace,
            self.metric,
            dims.join("\u{1e}"),
            self.stat,
            self.period
        )
    }
}
