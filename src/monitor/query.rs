//! The metric queries a set of resources needs: defaults per kind plus the
//! blueprint's own metrics, with `*` dimensions filled from discovery.

use std::collections::BTreeSet;

use super::discover::{Kind, Resource};
use super::spec::{DimValue, MetricSpec, Spec, Stat};

pub use crate::aws::shapes::Query;

const EC2: &[(&str, Stat)] = &[
    ("CPUUtilization", Stat::Average),
    ("CPUUtilization", Stat::Maximum),
    ("NetworkIn", Stat::Sum),
    ("NetworkOut", Stat::Sum),
];
const ALB: &[(&str, Stat)] = &[
    ("RequestCount", Stat::Sum),
    ("TargetResponseTime", Stat::Average),
    ("HTTPCode_Target_5XX_Count", Stat::Sum),
    ("HTTPCode_ELB_5XX_Count", Stat::Sum),
];
const NLB: &[(&str, Stat)] = &[
    ("NewFlowCount", Stat::Sum),
    ("ActiveFlowCount", Stat::Average),
    ("ProcessedBytes", Stat::Sum),
];
const TARGET_GROUP: &[(&str, Stat)] = &[
    ("HealthyHostCount", Stat::Minimum),
    ("UnHealthyHostCount", Stat::Maximum),
];
const ELB: &[(&str, Stat)] = &[
    ("RequestCount", Stat::Sum),
    ("Latency", Stat::Average),
    ("HTTPCode_Backend_5XX", Stat::Sum),
    ("HTTPCode_ELB_5XX", Stat::Sum),
    ("HealthyHostCount", Stat::Minimum),
    ("UnHealthyHostCount", Stat::Maximum),
];
const RDS: &[(&str, Stat)] = &[
    ("CPUUtilization", Stat::Average),
    ("DatabaseConnections", Stat::Average),
    ("ReadLatency", Stat::Average),
    ("WriteLatency", Stat::Average),
    ("ReadIOPS", Stat::Average),
    ("WriteIOPS", Stat::Average),
    ("FreeableMemory", Stat::Minimum),
    ("SwapUsage", Stat::Maximum),
];
const ELASTICACHE: &[(&str, Stat)] = &[
    ("CPUUtilization", Stat::Average),
    ("CacheHits", Stat::Sum),
    ("CacheMisses", Stat::Sum),
    ("CurrConnections", Stat::Average),
    ("CurrItems", Stat::Average),
    ("Evictions", Stat::Sum),
];

/// The default namespace and metrics of a kind.
pub fn defaults(kind: Kind) -> (&'static str, &'static [(&'static str, Stat)]) {
    match kind {
        Kind::AutoScalingGroup | Kind::Instance => ("AWS/EC2", EC2),
        Kind::ApplicationLoadBalancer => ("AWS/ApplicationELB", ALB),
        Kind::NetworkLoadBalancer => ("AWS/NetworkELB", NLB),
        // Host counts of a target group behind an NLB live in AWS/NetworkELB;
        // the pair's dimensions say which (see `target_group_namespace`).
        Kind::TargetGroup => ("AWS/ApplicationELB", TARGET_GROUP),
        Kind::ClassicLoadBalancer => ("AWS/ELB", ELB),
        Kind::DbInstance => ("AWS/RDS", RDS),
        Kind::CacheCluster => ("AWS/ElastiCache", ELASTICACHE),
    }
}

fn target_group_namespace(r: &Resource) -> &'static str {
    let behind_nlb = r
        .dimensions
        .iter()
        .any(|(k, v)| k == "LoadBalancer" && v.starts_with("net/"));
    if behind_nlb {
        "AWS/NetworkELB"
    } else {
        "AWS/ApplicationELB"
    }
}

/// The queries for `resources` under `spec`, without duplicates, plus a
/// warning for each blueprint metric whose `*` matched no resource.
pub fn plan(resources: &[Resource], spec: &Spec) -> (Vec<Query>, Vec<String>) {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut push = |q: Query| {
        if seen.insert(q.key()) {
            out.push(q);
        }
    };
    for r in resources.iter().filter(|r| r.member_of.is_none()) {
        let (mut ns, metrics) = defaults(r.kind);
        if r.kind == Kind::TargetGroup {
            ns = target_group_namespace(r);
        }
        for (metric, stat) in metrics {
            push(Query {
                namespace: ns.into(),
                metric: (*metric).into(),
                dimensions: r.dimensions.clone(),
                stat: *stat,
                period: spec.period,
            });
        }
    }
    let mut warnings = Vec::new();
    for m in &spec.metrics {
        let expanded = expand(m, resources, spec.period);
        if expanded.is_empty() {
            let wanted: Vec<&str> = m
                .dimensions
                .iter()
                .filter(|(_, v)| *v == DimValue::Any)
                .map(|(k, _)| k.as_str())
                .collect();
            warnings.push(format!(
                "{}/{}: no discovered resource has dimension {} (\"*\"), so it is not collected",
                m.namespace,
                m.metric,
                wanted.join(" and ")
            ));
        }
        for q in expanded {
            push(q);
        }
    }
    (out, warnings)
}

/// One query per combination of discovered values for the `*` dimensions
/// (all of them from the same resource).
fn expand(m: &MetricSpec, resources: &[Resource], period: u32) -> Vec<Query> {
    let exact: Vec<(String, String)> = m
        .dimensions
        .iter()
        .filter_map(|(k, v)| match v {
            DimValue::Exact(s) => Some((k.clone(), s.clone())),
            DimValue::Any => None,
        })
        .collect();
    let any: Vec<&str> = m
        .dimensions
        .iter()
        .filter(|(_, v)| *v == DimValue::Any)
        .map(|(k, _)| k.as_str())
        .collect();
    let query = |mut dimensions: Vec<(String, String)>| {
        dimensions.sort();
        Query {
            namespace: m.namespace.clone(),
            metric: m.metric.clone(),
            dimensions,
            stat: m.stat,
            period,
        }
    };
    if any.is_empty() {
        return vec![query(exact)];
    }
    let mut out: Vec<Query> = Vec::new();
    for r in resources {
        let values: Option<Vec<(String, String)>> = any
            .iter()
            .map(|name| {
                r.dimensions
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(k, v)| (k.clone(), v.clone()))
            })
            .collect();
        if let Some(mut dims) = values {
            dims.extend(exact.iter().cloned());
            let q = query(dims);
            if !out.iter().any(|o| o.key() == q.key()) {
                out.push(q);
            }
        }
    }
    out
}
