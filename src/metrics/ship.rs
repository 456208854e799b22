//! Ships a JTL into the search cluster while JMeter writes it: batches of
//! rows go to `_bulk`; failed items are retried; while the cluster is
//! down the shipper backs off and resumes from the file offset it had
//! reached. Ids are stable per row, so nothing is duplicated, and the
//! count of rows that could not be shipped is reported, never hidden.

use std::path::Path;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::doc::{DocWriter, index_template};
use super::es::{BulkAnswer, Es, EsError};
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

/// Rows waiting to be indexed: one body buffer, and where each row's
/// action and document lines sit in it.
#[derive(Default)]
struct Batch {
    body: Vec<u8>,
    /// (start, end, per-item rejections so far)
    items: Vec<(usize, usize, u32)>,
}

impl Batch {
    fn len(&self) -> usize {
        self.items.len()
    }

    /// A batch of just the items `keep` selects, with their new counts.
    fn retain(&self, keep: &[(usize, u32)]) -> Batch {
        let mut out = Batch::default();
        for &(i, attempts) in keep {
            let (a, b, _) = self.items[i];
            let start = out.body.len();
            out.body.extend_from_slice(&self.body[a..b]);
            out.items.push((start, out.body.len(), attempts));
        }
        out
    }
}

/// Where rows come from and how they become documents.
struct Source {
    tail: Tail,
    leftover: Vec<super::tail::Row>,
    writer: Option<DocWriter>,
    malformed: u64,
}

impl Source {
    /// Reads rows into a batch of up to [`BATCH_ROWS`]; the flag says
    /// whether the whole (finished) file has been read.
    fn fill(
        &mut self,
        cfg: &ShipConfig,
        finished: bool,
        path: &Path,
    ) -> Result<(Batch, bool), EsError> {
        let mut batch = Batch::default();
        // Complete only if this call read to the end of a finished file:
        // an earlier read may have left a last line without its newline.
        let mut read_all = false;
        loop {
            let mut rows = std::mem::take(&mut self.leftover);
            if rows.is_empty() {
                rows = self
                    .tail
                    .poll(finished)
                    .map_err(|e| EsError::Rejected(format!("reading {}: {e}", path.display())))?;
                read_all = finished && self.tail.at_eof();
            }
            // Exactly BATCH_ROWS per request: the rest waits for the next.
            let room = BATCH_ROWS - batch.len();
            if rows.len() > room {
                self.leftover = rows.split_off(room);
            }
            for row in &rows {
                let w = self.writer.get_or_insert_with(|| {
                    let h = self.tail.header().expect("a row implies a header");
                    DocWriter::new(h, &cfg.index, &cfg.bee, &cfg.run_id)
                });
                let start = batch.body.len();
                if w.write(row, &mut batch.body) {
                    batch.items.push((start, batch.body.len(), 0));
                } else {
                    self.malformed += 1;
                }
            }
            let drained = self.tail.at_eof() && self.leftover.is_empty();
            if batch.len() >= BATCH_ROWS || drained {
                return Ok((batch, read_all && self.leftover.is_empty()));
            }
        }
    }
}

/// Ships `path`. `writer_done` says when the file is complete (`None`:
/// it already is); shipping ends when everything up to the end of the
/// complete file has been indexed or given up. The next batch is read
/// while the current one is in flight.
pub async fn ship(
    es: &Es,
    cfg: &ShipConfig,
    path: &Path,
    mut writer_done: Option<watch::Receiver<bool>>,
    log: &(dyn Fn(&str) + Sync),
) -> Result<Shipped, EsError> {
    let mut stats = Shipped::default();
    let mut src = Source {
        tail: wait_open(path, writer_done.as_mut()).await?,
        leftover: Vec::new(),
        writer: None,
        malformed: 0,
    };
    let is_done = |w: &Option<watch::Receiver<bool>>| w.as_ref().is_none_or(|w| *w.borrow());
    let (mut next, mut complete) = src.fill(cfg, is_done(&writer_done), path)?;
    loop {
        if next.len() == 0 {
            if complete {
                stats.malformed = src.malformed + src.tail.oversized();
                return Ok(stats);
            }
            wait(writer_done.as_mut()).await;
            (next, complete) = src.fill(cfg, is_done(&writer_done), path)?;
            continue;
        }
        let batch = std::mem::take(&mut next);
        let finished = is_done(&writer_done);
        let (_, filled) = tokio::join!(flush(es, cfg, batch, &mut stats, finished, log), async {
            src.fill(cfg, finished, path)
        });
        (next, complete) = filled?;
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
    mut batch: Batch,
    stats: &mut Shipped,
    finished: bool,
    log: &(dyn Fn(&str) + Sync),
) {
    let mut backoff = Duration::from_millis(200);
    let mut down_since: Option<Instant> = None;
    let mut body = bytes::Bytes::from(std::mem::take(&mut batch.body));
    while batch.len() > 0 {
        stats.requests += 1;
        match es.bulk(body.clone()).await {
            Ok(answer) => {
                if down_since.take().is_some() {
                    log(&format!(
                        "{} is back; resuming from the file offset",
                        es.shown()
                    ));
                }
                backoff = Duration::from_millis(200);
                batch.body = body.to_vec();
                batch = settle(&answer, &batch, stats);
                body = bytes::Bytes::from(std::mem::take(&mut batch.body));
                if batch.len() > 0 {
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

/// Counts the items the answer confirms and those rejected too often (as
/// lost); returns the batch of items to send again.
fn settle(answer: &BulkAnswer, batch: &Batch, stats: &mut Shipped) -> Batch {
    if !answer.errors {
        stats.rows += batch.len() as u64;
        return Batch::default();
    }
    if answer.items.len() != batch.len() {
        // An answer that does not match the request: send it all again
        // (ids make that safe).
        return batch.retain(
            &batch
                .items
                .iter()
                .enumerate()
                .map(|(i, it)| (i, it.2))
                .collect::<Vec<_>>(),
        );
    }
    let mut keep = Vec::new();
    for (i, (item, answer)) in batch.items.iter().zip(&answer.items).enumerate() {
        let status = answer.index.as_ref().map_or(500, |s| s.status);
        let attempts = item.2;
        if (200..300).contains(&status) {
            stats.rows += 1;
        } else if status == 429 || status >= 500 {
            keep.push((i, attempts));
        } else if attempts + 1 < ITEM_ATTEMPTS {
            keep.push((i, attempts + 1));
        } else {
            stats.lost += 1;
        }
    }
    batch.retain(&keep)
}
