//! The local coordinator: what CloudFormation's wait conditions are to
//! bees on AWS. Bees PUT cfn-signal bodies to `/ready` and `/done` and
//! read `GET /ready`, which answers CREATE_COMPLETE once every bee is
//! ready (or CREATE_FAILED after a FAILURE), like DescribeStackResource.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::json;
use tokio::sync::watch;

use super::http::{self, Request, Response};

/// One bee's signal.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Signal {
    /// SUCCESS or FAILURE.
    #[serde(rename = "Status")]
    pub status: String,
    /// Why.
    #[serde(rename = "Reason", default)]
    pub reason: String,
    /// The bee.
    #[serde(rename = "UniqueId")]
    pub unique_id: String,
    /// Extra data.
    #[serde(rename = "Data", default)]
    pub data: String,
    /// When the coordinator received it (epoch ms): the signal's time in
    /// the run's events.
    #[serde(skip)]
    pub received_ms: i64,
}

/// Signals so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signals {
    /// Bees expected.
    pub expected: usize,
    /// Ready signals by bee.
    pub ready: BTreeMap<String, Signal>,
    /// Done signals by bee.
    pub done: BTreeMap<String, Signal>,
    /// When Ready completed (epoch ms), as CloudFormation's timestamp of
    /// the wait condition: a bee that comes up much later skips its load.
    pub ready_at_ms: Option<i64>,
    /// When Done completed or failed (epoch ms).
    pub done_at_ms: Option<i64>,
}

impl Signals {
    fn status(&self, of: &BTreeMap<String, Signal>) -> &'static str {
        if of.values().any(|s| s.status != "SUCCESS") {
            "CREATE_FAILED"
        } else if of.len() >= self.expected {
            "CREATE_COMPLETE"
        } else {
            "CREATE_IN_PROGRESS"
        }
    }

    /// The Ready condition's status.
    pub fn ready_status(&self) -> &'static str {
        self.status(&self.ready)
    }

    /// The Done condition's status.
    pub fn done_status(&self) -> &'static str {
        self.status(&self.done)
    }

    /// The first FAILURE's reason.
    pub fn failure(&self) -> Option<&Signal> {
        self.ready
            .values()
            .chain(self.done.values())
            .find(|s| s.status != "SUCCESS")
    }
}

/// A running coordinator.
pub struct Coordinator {
    /// Where bees reach it.
    pub url: String,
    /// Signal updates.
    pub signals: watch::Receiver<Signals>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Coordinator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a coordinator for `expected` bees.
pub async fn start(expected: usize) -> std::io::Result<Coordinator> {
    let (tx, rx) = watch::channel(Signals {
        expected,
        ..Signals::default()
    });
    let tx = Arc::new(Mutex::new(tx));
    let (addr, task): (SocketAddr, _) = http::serve(0, move |req| {
        let tx = tx.clone();
        async move { handle(&tx, req) }
    })
    .await?;
    Ok(Coordinator {
        url: format!("http://{addr}"),
        signals: rx,
        task,
    })
}

fn handle(tx: &Mutex<watch::Sender<Signals>>, req: Request) -> Response {
    let Ok(tx) = tx.lock() else {
        return (500, "text/plain", b"poisoned".to_vec());
    };
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/ready") => {
            let s = tx.borrow();
            (
                200,
                "application/json",
                json!({ "status": s.ready_status(), "completed_at_ms": s.ready_at_ms })
                    .to_string()
                    .into_bytes(),
            )
        }
        ("PUT", which @ ("/ready" | "/done")) => {
            match serde_json::from_slice::<Signal>(&req.body) {
                Ok(mut sig) => {
                    let now = chrono::Utc::now().timestamp_millis();
                    sig.received_ms = now;
                    tx.send_modify(|s| {
                        let map = if which == "/ready" {
                            &mut s.ready
                        } else {
                            &mut s.done
                        };
                        // Like CloudFormation: the first signal of a UniqueId counts.
                        map.entry(sig.unique_id.clone()).or_insert(sig);
                        if s.ready_at_ms.is_none() && s.ready_status() == "CREATE_COMPLETE" {
                            s.ready_at_ms = Some(now);
                        }
                        if s.done_at_ms.is_none() && s.done_status() != "CREATE_IN_PROGRESS" {
                            s.done_at_ms = Some(now);
                        }
                    });
                    (200, "text/plain", Vec::new())
                }
                Err(e) => (400, "text/plain", format!("not a signal: {e}").into_bytes()),
            }
        }
        _ => (404, "text/plain", Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bee::signal::{self, Status};

    #[tokio::test]
    async fn ready_completes_when_every_bee_signalled() {
        let c = start(2).await.unwrap();
        let ready = format!("{}/ready", c.url);
        let get = || async {
            reqwest::get(&ready)
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()["status"]
                .clone()
        };
        assert_eq!(get().await, "CREATE_IN_PROGRESS");
        signal::send(&ready, Status::Success, "ready", "bee-1", "")
            .await
            .unwrap();
        signal::send(&ready, Status::Success, "ready", "bee-1", "")
            .await
            .unwrap();
        assert_eq!(get().await, "CREATE_IN_PROGRESS");
        signal::send(&ready, Status::Success, "ready", "bee-2", "")
            .await
            .unwrap();
        assert_eq!(get().await, "CREATE_COMPLETE");
        signal::send(
            &format!("{}/done", c.url),
            Status::Failure,
            "jmeter exited 1",
            "bee-2",
            "",
        )
        .await
        .unwrap();
        let s = c.signals.borrow().clone();
        assert_eq!(s.done_status(), "CREATE_FAILED");
        assert_eq!(s.failure().unwrap().reason, "jmeter exited 1");
    }
}
