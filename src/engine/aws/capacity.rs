//! What the bees' Auto Scaling group says when a run fails: a launch that
//! failed for capacity or a quota appears only in its scaling activities
//! when a wait condition gave up first.

use crate::aws::Clients;
use crate::stack::capacity::{self, Finding};
use crate::stack::event::StackEvent;

/// The first capacity failure in the scaling activities of the groups the
/// stack created, if any. Best effort: a group that cannot be asked is
/// skipped (and traced), since the verdict stands without it.
pub async fn capacity(clients: &Clients, history: &[StackEvent]) -> Option<Finding> {
    let since_ms = history.first().map_or(0, |e| e.time.timestamp_millis());
    for group in capacity::groups(history) {
        match clients.watch.activities(&group, since_ms).await {
            Ok(activities) => {
                if let Some(found) = capacity::in_activities(&activities) {
                    return Some(found);
                }
            }
            Err(e) => tracing::debug!(%group, error = %e, "scaling activities not read"),
        }
    }
    None
}

/// `why`, followed by the capacity failure the scaling activities show,
/// if any.
pub async fn explain(clients: &Clients, history: &[StackEvent], why: String) -> String {
    match capacity(clients, history).await {
        Some(found) => format!("{why}\nthe bees could not all run: {}", found.message()),
        None => why,
    }
}
