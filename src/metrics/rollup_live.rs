//! The live view from rollups: the cluster adds the bees' histograms per
//! label (one `scripted_metric` aggregation over the `h` doc values), and
//! this side keeps what has settled, so each poll only asks for the last
//! half minute, however long the test has run.
//!
//! Settled means older than [`SETTLE_MS`]: bees ship a completed interval
//! within a second or two. A bee that comes back after an outage ships
//! older intervals late; each poll compares the cluster's count of
//! settled samples with the one kept here (a cheap `sum`), and when they
//! differ the settled part is read again, so the view converges on
//! exactly what the cluster holds.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::es::{Es, EsError};
use super::live::{LabelLive, Live, Percentiles, WINDOW_MS};
use super::loghist::{BUCKETS, LogHist};
use super::rollup::rollup_index;

/// Age after which an interval counts as settled.
pub const SETTLE_MS: i64 = 30_000;
/// Labels shown (the busiest).
const MAX_LABELS: usize = 200;

/// Adds up the `h` histograms of the documents in a bucket into pairs
/// `[bucket, count, ...]` (only the non-empty buckets).
fn merge_script() -> Value {
    json!({ "scripted_metric": {
        "params": { "n": BUCKETS },
        "init_script": "state.h = new long[params.n]",
        "map_script": "for (def v : doc['h']) { int k = (int)(v >>> 32); if (k < params.n) { state.h[k] += v & 0xFFFFFFFFL; } }",
        "combine_script": "return state.h",
        "reduce_script": "long[] t = new long[params.n]; for (def s : states) { if (s != null) { for (int i = 0; i < params.n; i++) { t[i] += s[i]; } } } List out = new ArrayList(); for (int i = 0; i < params.n; i++) { if (t[i] != 0) { out.add(i); out.add(t[i]); } } return out"
    } })
}

/// Per label: the merged histogram and exact sums.
fn by_label() -> Value {
    json!({ "terms": { "field": "label", "size": MAX_LABELS }, "aggs": {
        "h": merge_script(),
        "n": { "sum": { "field": "count" } },
        "e": { "sum": { "field": "errors" } },
        "tx": { "max": { "field": "transaction" } }
    } })
}

/// One label's numbers.
#[derive(Debug, Clone, Default)]
struct Tally {
    count: u64,
    errors: u64,
    hist: LogHist,
    /// A Transaction Controller's label: out of the totals.
    transaction: bool,
}

type Tallies = BTreeMap<String, Tally>;

/// Adds a `by_label` answer into `into`; returns the samples added.
fn add_labels(into: &mut Tallies, agg: &Value) -> u64 {
    let mut added = 0;
    for b in agg["buckets"].as_array().into_iter().flatten() {
        let t = into
            .entry(b["key"].as_str().unwrap_or_default().to_string())
            .or_default();
        let n = b["n"]["value"].as_f64().unwrap_or(0.0) as u64;
        t.count += n;
        t.errors += b["e"]["value"].as_f64().unwrap_or(0.0) as u64;
        // A boolean's max is 1 when any document was a transaction's;
        // null when none says so (or the index predates the field).
        t.transaction |= b["tx"]["value"].as_f64().unwrap_or(0.0) > 0.0;
        if let Some(pairs) = b["h"]["value"].as_array() {
            t.hist.add_pairs(pairs);
        }
        added += n;
    }
    added
}

fn percentiles(h: &LogHist) -> Percentiles {
    Percentiles {
        p50: h.quantile(0.5),
        p95: h.quantile(0.95),
        p99: h.quantile(0.99),
    }
}

/// The live view of one run, from its rollups.
pub struct RollupLive {
    index: String,
    run_id: String,
    start_ms: i64,
    settled_until: i64,
    settled: Tallies,
    settled_count: u64,
    /// How far behind the newest sample was at the last poll.
    lag_ms: i64,
}

impl RollupLive {
    /// The view of `run_id` in the rollups of `index`, from `start_ms`.
    pub fn new(index: &str, run_id: &str, start_ms: i64) -> Self {
        RollupLive {
            index: rollup_index(index),
            run_id: run_id.to_string(),
            // The run id already selects the documents; the time bound
            // only narrows the search, with a minute's slack for clocks.
            start_ms: start_ms - 60_000,
            settled_until: start_ms - 60_000,
            settled: Tallies::new(),
            settled_count: 0,
            lag_ms: 0,
        }
    }

    fn filter(&self, from: i64, to: Option<i64>) -> Value {
        let mut range = json!({ "gte": from, "format": "epoch_millis" });
        if let Some(to) = to {
            range["lt"] = json!(to);
        }
        json!({ "bool": { "filter": [
            { "term": { "run_id": self.run_id } },
            { "range": { "@timestamp": range } }
        ] } })
    }

    /// The poll's query at `now_ms`, settling up to `settle_to`.
    fn query(&self, now_ms: i64, settle_to: i64) -> Value {
        let window_end = now_ms - self.lag_ms;
        json!({
            "size": 0,
            "query": self.filter(self.start_ms, None),
            "aggs": {
                "settled": { "filter": { "range": { "@timestamp": { "lt": self.settled_until, "format": "epoch_millis" } } },
                             "aggs": { "n": { "sum": { "field": "count" } } } },
                "newest": { "max": { "field": "newest_ms" } },
                "bees": { "cardinality": { "field": "bee" } },
                "parts": { "range": { "field": "@timestamp", "keyed": true, "ranges": [
                    { "key": "settle", "from": self.settled_until, "to": settle_to.max(self.settled_until) },
                    { "key": "open", "from": settle_to.max(self.settled_until) },
                    { "key": "window", "from": window_end - WINDOW_MS, "to": window_end }
                ] }, "aggs": { "labels": by_label() } }
            }
        })
    }

    /// Reads the settled part again (late documents arrived).
    async fn resettle(&mut self, es: &Es) -> Result<(), EsError> {
        let q = json!({ "size": 0, "query": self.filter(self.start_ms, Some(self.settled_until)),
                        "aggs": { "labels": by_label() } });
        let answer = es.search(&self.index, &q).await?;
        let mut fresh = Tallies::new();
        self.settled_count = add_labels(&mut fresh, &answer["aggregations"]["labels"]);
        self.settled = fresh;
        Ok(())
    }

    /// Asks the cluster for a snapshot at `now_ms`.
    pub async fn poll(&mut self, es: &Es, now_ms: i64) -> Result<Live, EsError> {
        let settle_to = now_ms - SETTLE_MS;
        let answer = match es.search(&self.index, &self.query(now_ms, settle_to)).await {
            Ok(a) => a,
            // The first bee's first rollup creates the index.
            Err(e) if e.is_index_missing() => {
                return Ok(Live::default());
            }
            Err(e) => return Err(e),
        };
        let a = &answer["aggregations"];
        let in_cluster = a["settled"]["n"]["value"].as_f64().unwrap_or(0.0) as u64;
        if in_cluster != self.settled_count {
            self.resettle(es).await?;
        }
        let parts = &a["parts"]["buckets"];
        self.settled_count += add_labels(&mut self.settled, &parts["settle"]["labels"]);
        self.settled_until = settle_to.max(self.settled_until);
        let mut all = self.settled.clone();
        add_labels(&mut all, &parts["open"]["labels"]);
        let mut window = Tallies::new();
        add_labels(&mut window, &parts["window"]["labels"]);
        let newest = a["newest"]["value"].as_f64().map(|v| v as i64);
        self.lag_ms = newest.map_or(0, |n| (now_ms - n).clamp(0, SETTLE_MS));
        let mut live = snapshot(&all, &window);
        live.bees = a["bees"]["value"].as_u64().unwrap_or(0);
        live.freshness_s = newest.map(|n| (now_ms - n).max(0) as f64 / 1000.0);
        Ok(live)
    }
}

/// The view of everything so far (`all`) and of the last window.
fn snapshot(all: &Tallies, window: &Tallies) -> Live {
    let mut total = Tally::default();
    let mut labels = Vec::new();
    for (label, t) in all {
        if !t.transaction {
            total.count += t.count;
            total.errors += t.errors;
            total.hist.add(&t.hist);
        }
        labels.push(LabelLive {
            label: label.clone(),
            samples: t.count,
            errors: t.errors,
            overall: percentiles(&t.hist),
        });
    }
    labels.sort_by_key(|l| std::cmp::Reverse(l.samples));
    let mut recent = Tally::default();
    for (label, t) in window {
        if t.transaction || all.get(label).is_some_and(|a| a.transaction) {
            continue;
        }
        recent.count += t.count;
        recent.hist.add(&t.hist);
    }
    Live {
        samples: total.count,
        errors: total.errors,
        rate_now: recent.count as f64 * 1000.0 / WINDOW_MS as f64,
        error_pct: if total.count == 0 {
            0.0
        } else {
            total.errors as f64 * 100.0 / total.count as f64
        },
        overall: percentiles(&total.hist),
        window: percentiles(&recent.hist),
        labels,
        ..Live::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_add_up_per_label_and_overall() {
        let part = |pairs: Value, n: u64| {
            json!({ "buckets": [
                { "key": "a", "n": { "value": n }, "e": { "value": 1.0 }, "h": { "value": pairs } }
            ] })
        };
        let mut all = Tallies::new();
        // 5 ms (bucket 161) x 3 and 300 ms x 1.
        let b300 = crate::metrics::loghist::bucket(300);
        assert_eq!(add_labels(&mut all, &part(json!([161, 3]), 3)), 3);
        add_labels(&mut all, &part(json!([b300, 1]), 1));
        let live = snapshot(&all, &Tallies::new());
        assert_eq!((live.samples, live.errors), (4, 2));
        assert_eq!(live.overall.p50, 5.0);
        assert!((live.overall.p99 - 300.0).abs() < 1.5, "{:?}", live.overall);
        assert_eq!(live.labels[0].label, "a");
    }

    /// A transaction's rollups (`"transaction": true`, whose `max` is 1)
    /// keep their label row but stay out of the totals and the window.
    #[test]
    fn transactions_keep_their_row_and_stay_out_of_the_totals() {
        let answer = json!({ "buckets": [
            { "key": "step", "n": { "value": 4.0 }, "e": { "value": 1.0 }, "tx": { "value": null }, "h": { "value": [161, 4] } },
            { "key": "flow", "n": { "value": 2.0 }, "e": { "value": 1.0 }, "tx": { "value": 1.0 }, "h": { "value": [200, 2] } }
        ] });
        let mut all = Tallies::new();
        add_labels(&mut all, &answer);
        let mut window = Tallies::new();
        add_labels(&mut window, &answer);
        let live = snapshot(&all, &window);
        assert_eq!((live.samples, live.errors), (4, 1));
        assert_eq!(live.rate_now, 4.0 * 1000.0 / WINDOW_MS as f64);
        assert_eq!(live.overall.p99, 5.0);
        let flow = live.labels.iter().find(|l| l.label == "flow").unwrap();
        assert_eq!((flow.samples, flow.errors), (2, 1));
    }
}
