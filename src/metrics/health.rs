//! Generator health in the search cluster (SCHEMA.md): one document per
//! bee and interval in `<metrics.index>-health`, and the live view's
//! question "which bees are saturated right now?".

use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::es::{Es, EsError};
use crate::results::generators::{CPU_FLAG_PCT, HealthSample, SWAP_FLAG_PAGES_PER_S};

/// Samples waiting while the cluster is away: ten minutes of one bee.
/// Older ones are dropped (health is a live view; the bee summary keeps
/// the run's totals either way).
const MAX_PENDING: usize = 600;
/// How recent a sample must be to flag a bee in the live view.
pub const LIVE_WINDOW_MS: i64 = 15_000;

/// The health index of a metrics index.
pub fn index_of(metrics_index: &str) -> String {
    format!("{metrics_index}-health")
}

/// The health index's template; its priority wins over the rows
/// template, whose pattern `<index>-*` also matches.
pub fn index_template(health_index: &str) -> Value {
    json!({
        "index_patterns": [health_index],
        "priority": 50,
        "template": {
            "settings": { "number_of_replicas": 0, "refresh_interval": "1s" },
            "mappings": {
                "dynamic": false,
                "properties": {
                    "@timestamp": { "type": "date", "format": "epoch_millis||strict_date_optional_time" },
                    "run_id": { "type": "keyword" },
                    "bee": { "type": "keyword" },
                    "cpu_pct": { "type": "float" },
                    "mem_pct": { "type": "float" },
                    "swap_pages_per_s": { "type": "float" },
                    "net_rx_bytes_per_s": { "type": "float" },
                    "net_tx_bytes_per_s": { "type": "float" }
                }
            }
        }
    })
}

/// One sample as a `_bulk` item; the id makes a resend harmless.
pub fn bulk_item(index: &str, run_id: &str, bee: &str, s: &HealthSample, out: &mut Vec<u8>) {
    let action =
        json!({ "index": { "_index": index, "_id": format!("{run_id}/{bee}/{}", s.at_ms) } });
    let doc = json!({
        "@timestamp": s.at_ms, "run_id": run_id, "bee": bee,
        "cpu_pct": s.cpu_pct, "mem_pct": s.mem_pct, "swap_pages_per_s": s.swap_pages_per_s,
        "net_rx_bytes_per_s": s.net_rx_bytes_per_s, "net_tx_bytes_per_s": s.net_tx_bytes_per_s,
    });
    for line in [action, doc] {
        out.extend_from_slice(line.to_string().as_bytes());
        out.push(b'\n');
    }
}

/// Ships a bee's samples as they come; returns the sender the sampler
/// feeds (never blocking: a full queue drops the sample) and the task,
/// which ends when the sender is dropped, after a last send.
pub fn start(
    es: Es,
    metrics_index: &str,
    run_id: &str,
    bee: &str,
) -> (mpsc::Sender<HealthSample>, tokio::task::JoinHandle<u64>) {
    let (tx, mut rx) = mpsc::channel::<HealthSample>(MAX_PENDING);
    let (index, run_id, bee) = (index_of(metrics_index), run_id.to_string(), bee.to_string());
    let task = tokio::spawn(async move {
        if let Err(e) = es
            .put(
                &format!("_index_template/stampede-{index}"),
                &index_template(&index),
            )
            .await
        {
            tracing::warn!("health index template: {e}");
        }
        let mut pending: Vec<HealthSample> = Vec::new();
        let mut shipped = 0u64;
        loop {
            let open = match rx.recv().await {
                Some(s) => {
                    pending.push(s);
                    true
                }
                None => false,
            };
            while let Ok(s) = rx.try_recv() {
                pending.push(s);
            }
            let drop = pending.len().saturating_sub(MAX_PENDING);
            pending.drain(..drop);
            if !pending.is_empty() {
                let mut body = Vec::new();
                for s in &pending {
                    bulk_item(&index, &run_id, &bee, s, &mut body);
                }
                match tokio::time::timeout(Duration::from_secs(5), es.bulk(body.into())).await {
                    Ok(Ok(a)) if !a.errors => {
                        shipped += pending.len() as u64;
                        pending.clear();
                    }
                    other => tracing::debug!("health not shipped yet: {other:?}"),
                }
            }
            if !open {
                return shipped;
            }
        }
    });
    (tx, task)
}

/// A bee the live view shows as flagged.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveFlag {
    /// The bee.
    pub bee: String,
    /// Highest CPU % in the window.
    pub cpu_max: f64,
    /// Highest swap rate in the window.
    pub swap_max: f64,
}

/// Bees whose recent samples show saturation: above the CPU line or
/// swapping within the last [`LIVE_WINDOW_MS`].
pub async fn live_flags(
    es: &Es,
    metrics_index: &str,
    run_id: &str,
    now_ms: i64,
) -> Result<Vec<LiveFlag>, EsError> {
    let query = json!({
        "size": 0,
        "query": { "bool": { "filter": [
            { "term": { "run_id": run_id } },
            { "range": { "@timestamp": { "gte": now_ms - LIVE_WINDOW_MS } } }
        ] } },
        "aggs": { "bees": {
            "terms": { "field": "bee", "size": 1000 },
            "aggs": { "cpu": { "max": { "field": "cpu_pct" } }, "swap": { "max": { "field": "swap_pages_per_s" } } }
        } }
    });
    let answer = match es.search(&index_of(metrics_index), &query).await {
        Ok(a) => a,
        Err(e) if e.is_index_missing() => {
            return Ok(Vec::new());
        }
        Err(e) => return Err(e),
    };
    Ok(flags_of(&answer))
}

fn flags_of(answer: &Value) -> Vec<LiveFlag> {
    let buckets = answer["aggregations"]["bees"]["buckets"].as_array();
    buckets
        .into_iter()
        .flatten()
        .filter_map(|b| {
            let flag = LiveFlag {
                bee: b["key"].as_str()?.to_string(),
                cpu_max: b["cpu"]["value"].as_f64().unwrap_or(0.0),
                swap_max: b["swap"]["value"].as_f64().unwrap_or(0.0),
            };
            (flag.cpu_max > CPU_FLAG_PCT || flag.swap_max > SWAP_FLAG_PAGES_PER_S).then_some(flag)
        })
        .collect()
}

/// The live view's line for flagged bees, `None` when there are none.
pub fn live_line(flags: &[LiveFlag]) -> Option<String> {
    if flags.is_empty() {
        return None;
    }
    let named: Vec<String> = flags
        .iter()
        .take(8)
        .map(|f| {
            if f.swap_max > SWAP_FLAG_PAGES_PER_S {
                format!("{} (swapping)", f.bee)
            } else {
                format!("{} (CPU {:.0} %)", f.bee, f.cpu_max)
            }
        })
        .collect();
    let more = flags.len().saturating_sub(named.len());
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    Some(format!(
        "generators saturated: {}{tail}; their latencies may be the generator's",
        named.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hot_or_swapping_bees_are_flagged_live() {
        let answer = json!({"aggregations": {"bees": {"buckets": [
            {"key": "bee-1", "cpu": {"value": 35.0}, "swap": {"value": 0.0}},
            {"key": "bee-2", "cpu": {"value": 97.0}, "swap": {"value": 0.0}},
            {"key": "bee-3", "cpu": {"value": 20.0}, "swap": {"value": 250.0}}
        ]}}});
        let flags = flags_of(&answer);
        let bees: Vec<&str> = flags.iter().map(|f| f.bee.as_str()).collect();
        assert_eq!(bees, ["bee-2", "bee-3"]);
        let line = live_line(&flags).unwrap();
        assert!(
            line.contains("bee-2 (CPU 97 %), bee-3 (swapping)"),
            "{line}"
        );
        assert_eq!(live_line(&[]), None);
    }
}
