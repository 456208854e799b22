//! Which bees signalled a wait condition and which stayed silent, read
//! from the stack's events: CloudFormation records each signal on the
//! wait condition ("Received SUCCESS signal with UniqueId i-…") and a
//! failure with the bee's reason. When Ready or Done fails or times out,
//! `run` names the bees by instance id instead of leaving users to guess
//! why "the workers never came online".

use std::collections::BTreeMap;

use super::event::StackEvent;

/// One bee's signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signalled {
    /// The bee (its instance id, or its host name before IMDS answered).
    pub bee: String,
    /// SUCCESS (true) or FAILURE.
    pub success: bool,
    /// The bee's reason, when CloudFormation passed it on.
    pub reason: Option<String>,
}

/// Who signalled one wait condition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollCall {
    /// Bees that signalled, by id.
    pub signalled: Vec<Signalled>,
    /// Expected bees that did not signal.
    pub silent: Vec<String>,
}

impl RollCall {
    /// Bees that signalled FAILURE.
    pub fn failed(&self) -> impl Iterator<Item = &Signalled> {
        self.signalled.iter().filter(|s| !s.success)
    }
}

const SIGNAL: &str = "Received ";
const WITH_ID: &str = " signal with UniqueId ";
const FAILED_MESSAGE: &str = "WaitCondition received failed message: '";
const FOR_ID: &str = "' for uniqueId: ";

/// The roll call of wait condition `condition` (a logical id) against the
/// `expected` bees.
pub fn roll_call(events: &[StackEvent], condition: &str, expected: &[String]) -> RollCall {
    let mut by_bee: BTreeMap<String, Signalled> = BTreeMap::new();
    let mut sorted: Vec<&StackEvent> = events
        .iter()
        .filter(|e| e.logical_id == condition)
        .collect();
    sorted.sort_by_key(|e| e.time);
    for reason in sorted.iter().filter_map(|e| e.reason.as_deref()) {
        let Some(s) = parse(reason) else { continue };
        // The first signal of an id counts, as in CloudFormation; a later
        // failure message only adds the reason.
        by_bee
            .entry(s.bee.clone())
            .and_modify(|old| {
                if old.reason.is_none() && s.reason.is_some() && !s.success {
                    old.reason = s.reason.clone();
                    old.success = false;
                }
            })
            .or_insert(s);
    }
    let silent = expected
        .iter()
        .filter(|b| !by_bee.contains_key(*b))
        .cloned()
        .collect();
    RollCall {
        signalled: by_bee.into_values().collect(),
        silent,
    }
}

fn parse(reason: &str) -> Option<Signalled> {
    if let Some(rest) = reason.strip_prefix(FAILED_MESSAGE)
        && let Some((why, id)) = rest.rsplit_once(FOR_ID)
    {
        return Some(Signalled {
            bee: id.trim().to_string(),
            success: false,
            reason: Some(why.to_string()),
        });
    }
    let rest = reason.strip_prefix(SIGNAL)?;
    let (status, id) = rest.split_once(WITH_ID)?;
    Some(Signalled {
        bee: id.trim().to_string(),
        success: status == "SUCCESS",
        reason: None,
    })
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn event(sec: i64, logical: &str, status: &str, reason: &str) -> StackEvent {
        StackEvent {
            id: format!("e{sec}"),
            stack_id: "arn:stack".into(),
            stack_name: "s".into(),
            time: Utc.timestamp_opt(1_700_000_000 + sec, 0).unwrap(),
            logical_id: logical.into(),
            physical_id: String::new(),
            resource_type: "AWS::CloudFormation::WaitCondition".into(),
            status: status.into(),
            reason: Some(reason.into()),
        }
    }

    /// Recorded from CloudFormation (a fake: no emulator sends these):
    /// two bees signal Ready, one fails Done with JMeter's reason.
    #[test]
    fn names_who_signalled_who_failed_and_who_stayed_silent() {
        let events = vec![
            event(
                1,
                "Ready",
                "CREATE_IN_PROGRESS",
                "Received SUCCESS signal with UniqueId i-0aaa",
            ),
            event(
                2,
                "Ready",
                "CREATE_IN_PROGRESS",
                "Received SUCCESS signal with UniqueId i-0bbb",
            ),
            event(
                3,
                "Ready",
                "CREATE_FAILED",
                "WaitCondition timed out. Received 2 conditions when expecting 3",
            ),
            event(
                4,
                "Done",
                "CREATE_IN_PROGRESS",
                "Received FAILURE signal with UniqueId i-0bbb",
            ),
            event(
                5,
                "Done",
                "CREATE_FAILED",
                "WaitCondition received failed message: 'bee i-0bbb: JMeter exited with 1: Could not find the TestPlan class!' for uniqueId: i-0bbb",
            ),
        ];
        let expected = vec![
            "i-0aaa".to_string(),
            "i-0bbb".to_string(),
            "i-0ccc".to_string(),
        ];
        let ready = roll_call(&events, "Ready", &expected);
        assert_eq!(ready.silent, vec!["i-0ccc"]);
        assert_eq!(ready.signalled.len(), 2);
        assert_eq!(ready.failed().count(), 0);
        let done = roll_call(&events, "Done", &expected);
        assert_eq!(done.silent, vec!["i-0aaa", "i-0ccc"]);
        let failed: Vec<&Signalled> = done.failed().collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].bee, "i-0bbb");
        assert_eq!(
            failed[0].reason.as_deref(),
            Some("bee i-0bbb: JMeter exited with 1: Could not find the TestPlan class!")
        );
    }

    #[test]
    fn a_bee_known_only_by_its_signal_is_still_named() {
        let events = vec![event(
            1,
            "Ready",
            "CREATE_FAILED",
            "WaitCondition received failed message: 'bee ip-10-0-0-7 failed during setup: exit 1 at line 80: dnf install -y java' for uniqueId: ip-10-0-0-7",
        )];
        let call = roll_call(&events, "Ready", &[]);
        assert_eq!(call.signalled[0].bee, "ip-10-0-0-7");
        assert!(!call.signalled[0].success);
        assert!(call.silent.is_empty());
    }
}
