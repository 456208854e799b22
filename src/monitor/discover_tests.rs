//! Discovery on describe answers recorded from moto 5.2.5 (a tagged group
//! of two instances registered with an ALB's target group) and on a
//! DescribeStackResources answer in AWS's documented shape.

use serde::Deserialize;

use super::*;
use crate::aws::shapes::{GroupInstance, TaggedArn};
use crate::monitor::query::{self, Query};
use crate::monitor::spec::{DimValue, MetricSpec, Spec, Stat};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetResources {
    resource_tag_mapping_list: Vec<TaggedArn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Groups {
    auto_scaling_groups: Vec<Group>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TargetGroups {
    target_groups: Vec<TargetGroup>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StackResources {
    stack_resources: Vec<StackResource>,
}

fn recorded<T: for<'de> Deserialize<'de>>(text: &str) -> T {
    serde_json::from_str(text).unwrap()
}

/// The recorded tagged world, discovered as `resolve::discover` does.
fn tagged_world() -> Found {
    let mut f = Found::default();
    let tagged: GetResources = recorded(include_str!("testdata/get_resources.json"));
    for t in &tagged.resource_tag_mapping_list {
        f.add_arn(&t.arn);
    }
    let groups: Groups = recorded(include_str!("testdata/describe_auto_scaling_groups.json"));
    for g in &groups.auto_scaling_groups {
        f.add_group(g);
    }
    assert_eq!(f.target_groups_to_describe().len(), 1);
    let tgs: TargetGroups = recorded(include_str!("testdata/describe_target_groups.json"));
    for tg in &tgs.target_groups {
        f.add_target_group(tg);
    }
    assert!(f.target_groups_to_describe().is_empty());
    f
}

fn dims(r: &Resource) -> Vec<(&str, &str)> {
    r.dimensions
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[test]
fn tags_resolve_to_the_dimensions_cloudwatch_expects() {
    let f = tagged_world();
    let rs = f.resources();
    assert_eq!(
        describe(&rs),
        "1 autoscaling-group, 2 ec2-instance, 1 alb, 1 target-group"
    );
    let by_kind = |k: Kind| rs.iter().filter(move |r| r.kind == k);
    let group = by_kind(Kind::AutoScalingGroup).next().unwrap();
    assert_eq!(dims(group), vec![("AutoScalingGroupName", "web-smoke")]);
    let alb = by_kind(Kind::ApplicationLoadBalancer).next().unwrap();
    assert_eq!(
        dims(alb),
        vec![("LoadBalancer", "app/lb-smoke/dc3f0f6601441c1a")]
    );
    let tg = by_kind(Kind::TargetGroup).next().unwrap();
    assert_eq!(
        dims(tg),
        vec![
            ("LoadBalancer", "app/lb-smoke/dc3f0f6601441c1a"),
            ("TargetGroup", "targetgroup/lb-smoke-tg/e4ceb21c58e106ef")
        ]
    );
    // The instances were tagged themselves (PropagateAtLaunch), so they
    // keep their own defaults even though the group lists them too.
    assert!(by_kind(Kind::Instance).all(|i| i.member_of.is_none()));
    assert_eq!(f.group_names(), vec!["web-smoke".to_string()]);
}

#[test]
fn default_metrics_per_kind_and_blueprint_wildcards() {
    let rs = tagged_world().resources();
    let mut spec = Spec::new(vec![("Env".into(), "smoke".into())], vec![]);
    spec.metrics = vec![
        MetricSpec {
            namespace: "System/Detail/Linux".into(),
            metric: "MemoryUtilization".into(),
            dimensions: vec![("AutoScalingGroupName".into(), DimValue::Any)],
            stat: Stat::Average,
        },
        MetricSpec {
            namespace: "Shop".into(),
            metric: "OrdersPlaced".into(),
            dimensions: vec![],
            stat: Stat::Sum,
        },
        MetricSpec {
            namespace: "AWS/RDS".into(),
            metric: "CPUUtilization".into(),
            dimensions: vec![("DBInstanceIdentifier".into(), DimValue::Any)],
            stat: Stat::Maximum,
        },
    ];
    let (qs, warnings) = query::plan(&rs, &spec);
    let count = |id: &str| qs.iter().filter(|q| q.series_id() == id).count();
    // Group and two instances: CPU average and maximum each.
    assert_eq!(count("cloudwatch:AWS/EC2/CPUUtilization"), 6);
    assert_eq!(count("cloudwatch:AWS/ApplicationELB/RequestCount"), 1);
    assert_eq!(count("cloudwatch:AWS/ApplicationELB/HealthyHostCount"), 1);
    assert_eq!(count("cloudwatch:System/Detail/Linux/MemoryUtilization"), 1);
    assert_eq!(count("cloudwatch:Shop/OrdersPlaced"), 1);
    assert_eq!(qs.len(), 4 * 3 + 4 + 2 + 2);
    let healthy = qs.iter().find(|q| q.metric == "HealthyHostCount").unwrap();
    assert_eq!(healthy.dimensions.len(), 2);
    assert_eq!(healthy.stat, Stat::Minimum);
    // No database was found, and the output says so.
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].contains("AWS/RDS/CPUUtilization"),
        "{warnings:?}"
    );
    assert!(warnings[0].contains("DBInstanceIdentifier"), "{warnings:?}");
    // Queries are unique: planning twice over the same resources adds none.
    let keys: std::collections::BTreeSet<String> = qs.iter().map(Query::key).collect();
    assert_eq!(keys.len(), qs.len());
}

#[test]
fn stacks_resolve_groups_balancers_databases_caches_and_nested_stacks() {
    let answer: StackResources = recorded(include_str!("testdata/describe_stack_resources.json"));
    let mut f = Found::default();
    f.add_stack_resources(&answer.stack_resources);
    assert_eq!(
        f.groups_to_describe(),
        vec!["shop-int-42-WebGroup-1X2Y3Z".to_string()]
    );
    assert_eq!(
        f.take_nested_stacks(),
        vec![
            "arn:aws:cloudformation:eu-west-1:111122223333:stack/shop-int-42-Network-AB12/1b2c"
                .to_string()
        ]
    );
    assert!(f.take_nested_stacks().is_empty());
    // The bucket has no metrics stampede watches; the pending instance has
    // no physical id yet.
    assert_eq!(f.ignored, 1);
    let rs = f.resources();
    assert_eq!(
        describe(&rs),
        "1 alb, 1 rds-instance, 1 elasticache-cluster"
    );
    let (qs, _) = query::plan(&rs, &Spec::new(vec![], vec!["shop-int-42".into()]));
    let rds: Vec<&str> = qs
        .iter()
        .filter(|q| q.namespace == "AWS/RDS")
        .map(|q| q.metric.as_str())
        .collect();
    assert_eq!(
        rds,
        vec![
            "CPUUtilization",
            "DatabaseConnections",
            "ReadLatency",
            "WriteLatency",
            "ReadIOPS",
            "WriteIOPS",
            "FreeableMemory",
            "SwapUsage"
        ]
    );
    assert_eq!(
        qs.iter()
            .filter(|q| q.namespace == "AWS/ElastiCache")
            .count(),
        6
    );
}

#[test]
fn arns_of_every_watched_kind() {
    let mut f = Found::default();
    for arn in [
        "arn:aws:rds:eu-west-1:1:db:orders",
        "arn:aws:elasticache:eu-west-1:1:cluster:sessions",
        "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/net/edge/abc",
        "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/classic-lb",
        "arn:aws:autoscaling:eu-west-1:1:autoScalingGroup:uuid-1:autoScalingGroupName/api",
        "arn:aws:s3:::bucket",
        "not an arn",
    ] {
        f.add_arn(arn);
    }
    assert_eq!(f.ignored, 2);
    assert_eq!(f.groups_to_describe(), vec!["api".to_string()]);
    let rs = f.resources();
    assert_eq!(
        describe(&rs),
        "1 nlb, 1 elb, 1 rds-instance, 1 elasticache-cluster"
    );
    let elb = rs
        .iter()
        .find(|r| r.kind == Kind::ClassicLoadBalancer)
        .unwrap();
    assert_eq!(dims(elb), vec![("LoadBalancerName", "classic-lb")]);
}

#[test]
fn members_of_a_group_get_no_defaults_but_match_instance_wildcards() {
    let mut f = Found::default();
    f.add_group(&Group {
        auto_scaling_group_name: "web".into(),
        instances: vec![GroupInstance {
            instance_id: "i-1".into(),
        }],
        target_group_arns: vec![],
        load_balancer_names: vec![],
    });
    let rs = f.resources();
    let mut spec = Spec::new(vec![], vec![]);
    spec.metrics = vec![MetricSpec {
        namespace: "CWAgent".into(),
        metric: "mem_used_percent".into(),
        dimensions: vec![("InstanceId".into(), DimValue::Any)],
        stat: Stat::Average,
    }];
    let (qs, _) = query::plan(&rs, &spec);
    assert_eq!(
        qs.iter().filter(|q| q.namespace == "AWS/EC2").count(),
        4,
        "only the group's defaults"
    );
    assert_eq!(
        qs.iter()
            .filter(|q| q.namespace == "CWAgent")
            .map(|q| q.dimensions.clone())
            .collect::<Vec<_>>(),
        vec![vec![("InstanceId".to_string(), "i-1".to_string())]]
    );
}
