//! Discovery against AWS: tags (Tagging API, Auto Scaling tag filters)
//! and stacks (DescribeStackResources, nested stacks included), then the
//! groups' and target groups' describe calls.

use super::discover::{self, Found, Resource};
use super::spec::Spec;
use crate::aws::AwsError;
use crate::aws::watch::{Watch, tags_text};

/// How deep nested stacks are followed.
const MAX_NESTING: usize = 5;

/// What one discovery found.
#[derive(Debug, Default, Clone)]
pub struct Discovery {
    /// Resources, sorted.
    pub resources: Vec<Resource>,
    /// Auto Scaling groups among them (for their activities).
    pub groups: Vec<String>,
    /// Things the user should know: filters that matched nothing.
    pub warnings: Vec<String>,
}

/// Resolves the spec's tags and stacks to resources.
pub async fn discover(watch: &Watch, spec: &Spec) -> Result<Discovery, AwsError> {
    let mut found = Found::default();
    let mut warnings = Vec::new();
    if !spec.tags.is_empty() {
        for t in watch.tagged(&spec.tags).await? {
            found.add_arn(&t.arn);
        }
        for g in watch.groups_by_tags(&spec.tags).await? {
            found.add_group(&g);
        }
        if found.resources().is_empty() && found.groups_to_describe().is_empty() {
            warnings.push(format!(
                "no resource is tagged {} (searched: Auto Scaling groups, and EC2 instances, load balancers, target groups, RDS instances and ElastiCache clusters through the Tagging API)",
                tags_text(&spec.tags)
            ));
        }
    }
    let mut stacks: Vec<(String, usize)> = spec.stacks.iter().map(|s| (s.clone(), 0)).collect();
    while let Some((stack, depth)) = stacks.pop() {
        let before = found.resources().len() + found.groups_to_describe().len();
        let resources = watch.stack_resources(&stack).await?;
        found.add_stack_resources(&resources);
        if depth < MAX_NESTING {
            stacks.extend(
                found
                    .take_nested_stacks()
                    .into_iter()
                    .map(|s| (s, depth + 1)),
            );
        }
        if resources.is_empty()
            || found.resources().len() + found.groups_to_describe().len() == before
        {
            warnings.push(format!(
                "stack {stack}: none of its {} resources is of a kind stampede watches (Auto Scaling group, EC2 instance, load balancer, target group, RDS instance, ElastiCache cluster)",
                resources.len()
            ));
        }
    }
    let names = found.groups_to_describe();
    if !names.is_empty() {
        for g in watch.describe_groups(&names).await? {
            found.add_group(&g);
        }
    }
    let tgs = found.target_groups_to_describe();
    if !tgs.is_empty() {
        for tg in watch.target_groups(&tgs).await? {
            found.add_target_group(&tg);
        }
    }
    Ok(Discovery {
        resources: found.resources(),
        groups: found.group_names(),
        warnings,
    })
}

impl Discovery {
    /// `2 autoscaling-group, 1 alb`.
    pub fn describe(&self) -> String {
        discover::describe(&self.resources)
    }
}
