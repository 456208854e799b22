//! The run's side of watching the system under test (blueprint
//! `monitor:`): a [`Watcher`] alongside the live view, finished once the
//! test has ended so its series and events reach `summary.json`.

use tokio_util::sync::CancellationToken;

use crate::blueprint::Plan;
use crate::cli::GlobalArgs;
use crate::monitor::store::DocContext;
use crate::monitor::watcher::{Correlation, Watcher};
use crate::ui::Reporter;

/// A watcher when the blueprint has a `monitor:` section.
pub async fn start(
    plan: &Plan,
    global: &GlobalArgs,
    ui: &Reporter,
) -> anyhow::Result<Option<Watcher>> {
    let Some(spec) = plan.monitor.clone() else {
        return Ok(None);
    };
    let region = global.region.as_deref().or(plan.region.as_deref());
    let sdk = crate::aws::load_config(region, global.profile.as_deref()).await?;
    let ctx = DocContext {
        run_id: Some(plan.run.id.clone()),
        build: serde_json::to_value(&plan.build).ok(),
        tags: spec.tags_json(),
    };
    let es = plan.metrics.as_ref().and_then(|m| m.es.as_deref());
    Ok(Some(Watcher::new(spec, &sdk, es, ctx, ui).await))
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
