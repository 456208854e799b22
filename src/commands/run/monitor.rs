//! The run's side of watching the system under test (blueprint
//! `monitor:`): a [`Watcher`] alongside the live view, finished once the
//! test has ended so its series and events reach `summary.json`.

use tokio_util::sync::CancellationToken;

use crate::aws::AwsError;
use crate::aws::watch::Watch;
use crate::blueprint::Plan;
use crate::cli::GlobalArgs;
use crate::events::{Event, Source};
use crate::metrics::es::Es;
use crate::monitor::store;
use crate::monitor::store::DocContext;
use crate::monitor::watcher::{Correlation, Watcher};
use crate::stack::cleanup::Deletion;
use crate::ui::Reporter;

/// A watcher when the blueprint has a `monitor:` section. `watch`: the
/// run's own watching clients, when it has them (AWS mode); otherwise
/// they are made here.
pub async fn start(
    plan: &Plan,
    global: &GlobalArgs,
    watch: Option<&Watch>,
    ui: &Reporter,
) -> anyhow::Result<Option<Watcher>> {
    let Some(spec) = plan.monitor.clone() else {
        return Ok(None);
    };
    let watch = match watch {
        Some(w) => w.clone(),
        None => {
            let region = global.region.as_deref().or(plan.region.as_deref());
            Watch::new(&crate::aws::load_config(region, global.profile.as_deref()).await?)
        }
    };
    let ctx = DocContext {
        run_id: Some(plan.run.id.clone()),
        build: serde_json::to_value(&plan.build).ok(),
        tags: spec.tags_json(),
    };
    let es = plan.metrics.as_ref().and_then(|m| m.es.as_deref());
    Ok(Some(Watcher::new(spec, watch, es, ctx, ui).await))
}

/// Rounds every period until `stop` (nothing without a watcher).
pub async fn during(w: Option<&mut Watcher>, ui: &Reporter, stop: &CancellationToken) {
    if let Some(w) = w {
        w.during(ui, stop).await;
    }
}

/// The last round and what `summary.json` gets.
pub async fn finish(w: Option<Watcher>, ui: &Reporter) -> Correlation {
    match w {
        Some(w) => {
            let last = *ui.phases().borrow();
            w.finish(ui, last).await
        }
        None => Correlation::default(),
    }
}

/// Records the stack's deletion (or why it is not gone) in the events
/// index, after the watcher has finished: deletion is the run's last act.
/// Nothing without a `monitor:` section and a search cluster.
pub async fn stack_deleted(
    plan: &Plan,
    deletion: Option<&Result<Deletion, AwsError>>,
    ui: &Reporter,
) {
    let (Some(spec), Some(url)) = (
        plan.monitor.as_ref(),
        plan.metrics.as_ref().and_then(|m| m.es.as_deref()),
    ) else {
        return;
    };
    let text = match deletion {
        Some(Ok(Deletion::Deleted)) => format!("stack {} deleted", plan.stack),
        Some(Ok(Deletion::Started)) => format!("stack {} deletion started", plan.stack),
        Some(Ok(Deletion::Failed(_))) => format!("stack {} failed to delete", plan.stack),
        Some(Ok(Deletion::Unfinished(s))) => format!("stack {} still deleting ({s})", plan.stack),
        Some(Err(_)) => format!("stack {} could not be deleted", plan.stack),
        None => format!("stack {} kept (--keep)", plan.stack),
    };
    let mut event = Event::new(
        chrono::Utc::now(),
        Source::Stack,
        text,
        vec!["stack".into()],
    );
    event.run_id = Some(plan.run.id.clone());
    let shipped = match Es::connect(url).await {
        Ok(es) => store::ship_events(&es, &spec.events_index, &[event]).await,
        Err(e) => Err(e),
    };
    if let Err(e) = shipped {
        ui.warn(&format!(
            "monitor: the stack's deletion event did not reach the search cluster: {e}"
        ));
    }
}
