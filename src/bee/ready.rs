//! Waiting for every bee to be ready, and refusing a start far too late.

use std::time::{Duration, Instant};

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use super::{BeeConfig, Coordinator};
use crate::aws::Clients;

/// Why a bee that finds the test started at `ready_at` runs no load, if
/// it is later than `bound_s`: a replacement instance (Auto Scaling
/// replacing a failed bee) would otherwise start its load late without a
/// word and skew the results' time line.
pub fn late_start(
    ready_at: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
    bound_s: u64,
) -> Option<String> {
    let late = (now - ready_at).num_seconds();
    (late > i64::try_from(bound_s).unwrap_or(i64::MAX))
        .then(|| format!("it came up {late} s after the test started (the bound is {bound_s} s)"))
}

/// Polls until every bee is ready: the `Ready` wait condition completes
/// (AWS) or the local coordinator says so. Returns when it completed, when
/// that is known.
pub(super) async fn wait_ready(
    cfg: &BeeConfig,
    clients: Option<&Clients>,
    stop: &CancellationToken,
) -> anyhow::Result<Option<chrono::DateTime<chrono::Utc>>> {
    let deadline = Instant::now() + Duration::from_secs(cfg.ready_timeout_s);
    let http = reqwest::Client::new();
    loop {
        let (status, at) = match &cfg.coordinator {
            Coordinator::Cloudformation => clients
                .context("no AWS clients")?
                .cfn
                .resource_status(&cfg.stack, crate::stack::phase::READY)
                .await?
                .unwrap_or_default(),
            Coordinator::Local { url } => {
                let resp = http
                    .get(format!("{}/ready", url.trim_end_matches('/')))
                    .send()
                    .await;
                match resp {
                    Ok(r) => {
                        let v = r.json::<serde_json::Value>().await.unwrap_or_default();
                        let at = v["completed_at_ms"]
                            .as_i64()
                            .and_then(chrono::DateTime::from_timestamp_millis);
                        (v["status"].as_str().unwrap_or_default().to_string(), at)
                    }
                    Err(_) => (String::new(), None),
                }
            }
        };
        match status.as_str() {
            "CREATE_COMPLETE" => return Ok(at),
            s if s.ends_with("FAILED") => anyhow::bail!("the Ready wait condition is {s}"),
            _ => {}
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "not every bee was ready within {}s",
            cfg.ready_timeout_s
        );
        let pause = if matches!(cfg.coordinator, Coordinator::Local { .. }) {
            200
        } else {
            5000
        };
        tokio::select! {
            _ = stop.cancelled() => anyhow::bail!("interrupted while waiting for the other bees"),
            _ = tokio::time::sleep(Duration::from_millis(pause)) => {}
        }
    }
}
