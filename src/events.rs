//! Events for the charts and for Grafana: run start and end, phases,
//! stack changes, Auto Scaling activities, and annotations. Documents have
//! Grafana's Elasticsearch annotation shape (`@timestamp`, `end`, `text`,
//! `tags`), so its annotation query reads them with no transformation.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::aws::watch::Activity;

/// Who produced an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// stampede's own run: start, end, phases.
    Stampede,
    /// An Auto Scaling activity of a watched group.
    Autoscaling,
    /// `stampede annotate` (a deployment, say).
    Annotation,
    /// The load generators' stack: created, deleted.
    Stack,
}

/// One event, as stored in the events index and in `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When it happened (RFC 3339, UTC, milliseconds).
    #[serde(rename = "@timestamp")]
    pub timestamp: String,
    /// When it ended, for events that last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// What happened.
    pub text: String,
    /// Tags, for Grafana's tag filter.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Who produced it.
    pub source: Source,
    /// The run it belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// What makes it the same event when written again (an activity's
    /// id); without one, its fields do.
    #[serde(skip)]
    pub key: Option<String>,
}

/// RFC 3339 with milliseconds, as every event timestamp is written.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn from_ms(ms: i64) -> String {
    rfc3339(DateTime::from_timestamp_millis(ms).unwrap_or_default())
}

impl Event {
    /// An event at `at`.
    pub fn new(
        at: DateTime<Utc>,
        source: Source,
        text: impl Into<String>,
        tags: Vec<String>,
    ) -> Self {
        Event {
            timestamp: rfc3339(at),
            end: None,
            text: text.into(),
            tags,
            source,
            run_id: None,
            key: None,
        }
    }

    /// An Auto Scaling activity: its description, cause and status.
    pub fn from_activity(a: &Activity) -> Self {
        let mut text = a.description.clone();
        if !a.cause.is_empty() {
            text.push_str(": ");
            text.push_str(&a.cause);
        }
        Event {
            timestamp: from_ms(a.start_ms),
            end: a.end_ms.map(from_ms),
            text,
            tags: vec![
                "autoscaling".into(),
                a.group.clone(),
                a.status.to_lowercase(),
            ],
            source: Source::Autoscaling,
            run_id: None,
            key: Some(format!("autoscaling:{}", a.id)),
        }
    }

    /// The document id: the same event written twice (a re-collected
    /// activity, a retried annotation) overwrites itself; an activity that
    /// finishes replaces its unfinished self.
    pub fn id(&self) -> String {
        let mut h = Sha256::new();
        if let Some(k) = &self.key {
            h.update(k.as_bytes());
            return hex(&h.finalize()[..16]);
        }
        for part in [
            format!("{:?}", self.source).as_str(),
            &self.timestamp,
            &self.text,
            &self.tags.join("\u{1e}"),
            self.run_id.as_deref().unwrap_or(""),
        ] {
            h.update(part.as_bytes());
            h.update([0x1f]);
        }
        hex(&h.finalize()[..16])
    }

    /// Epoch ms of the timestamp (0 when unreadable).
    pub fn at_ms(&self) -> i64 {
        DateTime::parse_from_rfc3339(&self.timestamp).map_or(0, |t| t.timestamp_millis())
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Index template of the events index: for that exact name, so that
/// it never overlaps another template (OpenSearch refuses overlapping
/// patterns of equal priority).
pub fn index_template(index: &str) -> serde_json::Value {
    serde_json::json!({
        "index_patterns": [index],
        "template": {
            "settings": { "number_of_replicas": 0, "refresh_interval": "1s" },
            "mappings": {
                "properties": {
                    "@timestamp": { "type": "date" },
                    "end": { "type": "date" },
                    "text": { "type": "text", "fields": { "raw": { "type": "keyword", "ignore_above": 1024 } } },
                    "tags": { "type": "keyword" },
                    "source": { "type": "keyword" },
                    "run_id": { "type": "keyword" }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grafana_annotation_shape() {
        let at = DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .unwrap()
            .to_utc();
        let e = Event::new(
            at,
            Source::Annotation,
            "Deployment: shop build 42",
            vec!["deploy".into()],
        );
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"@timestamp": "2026-11-25T10:00:00.000Z", "text": "Deployment: shop build 42", "tags": ["deploy"], "source": "annotation"})
        );
    }

    #[test]
    fn a_finished_activity_keeps_its_id() {
        let mut a = Activity {
            id: "a1".into(),
            group: "web".into(),
            description: "Launching a new EC2 instance: i-1".into(),
            cause: "capacity from 1 to 2".into(),
            status_message: String::new(),
            start_ms: 1_700_000_000_000,
            end_ms: None,
            status: "InProgress".into(),
        };
        let running = Event::from_activity(&a);
        a.end_ms = Some(1_700_000_060_000);
        let done = Event::from_activity(&a);
        assert_eq!(done.end.as_deref(), Some("2023-11-14T22:14:20.000Z"));
        assert!(done.text.contains("capacity from 1 to 2"));
        a.status = "Successful".into();
        assert_eq!(Event::from_activity(&a).id(), running.id());
    }
}
