//! Stack events as stampede shows them, and the log that hands each one
//! out exactly once, oldest first.

use std::collections::HashSet;

#[cfg(test)]
use crate::aws::stack_event::STACK_TYPE;
pub use crate::aws::stack_event::StackEvent;

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
    use chrono::DateTime;

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
