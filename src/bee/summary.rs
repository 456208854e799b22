//! The bee's end of run: its health over the test, and its own summary of
//! its JTL uploaded beside it as `<bee id>.summary.json`, so `run` merges
//! summaries instead of re-parsing every JTL.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::mpsc;

use super::BeeConfig;
use super::health::Sampler;
use crate::aws::Clients;
use crate::metrics::es::Es;
use crate::metrics::health as ship_health;
use crate::results::beemerge::SUMMARY_SUFFIX;
use crate::results::beesum::BeeSummary;
use crate::results::generators::{GeneratorSummary, HealthSample};
use crate::results::{self, analyze_paths};

/// How often health is sampled: the rollups' interval.
const HEALTH_EVERY: Duration = Duration::from_secs(1);

/// Health sampling (and shipping, with a search cluster) while JMeter runs.
pub struct Health {
    sampler: Option<Sampler>,
    shipper: Option<tokio::task::JoinHandle<u64>>,
}

impl Health {
    /// Starts sampling; shipping too when the bee has a search cluster.
    pub async fn start(cfg: &BeeConfig, id: &str, log: &(dyn Fn(&str) + Sync)) -> Health {
        let (tx, shipper) = match &cfg.es {
            Some(t) => match Es::connect(&t.url).await {
                Ok(es) => {
                    let (tx, task) = ship_health::start(es, &t.index, &cfg.run_id, id);
                    (Some(tx), Some(task))
                }
                Err(_) => (None, None),
            },
            None => (None, None),
        };
        let each = move |s: HealthSample| {
            if let Some(tx) = &tx {
                // Full means the cluster is behind: this sample is dropped.
                let _: Result<(), mpsc::error::TrySendError<_>> = tx.try_send(s);
            }
        };
        let sampler = Sampler::start(id, HEALTH_EVERY, each);
        if sampler.is_none() {
            log(&format!("bee {id}: /proc unreadable: no generator health"));
        }
        Health { sampler, shipper }
    }

    /// Stops sampling and shipping; the bee's health over the test.
    pub async fn finish(self) -> Option<GeneratorSummary> {
        let sampler = self.sampler?;
        let summary = tokio::task::spawn_blocking(move || sampler.finish())
            .await
            .ok();
        // The sampler held the only sender: the shipper sends what it has
        // and ends. A cluster that is away gets a few seconds, no more.
        if let Some(task) = self.shipper {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
        summary
    }
}

/// Summarises the bee's JTL and puts the summary beside the uploaded JTL.
/// A failure is logged, not fatal: `run` then reads this bee's JTL.
pub async fn upload(
    cfg: &BeeConfig,
    clients: Option<&Clients>,
    id: &str,
    jtl: &Path,
    generator: Option<GeneratorSummary>,
    log: &(dyn Fn(&str) + Sync),
) {
    match try_upload(cfg, clients, id, jtl, generator).await {
        Ok(to) => log(&format!("bee {id}: summary at {to}")),
        Err(e) => log(&format!(
            "bee {id}: no summary uploaded ({e:#}); the run will read this bee's JTL"
        )),
    }
}

async fn try_upload(
    cfg: &BeeConfig,
    clients: Option<&Clients>,
    id: &str,
    jtl: &Path,
    generator: Option<GeneratorSummary>,
) -> anyhow::Result<String> {
    let name = format!("{id}{SUMMARY_SUFFIX}");
    let local = jtl.with_file_name(&name);
    let (bee, src, dst) = (id.to_string(), jtl.to_path_buf(), local.clone());
    tokio::task::spawn_blocking(move || write_summary(&bee, &src, &dst, generator))
        .await
        .context("the summariser stopped")??;
    super::upload::put_beside(cfg, clients, &name, &local).await
}

/// One pass over the JTL (on this blocking thread), written as a bee
/// summary.
fn write_summary(
    bee: &str,
    jtl: &Path,
    to: &Path,
    generator: Option<GeneratorSummary>,
) -> anyhow::Result<()> {
    let analysis = analyze_paths(&[jtl.to_path_buf()], results::default_workers())
        .with_context(|| format!("summarising {}", jtl.display()))?;
    let file = &analysis.files[0];
    let summary = BeeSummary::of(
        bee,
        &analysis.aggregate,
        file.rows,
        file.malformed.count,
        generator,
    );
    std::fs::write(to, summary.to_json()).with_context(|| format!("writing {}", to.display()))
}
