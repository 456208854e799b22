//! Collected points and events as search documents. A point's `_id` is a
//! hash of namespace, metric, dimensions, statistic, period and timestamp,
//! so collecting an overlapping window again overwrites and never
//! duplicates.

use std::io::Write;
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::collect::Series;
use super::query::Query;
use crate::events::{Event, hex};
use crate::metrics::es::{Es, EsError};

/// Documents per `_bulk` request.
const BATCH: usize = 2000;
/// Attempts per request while the cluster is unavailable.
const ATTEMPTS: u32 = 4;

/// What every point document carries besides the point.
#[derive(Debug, Clone, Default)]
pub struct DocContext {
    /// The run, when collected by one.
    pub run_id: Option<String>,
    /// The build (Jenkins job, number, commit).
    pub build: Option<Value>,
    /// The monitored tags.
    pub tags: Value,
}

/// What a shipment did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shipped {
    /// Documents indexed (created or overwritten).
    pub indexed: u64,
    /// Documents the cluster refused.
    pub failed: u64,
}

/// The deterministic id of one point.
pub fn point_id(q: &Query, ts_ms: i64) -> String {
    let mut h = Sha256::new();
    h.update(q.key().as_bytes());
    h.update([0x1f]);
    h.update(ts_ms.to_string().as_bytes());
    hex(&h.finalize()[..16])
}

/// The document of one point.
pub fn point_doc(q: &Query, ts_ms: i64, value: f64, ctx: &DocContext) -> Value {
    let dims: serde_json::Map<String, Value> = q
        .dimensions
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let mut doc = json!({
        "@timestamp": ts_ms,
        "series": q.series_id(),
        "namespace": q.namespace,
        "metric": q.metric,
        "dimensions": dims,
        "stat": q.stat.to_string(),
        "period": q.period,
        "value": value,
        "tags": ctx.tags,
    });
    if let Some(r) = &ctx.run_id {
        doc["run_id"] = json!(r);
    }
    if let Some(b) = &ctx.build {
        doc["build"] = b.clone();
    }
    doc
}

/// Index template of the points index (that exact name, see
/// [`crate::events::index_template`]): strings (dimensions, tags, build)
/// are keywords.
pub fn metrics_template(index: &str) -> Value {
    json!({
        "index_patterns": [index],
        "template": {
            "settings": { "number_of_replicas": 0, "refresh_interval": "1s" },
            "mappings": {
                "dynamic_templates": [
                    { "strings": { "match_mapping_type": "string", "mapping": { "type": "keyword", "ignore_above": 1024 } } }
                ],
                "properties": {
                    "@timestamp": { "type": "date", "format": "epoch_millis||strict_date_optional_time" },
                    "value": { "type": "double" },
                    "period": { "type": "integer" }
                }
            }
        }
    })
}

/// Puts both index templates (idempotent).
pub async fn prepare(es: &Es, metrics_index: &str, events_index: &str) -> Result<(), EsError> {
    es.put(
        &format!("_index_template/stampede-{metrics_index}"),
        &metrics_template(metrics_index),
    )
    .await?;
    es.put(
        &format!("_index_template/stampede-{events_index}"),
        &crate::events::index_template(events_index),
    )
    .await
}

/// Indexes every point of `series`.
pub async fn ship_series(
    es: &Es,
    index: &str,
    series: &[Series],
    ctx: &DocContext,
) -> Result<Shipped, EsError> {
    let docs = series.iter().flat_map(|s| {
        s.points
            .iter()
            .map(|&(t, v)| (point_id(&s.query, t), point_doc(&s.query, t, v, ctx)))
    });
    ship(es, index, docs).await
}

/// Indexes events.
pub async fn ship_events(es: &Es, index: &str, events: &[Event]) -> Result<Shipped, EsError> {
    let docs = events
        .iter()
        .map(|e| (e.id(), serde_json::to_value(e).unwrap_or_default()));
    ship(es, index, docs).await
}

async fn ship(
    es: &Es,
    index: &str,
    docs: impl Iterator<Item = (String, Value)>,
) -> Result<Shipped, EsError> {
    let mut total = Shipped::default();
    let mut body = Vec::new();
    let mut n = 0;
    for (id, doc) in docs {
        let _ = writeln!(body, "{}", json!({"index": {"_index": index, "_id": id}}));
        let _ = serde_json::to_writer(&mut body, &doc);
        body.push(b'\n');
        n += 1;
        if n == BATCH {
            add(&mut total, send(es, std::mem::take(&mut body)).await?);
            n = 0;
        }
    }
    if n > 0 {
        add(&mut total, send(es, body).await?);
    }
    Ok(total)
}

fn add(total: &mut Shipped, s: Shipped) {
    total.indexed += s.indexed;
    total.failed += s.failed;
}

async fn send(es: &Es, body: Vec<u8>) -> Result<Shipped, EsError> {
    let body = bytes::Bytes::from(body);
    let mut wait = Duration::from_millis(500);
    for attempt in 1.. {
        match es.bulk(body.clone()).await {
            Ok(a) => {
                let ok = a
                    .items
                    .iter()
                    .filter(|i| {
                        i.index
                            .as_ref()
                            .is_some_and(|s| (200..300).contains(&s.status))
                    })
                    .count() as u64;
                return Ok(Shipped {
                    indexed: ok,
                    failed: a.items.len() as u64 - ok,
                });
            }
            Err(e) if e.is_transient() && attempt < ATTEMPTS => {
                tracing::debug!("{e}: retrying in {wait:?}");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            Err(e) => return Err(e),
        }
    }
    unreachable!("the loop returns")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::spec::Stat;

    fn q(dims: &[(&str, &str)], stat: Stat) -> Query {
        Query {
            namespace: "AWS/EC2".into(),
            metric: "CPUUtilization".into(),
            dimensions: dims
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            stat,
            period: 60,
        }
    }

    #[test]
    fn ids_are_stable_and_tell_series_apart() {
        let a = q(&[("AutoScalingGroupName", "web")], Stat::Average);
        let id = point_id(&a, 1_700_000_000_000);
        assert_eq!(id, point_id(&a.clone(), 1_700_000_000_000));
        assert_eq!(id.len(), 32);
        assert_ne!(id, point_id(&a, 1_700_000_060_000));
        assert_ne!(
            id,
            point_id(
                &q(&[("AutoScalingGroupName", "web")], Stat::Maximum),
                1_700_000_000_000
            )
        );
        assert_ne!(
            id,
            point_id(
                &q(&[("AutoScalingGroupName", "api")], Stat::Average),
                1_700_000_000_000
            )
        );
    }

    #[test]
    fn documents_carry_run_build_and_tags() {
        let ctx = DocContext {
            run_id: Some("r1".into()),
            build: Some(json!({"job": "shop", "number": "42"})),
            tags: json!({"Environment": "int"}),
        };
        let d = point_doc(
            &q(&[("AutoScalingGroupName", "web")], Stat::Average),
            5,
            1.5,
            &ctx,
        );
        assert_eq!(d["series"], "cloudwatch:AWS/EC2/CPUUtilization");
        assert_eq!(d["dimensions"]["AutoScalingGroupName"], "web");
        assert_eq!(d["run_id"], "r1");
        assert_eq!(d["build"]["number"], "42");
        assert_eq!(d["tags"]["Environment"], "int");
        assert_eq!(d["stat"], "Average");
    }
}
