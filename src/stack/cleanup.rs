//! Deleting a stack and following it to DELETE_COMPLETE, shared by `run`,
//! `delete` and `reap`.

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::follow::{Follower, Stop, Until};
use super::phase::{Phase, delete_blockers};
use crate::aws::AwsError;

/// Longest we follow a deletion before handing it to the user.
pub const DELETE_TIMEOUT: Duration = Duration::from_secs(45 * 60);

/// How a deletion ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deletion {
    /// The stack is gone.
    Deleted,
    /// DeleteStack was called; not followed.
    Started,
    /// DELETE_FAILED: these resources (logical id, reason) blocked it.
    Failed(Vec<(String, String)>),
    /// Still deleting when we stopped following.
    Unfinished(String),
}

/// Calls DeleteStack at once, then follows the deletion unless `wait` is
/// false, or until `cancel` fires. `run` passes a token the first signal
/// does not cancel: that signal is what asked for the deletion.
pub async fn delete(
    f: &mut Follower<'_>,
    stack: &str,
    wait: bool,
    cancel: &CancellationToken,
) -> Result<Deletion, AwsError> {
    f.cfn_delete(stack).await?;
    f.set_phase(Phase::Deleting);
    if !wait {
        return Ok(Deletion::Started);
    }
    follow(f, cancel).await
}

/// Follows a deletion already asked for to its end, or until `cancel`
/// fires.
pub async fn follow(
    f: &mut Follower<'_>,
    cancel: &CancellationToken,
) -> Result<Deletion, AwsError> {
    let stop = f
        .follow(
            Until::Settled,
            cancel,
            Some(Instant::now() + DELETE_TIMEOUT),
        )
        .await?;
    Ok(match stop {
        Stop::Gone => {
            f.set_phase(Phase::Deleted);
            Deletion::Deleted
        }
        Stop::Settled(s) if s == "DELETE_COMPLETE" => {
            f.set_phase(Phase::Deleted);
            Deletion::Deleted
        }
        Stop::Settled(s) if s == "DELETE_FAILED" => {
            f.set_phase(Phase::DeleteFailed);
            Deletion::Failed(delete_blockers(f.history()))
        }
        Stop::Settled(s) => Deletion::Unfinished(s),
        Stop::TimedOut | Stop::Cancelled | Stop::FailedEarly => {
            Deletion::Unfinished("DELETE_IN_PROGRESS".into())
        }
    })
}

impl Deletion {
    /// The state the stack was left in, for result objects.
    pub fn name(&self) -> String {
        match self {
            Deletion::Deleted => "deleted".into(),
            Deletion::Started => "deleting".into(),
            Deletion::Failed(_) => "delete_failed".into(),
            Deletion::Unfinished(s) => s.to_lowercase(),
        }
    }
}

/// What to tell the user when a deletion did not finish.
pub fn advice(stack: &str, d: &Deletion) -> Option<String> {
    match d {
        Deletion::Deleted | Deletion::Started => None,
        Deletion::Failed(blockers) => {
            let list: Vec<String> = blockers
                .iter()
                .map(|(r, why)| format!("  {r}: {why}"))
                .collect();
            Some(format!(
                "stack {stack} could not be deleted (DELETE_FAILED); it still costs money. Blocking resources:\n{}\nFix or empty them, then run: stampede delete {stack}",
                if list.is_empty() {
                    "  (none named by CloudFormation)".to_string()
                } else {
                    list.join("\n")
                }
            ))
        }
        Deletion::Unfinished(status) => Some(format!(
            "stack {stack} is still {status}; stopped following it. Check it with: stampede observe {stack}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::cfn::tests::{STACK_ID, client, delete_failed_rules};

    #[tokio::test]
    async fn delete_failed_names_the_blocking_resources() {
        let rules = delete_failed_rules();
        let refs: Vec<&aws_smithy_mocks::Rule> = rules.iter().collect();
        let cfn = client(&refs, 1);
        let ui = crate::feed::Feed::new(Vec::new());
        let mut f = Follower::new(&cfn, &ui, STACK_ID, Duration::from_millis(1));
        let d = delete(&mut f, STACK_ID, true, &CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(
            d,
            Deletion::Failed(vec![(
                "Logs".into(),
                "The bucket you tried to delete is not empty".into()
            )])
        );
        let advice = advice("s", &d).unwrap();
        assert!(
            advice.contains("Logs: The bucket you tried to delete is not empty"),
            "{advice}"
        );
        assert!(advice.contains("stampede delete s"), "{advice}");
        assert_eq!(f.phase(), Phase::DeleteFailed);
    }
}
