//! Capacity failures on recorded texts.
//!
//! FAKES, named as such: no emulator reproduces a capacity failure, so
//! these are the texts as EC2, Auto Scaling and CloudFormation word them
//! (EC2's error messages, Auto Scaling's "Group did not stabilize" and
//! scaling activity status messages), written out by hand, not captured
//! from a live account.

use super::*;
use crate::stack::event::tests::ev;
use crate::stack::phase::{describe, root_cause};

const ASG: &str = "AWS::AutoScaling::AutoScalingGroup";
const WC: &str = "AWS::CloudFormation::WaitCondition";

const FAKE_NO_CAPACITY: &str = "Group did not stabilize. {current/minSize/maxSize} group size = {0/4/4}. Failed Scaling Activity: We currently do not have sufficient c6i.large capacity in the Availability Zone you requested (us-east-1e). Our system will be working on provisioning additional capacity. You can currently get c6i.large capacity by not specifying an Availability Zone in your request or choosing us-east-1a, us-east-1b, us-east-1c, us-east-1d, us-east-1f. Launching EC2 instance failed.";
const FAKE_VCPU: &str = "You have requested more vCPU capacity than your current vCPU limit of 32 allows for the instance bucket that the specified instance type belongs to. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit. Launching EC2 instance failed.";
const FAKE_SPOT_NONE: &str = "Could not launch Spot Instances. InsufficientInstanceCapacity - There is no Spot capacity available that matches your request. Launching EC2 instance failed.";
const FAKE_SPOT_UNFULFILLABLE: &str = "Could not launch Spot Instances. UnfulfillableCapacity - Unable to fulfill capacity due to your request configuration. Please adjust your request and try again. Launching EC2 instance failed.";
const FAKE_SPOT_QUOTA: &str = "Could not launch Spot Instances. MaxSpotInstanceCountExceeded - Max spot instance count exceeded. Launching EC2 instance failed.";
const FAKE_INSTANCES: &str = "Your quota allows for 0 more running instance(s). You requested at least 1. Launching EC2 instance failed.";
const FAKE_NOT_OFFERED: &str = "Your requested instance type (c6i.large) is not supported in your requested Availability Zone (us-east-1e). Please retry your request by not specifying an Availability Zone or choosing us-east-1a, us-east-1b. Launching EC2 instance failed.";
const FAKE_ARCH: &str = "The architecture 'arm64' of the specified instance type does not match the architecture 'x86_64' of the specified AMI. Specify an instance type and an AMI that have matching architectures, and try again. Launching EC2 instance failed.";
/// What a Spot bee signals on EC2's interruption notice (bee.sh), as
/// CloudFormation words a failed wait condition.
const FAKE_SPOT_NOTICE: &str = "WaitCondition received failed message: 'bee i-0f2 got an EC2 Spot interruption notice: { action: terminate, time: 2026-11-25T14:01:09Z}' for uniqueId: i-0f2";
/// What a replacement bee signals (templates/userdata/bee.sh), as
/// CloudFormation words a failed wait condition.
const FAKE_LOST: &str = "WaitCondition received failed message: 'bee i-0f1 was launched after Ready completed: a bee was lost during the test' for uniqueId: i-0f1";

#[test]
fn each_recorded_text_is_recognised() {
    for (text, kind) in [
        (FAKE_NO_CAPACITY, Shortfall::NoCapacity),
        (FAKE_VCPU, Shortfall::VcpuQuota),
        (FAKE_SPOT_NONE, Shortfall::NoSpotCapacity),
        (FAKE_SPOT_UNFULFILLABLE, Shortfall::NoSpotCapacity),
        (FAKE_SPOT_QUOTA, Shortfall::SpotQuota),
        (FAKE_INSTANCES, Shortfall::InstanceQuota),
        (FAKE_NOT_OFFERED, Shortfall::NotOffered),
        (FAKE_ARCH, Shortfall::Architecture),
        (FAKE_LOST, Shortfall::BeeLost),
        (FAKE_SPOT_NOTICE, Shortfall::SpotInterrupted),
    ] {
        assert_eq!(classify(text), Some(kind), "{text}");
    }
    for other in [
        "Policy has invalid action",
        "WaitCondition timed out. Received 1 conditions when expecting 4",
        "Resource creation cancelled",
    ] {
        assert_eq!(classify(other), None, "{other}");
    }
}

/// The group fails on capacity; CloudFormation cancels Ready and fails
/// the stack. The group is the root cause, and the message says what to
/// change.
#[test]
fn a_group_without_capacity_is_the_root_cause_with_advice() {
    let events = vec![
        ev(
            0,
            "s",
            "AWS::CloudFormation::Stack",
            "CREATE_IN_PROGRESS",
            None,
        ),
        ev(1, "Ready", WC, "CREATE_IN_PROGRESS", None),
        ev(2, "BeeGroup", ASG, "CREATE_IN_PROGRESS", None),
        ev(
            300,
            "BeeGroup",
            ASG,
            "CREATE_FAILED",
            Some(FAKE_NO_CAPACITY),
        ),
        ev(
            301,
            "Ready",
            WC,
            "CREATE_FAILED",
            Some("Resource creation cancelled"),
        ),
    ];
    let cause = root_cause(&events).unwrap();
    assert_eq!(cause.logical_id, "BeeGroup");
    let text = describe(cause);
    assert!(
        text.contains("do not have sufficient c6i.large capacity"),
        "{text}"
    );
    assert!(
        text.contains("what to change: EC2 has no spare capacity"),
        "{text}"
    );
    assert!(text.contains("instance_types"), "{text}");
}

/// Ready times out at the same second the group gives up on its vCPU
/// quota: the quota, which explains the timeout, is the root cause.
#[test]
fn a_quota_wins_over_the_timeout_it_caused() {
    let events = vec![
        ev(
            900,
            "Ready",
            WC,
            "CREATE_FAILED",
            Some("WaitCondition timed out. Received 2 conditions when expecting 4"),
        ),
        ev(900, "BeeGroup", ASG, "CREATE_FAILED", Some(FAKE_VCPU)),
    ];
    let cause = root_cause(&events).unwrap();
    assert_eq!(cause.logical_id, "BeeGroup");
    assert!(describe(cause).contains("L-1216C47A"));
}

#[test]
fn a_lost_bee_points_at_spot() {
    let e = ev(400, "Done", WC, "CREATE_FAILED", Some(FAKE_LOST));
    let text = describe(&e);
    assert!(text.contains("on_demand_percent=100"), "{text}");
}

#[test]
fn an_ordinary_failure_gets_no_advice() {
    let e = ev(
        5,
        "BeeRole",
        "AWS::IAM::Role",
        "CREATE_FAILED",
        Some("Policy has invalid action"),
    );
    assert!(!describe(&e).contains("what to change"));
}

fn activity(start: i64, status: &str, message: &str, cause: &str) -> Activity {
    Activity {
        id: format!("a{start}"),
        group: "s-BeeGroup-1".into(),
        description: "Launching a new EC2 instance. Status Reason: see status message".into(),
        cause: cause.into(),
        status_message: message.into(),
        start_ms: start,
        end_ms: Some(start + 1),
        status: status.into(),
    }
}

/// Ready timed out with the group's failures only in its scaling
/// activities: the oldest capacity failure there is found.
#[test]
fn scaling_activities_name_the_capacity_failure() {
    let acts = vec![
        activity(
            3,
            "Failed",
            FAKE_SPOT_QUOTA,
            "At ... an instance was started in response to a difference between desired and actual capacity",
        ),
        activity(
            1,
            "Successful",
            "",
            "At ... a user request created an AutoScalingGroup",
        ),
        activity(
            2,
            "Failed",
            FAKE_SPOT_NONE,
            "At ... an instance was started",
        ),
    ];
    let found = in_activities(&acts).unwrap();
    assert_eq!(found.kind, Shortfall::NoSpotCapacity);
    assert_eq!(found.source, "Auto Scaling group s-BeeGroup-1");
    let m = found.message();
    assert!(
        m.starts_with("Auto Scaling group s-BeeGroup-1: Could not launch Spot"),
        "{m}"
    );
    assert!(m.contains("what to change: no Spot capacity"), "{m}");
    assert!(in_activities(&acts[1..2]).is_none());
}

#[test]
fn groups_are_read_off_the_events() {
    let mut created = ev(30, "BeeGroup", ASG, "CREATE_IN_PROGRESS", None);
    created.physical_id = "s-BeeGroup-1".into();
    let mut skipped = ev(31, "Other", ASG, "CREATE_COMPLETE", None);
    skipped.physical_id = "unknown".into();
    let mut pending = ev(2, "BeeGroup", ASG, "CREATE_IN_PROGRESS", None);
    pending.physical_id = String::new();
    assert_eq!(
        groups(&[pending, created.clone(), created, skipped]),
        vec!["s-BeeGroup-1".to_string()]
    );
}
