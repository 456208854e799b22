//! The run's side of watching the system under test (blueprint
//! `monitor:`): a [`Watcher`] alongside the live view, finished once the
//! test has ended so its series and events reach `summary.json`.

use tokio_util::sync::CancellationToken;

use super::plan::RunPlan;
use crate::aws::watch::Watch;
use crate::blueprint::Plan;
use crate::events::{Event, Source};
use crate::feed::Feed;
use crate::metrics::es::Es;
use crate::monitor::store;
use crate::monitor::store::DocContext;
use crate::monitor::watcher::{Correlation, Watcher};

/// A watcher when the blueprint has a `monitor:` section. `watch`: the
/// run's own watching clients, when it has them (AWS mode); otherwise
/// they are made here.
pub async fn start(
    run: &RunPlan,
    watch: Option<&Watch>,
    ui: &Feed,
) -> anyhow::Result<Option<Watcher>> {
    let plan = &run.blueprint;
    let Some(spec) = plan.monitor.clone() else {
        return Ok(None);
    };
    let watch = match watch {
        Some(w) => w.clone(),
        None => {
            let c = &run.choices;
            Watch::new(&crate::aws::load_config(c.region.as_deref(), c.profile.as_deref()).await?)
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
pub async fn during(w: Option<&mut Watcher>, ui: &Feed, stop: &CancellationToken) {
    if let Some(w) = w {
        w.during(ui, stop).await;
    }
}

/// The last round and what `summary.json` gets.
pub async fn finish(w: Option<Watcher>, ui: &Feed) -> Correlation {
    match w {
        Some(w) => w.finish(ui).await,
        None => Correlation::default(),
    }
}

/// Records what became of the fleet (deleted, or why it is not gone) in
/// the events index, after the watcher has finished: it is the run's last
/// act. Nothing without a `monitor:` section and a search cluster.
pub async fn fleet_removed(plan: &Plan, state: &str, ui: &Feed) {
    let (Some(spec), Some(url)) = (
        plan.monitor.as_ref(),
        plan.metrics.as_ref().and_then(|m| m.es.as_deref()),
    ) else {
        return;
    };
    let text = match state {
        "deleted" => format!("stack {} deleted", plan.stack),
        "deleting" => format!("stack {} deletion started", plan.stack),
        "kept" => format!("stack {} kept (--keep)", plan.stack),
        "delete_failed" => format!("stack {} failed to delete", plan.stack),
        "delete_error" => format!("stack {} could not be deleted", plan.stack),
        other => format!("stack {} still deleting ({other})", plan.stack),
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
