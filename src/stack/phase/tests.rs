//! Phase and verdict logic on recorded event sequences.

use super::*;
use crate::aws::stack_event::STACK_TYPE;
use crate::stack::event::tests::ev;

const WC: &str = "AWS::CloudFormation::WaitCondition";

fn phases(events: &[StackEvent]) -> Vec<Phase> {
    let mut t = PhaseTracker::new(&events[0].stack_id);
    events.iter().filter_map(|e| t.observe(e)).collect()
}

/// A jmeter-bees stack as CloudFormation reports it on success.
fn successful_run() -> Vec<StackEvent> {
    vec![
        ev(
            0,
            "s",
            STACK_TYPE,
            "CREATE_IN_PROGRESS",
            Some("User Initiated"),
        ),
        ev(
            1,
            "ReadyHandle",
            "AWS::CloudFormation::WaitConditionHandle",
            "CREATE_IN_PROGRESS",
            None,
        ),
        ev(1, "BeeRole", "AWS::IAM::Role", "CREATE_IN_PROGRESS", None),
        ev(
            2,
            "ReadyHandle",
            "AWS::CloudFormation::WaitConditionHandle",
            "CREATE_COMPLETE",
            None,
        ),
        ev(3, "Ready", WC, "CREATE_IN_PROGRESS", None),
        ev(20, "BeeRole", "AWS::IAM::Role", "CREATE_COMPLETE", None),
        ev(90, "Ready", WC, "CREATE_COMPLETE", None),
        ev(91, "Done", WC, "CREATE_IN_PROGRESS", None),
        ev(700, "Done", WC, "CREATE_COMPLETE", None),
        ev(701, "s", STACK_TYPE, "CREATE_COMPLETE", None),
    ]
}

#[test]
fn successful_run_walks_every_phase() {
    assert_eq!(
        phases(&successful_run()),
        vec![Phase::Ready, Phase::Testing, Phase::Done]
    );
}

#[test]
fn deletion_phases_follow_done() {
    let mut events = successful_run();
    events.push(ev(710, "s", STACK_TYPE, "DELETE_IN_PROGRESS", None));
    events.push(ev(760, "s", STACK_TYPE, "DELETE_COMPLETE", None));
    assert_eq!(phases(&events)[3..], [Phase::Deleting, Phase::Deleted]);
}

/// An instance profile fails; CloudFormation cancels its neighbours and
/// fails the stack: the cancellations and the stack message are not the
/// cause.
fn failed_create() -> Vec<StackEvent> {
    vec![
        ev(
            0,
            "s",
            STACK_TYPE,
            "CREATE_IN_PROGRESS",
            Some("User Initiated"),
        ),
        ev(1, "BeeRole", "AWS::IAM::Role", "CREATE_IN_PROGRESS", None),
        ev(1, "Bucket", "AWS::S3::Bucket", "CREATE_IN_PROGRESS", None),
        ev(
            5,
            "BeeRole",
            "AWS::IAM::Role",
            "CREATE_FAILED",
            Some("Policy has invalid action"),
        ),
        ev(
            6,
            "Bucket",
            "AWS::S3::Bucket",
            "CREATE_FAILED",
            Some("Resource creation cancelled"),
        ),
        ev(
            7,
            "s",
            STACK_TYPE,
            "CREATE_FAILED",
            Some("The following resource(s) failed to create: [Bucket, BeeRole]."),
        ),
    ]
}

#[test]
fn failure_is_seen_at_the_first_failed_resource() {
    assert_eq!(phases(&failed_create()), vec![Phase::Failed]);
}

#[test]
fn root_cause_skips_the_cascade() {
    let events = failed_create();
    let cause = root_cause(&events).unwrap();
    assert_eq!(cause.logical_id, "BeeRole");
    assert_eq!(cause.reason.as_deref(), Some("Policy has invalid action"));
}

#[test]
fn root_cause_inside_a_nested_stack() {
    let mut events = failed_create();
    // The parent's view of the nested stack fails last, with a cascade
    // message; the nested stack's own resource failed first.
    let mut nested = ev(
        4,
        "Queue",
        "AWS::SQS::Queue",
        "CREATE_FAILED",
        Some("Queue name taken"),
    );
    nested.stack_id = "arn:aws:cloudformation:us-east-1:1:stack/s-Net-1/2".into();
    events.push(nested);
    events.push(ev(
        8,
        "Net",
        STACK_TYPE,
        "CREATE_FAILED",
        Some("Embedded stack arn:... was not successfully created"),
    ));
    assert_eq!(root_cause(&events).unwrap().logical_id, "Queue");
}

#[test]
fn a_failed_done_signal_is_the_cause() {
    let mut events = successful_run();
    events.truncate(8);
    events.push(ev(
        400,
        "Done",
        WC,
        "CREATE_FAILED",
        Some("WaitCondition received failed message: 'jmeter exited 1' for uniqueId: i-1"),
    ));
    assert_eq!(root_cause(&events).unwrap().logical_id, "Done");
    assert_eq!(
        phases(&events),
        vec![Phase::Ready, Phase::Testing, Phase::Failed]
    );
}

#[test]
fn delete_failed_names_only_the_blockers() {
    let events = vec![
        ev(0, "s", STACK_TYPE, "DELETE_IN_PROGRESS", None),
        ev(1, "Bucket", "AWS::S3::Bucket", "DELETE_IN_PROGRESS", None),
        ev(2, "Role", "AWS::IAM::Role", "DELETE_IN_PROGRESS", None),
        ev(3, "Role", "AWS::IAM::Role", "DELETE_COMPLETE", None),
        ev(
            4,
            "Bucket",
            "AWS::S3::Bucket",
            "DELETE_FAILED",
            Some("The bucket you tried to delete is not empty"),
        ),
        ev(
            5,
            "s",
            STACK_TYPE,
            "DELETE_FAILED",
            Some("The following resource(s) failed to delete: [Bucket]."),
        ),
    ];
    assert_eq!(
        delete_blockers(&events),
        vec![(
            "Bucket".to_string(),
            "The bucket you tried to delete is not empty".to_string()
        )]
    );
    assert_eq!(phases(&events).last(), Some(&Phase::DeleteFailed));
}

#[test]
fn settled_statuses() {
    assert!(is_settled("CREATE_COMPLETE"));
    assert!(is_settled("ROLLBACK_FAILED"));
    assert!(!is_settled("DELETE_IN_PROGRESS"));
    assert!(!is_settled("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"));
    assert!(is_created("CREATE_COMPLETE"));
    assert!(!is_created("ROLLBACK_COMPLETE"));
}
