//! `stampede reap`: deletes stampede stacks whose expiry tag has passed,
//! the orphans of runs that were killed before they could clean up.

use chrono::{DateTime, Utc};

use super::Ctx;
use crate::aws::cfn::StackInfo;
use crate::cli::ReapArgs;
use crate::exit::{Ended, Outcome};
use crate::stack::cleanup::{self, Deletion};
use crate::stack::{Follower, status};

/// The tag `run` puts on every stack it creates.
pub const EXPIRES_TAG: &str = "stampede:expires-at";

/// Stacks whose expiry has passed at `now`, and are not already deleting.
/// A DELETE_FAILED stack still costs money, so it is reaped again.
pub fn expired(stacks: &[StackInfo], now: DateTime<Utc>) -> Vec<&StackInfo> {
    stacks
        .iter()
        .filter(|s| !status::is_deleting(&s.status))
        .filter(|s| {
            s.tags
                .iter()
                .find(|(k, _)| k == EXPIRES_TAG)
                .and_then(|(_, v)| DateTime::parse_from_rfc3339(v).ok())
                .is_some_and(|t| t < now)
        })
        .collect()
}

/// Finds and deletes expired stacks.
pub async fn run(ctx: &Ctx<'_>, args: ReapArgs) -> anyhow::Result<Ended> {
    let global = ctx.global;
    let clients = crate::aws::connect(global.region.as_deref(), global.profile.as_deref()).await?;
    let ui = ctx.feed;
    let interrupt = ctx.interrupt;
    let stacks = clients.cfn.list().await?;
    let victims = expired(&stacks, Utc::now());
    if victims.is_empty() {
        ui.info("no expired stampede stacks");
    }
    let mut outcome = Outcome::Passed;
    let mut reaped = Vec::new();
    for s in victims {
        if args.dry_run {
            ui.info(&format!("would delete {} ({})", s.name, s.status));
            continue;
        }
        ui.info(&format!("deleting expired stack {} ({})", s.name, s.status));
        // One stack's error must not keep the others alive.
        match reap_one(&clients, ui, global, s, interrupt).await {
            Ok(Deletion::Deleted) => reaped.push(s.name.clone()),
            Ok(d) => {
                if let Some(advice) = cleanup::advice(&s.name, &d) {
                    ui.warn(&advice);
                }
                outcome = match interrupt.exit_code() {
                    Some(code) => Outcome::Interrupted { code },
                    None => Outcome::InfrastructureFailed,
                };
            }
            Err(e) => {
                ui.warn(&format!(
                    "could not delete {}: {e:#}; delete it with: stampede delete {}",
                    s.name, s.name
                ));
                outcome = Outcome::InfrastructureFailed;
            }
        }
        if interrupt.exit_code().is_some() {
            break;
        }
    }
    Ok(Ended::new(outcome).with("deleted", reaped))
}

async fn reap_one(
    clients: &crate::aws::Clients,
    ui: &crate::feed::Feed,
    global: &crate::cli::GlobalArgs,
    s: &StackInfo,
    interrupt: &crate::interrupt::Interrupt,
) -> anyhow::Result<Deletion> {
    let mut f = Follower::new(&clients.cfn, ui, &s.id, global.poll_interval);
    f.skip_history().await?;
    Ok(cleanup::delete(&mut f, &s.id, true, interrupt.token()).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(name: &str, status: &str, expires: Option<&str>) -> StackInfo {
        StackInfo {
            id: name.into(),
            name: name.into(),
            status: status.into(),
            reason: None,
            tags: expires
                .map(|e| vec![(EXPIRES_TAG.to_string(), e.to_string())])
                .unwrap_or_default(),
            outputs: vec![],
        }
    }

    #[test]
    fn only_expired_stampede_stacks_are_reaped() {
        let now = DateTime::parse_from_rfc3339("2026-11-24T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let stacks = vec![
            stack("old", "CREATE_COMPLETE", Some("2026-11-24T11:00:00Z")),
            stack("fresh", "CREATE_IN_PROGRESS", Some("2026-11-24T13:00:00Z")),
            stack("foreign", "CREATE_COMPLETE", None),
            stack("going", "DELETE_IN_PROGRESS", Some("2026-11-24T11:00:00Z")),
            stack("stuck", "DELETE_FAILED", Some("2026-11-24T11:00:00Z")),
        ];
        let names: Vec<&str> = expired(&stacks, now)
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(names, vec!["old", "stuck"]);
    }
}
