//! `stampede ship JTL --es URL`: the bee's shipper, on its own.

use std::time::Duration;

use super::Ctx;
use crate::cli::ShipArgs;
use crate::exit::{self, Ended};
use crate::metrics::es::Es;
use crate::metrics::ship::{self, ShipConfig};

/// Ships the file, following it until interrupted with `--follow`.
pub async fn run(ctx: &Ctx<'_>, args: ShipArgs) -> anyhow::Result<Ended> {
    let ui = ctx.feed;
    crate::blueprint::check_run_id(&args.run_id)
        .map_err(|m| exit::InputError(format!("--run-id: {m}")))?;
    let es = Es::connect(&args.es)
        .await
        .map_err(|e| exit::InputError(format!("--es: {e}")))?;
    ship::prepare(&es, &args.index).await.map_err(|e| {
        exit::InfraError(format!(
            "putting the index template for {}: {e}",
            args.index
        ))
    })?;
    let bee = args.bee.clone().unwrap_or_else(|| {
        args.jtl
            .file_stem()
            .map_or("bee".into(), |s| s.to_string_lossy().into_owned())
    });
    let cfg = ShipConfig {
        index: args.index.clone(),
        bee,
        run_id: args.run_id.clone(),
        max_backoff: Duration::from_secs(10),
        give_up_after: args.give_up_after,
        rows: args.rows,
        rollup_interval_ms: args.rollup_interval.as_millis() as u64,
    };
    let interrupt = ctx.interrupt;
    let done = if args.follow {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let token = interrupt.token().clone();
        tokio::spawn(async move {
            token.cancelled().await;
            let _ = tx.send(true);
        });
        Some(rx)
    } else {
        None
    };
    let log = |m: &str| ui.warn(m);
    // Only reading the file fails the whole call; the cluster's faults are
    // counted as rows not shipped.
    let stats = ship::ship(&es, &cfg, &args.jtl, done, &log)
        .await
        .map_err(|e| exit::InputError(e.to_string()))?;
    ui.info(&format!(
        "shipped {} rows of {} to {}/{} and {} rollup documents of {} samples ({} requests, {} outages, {} lost, {} malformed)",
        stats.rows,
        args.jtl.display(),
        es.shown(),
        args.index,
        stats.rollups,
        stats.samples,
        stats.requests,
        stats.outages,
        stats.lost,
        stats.malformed
    ));
    let loss = stats.loss();
    // Rows the cluster refused, or that it was away for: infrastructure,
    // not a slower system under test.
    let outcome = match (&loss, interrupt.exit_code()) {
        (_, Some(code)) => exit::Outcome::Interrupted { code },
        (Some(_), None) => exit::Outcome::InfrastructureFailed,
        (None, None) => exit::Outcome::Passed,
    };
    if let Some(loss) = &loss {
        ui.warn(loss);
    }
    Ok(Ended::new(outcome)
        .with("rows", stats.rows)
        .with("lost", stats.lost)
        .with("rollups", stats.rollups)
        .with("rollups_lost", stats.rollups_lost)
        .with("samples", stats.samples)
        .with("lost_because", serde_json::json!(stats.loss_reasons))
        .with("malformed", stats.malformed))
}
