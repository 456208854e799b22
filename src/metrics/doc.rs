//! JTL rows as search documents, in `_bulk` NDJSON. Each document's `_id`
//! is `<run id>/<bee id>/<byte offset of the row in its JTL>`: unique
//! across runs that share an index, and the same on every retry, so a
//! retried batch or a re-shipped file overwrites instead of duplicating.

use std::io::Write;

use serde_json::json;

use super::tail::{Header, Row};
use crate::results::jtl::{Columns, parse_row};

/// How a column is written into the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Number,
    Text,
    Bool,
    Time,
}

/// JTL column → document field and type.
const FIELDS: &[(&str, &str, Kind)] = &[
    ("timeStamp", "@timestamp", Kind::Time),
    ("elapsed", "elapsed", Kind::Number),
    ("label", "label", Kind::Text),
    ("responseCode", "response_code", Kind::Text),
    ("responseMessage", "response_message", Kind::Text),
    ("threadName", "thread", Kind::Text),
    ("success", "success", Kind::Bool),
    ("failureMessage", "failure_message", Kind::Text),
    ("bytes", "bytes", Kind::Number),
    ("sentBytes", "sent_bytes", Kind::Number),
    ("grpThreads", "grp_threads", Kind::Number),
    ("allThreads", "all_threads", Kind::Number),
    ("URL", "url", Kind::Text),
    ("Latency", "latency", Kind::Number),
    ("IdleTime", "idle_time", Kind::Number),
    ("Connect", "connect", Kind::Number),
];

/// Index template: dates, keywords, numbers and booleans typed as the
/// live queries need them.
pub fn index_template(index: &str) -> serde_json::Value {
    json!({
        "index_patterns": [index, format!("{index}-*")],
        "template": {
            "settings": { "number_of_replicas": 0, "refresh_interval": "1s" },
            "mappings": {
                "dynamic": false,
                "properties": {
                    "@timestamp": { "type": "date", "format": "epoch_millis||strict_date_optional_time" },
                    "label": { "type": "keyword" },
                    "response_code": { "type": "keyword" },
                    "response_message": { "type": "keyword", "ignore_above": 512 },
                    "failure_message": { "type": "keyword", "ignore_above": 1024 },
                    "thread": { "type": "keyword" },
                    "url": { "type": "keyword", "ignore_above": 2048 },
                    "bee": { "type": "keyword" },
                    "run_id": { "type": "keyword" },
                    "elapsed": { "type": "long" },
                    "latency": { "type": "long" },
                    "connect": { "type": "long" },
                    "idle_time": { "type": "long" },
                    "bytes": { "type": "long" },
                    "sent_bytes": { "type": "long" },
                    "grp_threads": { "type": "integer" },
                    "all_threads": { "type": "integer" },
                    "success": { "type": "boolean" }
                }
            }
        }
    })
}

/// Writes rows of one file as bulk items.
pub struct DocWriter {
    cols: Columns,
    fields: Vec<(usize, &'static str, Kind)>,
    action_prefix: String,
    tail: String,
}

impl DocWriter {
    /// A writer for a file with `header`, shipped by `bee` in `run_id`.
    pub fn new(header: &Header, index: &str, bee: &str, run_id: &str) -> Self {
        let fields = FIELDS
            .iter()
            .filter_map(|(col, field, kind)| {
                header
                    .names
                    .iter()
                    .position(|n| n.eq_ignore_ascii_case(col))
                    .map(|i| (i, *field, *kind))
            })
            .collect();
        // The id is "<run>/<bee>/<offset>": keep the JSON string open for
        // the offset, which `write` appends per row. A run id holds no `/`
        // (see `check_run_id`), so run and bee cannot run into each other.
        let id = serde_json::to_string(&format!("{run_id}/{bee}/")).unwrap_or_default();
        let id_open = id.strip_suffix('"').unwrap_or(&id);
        DocWriter {
            cols: header.cols.clone(),
            fields,
            action_prefix: format!(
                "{{\"index\":{{\"_index\":{},\"_id\":{id_open}",
                json!(index)
            ),
            tail: format!(",\"bee\":{},\"run_id\":{}}}\n", json!(bee), json!(run_id)),
        }
    }

    /// Appends the action and document lines of `row`; `false` (and
    /// nothing written) when the row is malformed. Whether it is, and its
    /// timestamp, elapsed time and success, come from the row model that
    /// `analyze` reads with ([`parse_row`]), so both count the same rows.
    /// Other columns are best effort: a value that does not read as its
    /// type is left out of the document.
    pub fn write(&self, row: &Row, out: &mut Vec<u8>) -> bool {
        let Some(sample) = parse_row(&row.record, &self.cols) else {
            return false;
        };
        let _ = write!(out, "{}{}\"}}}}\n{{", self.action_prefix, row.offset);
        let mut first = true;
        for &(i, field, kind) in &self.fields {
            let Some(raw) = row.record.get(i) else {
                continue;
            };
            let ts = i == self.cols.timestamp;
            let number = kind == Kind::Number && is_number(raw);
            let model = ts || i == self.cols.elapsed || Some(i) == self.cols.success;
            if !(model || number || kind == Kind::Text) {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            let _ = write!(out, "\"{field}\":");
            if ts {
                let _ = write!(out, "{}", sample.timestamp);
            } else if i == self.cols.elapsed {
                let _ = write!(out, "{}", sample.elapsed);
            } else if Some(i) == self.cols.success {
                let _ = write!(out, "{}", sample.success);
            } else if number {
                out.extend_from_slice(raw);
            } else {
                let _ = serde_json::to_writer(&mut *out, &String::from_utf8_lossy(raw));
            }
        }
        out.extend_from_slice(self.tail.as_bytes());
        true
    }
}

/// A count as JMeter writes them (and as the index maps them: `long`).
fn is_number(raw: &[u8]) -> bool {
    !raw.is_empty() && raw.len() < 19 && raw.iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::jtl::Columns;
    use crate::results::layout::DEFAULT_NAMES;

    #[test]
    fn rows_become_typed_documents_with_stable_ids() {
        let header = Header {
            names: DEFAULT_NAMES.iter().map(|s| s.to_string()).collect(),
            cols: Columns::DEFAULT,
            delimiter: b',',
        };
        let w = DocWriter::new(&header, "idx", "i-1", "r1");
        let mut record = csv::ByteRecord::new();
        for f in [
            "1700000000123",
            "15",
            "a \"quoted\", label",
            "200",
            "OK",
            "T 1-1",
            "text",
            "true",
            "",
            "512",
            "100",
            "2",
            "2",
            "http://x/",
            "10",
            "0",
            "3",
        ] {
            record.push_field(f.as_bytes());
        }
        let mut out = Vec::new();
        assert!(w.write(&Row { offset: 42, record }, &mut out));
        let text = String::from_utf8(out).unwrap();
        let mut lines = text.lines();
        let action: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        assert_eq!(action["index"]["_id"], "r1/i-1/42");
        let doc: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        assert_eq!(doc["@timestamp"], 1_700_000_000_123u64);
        assert_eq!(doc["label"], "a \"quoted\", label");
        assert_eq!(doc["success"], true);
        assert_eq!(doc["connect"], 3);
        assert_eq!(doc["bee"], "i-1");
        assert!(text.ends_with('\n'));
    }

    /// Two runs into one index never share an id; one run always gives
    /// the same id to the same row.
    #[test]
    fn ids_differ_across_runs_and_repeat_within_one() {
        let header = Header {
            names: DEFAULT_NAMES.iter().map(|s| s.to_string()).collect(),
            cols: Columns::DEFAULT,
            delimiter: b',',
        };
        let id = |run: &str| {
            let w = DocWriter::new(&header, "idx", "bee-1", run);
            let mut record = csv::ByteRecord::new();
            for f in "1700000000000,5,a,200,OK,t,text,true,,1,1,1,1,u,1,0,1".split(',') {
                record.push_field(f.as_bytes());
            }
            let mut out = Vec::new();
            assert!(w.write(&Row { offset: 7, record }, &mut out));
            let line = String::from_utf8(out).unwrap();
            let action: serde_json::Value =
                serde_json::from_str(line.lines().next().unwrap()).unwrap();
            action["index"]["_id"].as_str().unwrap().to_string()
        };
        assert_ne!(id("run-1"), id("run-2"));
        assert_eq!(id("run-1"), id("run-1"));
        assert_eq!(id("run-1"), "run-1/bee-1/7");
    }

    #[test]
    fn malformed_rows_write_nothing() {
        let header = Header {
            names: vec!["timeStamp".into(), "elapsed".into(), "label".into()],
            cols: Columns::DEFAULT,
            delimiter: b',',
        };
        let w = DocWriter::new(&header, "idx", "b", "r");
        let mut record = csv::ByteRecord::new();
        record.push_field(b"1");
        record.push_field(b"slow");
        record.push_field(b"x");
        let mut out = b"keep".to_vec();
        assert!(!w.write(&Row { offset: 0, record }, &mut out));
        assert_eq!(out, b"keep");
    }

    /// A row is shipped exactly when `analyze` counts it: one row model.
    #[test]
    fn shipping_and_analyze_agree_on_every_row() {
        use crate::results::layout::{Format, detect};
        let header = "timeStamp,elapsed,label,responseCode,success,bytes";
        let rows = [
            ("1700000000000,5,a,200,true,10", true),
            ("1700000000000,5,a,200,True,10", true),
            ("1700000000000,5,a,200,FALSE,10", true),
            ("2023-11-14T22:13:20.123+01:00,5,a,200,true,10", true),
            ("1700000000000,5,a,200,true,ten", true),
            ("1700000000000,,a,200,true,10", false),
            ("1700000000000,5,a,200,fork,10", false),
            ("1700000000000,5,a,200,,10", false),
            ("-1,5,a,200,true,10", false),
            ("1700000000000,5,a,200", false),
        ];
        let text = format!("{header}\n{}\n", rows.map(|r| r.0).join("\n"));
        let Ok(Format::Csv(layout)) = detect(text.as_bytes()) else {
            panic!("a CSV header");
        };
        let h = Header {
            names: layout.names.clone(),
            cols: layout.cols.clone(),
            delimiter: layout.delimiter,
        };
        let w = DocWriter::new(&h, "idx", "b", "r");
        let (agg, report) = crate::results::analyze::analyze_reader(
            std::path::Path::new("t.jtl"),
            std::io::Cursor::new(text.clone().into_bytes()),
            1,
        )
        .unwrap();
        let mut shipped = 0;
        for (i, (row, valid)) in rows.iter().enumerate() {
            let mut record = csv::ByteRecord::new();
            for f in row.split(',') {
                record.push_field(f.as_bytes());
            }
            let mut out = Vec::new();
            let ok = w.write(&Row { offset: 0, record }, &mut out);
            assert_eq!(ok, *valid, "row {i}: {row}");
            shipped += u64::from(ok);
            if ok {
                let doc: serde_json::Value =
                    serde_json::from_str(String::from_utf8(out).unwrap().lines().nth(1).unwrap())
                        .unwrap();
                assert_eq!(doc["success"], !row.contains("FALSE"), "{row}");
                assert_eq!(doc["elapsed"], 5);
                assert_eq!(doc.get("bytes").is_some(), !row.ends_with("ten"), "{row}");
            }
        }
        assert_eq!((agg.count(), report.rows), (shipped, shipped));
        assert_eq!(report.malformed.count, rows.len() as u64 - shipped);
    }
}
