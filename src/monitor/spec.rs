//! What to watch: the rendered `monitor:` section (or `collect`'s flags),
//! checked so that a bad namespace, statistic, dimension or period stops
//! the run before anything is created.

/// Default index of collected data points.
pub const METRICS_INDEX: &str = "stampede-metrics";
/// Default index of events (Grafana annotations).
pub const EVENTS_INDEX: &str = "stampede-events";
/// Default period, seconds.
pub const DEFAULT_PERIOD: u32 = 60;

/// The rendered, checked watch list.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// Resources of the system under test, by tag (all must match).
    pub tags: Vec<(String, String)>,
    /// Every resource of these stacks.
    pub stacks: Vec<String>,
    /// Seconds per data point.
    pub period: u32,
    /// Metrics added to the defaults of discovered resources.
    pub metrics: Vec<MetricSpec>,
    /// Index of data points.
    pub index: String,
    /// Index of events.
    pub events_index: String,
}

impl Spec {
    /// A spec with defaults for everything but what to watch.
    pub fn new(tags: Vec<(String, String)>, stacks: Vec<String>) -> Self {
        Spec {
            tags,
            stacks,
            period: DEFAULT_PERIOD,
            metrics: Vec::new(),
            index: METRICS_INDEX.into(),
            events_index: EVENTS_INDEX.into(),
        }
    }

    /// The monitored tags as a JSON object, stored with every document.
    pub fn tags_json(&self) -> serde_json::Value {
        self.tags
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }
}

/// A metric the user asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSpec {
    /// CloudWatch namespace, e.g. `Shop` or `AWS/RDS`.
    pub namespace: String,
    /// Metric name.
    pub metric: String,
    /// Dimensions; `*` values are filled from discovered resources.
    pub dimensions: Vec<(String, DimValue)>,
    /// Statistic.
    pub stat: Stat,
}

/// A dimension value in a metric spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DimValue {
    /// `*`: one query per discovered resource that has this dimension.
    Any,
    /// This value only.
    Exact(String),
}

pub use crate::aws::shapes::Stat;

/// Dimensions that discovery fills in, so `*` may stand for them.
pub const DISCOVERED_DIMENSIONS: &[&str] = &[
    "AutoScalingGroupName",
    "InstanceId",
    "LoadBalancer",
    "TargetGroup",
    "LoadBalancerName",
    "DBInstanceIdentifier",
    "CacheClusterId",
];

/// AWS namespaces stampede knows; any other `AWS/...` is a typo.
const AWS_NAMESPACES: &[&str] = &[
    "AWS/ApiGateway",
    "AWS/AppRunner",
    "AWS/ApplicationELB",
    "AWS/AutoScaling",
    "AWS/Billing",
    "AWS/CloudFront",
    "AWS/DocDB",
    "AWS/DynamoDB",
    "AWS/EBS",
    "AWS/EC2",
    "AWS/ECS",
    "AWS/EFS",
    "AWS/EKS",
    "AWS/ELB",
    "AWS/ES",
    "AWS/ElastiCache",
    "AWS/Events",
    "AWS/Firehose",
    "AWS/Kafka",
    "AWS/Kinesis",
    "AWS/Lambda",
    "AWS/Logs",
    "AWS/MemoryDB",
    "AWS/NATGateway",
    "AWS/NetworkELB",
    "AWS/OpenSearchService",
    "AWS/RDS",
    "AWS/Route53",
    "AWS/S3",
    "AWS/SES",
    "AWS/SNS",
    "AWS/SQS",
    "AWS/States",
    "AWS/WAFV2",
    "ContainerInsights",
    "CWAgent",
];

/// Checks a period: 1, 5, 10 or 30 (high resolution) or a multiple of 60.
pub fn check_period(p: u64) -> Result<u32, String> {
    if matches!(p, 1 | 5 | 10 | 30) || (p >= 60 && p.is_multiple_of(60) && p <= 86_400) {
        Ok(p as u32)
    } else {
        Err(format!(
            "period {p} is not one CloudWatch accepts: 1, 5, 10, 30 (high-resolution custom metrics) or a multiple of 60 up to 86400"
        ))
    }
}

/// Checks a namespace: CloudWatch's characters, and no unknown `AWS/...`.
pub fn check_namespace(ns: &str) -> Result<(), String> {
    let ok_chars = ns
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || " ._-/#:".contains(c));
    if ns.is_empty() || ns.len() > 255 || !ok_chars || ns.starts_with(':') {
        return Err(format!(
            "namespace {ns:?} is not valid (1-255 letters, digits and . _ - / # : characters)"
        ));
    }
    if (ns.starts_with("AWS/") || ns.eq_ignore_ascii_case("aws")) && !AWS_NAMESPACES.contains(&ns) {
        let hint = AWS_NAMESPACES
            .iter()
            .find(|k| k.eq_ignore_ascii_case(ns))
            .map_or(String::new(), |k| format!(" (did you mean {k}?)"));
        return Err(format!("unknown AWS namespace {ns:?}{hint}"));
    }
    Ok(())
}

/// Checks a metric name.
pub fn check_metric(name: &str) -> Result<(), String> {
    if name.trim().is_empty() || name.len() > 255 {
        return Err(format!("metric name {name:?} must be 1-255 characters"));
    }
    Ok(())
}

/// Checks one dimension; `*` is allowed only where discovery fills it in.
pub fn check_dimension(name: &str, value: &str) -> Result<DimValue, String> {
    if name.is_empty()
        || name.len() > 255
        || name.starts_with(':')
        || name.contains(char::is_whitespace)
    {
        return Err(format!(
            "dimension name {name:?} is malformed (1-255 characters, no spaces, not starting with ':')"
        ));
    }
    if value == "*" {
        if !DISCOVERED_DIMENSIONS.contains(&name) {
            return Err(format!(
                "dimension {name}: \"*\" only works for dimensions discovery fills in ({})",
                DISCOVERED_DIMENSIONS.join(", ")
            ));
        }
        return Ok(DimValue::Any);
    }
    if value.is_empty() || value.len() > 1024 {
        return Err(format!(
            "dimension {name}: value must be 1-1024 characters or \"*\""
        ));
    }
    Ok(DimValue::Exact(value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_in_either_spelling() {
        assert_eq!(Stat::parse("Average"), Some(Stat::Average));
        assert_eq!(Stat::parse("max"), Some(Stat::Maximum));
        assert_eq!(Stat::parse("p99.9"), Some(Stat::Percentile(99.9)));
        assert_eq!(Stat::Percentile(99.9).to_string(), "p99.9");
        assert_eq!(Stat::parse("median"), None);
        assert_eq!(Stat::parse("p100"), None);
    }

    #[test]
    fn periods_cloudwatch_accepts() {
        assert!(check_period(60).is_ok());
        assert!(check_period(10).is_ok());
        assert!(check_period(300).is_ok());
        assert!(check_period(45).is_err());
        assert!(check_period(0).is_err());
    }

    #[test]
    fn namespaces() {
        assert!(check_namespace("Shop").is_ok());
        assert!(check_namespace("System/Detail/Linux").is_ok());
        assert!(check_namespace("AWS/RDS").is_ok());
        let e = check_namespace("AWS/rds").unwrap_err();
        assert!(e.contains("did you mean AWS/RDS"), "{e}");
        assert!(check_namespace("AWS/Nope").is_err());
        assert!(check_namespace("").is_err());
        assert!(check_namespace("a{b}").is_err());
    }

    #[test]
    fn dimensions() {
        assert_eq!(
            check_dimension("AutoScalingGroupName", "*"),
            Ok(DimValue::Any)
        );
        assert!(check_dimension("Color", "*").is_err());
        assert!(check_dimension("", "x").is_err());
        assert!(check_dimension("Has space", "x").is_err());
        assert!(check_dimension("Shop", "").is_err());
    }
}
