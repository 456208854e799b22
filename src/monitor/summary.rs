//! The `monitor` section of `summary.json` (see SCHEMA.md): every series
//! collected over the test window, the call counts, and the resources.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::collect::Series;
use super::discover::Resource;

/// Collected CloudWatch series of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MonitorSummary {
    /// Series with at least one point.
    pub series: Vec<SeriesSummary>,
    /// GetMetricData calls over the whole run.
    pub calls: u32,
    /// Throttled calls that were retried.
    pub throttled: u32,
    /// The resources watched at the end.
    pub resources: Vec<ResourceSummary>,
}

/// One series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesSummary {
    /// `cloudwatch:<namespace>/<metric>`.
    pub id: String,
    /// Namespace.
    pub namespace: String,
    /// Metric name.
    pub metric: String,
    /// Dimensions.
    pub dimensions: BTreeMap<String, String>,
    /// Statistic, as CloudWatch names it.
    pub stat: String,
    /// Seconds per point.
    pub period: u32,
    /// Unit, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// `[epoch ms, value]`, oldest first.
    pub points: Vec<(i64, f64)>,
}

/// One watched resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceSummary {
    /// Kind, e.g. `autoscaling-group`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Id as users know it.
    pub id: String,
}

impl MonitorSummary {
    /// The section from the last collection's series and resources.
    pub fn new(series: &[Series], resources: &[Resource], calls: u32, throttled: u32) -> Self {
        MonitorSummary {
            series: series
                .iter()
                .filter(|s| !s.points.is_empty())
                .map(|s| SeriesSummary {
                    id: s.query.series_id(),
                    namespace: s.query.namespace.clone(),
                    metric: s.query.metric.clone(),
                    dimensions: s.query.dimensions.iter().cloned().collect(),
                    stat: s.query.stat.to_string(),
                    period: s.query.period,
                    unit: None,
                    points: s.points.clone(),
                })
                .collect(),
            calls,
            throttled,
            resources: resources
                .iter()
                .map(|r| ResourceSummary {
                    kind: r.kind.name().into(),
                    id: r.id.clone(),
                })
                .collect(),
        }
    }
}
