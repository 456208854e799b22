//! `stampede ship JTL --es URL`: the bee's shipper, on its own.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use crate::cli::{GlobalArgs, ShipArgs};
use crate::exit;
use crate::interrupt::Interrupt;
use crate::metrics::es::Es;
use crate::metrics::ship::{self, ShipConfig};
use crate::ui::Reporter;

/// Ships the file, following it until interrupted with `--follow`.
pub async fn run(global: &GlobalArgs, args: ShipArgs) -> anyhow::Result<ExitCode> {
    let ui = Reporter::new(global.output);
    let es = Es::connect(&args.es).await?;
    ship::prepare(&es, &args.index)
        .await
        .with_context(|| format!("putting the index template for {}", args.index))?;
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
        give_up_after: Duration::from_secs(600),
    };
    let interrupt = Interrupt::install();
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
    let stats = ship::ship(&es, &cfg, &args.jtl, done, &log).await?;
    ui.info(&format!(
        "shipped {} rows of {} to {}/{} ({} requests, {} outages, {} lost, {} malformed)",
        stats.rows,
        args.jtl.display(),
        es.shown(),
        args.index,
        stats.requests,
        stats.outages,
        stats.lost,
        stats.malformed
    ));
    ui.finish(
        serde_json::json!({"rows": stats.rows, "lost": stats.lost, "malformed": stats.malformed}),
    );
    if stats.lost > 0 {
        anyhow::bail!(exit::TestFailed(format!(
            "{} rows could not be shipped",
            stats.lost
        )));
    }
    Ok(ExitCode::from(
        interrupt.exit_code().unwrap_or(exit::PASSED),
    ))
}
