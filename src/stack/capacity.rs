//! Capacity failures: the texts EC2 and Auto Scaling give when a fleet
//! cannot start or loses bees (no capacity of a type in a zone, no Spot
//! capacity, a Spot interruption, a vCPU or instance quota), recognised so
//! that a run names them as the root cause and says what to change.

use super::event::StackEvent;
use crate::aws::watch::Activity;

/// What kept the bees from running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortfall {
    /// EC2 has no capacity of the asked-for types in the zones
    /// (InsufficientInstanceCapacity).
    NoCapacity,
    /// No Spot capacity, or a Spot request that cannot be fulfilled.
    NoSpotCapacity,
    /// The account's Spot instance or Spot vCPU quota.
    SpotQuota,
    /// The account's On-Demand vCPU quota (VcpuLimitExceeded).
    VcpuQuota,
    /// The account's instance count quota (InstanceLimitExceeded).
    InstanceQuota,
    /// A type is not offered in a zone the group uses.
    NotOffered,
    /// An Arm (Graviton) type for the x86_64 image and binary.
    Architecture,
    /// A Spot bee got EC2's interruption notice during the test.
    SpotInterrupted,
    /// A bee vanished during the test: a replacement signalled it. With
    /// Spot this is an interruption.
    BeeLost,
}

/// Texts and what they mean, the more specific first. They come from
/// EC2's and Auto Scaling's own messages (see the recorded texts in the
/// tests below).
const PATTERNS: &[(&str, Shortfall)] = &[
    ("MaxSpotInstanceCountExceeded", Shortfall::SpotQuota),
    ("Max spot instance count exceeded", Shortfall::SpotQuota),
    ("spot vCPU", Shortfall::SpotQuota),
    ("VcpuLimitExceeded", Shortfall::VcpuQuota),
    (
        "vCPU capacity than your current vCPU limit",
        Shortfall::VcpuQuota,
    ),
    ("InstanceLimitExceeded", Shortfall::InstanceQuota),
    (
        "Your quota allows for 0 more running instance",
        Shortfall::InstanceQuota,
    ),
    ("UnfulfillableCapacity", Shortfall::NoSpotCapacity),
    ("no Spot capacity available", Shortfall::NoSpotCapacity),
    ("Could not launch Spot Instances", Shortfall::NoSpotCapacity),
    ("capacity-not-available", Shortfall::NoSpotCapacity),
    ("InsufficientInstanceCapacity", Shortfall::NoCapacity),
    ("do not have sufficient", Shortfall::NoCapacity),
    (
        "is not supported in your requested Availability Zone",
        Shortfall::NotOffered,
    ),
    (
        "The requested configuration is currently not supported",
        Shortfall::NotOffered,
    ),
    ("does not match the architecture", Shortfall::Architecture),
    ("Spot interruption notice", Shortfall::SpotInterrupted),
    ("instance-terminated-by-price", Shortfall::SpotInterrupted),
    (
        "instance-terminated-no-capacity",
        Shortfall::SpotInterrupted,
    ),
    ("a bee was lost during the test", Shortfall::BeeLost),
];

/// The capacity failure a text reports, if any.
pub fn classify(text: &str) -> Option<Shortfall> {
    PATTERNS
        .iter()
        .find(|(p, _)| text.contains(p))
        .map(|(_, c)| *c)
}

impl Shortfall {
    /// What to change, in the shipped blueprint's terms.
    pub fn advice(self) -> &'static str {
        match self {
            Shortfall::NoCapacity => {
                "EC2 has no spare capacity of these instance types in these zones: list more types (--var instance_types=c6i.large,c5.large,m6i.large,...), allow more zones (more subnets in SubnetIds, or none for every zone), or retry later"
            }
            Shortfall::NoSpotCapacity => {
                "no Spot capacity for these types: list more types (--var instance_types=...), run more bees on-demand (--var on_demand_percent=100, or a larger --var on_demand_base), or retry later"
            }
            Shortfall::SpotQuota => {
                "the account's Spot quota is too low for these bees: run them on-demand (--var on_demand_percent=100), run fewer or smaller bees, or ask for more in Service Quotas (EC2, \"All Standard ... Spot Instance Requests\")"
            }
            Shortfall::VcpuQuota => {
                "the account's On-Demand vCPU quota is too low for BeeCount bees of these types: run fewer or smaller bees, put some on Spot (--var on_demand_percent=...), or ask for more in Service Quotas (EC2, \"Running On-Demand Standard instances\", L-1216C47A)"
            }
            Shortfall::InstanceQuota => {
                "the account's instance quota is too low for BeeCount bees: run fewer bees, or ask for more in Service Quotas (EC2)"
            }
            Shortfall::NotOffered => {
                "an instance type is not offered in one of the zones: list other types first (--var instance_types=...), or pick subnets in zones that offer it (SubnetIds)"
            }
            Shortfall::Architecture => {
                "the bees run an x86_64 image and binary: list x86_64 types only in instance_types (c6i, c5, m6i ..., not c7g or other Graviton types)"
            }
            Shortfall::SpotInterrupted => {
                "EC2 reclaimed a Spot bee during the test, so the results are incomplete: run the bees on-demand (--var on_demand_percent=100) or put more of them there (--var on_demand_base=N), list more types so Spot has deeper pools, then run again"
            }
            Shortfall::BeeLost => {
                "a bee was lost mid-test, so the results are incomplete. With Spot bees this is an interruption: run them on-demand (--var on_demand_percent=100) or raise --var on_demand_base; then run again"
            }
        }
    }
}

/// A capacity failure and the text that showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What it is.
    pub kind: Shortfall,
    /// Where it was seen, e.g. `BeeGroup (AWS::AutoScaling::AutoScalingGroup)`.
    pub source: String,
    /// AWS's own words.
    pub text: String,
}

impl Finding {
    /// The message for the user: AWS's words, then what to change.
    pub fn message(&self) -> String {
        format!(
            "{}: {}\n  what to change: {}",
            self.source,
            self.text,
            self.kind.advice()
        )
    }
}

/// The capacity failure among the failed events, if one is.
pub fn in_event(e: &StackEvent) -> Option<Finding> {
    let reason = e.reason.as_deref()?;
    Some(Finding {
        kind: classify(reason)?,
        source: format!("{} ({})", e.logical_id, e.resource_type),
        text: reason.to_string(),
    })
}

/// The first capacity failure among an Auto Scaling group's activities,
/// oldest first: a failed launch (its status message), or an instance
/// taken away (its cause).
pub fn in_activities(activities: &[Activity]) -> Option<Finding> {
    let mut sorted: Vec<&Activity> = activities.iter().collect();
    sorted.sort_by_key(|a| a.start_ms);
    sorted.into_iter().find_map(|a| {
        [&a.status_message, &a.cause, &a.description]
            .into_iter()
            .find_map(|t| classify(t).map(|kind| (kind, t)))
            .map(|(kind, text)| Finding {
                kind,
                source: format!("Auto Scaling group {}", a.group),
                text: text.clone(),
            })
    })
}

/// The Auto Scaling groups the stack created (their names), from its
/// events; LocalStack reports a skipped group as `unknown`.
pub fn groups(events: &[StackEvent]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in events {
        let name = e.physical_id.as_str();
        if e.resource_type == "AWS::AutoScaling::AutoScalingGroup"
            && !name.is_empty()
            && name != "unknown"
            && !out.iter().any(|g| g == name)
        {
            out.push(name.to_string());
        }
    }
    out
}

#[cfg(test)]
#[path = "capacity_tests.rs"]
mod tests;
