//! The live metrics view while the test runs.

use std::time::Duration;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::feed::{Feed, Kind, Phase};
use crate::metrics::es::Es;
use crate::metrics::health;
use crate::metrics::live::{self, JtlLive};
use crate::metrics::rollup_live::RollupLive;

/// How often the cluster (or the JTLs) are asked.
const POLL: Duration = Duration::from_secs(5);

/// Where live numbers come from.
pub enum Source {
    /// Aggregations over the bees' rollups on the search cluster.
    Es {
        /// The client.
        es: Es,
        /// The results index (rollups are in `<index>-rollup`).
        index: String,
        /// The run.
        run_id: String,
        /// The view, from the first poll on.
        view: Option<RollupLive>,
    },
    /// The bees' JTLs on this machine.
    Jtl(JtlLive),
    /// Nowhere: said once, then quiet.
    None,
}

impl Source {
    async fn poll(&mut self, start_ms: i64) -> Result<live::Live, String> {
        let now = chrono::Utc::now().timestamp_millis();
        match self {
            Source::Es {
                es,
                index,
                run_id,
                view,
            } => view
                .get_or_insert_with(|| RollupLive::new(index, run_id, start_ms))
                .poll(es, now)
                .await
                .map_err(|e| e.to_string()),
            Source::Jtl(j) => Ok(j.poll(now)),
            Source::None => Err("no source".into()),
        }
    }

    /// The line naming saturated bees, from their health documents.
    async fn generators_line(&self) -> Option<String> {
        let Source::Es {
            es, index, run_id, ..
        } = self
        else {
            return None;
        };
        let now = chrono::Utc::now().timestamp_millis();
        let flags = health::live_flags(es, index, run_id, now).await.ok()?;
        health::live_line(&flags)
    }
}

/// Shows live metrics from when the phase reaches testing until `stop`.
pub async fn show(mut source: Source, ui: &Feed, labels: bool, stop: &CancellationToken) {
    let start_ms = chrono::Utc::now().timestamp_millis();
    let mut phases = ui.phases();
    loop {
        if phases.borrow().is_some_and(|p| p >= Phase::Testing) {
            break;
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            changed = phases.changed() => if changed.is_err() { return },
        }
    }
    if matches!(source, Source::None) {
        ui.info("no metrics endpoint configured (blueprint `metrics.es`): live metrics are off");
        return;
    }
    let mut failing = false;
    let mut generators: Option<String> = None;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(POLL) => {}
        }
        match source.poll(start_ms).await {
            Ok(l) => {
                failing = false;
                // How often to print is each sink's choice.
                ui.emit(Kind::Live {
                    line: l.line(),
                    value: json!(l),
                    labels: labels.then(|| l.label_lines()),
                });
                // Said when it changes, not every poll.
                let line = source.generators_line().await;
                if line != generators {
                    if let Some(g) = &line {
                        ui.warn(g);
                    }
                    generators = line;
                }
            }
            Err(e) if !failing => {
                failing = true;
                ui.warn(&format!("live metrics unavailable: {e}"));
            }
            Err(_) => {}
        }
    }
}

/// The source a plan's metrics settings give.
pub async fn source(
    es: Option<&crate::bee::EsTarget>,
    run_id: &str,
    fallback: Source,
    ui: &Feed,
) -> Source {
    match es {
        Some(t) => match Es::connect(&t.url).await {
            Ok(es) => Source::Es {
                es,
                index: t.index.clone(),
                run_id: run_id.to_string(),
                view: None,
            },
            Err(e) => {
                ui.warn(&format!("live metrics off: {e}"));
                Source::None
            }
        },
        None => fallback,
    }
}
