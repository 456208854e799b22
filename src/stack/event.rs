//! Stack events as stampede shows them, and the log that hands each one
//! out exactly once, oldest first.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// One CloudFormation stack event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackEvent {
    /// CloudFormation's event id.
    pub id: String,
    /// The stack the event belongs to (an ARN).
    pub stack_id: String,
    /// That stack's name.
    pub stack_name: String,
    /// When it happened.
    pub time: DateTime<Utc>,
    /// Logical id of the resource (the stack's own name for stack events).
    pub logical_id: String,
    /// Physical id; may be a presigned URL, so never printed as is.
    #[serde(skip)]
    pub physical_id: String,
    /// Resource type, e.g. `AWS::EC2::Instance`.
    pub resource_type: String,
    /// Status, e.g. `CREATE_COMPLETE`.
    pub status: String,
    /// Reason, when CloudFormation gives one.
    pub reason: Option<String>,
}

/// The resource type of stacks, nested or not.
pub const STACK_TYPE: &str = "AWS::CloudFormation::Stack";

impl StackEvent {
    /// Whether this event is about a stack itself (not one of its
    /// resources).
    pub fn is_stack_event(&self) -> bool {
        self.resource_type == STACK_TYPE && self.physical_id == self.stack_id
    }

    /// A nested stack this event reveals: a stack resource whose physical
    /// id is another stack's ARN.
    pub fn nested_stack(&self) -> Option<&str> {
        (self.resource_type == STACK_TYPE
            && self.physical_id != self.stack_id
            && self.physical_id.starts_with("arn:"))
        .then_some(self.physical_id.as_str())
    }
}

/// Remembers which events were shown.
#[derive(Debug, Default)]
pub struct EventLog {
    seen: HashSet<String>,
}

impl EventLog {
    /// Whether the event was handed out before; pollers stop paging there.
    pub fn seen(&self, id: &str) -> bool {
        self.seen.contains(id)
    }

    /// Takes a page of events as CloudFormation gives them (newest first,
    /// possibly repeating earlier ones) and returns the new ones oldest
    /// first.
    pub fn absorb(&mut self, newest_first: Vec<StackEvent>) -> Vec<StackEvent> {
        let mut fresh: Vec<StackEvent> = newest_first
            .into_iter()
            .filter(|e| self.seen.insert(e.id.clone()))
            .collect();
        fresh.reverse();
        // Pages are newest first, but several stacks' pages are merged by
        // the caller: order by time, keeping page order for equal times.
        fresh.sort_by_key(|e| e.time);
        fresh
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A test event at second `t`.
    pub fn ev(t: i64, logical: &str, ty: &str, status: &str, reason: Option<&str>) -> StackEvent {
        let stack_id = "arn:aws:cloudformation:us-east-1:1:stack/s/1".to_string();
        StackEvent {
            id: format!("{logical}-{status}-{t}"),
            stack_id: stack_id.clone(),
            stack_name: "s".into(),
            time: DateTime::from_timestamp(1_700_000_000 + t, 0).unwrap(),
            logical_id: logical.into(),
            physical_id: if ty == STACK_TYPE && logical == "s" {
                stack_id
            } else {
                format!("{logical}-phys")
            },
            resource_type: ty.into(),
            status: status.into(),
            reason: reason.map(String::from),
        }
    }

    #[test]
    fn each_event_once_oldest_first() {
        let mut log = EventLog::default();
        let a = ev(1, "s", STACK_TYPE, "CREATE_IN_PROGRESS", None);
        let b = ev(2, "Role", "AWS::IAM::Role", "CREATE_IN_PROGRESS", None);
        let c = ev(3, "Role", "AWS::IAM::Role", "CREATE_COMPLETE", None);
        assert_eq!(
            log.absorb(vec![b.clone(), a.clone()]),
            vec![a.clone(), b.clone()]
        );
        assert_eq!(log.absorb(vec![c.clone(), b.clone(), a.clone()]), vec![c]);
        assert!(log.absorb(vec![b, a]).is_empty());
    }
}
