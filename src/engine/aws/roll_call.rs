//! The run's side of bees that explain themselves: when Ready or Done
//! fails or the run times out, name the bees that signalled and the ones
//! that did not (by instance id), with each failed or silent bee's log
//! tail from S3; when Done completes, the notes bees left in their Done
//! data (a skipped late start, rows not shipped).

use std::collections::BTreeMap;

use crate::aws::Clients;
use crate::blueprint::Plan;
use crate::feed::Feed;
use crate::stack::event::StackEvent;
use crate::stack::phase::{DONE, READY};
use crate::stack::roll_call::{RollCall, roll_call};

/// Log lines shown per bee.
const TAIL_LINES: usize = 15;

/// Explains a failed or timed-out run bee by bee (best effort: this runs
/// on the way to deleting the stack, so nothing here may stop that).
pub async fn explain(clients: &Clients, plan: &Plan, history: &[StackEvent], ui: &Feed) {
    let expected = match bee_instances(clients, &plan.stack).await {
        Ok(ids) => ids,
        Err(e) => {
            ui.warn(&format!("cannot list the bees' instances: {e}"));
            Vec::new()
        }
    };
    for condition in [READY, DONE] {
        let completed = history
            .iter()
            .any(|e| e.logical_id == condition && e.status == "CREATE_COMPLETE");
        let started = history.iter().any(|e| e.logical_id == condition);
        if completed || !started {
            continue;
        }
        let call = roll_call(history, condition, &expected);
        ui.warn(&describe(condition, &call));
        let explained = call.failed().map(|s| &s.bee).chain(call.silent.iter());
        for (shown, bee) in explained.enumerate() {
            // A fleet of hundreds: a few logs say enough.
            if shown == 5 {
                ui.info("(more bees failed; their logs are beside their results in S3)");
                break;
            }
            show_log(clients, plan, bee, ui).await;
        }
    }
}

/// One line per wait condition: who signalled, who failed and why, who
/// stayed silent.
fn describe(condition: &str, call: &RollCall) -> String {
    let ok: Vec<&str> = call
        .signalled
        .iter()
        .filter(|s| s.success)
        .map(|s| s.bee.as_str())
        .collect();
    let mut text = format!("{condition}: {} bee(s) signalled SUCCESS", ok.len());
    if !ok.is_empty() {
        text.push_str(&format!(" ({})", ok.join(", ")));
    }
    for f in call.failed() {
        text.push_str(&format!(
            "; {} signalled FAILURE: {}",
            f.bee,
            f.reason.as_deref().unwrap_or("no reason given")
        ));
    }
    if !call.silent.is_empty() {
        text.push_str(&format!(
            "; no signal from {} (it never got as far: see its log below, or `aws ec2 get-console-output --instance-id ID`)",
            call.silent.join(", ")
        ));
    }
    text
}

/// The stack's bee instances: its Auto Scaling groups' instances and its
/// plain instances.
async fn bee_instances(clients: &Clients, stack: &str) -> anyhow::Result<Vec<String>> {
    let watch = &clients.watch;
    let resources = watch.stack_resources(stack).await?;
    let physical = |t: &str| -> Vec<String> {
        resources
            .iter()
            .filter(|r| r.resource_type == t)
            .filter_map(|r| r.physical_resource_id.clone())
            .collect()
    };
    let mut ids = physical("AWS::EC2::Instance");
    let groups = physical("AWS::AutoScaling::AutoScalingGroup");
    if !groups.is_empty() {
        for g in watch.describe_groups(&groups).await? {
            ids.extend(g.instances.into_iter().map(|i| i.instance_id));
        }
    }
    ids.sort();
    ids.dedup();
    Ok(ids)
}

async fn show_log(clients: &Clients, plan: &Plan, bee: &str, ui: &Feed) {
    let key = format!("{}{bee}.log", plan.run.results_prefix());
    match clients.s3.get(&plan.run.bucket, &key).await {
        Ok(body) => {
            let text = String::from_utf8_lossy(&body);
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n");
            ui.info(&format!(
                "last lines of bee {bee}'s log (s3://{}/{key}):",
                plan.run.bucket
            ));
            ui.block(&format!("{}\n", crate::redact::redact(&tail)));
        }
        Err(_) => ui.info(&format!(
            "bee {bee} left no log in s3://{}/{key}: it did not get as far as starting the agent",
            plan.run.bucket
        )),
    }
}

/// Prints what the bees said in the stack's `DoneData` output (a skipped
/// late start, rows not shipped); nothing when the template has no such
/// output.
pub async fn print_done_notes(clients: &Clients, plan: &Plan, ui: &Feed) {
    let Ok(Some(info)) = clients.cfn.describe(&plan.stack).await else {
        return;
    };
    if let Some((_, data)) = info.outputs.iter().find(|(k, _)| k == "DoneData") {
        for note in done_notes(data) {
            ui.warn(&note);
        }
    }
}

/// What bees said in their Done data: a bee that skipped its load (it came
/// up after the start) or could not ship every row. `done_data` is the
/// stack's `DoneData` output: `{"<bee>": "<json>", ...}`.
pub fn done_notes(done_data: &str) -> Vec<String> {
    let Ok(by_bee) = serde_json::from_str::<BTreeMap<String, String>>(done_data) else {
        return Vec::new();
    };
    let mut notes = Vec::new();
    for (bee, data) in by_bee {
        let Ok(d) = serde_json::from_str::<serde_json::Value>(&data) else {
            continue;
        };
        if let Some(why) = d["skipped"].as_str() {
            notes.push(format!("bee {bee} ran no load: {why}"));
        }
        if let Some(n) = d["rows_not_shipped"].as_u64().filter(|&n| n > 0) {
            let why = d["not_shipped_because"].as_str().unwrap_or("see its log");
            notes.push(format!(
                "bee {bee}: {n} row(s) did not reach the search cluster ({why}); the results hold them"
            ));
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::roll_call::Signalled;

    #[test]
    fn a_roll_call_reads_as_a_sentence() {
        let call = RollCall {
            signalled: vec![
                Signalled {
                    bee: "i-1".into(),
                    success: true,
                    reason: None,
                },
                Signalled {
                    bee: "i-2".into(),
                    success: false,
                    reason: Some(
                        "bee i-2: JMeter exited with 1: Could not find the TestPlan class!".into(),
                    ),
                },
            ],
            silent: vec!["i-3".into()],
        };
        assert_eq!(
            describe("Done", &call),
            "Done: 1 bee(s) signalled SUCCESS (i-1); i-2 signalled FAILURE: bee i-2: JMeter exited with 1: Could not find the TestPlan class!; no signal from i-3 (it never got as far: see its log below, or `aws ec2 get-console-output --instance-id ID`)"
        );
    }

    #[test]
    fn done_data_names_skipped_bees_and_lost_rows() {
        let data = serde_json::json!({
            "i-1": r#"{"rows_shipped":10,"rows_not_shipped":0}"#,
            "i-2": r#"{"rows_shipped":5,"rows_not_shipped":3,"not_shipped_because":"index read-only"}"#,
            "i-9": r#"{"skipped":"it came up 300 s after the test started (the bound is 120 s)"}"#,
        })
        .to_string();
        assert_eq!(
            done_notes(&data),
            vec![
                "bee i-2: 3 row(s) did not reach the search cluster (index read-only); the results hold them",
                "bee i-9 ran no load: it came up 300 s after the test started (the bound is 120 s)",
            ]
        );
        assert!(done_notes("not json").is_empty());
    }
}
