//! Per-bee rollups: while a bee ships its JTL, rows are added up per
//! label and interval (the interval a sample *completed* in, one second by
//! default) and one document per label and interval goes to
//! `<index>-rollup`: count, errors, bytes, sum and max of elapsed ms, and
//! a [`LogHist`] the cluster can add across bees.
//!
//! Exactly once without any state outside the JTL: rows are grouped in
//! chunks whose bounds depend only on the file's content (a chunk ends
//! before the first row that completed in a later interval), and a
//! document's id is `<run>/<bee>/<chunk start offset>/<label hash>/<interval
//! start>`. A retried request re-sends the same ids; re-reading the file
//! from the start forms the same chunks; a chunk shipped early (a lull in
//! the test) is shipped again, whole, under the same id when it ends. So
//! a document is only ever overwritten by a superset of itself, and the
//! cluster's sums count every row once.

use std::collections::HashMap;
use std::io::Write;

use serde_json::json;

use super::loghist::LogHist;
use crate::results::jtl::Sample;

/// Which raw rows still go to `<index>` beside the rollups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RowsMode {
    /// Every row (the index grows with the load; a small cluster's limit).
    All,
    /// Failed samples only: findable by label and message, bounded by the
    /// error rate.
    #[default]
    Errors,
    /// No raw rows: rollups only.
    None,
}

impl RowsMode {
    /// Whether a sample that `succeeded` is shipped as a raw row.
    pub fn ships(self, succeeded: bool) -> bool {
        match self {
            RowsMode::All => true,
            RowsMode::Errors => !succeeded,
            RowsMode::None => false,
        }
    }

    /// The blueprint / command-line word.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "all" => Some(RowsMode::All),
            "errors" => Some(RowsMode::Errors),
            "none" => Some(RowsMode::None),
            _ => None,
        }
    }
}

/// The rollup index of a results index.
pub fn rollup_index(index: &str) -> String {
    format!("{index}-rollup")
}

/// Labels one chunk keeps apart before it ends early (bounds memory when
/// labels are unbounded, such as URLs).
const MAX_KEYS: usize = 1000;

/// Index template of the rollup index. Its priority is above the results
/// template, whose `<index>-*` pattern also matches. `h` has doc values
/// (the merge script reads them) but no index: it is never searched.
pub fn rollup_template(index: &str) -> serde_json::Value {
    let long = json!({ "type": "long" });
    json!({
        "index_patterns": [rollup_index(index)],
        "priority": 10,
        "template": {
            "settings": { "number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "1s" },
            "mappings": {
                "dynamic": false,
                "properties": {
                    "@timestamp": { "type": "date", "format": "epoch_millis||strict_date_optional_time" },
                    "newest_ms": { "type": "date", "format": "epoch_millis" },
                    "interval_ms": { "type": "integer" },
                    "run_id": { "type": "keyword" },
                    "bee": { "type": "keyword" },
                    "label": { "type": "keyword" },
                    "count": long, "errors": long, "bytes": long, "sum_ms": long, "max_ms": long,
                    "transaction": { "type": "boolean" },
                    "h": { "type": "long", "index": false }
                }
            }
        }
    })
}

/// One label's samples in one interval.
#[derive(Debug, Clone, Default)]
struct Roll {
    count: u64,
    errors: u64,
    bytes: u64,
    sum_ms: u64,
    max_ms: u64,
    newest_ms: i64,
    hist: LogHist,
    /// Transaction Controller samples: the live view leaves them out of
    /// its totals.
    transaction: bool,
}

/// Rows from one offset on, added up per label and interval.
#[derive(Debug)]
pub struct Chunk {
    /// Offset of its first row.
    start: u64,
    /// The interval its first row completed in.
    interval: i64,
    interval_ms: i64,
    rolls: HashMap<(Vec<u8>, i64), Roll>,
}

/// Adds up rows into chunks and writes their documents.
#[derive(Debug)]
pub struct Roller {
    interval_ms: i64,
    open: Option<Chunk>,
    /// Rows added since the open chunk's documents were last written.
    unwritten: u64,
}

impl Roller {
    /// A roller of `interval_ms` intervals (at least 1 ms).
    pub fn new(interval_ms: u64) -> Self {
        Roller {
            interval_ms: interval_ms.clamp(1, i64::MAX as u64) as i64,
            open: None,
            unwritten: 0,
        }
    }

    /// Adds the sample of the row at `offset`; when the row starts a new
    /// chunk, the finished one is returned, to be written.
    pub fn add(&mut self, offset: u64, s: &Sample<'_>, bytes: u64) -> Option<Chunk> {
        let end = s
            .timestamp
            .saturating_add(s.elapsed.min(i64::MAX as u64) as i64);
        let interval = end.div_euclid(self.interval_ms) * self.interval_ms;
        let key = (s.label.to_vec(), interval);
        let ends = self.open.as_ref().is_some_and(|c| {
            interval > c.interval || (c.rolls.len() >= MAX_KEYS && !c.rolls.contains_key(&key))
        });
        let finished = if ends { self.open.take() } else { None };
        let chunk = self.open.get_or_insert_with(|| Chunk {
            start: offset,
            interval,
            interval_ms: self.interval_ms,
            rolls: HashMap::new(),
        });
        let r = chunk.rolls.entry(key).or_default();
        r.count += 1;
        r.errors += u64::from(!s.success);
        r.bytes += bytes;
        r.sum_ms += s.elapsed;
        r.max_ms = r.max_ms.max(s.elapsed);
        r.newest_ms = r.newest_ms.max(end);
        r.hist.record(s.elapsed);
        r.transaction |= s.controller;
        self.unwritten += 1;
        finished
    }

    /// Whether the open chunk has rows whose documents were not written.
    pub fn pending(&self) -> bool {
        self.unwritten > 0
    }

    /// The open chunk, to write as it is so far (it is written again,
    /// whole, when it ends); `None` when there is none.
    pub fn open_chunk(&mut self) -> Option<&Chunk> {
        self.unwritten = 0;
        self.open.as_ref()
    }

    /// Ends the open chunk (the file is complete).
    pub fn finish(&mut self) -> Option<Chunk> {
        self.unwritten = 0;
        self.open.take()
    }
}

impl Chunk {
    /// Writes the chunk's documents as `_bulk` items, calling `item` with
    /// each one's bounds in `out` and its sample count.
    pub fn write(
        &self,
        w: &RollupWriter,
        out: &mut Vec<u8>,
        item: &mut dyn FnMut(usize, usize, u64),
    ) {
        let mut keys: Vec<_> = self.rolls.keys().collect();
        keys.sort();
        for key in keys {
            let start = out.len();
            let r = &self.rolls[key];
            w.write(self.start, &key.0, key.1, self.interval_ms, r, out);
            item(start, out.len(), r.count);
        }
    }
}

/// Writes rollup documents of one bee.
pub struct RollupWriter {
    index: String,
    id_prefix: String,
    tail: String,
}

impl RollupWriter {
    /// A writer for `bee` in `run_id`, into the rollup index of `index`.
    pub fn new(index: &str, bee: &str, run_id: &str) -> Self {
        RollupWriter {
            index: json!(rollup_index(index)).to_string(),
            id_prefix: format!("{run_id}/{bee}/"),
            tail: format!(",\"bee\":{},\"run_id\":{}}}\n", json!(bee), json!(run_id)),
        }
    }

    fn write(
        &self,
        chunk: u64,
        label: &[u8],
        interval: i64,
        interval_ms: i64,
        r: &Roll,
        out: &mut Vec<u8>,
    ) {
        let id = format!(
            "{}{chunk}/{:016x}/{interval}",
            self.id_prefix,
            label_hash(label)
        );
        let _ = write!(
            out,
            "{{\"index\":{{\"_index\":{},\"_id\":{}}}}}\n{{\"@timestamp\":{interval},\"interval_ms\":{interval_ms},\"label\":",
            self.index,
            json!(id)
        );
        let _ = serde_json::to_writer(&mut *out, &String::from_utf8_lossy(label));
        let _ = write!(
            out,
            ",\"count\":{},\"errors\":{},\"bytes\":{},\"sum_ms\":{},\"max_ms\":{},\"newest_ms\":{},\"h\":",
            r.count, r.errors, r.bytes, r.sum_ms, r.max_ms, r.newest_ms
        );
        let _ = serde_json::to_writer(&mut *out, &r.hist.encode());
        if r.transaction {
            out.extend_from_slice(b",\"transaction\":true");
        }
        out.extend_from_slice(self.tail.as_bytes());
    }
}

/// FNV-1a of a label: stable across versions and platforms, unlike the
/// standard hasher, so re-shipping a file gives the same ids.
pub fn label_hash(label: &[u8]) -> u64 {
    label.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(rows: &[(i64, u64, &str, bool)], split_at: Option<usize>) -> Vec<serde_json::Value> {
        let w = RollupWriter::new("idx", "b1", "r1");
        let mut roller = Roller::new(1000);
        let mut out = Vec::new();
        let write = |c: &Chunk, out: &mut Vec<u8>| c.write(&w, out, &mut |_, _, _| {});
        for (i, &(ts, ms, label, ok)) in rows.iter().enumerate() {
            if Some(i) == split_at
                && let Some(c) = roller.open_chunk()
            {
                // Shipped early (a lull), then again when it ends.
                write(c, &mut out);
            }
            let s = Sample {
                timestamp: ts,
                elapsed: ms,
                label: label.as_bytes(),
                success: ok,
                threads: 0,
                controller: false,
            };
            if let Some(c) = roller.add(i as u64 * 10, &s, 100) {
                write(&c, &mut out);
            }
        }
        if let Some(c) = roller.finish() {
            write(&c, &mut out);
        }
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Rows are added up per label and completion interval; a chunk ends
    /// before the first row of a later interval; ids name the chunk's
    /// first offset, the label and the interval.
    #[test]
    fn chunks_end_at_a_later_interval_and_ids_come_from_the_content() {
        let rows = [
            (1_000, 100, "a", true),
            (1_200, 300, "b", false),
            (1_100, 850, "a", true), // completes at 1950
            (1_900, 200, "a", true), // completes at 2100: a new chunk
            (1_000, 950, "a", true), // completes at 1950, written late
        ];
        let d = docs(&rows, None);
        let sources: Vec<_> = d.iter().skip(1).step_by(2).collect();
        let ids: Vec<_> = d
            .iter()
            .step_by(2)
            .map(|a| a["index"]["_id"].clone())
            .collect();
        let h = |l: &str| format!("{:016x}", label_hash(l.as_bytes()));
        assert_eq!(
            ids,
            [
                format!("r1/b1/0/{}/1000", h("a")),
                format!("r1/b1/0/{}/1000", h("b")),
                format!("r1/b1/30/{}/1000", h("a")),
                format!("r1/b1/30/{}/2000", h("a")),
            ]
        );
        assert_eq!(d[0]["index"]["_index"], "idx-rollup");
        assert_eq!(
            (&sources[0]["count"], &sources[0]["max_ms"]),
            (&2.into(), &850.into())
        );
        assert_eq!(
            (&sources[1]["errors"], &sources[1]["bytes"]),
            (&1.into(), &100.into())
        );
        assert_eq!(sources[0]["newest_ms"], 1950);
        let total: u64 = sources.iter().map(|s| s["count"].as_u64().unwrap()).sum();
        assert_eq!(total, 5);
    }

    /// A chunk shipped early is shipped again whole under the same ids,
    /// so the last version of each document is what a single pass writes.
    #[test]
    fn a_chunk_shipped_early_is_overwritten_by_its_whole() {
        let rows = [
            (1_000, 10, "a", true),
            (1_010, 10, "a", true),
            (1_020, 10, "b", true),
            (2_500, 10, "a", true),
        ];
        let once = docs(&rows, None);
        let early = docs(&rows, Some(1));
        let last = |d: &[serde_json::Value]| {
            let mut m = std::collections::BTreeMap::new();
            for p in d.chunks(2) {
                m.insert(p[0]["index"]["_id"].to_string(), p[1].clone());
            }
            m
        };
        assert!(early.len() > once.len());
        assert_eq!(last(&once), last(&early));
    }
}
