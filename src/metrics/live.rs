//! Live test metrics while a run is testing: from the search cluster by
//! aggregations (never by fetching documents) over the bees' rollups (see
//! [`super::rollup_live`]), or, in laptop mode without a cluster, from the
//! bees' JTLs. [`from_es`] reads raw rows instead: the way before rollups,
//! kept as the peer in `bench/swarm.sh`.

use std::collections::VecDeque;
use std::fmt::Write;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::{Value, json};

use super::es::{Es, EsError};
use super::tail::Tail;
use crate::results::aggregate::{Aggregate, new_histogram};
use crate::results::jtl::parse_row;

/// The "now" window for throughput and recent percentiles.
pub const WINDOW_MS: i64 = 10_000;

/// Percentiles in ms.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 95th.
    pub p95: f64,
    /// 99th.
    pub p99: f64,
}

/// One label's live numbers.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct LabelLive {
    /// The label.
    pub label: String,
    /// Samples so far.
    pub samples: u64,
    /// Errors so far.
    pub errors: u64,
    /// Percentiles so far.
    pub overall: Percentiles,
}

/// A snapshot of the running test.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Live {
    /// Samples since the start.
    pub samples: u64,
    /// Errors since the start.
    pub errors: u64,
    /// Samples per second over the last window.
    pub rate_now: f64,
    /// Error percentage since the start.
    pub error_pct: f64,
    /// Percentiles since the start.
    pub overall: Percentiles,
    /// Percentiles of the last window.
    pub window: Percentiles,
    /// Bees that sent samples.
    pub bees: u64,
    /// Per label, busiest first.
    pub labels: Vec<LabelLive>,
    /// Age in seconds of the newest sample seen (completed), when any.
    pub freshness_s: Option<f64>,
}

impl Live {
    /// One line for logs and the status bar.
    pub fn line(&self) -> String {
        format!(
            "samples {}  {:.1}/s now  errors {:.2}%  p50 {:.0}ms p95 {:.0}ms p99 {:.0}ms  (last 10s p95 {:.0}ms)  bees {}{}",
            self.samples,
            self.rate_now,
            self.error_pct,
            self.overall.p50,
            self.overall.p95,
            self.overall.p99,
            self.window.p95,
            self.bees,
            self.freshness_s
                .map_or_else(String::new, |f| format!("  newest {f:.1}s ago"))
        )
    }

    /// One line per label.
    pub fn label_lines(&self) -> String {
        let mut out = String::new();
        for l in &self.labels {
            let _ = writeln!(
                out,
                "   {}  samples {}  errors {}  p50 {:.0}ms p95 {:.0}ms p99 {:.0}ms",
                l.label, l.samples, l.errors, l.overall.p50, l.overall.p95, l.overall.p99
            );
        }
        out
    }
}

fn percentiles(v: &Value) -> Percentiles {
    let get = |k: &str| v["values"][k].as_f64().unwrap_or(0.0);
    Percentiles {
        p50: get("50.0"),
        p95: get("95.0"),
        p99: get("99.0"),
    }
}

/// The aggregation query for run `run_id` since `start_ms`, at `now_ms`.
pub fn query(run_id: &str, start_ms: i64, now_ms: i64) -> Value {
    let pct = json!({ "percentiles": { "field": "elapsed", "percents": [50, 95, 99] } });
    let errors = json!({ "filter": { "term": { "success": false } } });
    json!({
        "size": 0,
        "track_total_hits": true,
        "query": { "bool": { "filter": [
            { "term": { "run_id": run_id } },
            { "range": { "@timestamp": { "gte": start_ms, "format": "epoch_millis" } } }
        ] } },
        "aggs": {
            "overall": pct,
            "errors": errors,
            "bees": { "cardinality": { "field": "bee" } },
            "newest": { "max": { "field": "@timestamp" } },
            "window": {
                "filter": { "range": { "@timestamp": { "gte": now_ms - WINDOW_MS, "format": "epoch_millis" } } },
                "aggs": { "p": pct }
            },
            "labels": {
                "terms": { "field": "label", "size": 50 },
                "aggs": { "p": pct, "errors": errors }
            }
        }
    })
}

/// Reads an aggregation answer at `now_ms`.
pub fn from_answer(v: &Value, now_ms: i64) -> Live {
    let samples = v["hits"]["total"]["value"].as_u64().unwrap_or(0);
    let errors = v["aggregations"]["errors"]["doc_count"]
        .as_u64()
        .unwrap_or(0);
    let a = &v["aggregations"];
    Live {
        samples,
        errors,
        rate_now: a["window"]["doc_count"].as_f64().unwrap_or(0.0) * 1000.0 / WINDOW_MS as f64,
        error_pct: if samples == 0 {
            0.0
        } else {
            errors as f64 * 100.0 / samples as f64
        },
        overall: percentiles(&a["overall"]),
        window: percentiles(&a["window"]["p"]),
        bees: a["bees"]["value"].as_u64().unwrap_or(0),
        labels: a["labels"]["buckets"]
            .as_array()
            .map(|b| {
                b.iter()
                    .map(|l| LabelLive {
                        label: l["key"].as_str().unwrap_or_default().to_string(),
                        samples: l["doc_count"].as_u64().unwrap_or(0),
                        errors: l["errors"]["doc_count"].as_u64().unwrap_or(0),
                        overall: percentiles(&l["p"]),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        freshness_s: a["newest"]["value"]
            .as_f64()
            .map(|n| (now_ms as f64 - n).max(0.0) / 1000.0),
    }
}

/// Asks the cluster for a snapshot from raw rows.
pub async fn from_es(
    es: &Es,
    index: &str,
    run_id: &str,
    start_ms: i64,
    now_ms: i64,
) -> Result<Live, EsError> {
    match es.search(index, &query(run_id, start_ms, now_ms)).await {
        Ok(answer) => Ok(from_answer(&answer, now_ms)),
        // The first bee's first batch creates the index.
        Err(e) if e.is_index_missing() => Ok(Live::default()),
        Err(e) => Err(e),
    }
}

/// Live metrics straight from the bees' JTLs (laptop mode without a
/// cluster).
pub struct JtlLive {
    files: Vec<(PathBuf, Option<Tail>)>,
    all: Aggregate,
    recent: VecDeque<(i64, u64)>,
    bees: usize,
    /// Completion time of the newest sample read.
    newest: Option<i64>,
}

impl JtlLive {
    /// Follows these JTLs (they may not exist yet).
    pub fn new(files: Vec<PathBuf>) -> Self {
        JtlLive {
            files: files.into_iter().map(|p| (p, None)).collect(),
            all: Aggregate::default(),
            recent: VecDeque::new(),
            bees: 0,
            newest: None,
        }
    }

    /// Reads new rows and returns a snapshot at `now_ms`.
    pub fn poll(&mut self, now_ms: i64) -> Live {
        for (path, tail) in &mut self.files {
            if tail.is_none() {
                *tail = Tail::open(path, 0).ok();
            }
            let Some(t) = tail else { continue };
            let Ok(rows) = t.poll(false) else { continue };
            let Some(cols) = t.header().map(|h| h.cols.clone()) else {
                continue;
            };
            for row in rows {
                if let Some(s) = parse_row(&row.record, &cols) {
                    self.all.record(&s);
                    // Transactions are out of the totals, the window's
                    // rate and percentiles included.
                    if !s.controller {
                        self.recent.push_back((s.timestamp, s.elapsed));
                    }
                    let end = s.timestamp.saturating_add(s.elapsed as i64);
                    self.newest = Some(self.newest.map_or(end, |n| n.max(end)));
                }
            }
        }
        self.bees = self
            .files
            .iter()
            .filter(|(_, t)| t.as_ref().is_some_and(|t| t.offset() > 0))
            .count();
        while self
            .recent
            .front()
            .is_some_and(|(ts, _)| *ts < now_ms - WINDOW_MS)
        {
            self.recent.pop_front();
        }
        let mut live = self.snapshot();
        live.freshness_s = self.newest.map(|n| (now_ms - n).max(0) as f64 / 1000.0);
        live
    }

    fn snapshot(&self) -> Live {
        let total = self.all.total();
        let pct = |h: &hdrhistogram::Histogram<u64>| Percentiles {
            p50: h.value_at_quantile(0.5) as f64,
            p95: h.value_at_quantile(0.95) as f64,
            p99: h.value_at_quantile(0.99) as f64,
        };
        let mut window = new_histogram();
        for (_, e) in &self.recent {
            window.saturating_record((*e).max(1));
        }
        let mut labels: Vec<LabelLive> = self
            .all
            .labels
            .iter()
            .map(|(l, s)| LabelLive {
                label: l.clone(),
                samples: s.count,
                errors: s.errors,
                overall: pct(&s.hist),
            })
            .collect();
        labels.sort_by_key(|l| std::cmp::Reverse(l.samples));
        Live {
            samples: total.count,
            errors: total.errors,
            rate_now: self.recent.len() as f64 * 1000.0 / WINDOW_MS as f64,
            error_pct: if total.count == 0 {
                0.0
            } else {
                total.errors as f64 * 100.0 / total.count as f64
            },
            overall: if total.count == 0 {
                Percentiles::default()
            } else {
                pct(&total.hist)
            },
            window: if self.recent.is_empty() {
                Percentiles::default()
            } else {
                pct(&window)
            },
            bees: self.bees as u64,
            labels,
            freshness_s: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_aggregation_answer() {
        let answer = json!({
            "hits": { "total": { "value": 200 } },
            "aggregations": {
                "errors": { "doc_count": 4 },
                "bees": { "value": 2 },
                "overall": { "values": { "50.0": 10.0, "95.0": 40.0, "99.0": 90.0 } },
                "window": { "doc_count": 50, "p": { "values": { "50.0": 11.0, "95.0": 42.0, "99.0": 95.0 } } },
                "labels": { "buckets": [ { "key": "home", "doc_count": 120, "errors": { "doc_count": 1 }, "p": { "values": { "50.0": 9.0, "95.0": 30.0, "99.0": 60.0 } } } ] }
            }
        });
        let live = from_answer(&answer, 0);
        assert_eq!(live.samples, 200);
        assert_eq!(live.rate_now, 5.0);
        assert_eq!(live.error_pct, 2.0);
        assert_eq!(live.window.p95, 42.0);
        assert_eq!(live.labels[0].label, "home");
        assert!(live.line().contains("5.0/s now"), "{}", live.line());
    }

    #[test]
    fn jtl_live_counts_what_the_files_hold() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.jtl");
        std::fs::write(
            &a,
            "timeStamp,elapsed,label,success\n1000,10,x,true\n2000,20,x,false\n",
        )
        .unwrap();
        let mut live = JtlLive::new(vec![a, dir.path().join("missing.jtl")]);
        let s = live.poll(5000);
        assert_eq!((s.samples, s.errors, s.bees), (2, 1, 1));
        assert_eq!(s.rate_now, 0.2);
        assert_eq!(s.freshness_s, Some(2.98));
    }
}
