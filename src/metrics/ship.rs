//! Ships a JTL into the search cluster while JMeter writes it: batches of
//! rows go to `_bulk`; failed items are retried; while the cluster is
//! down the shipper backs off and resumes from the file offset it had
//! reached. Ids are stable per row, so nothing is duplicated, and the
//! count of rows that could not be shipped is reported, never hidden.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::watch;

use super::doc::{DocWriter, index_template};
use super::es::{Es, EsError};
use super::tail::Tail;

/// Rows per `_bulk` request.
pub const BATCH_ROWS: usize = 5000;
/// How often a followed file is polled for new rows.
const POLL: Duration = Duration::from_millis(250);
/// Per-item rejections (4xx) are retried this often before the row
/// counts as lost.
const ITEM_ATTEMPTS: u32 = 3;

/// Shipping settings.
#[derive(Debug, Clone)]
pub struct ShipConfig {
    /// Index name.
    pub index: String,
    /// Bee id, the first half of each document id.
    pub bee: String,
    /// Run id stored in each document.
    pub run_id: String,
    /// Longest backoff between retries while the cluster is down.
    pub max_backoff: Duration,
    /// Once the writer has finished, how long an outage may last before
    /// the remaining rows are given up (and reported) so the bee can
    /// finish.
    pub give_up_after: Duration,
}

/// What was shipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shipped {
    /// Rows indexed.
    pub rows: u64,
    /// Rows that could not be indexed (rejected or given up).
    pub lost: u64,
    /// Rows that were not valid JTL rows.
    pub malformed: u64,
    /// Bulk requests sent, retries included.
    pub requests: u64,
    /// Times the cluster was unreachable.
    pub outages: u64,
}

/// Puts the index template for `index` (idempotent).
pub async fn prepare(es: &Es, index: &str) -> Result<(), EsError> {
    es.put(
        &format!("_index_template/stampede-{index}"),
        &index_template(index),
    )
    .await
}

struct Item {
    body: Vec<u8>,
    attempts: u32,
}

/// Ships `path`. `writer_done` says when the file is complete (`None`:
/// it already is); shipping ends when everything up to the end of the
/// complete file has been indexed or given up.
pub async fn ship(
    es: &Es,
    cfg: &ShipConfig,
    path: &Path,
    mut writer_done: Option<watch::Receiver<bool>>,
    log: &(dyn Fn(&str) + Sync),
) -> Result<Shipped, EsError> {
    let mut stats = Shipped::default();
    let mut tail = wait_open(path, writer_done.as_mut()).await?;
    let mut batch: Vec<Item> = Vec::new();
    let mut writer: Option<DocWriter> = None;
    loop {
        let finished = writer_done.as_ref().is_none_or(|w| *w.borrow());
        let rows = tail
            .poll(finished)
            .map_err(|e| EsError::Rejected(format!("reading {}: {e}", path.display())))?;
        let idle = rows.is_empty();
        for row in rows {
            let w = writer.get_or_insert_with(|| {
                let h = tail.header().expect("a row implies a header");
                DocWriter::new(h, &cfg.index, &cfg.bee, &cfg.run_id)
            });
            let mut body = Vec::with_capacity(512);
            if w.write(&row, &mut body) {
                batch.push(Item { body, attempts: 0 });
            } else {
                stats.malformed += 1;
            }
            if batch.len() >= BATCH_ROWS {
                flush(es, cfg, &mut batch, &mut stats, finished, log).await;
            }
        }
        if idle {
            if !batch.is_empty() {
                flush(es, cfg, &mut batch, &mut stats, finished, log).await;
                continue;
            }
            if finished {
                return Ok(stats);
            }
            wait(writer_done.as_mut()).await;
        }
    }
}

async fn wait_open(
    path: &Path,
    mut done: Option<&mut watch::Receiver<bool>>,
) -> Result<Tail, EsError> {
    loop {
        match Tail::open(path, 0) {
            Ok(t) => return Ok(t),
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    && done.as_ref().is_some_and(|d| !*d.borrow()) =>
            {
                wait(done.as_deref_mut()).await;
            }
            Err(e) => {
                return Err(EsError::Rejected(format!(
                    "opening {}: {e}",
                    path.display()
                )));
            }
        }
    }
}

async fn wait(done: Option<&mut watch::Receiver<bool>>) {
    match done {
        Some(d) => {
            let _ = tokio::time::timeout(POLL, d.changed()).await;
        }
        None => tokio::time::sleep(POLL).await,
    }
}

/// Sends the batch until every item is indexed or lost. Transient
/// failures back off and retry the whole remainder; per-item failures
/// retry just those items.
async fn flush(
    es: &Es,
    cfg: &ShipConfig,
    batch: &mut Vec<Item>,
    stats: &mut Shipped,
    finished: bool,
    log: &(dyn Fn(&str) + Sync),
) {
    let mut backoff = Duration::from_millis(200);
    let mut down_since: Option<Instant> = None;
    while !batch.is_empty() {
        let body: Vec<u8> = batch.iter().flat_map(|i| i.body.iter().copied()).collect();
        stats.requests += 1;
        match es.bulk(body).await {
            Ok(resp) => {
                if down_since.take().is_some() {
                    log(&format!(
                        "{} is back; resuming from the file offset",
                        es.shown()
                    ));
                }
                backoff = Duration::from_millis(200);
                let retry = settle(&resp, batch, stats);
                if retry {
                    tokio::time::sleep(backoff).await;
                }
            }
            Err(e) => {
                let since = *down_since.get_or_insert_with(|| {
                    stats.outages += 1;
                    Instant::now()
                });
                if !e.is_transient() || (finished && since.elapsed() > cfg.give_up_after) {
                    log(&format!("giving up {} rows: {e}", batch.len()));
                    stats.lost += batch.len() as u64;
                    batch.clear();
                    return;
                }
                log(&format!(
                    "{e}; retrying {} rows in {:.1}s",
                    batch.len(),
                    backoff.as_secs_f64()
                ));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(cfg.max_backoff);
            }
        }
    }
}

/// Removes the items the bulk answer confirms; counts the ones rejected
/// too often as lost. Returns whether any remain to retry.
fn settle(resp: &Value, batch: &mut Vec<Item>, stats: &mut Shipped) -> bool {
    let items = resp["items"].as_array();
    if resp["errors"] != Value::Bool(true) {
        stats.rows += batch.len() as u64;
        batch.clear();
        return false;
    }
    let Some(items) = items.filter(|i| i.len() == batch.len()) else {
        // An answer that does not match the request: send it all again
        // (ids make that safe).
        return true;
    };
    let mut keep = Vec::new();
    for (item, answer) in std::mem::take(batch).into_iter().zip(items) {
        let status = answer["index"]["status"].as_u64().unwrap_or(500);
        if (200..300).contains(&status) {
            stats.rows += 1;
        } else if status == 429 || status >= 500 || item.attempts + 1 < ITEM_ATTEMPTS {
            keep.push(Item {
                attempts: item.attempts + u32::from(status < 500 && status != 429),
                ..item
            });
        } else {
            stats.lost += 1;
        }
    }
    *batch = keep;
    !batch.is_empty()
}
