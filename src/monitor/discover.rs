//! From tags and stacks to CloudWatch dimensions. CloudWatch cannot select
//! metrics by tag, so every resource is resolved to the dimension values
//! its namespace uses. These are pure functions over the describe answers
//! (in the AWS JSON shape, so recorded answers load straight into them);
//! the calls themselves live in [`crate::aws::watch`].

use std::collections::{BTreeMap, BTreeSet};

pub use crate::aws::shapes::{Group, StackResource, TargetGroup};

/// The kinds of resources stampede watches by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// EC2 Auto Scaling group.
    AutoScalingGroup,
    /// EC2 instance.
    Instance,
    /// Application load balancer.
    ApplicationLoadBalancer,
    /// Network load balancer.
    NetworkLoadBalancer,
    /// Classic load balancer.
    ClassicLoadBalancer,
    /// ELBv2 target group, paired with one load balancer.
    TargetGroup,
    /// RDS DB instance.
    DbInstance,
    /// ElastiCache cluster.
    CacheCluster,
}

impl Kind {
    /// The name shown in output and `summary.json`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::AutoScalingGroup => "autoscaling-group",
            Kind::Instance => "ec2-instance",
            Kind::ApplicationLoadBalancer => "alb",
            Kind::NetworkLoadBalancer => "nlb",
            Kind::ClassicLoadBalancer => "elb",
            Kind::TargetGroup => "target-group",
            Kind::DbInstance => "rds-instance",
            Kind::CacheCluster => "elasticache-cluster",
        }
    }
}

/// A discovered resource and the dimensions that select its metrics.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Resource {
    /// What it is.
    pub kind: Kind,
    /// Its id as users know it (a name, an instance id, an ARN suffix).
    pub id: String,
    /// CloudWatch dimensions, sorted by name.
    pub dimensions: Vec<(String, String)>,
    /// The group it belongs to, for instances found through a group: the
    /// group's own metrics already cover them, so they get no defaults.
    pub member_of: Option<String>,
}

impl Resource {
    fn new(kind: Kind, id: &str, dims: &[(&str, &str)]) -> Self {
        let mut dimensions: Vec<(String, String)> = dims
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        dimensions.sort();
        Resource {
            kind,
            id: id.to_string(),
            dimensions,
            member_of: None,
        }
    }
}

/// What the answers so far have turned up; [`Found::groups_to_describe`]
/// and [`Found::target_groups_to_describe`] say which calls are next.
#[derive(Debug, Default)]
pub struct Found {
    resources: BTreeSet<Resource>,
    groups: BTreeSet<String>,
    described_groups: BTreeSet<String>,
    target_groups: BTreeSet<String>,
    described_target_groups: BTreeSet<String>,
    nested_stacks: Vec<String>,
    /// ARNs or stack resources of kinds stampede has no metrics for.
    pub ignored: usize,
}

/// The part of an ARN after `service:region:account:`.
fn arn_resource(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (_arn, _partition, service, _region, _account) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    Some((service, parts.next()?))
}

/// `app/name/id` from a load balancer ARN, as the `LoadBalancer` dimension
/// wants it.
fn lb_dimension(arn: &str) -> Option<&str> {
    arn_resource(arn)?.1.strip_prefix("loadbalancer/")
}

/// `targetgroup/name/id` from a target group ARN.
fn tg_dimension(arn: &str) -> Option<&str> {
    let r = arn_resource(arn)?.1;
    r.starts_with("targetgroup/").then_some(r)
}

impl Found {
    /// Adds a resource the Tagging API (or a group) named by ARN.
    pub fn add_arn(&mut self, arn: &str) {
        let Some((service, res)) = arn_resource(arn) else {
            self.ignored += 1;
            return;
        };
        match service {
            "ec2" => match res.strip_prefix("instance/") {
                Some(id) => self.add(Resource::new(Kind::Instance, id, &[("InstanceId", id)])),
                None => self.ignored += 1,
            },
            "elasticloadbalancing" => {
                if res.starts_with("targetgroup/") {
                    self.target_groups.insert(arn.to_string());
                } else if let Some(lb) = lb_dimension(arn) {
                    self.add_load_balancer(lb);
                } else {
                    self.ignored += 1;
                }
            }
            "rds" => match res.strip_prefix("db:") {
                Some(id) => self.add(Resource::new(
                    Kind::DbInstance,
                    id,
                    &[("DBInstanceIdentifier", id)],
                )),
                None => self.ignored += 1,
            },
            "elasticache" => match res.strip_prefix("cluster:") {
                Some(id) => self.add(Resource::new(
                    Kind::CacheCluster,
                    id,
                    &[("CacheClusterId", id)],
                )),
                None => self.ignored += 1,
            },
            "autoscaling" => match res.split_once(":autoScalingGroupName/") {
                Some((_, name)) => self.add_group_name(name),
                None => self.ignored += 1,
            },
            _ => self.ignored += 1,
        }
    }

    fn add_load_balancer(&mut self, lb: &str) {
        let kind = if lb.starts_with("app/") {
            Kind::ApplicationLoadBalancer
        } else if lb.starts_with("net/") {
            Kind::NetworkLoadBalancer
        } else {
            self.add(Resource::new(
                Kind::ClassicLoadBalancer,
                lb,
                &[("LoadBalancerName", lb)],
            ));
            return;
        };
        self.add(Resource::new(kind, lb, &[("LoadBalancer", lb)]));
    }

    fn add(&mut self, r: Resource) {
        self.resources.insert(r);
    }

    /// Adds a group known by name (described later).
    pub fn add_group_name(&mut self, name: &str) {
        self.groups.insert(name.to_string());
    }

    /// Adds a stack's resources; nested stacks are queued
    /// ([`Found::take_nested_stacks`]).
    pub fn add_stack_resources(&mut self, resources: &[StackResource]) {
        for r in resources {
            let Some(id) = r.physical_resource_id.as_deref().filter(|s| !s.is_empty()) else {
                continue;
            };
            match r.resource_type.as_str() {
                "AWS::AutoScaling::AutoScalingGroup" => self.add_group_name(id),
                "AWS::EC2::Instance" => {
                    self.add(Resource::new(Kind::Instance, id, &[("InstanceId", id)]));
                }
                "AWS::ElasticLoadBalancingV2::LoadBalancer" => match lb_dimension(id) {
                    Some(lb) => self.add_load_balancer(lb),
                    None => self.ignored += 1,
                },
                "AWS::ElasticLoadBalancing::LoadBalancer" => self.add(Resource::new(
                    Kind::ClassicLoadBalancer,
                    id,
                    &[("LoadBalancerName", id)],
                )),
                "AWS::ElasticLoadBalancingV2::TargetGroup" => {
                    self.target_groups.insert(id.to_string());
                }
                "AWS::RDS::DBInstance" => self.add(Resource::new(
                    Kind::DbInstance,
                    id,
                    &[("DBInstanceIdentifier", id)],
                )),
                "AWS::ElastiCache::CacheCluster" => self.add(Resource::new(
                    Kind::CacheCluster,
                    id,
                    &[("CacheClusterId", id)],
                )),
                "AWS::CloudFormation::Stack" => self.nested_stacks.push(id.to_string()),
                _ => self.ignored += 1,
            }
        }
    }

    /// Nested stacks seen since the last call.
    pub fn take_nested_stacks(&mut self) -> Vec<String> {
        std::mem::take(&mut self.nested_stacks)
    }

    /// Groups known by name but not yet described.
    pub fn groups_to_describe(&self) -> Vec<String> {
        self.groups
            .difference(&self.described_groups)
            .cloned()
            .collect()
    }

    /// Adds a described group: the group, its instances (as members) and
    /// its load balancers and target groups.
    pub fn add_group(&mut self, g: &Group) {
        let name = &g.auto_scaling_group_name;
        self.groups.insert(name.clone());
        self.described_groups.insert(name.clone());
        self.add(Resource::new(
            Kind::AutoScalingGroup,
            name,
            &[("AutoScalingGroupName", name)],
        ));
        for i in &g.instances {
            let mut r = Resource::new(
                Kind::Instance,
                &i.instance_id,
                &[("InstanceId", &i.instance_id)],
            );
            r.member_of = Some(name.clone());
            // The same instance tagged directly keeps its own defaults.
            let direct = Resource::new(
                Kind::Instance,
                &i.instance_id,
                &[("InstanceId", &i.instance_id)],
            );
            if !self.resources.contains(&direct) {
                self.add(r);
            }
        }
        for lb in &g.load_balancer_names {
            self.add(Resource::new(
                Kind::ClassicLoadBalancer,
                lb,
                &[("LoadBalancerName", lb)],
            ));
        }
        for tg in &g.target_group_arns {
            self.target_groups.insert(tg.clone());
        }
    }

    /// Target groups known by ARN but not yet described.
    pub fn target_groups_to_describe(&self) -> Vec<String> {
        self.target_groups
            .difference(&self.described_target_groups)
            .cloned()
            .collect()
    }

    /// Adds a described target group: one resource per load balancer it
    /// serves (its host counts exist only per pair), and those load
    /// balancers themselves.
    pub fn add_target_group(&mut self, tg: &TargetGroup) {
        self.described_target_groups
            .insert(tg.target_group_arn.clone());
        let Some(tg_dim) = tg_dimension(&tg.target_group_arn) else {
            self.ignored += 1;
            return;
        };
        for lb_arn in &tg.load_balancer_arns {
            let Some(lb) = lb_dimension(lb_arn) else {
                continue;
            };
            self.add_load_balancer(lb);
            self.add(Resource::new(
                Kind::TargetGroup,
                tg_dim,
                &[("LoadBalancer", lb), ("TargetGroup", tg_dim)],
            ));
        }
    }

    /// The resources found, sorted and without duplicates.
    pub fn resources(&self) -> Vec<Resource> {
        self.resources.iter().cloned().collect()
    }

    /// Names of the groups found (for their scaling activities).
    pub fn group_names(&self) -> Vec<String> {
        self.described_groups.iter().cloned().collect()
    }
}

/// Counts of resources per kind, e.g. `2 autoscaling-group, 1 alb`.
pub fn describe(resources: &[Resource]) -> String {
    let mut counts: BTreeMap<Kind, usize> = BTreeMap::new();
    for r in resources {
        *counts.entry(r.kind).or_default() += 1;
    }
    if counts.is_empty() {
        return "no resources".into();
    }
    counts
        .iter()
        .map(|(k, n)| format!("{n} {}", k.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[path = "discover_tests.rs"]
mod tests;
