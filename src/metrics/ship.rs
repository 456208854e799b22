//! Ships a JTL into the search cluster while JMeter writes it: batches of
//! rows go to `_bulk`; failed items are retried a bounded number of
//! times; while the cluster is down the shipper backs off and resumes from
//! the file offset it had reached, for up to `give_up_after` without
//! progress (see [`super::patience`]). Ids are stable per row, so nothing
//! is duplicated, and the rows that could not be shipped are counted with
//! the reason, never hidden.

use std::path::Path;
use std::time::Duration;

use tokio::sync::watch;

use super::doc::{DocWriter, index_template};
use super::es::{BulkAnswer, Es, EsError};
use super::patience::Patience;
use super::tail::Tail;

/// Rows per `_bulk` request.
pub const BATCH_ROWS: usize = 5000;
/// How often a followed file is polled for new rows.
const POLL: Duration = Duration::from_millis(250);
/// Per-item rejections (4xx) are tried this often before the row counts
/// as not shipped.
const ITEM_ATTEMPTS: u32 = 3;
/// Per-item answers worth retrying (429, 5xx: an overloaded, full or
/// recovering cluster) are tried this often before the row counts as not
/// shipped: with the backoff, about a minute.
const ITEM_TRANSIENT_ATTEMPTS: u32 = 10;
/// Distinct reasons for lost rows kept for the report.
const MAX_REASONS: usize = 3;

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
    /// How long shipping may go without indexing a row (the cluster down,
    /// or refusing every row) before it gives up: the rows not shipped are
    /// counted and reported, and the shipper ends once the writer has.
    pub give_up_after: Duration,
}

/// What was shipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shipped {
    /// Rows indexed.
    pub rows: u64,
    /// Rows that could not be indexed (rejected or given up).
    pub lost: u64,
    /// Why rows were lost: the first few distinct reasons.
    pub loss_reasons: Vec<String>,
    /// Rows that were not valid JTL rows.
    pub malformed: u64,
    /// Bulk requests sent, retries included.
    pub requests: u64,
    /// Times the cluster was unreachable.
    pub outages: u64,
}

impl Shipped {
    /// Counts `n` rows as not shipped because of `why`.
    fn lose(&mut self, n: usize, why: &str) {
        if n == 0 {
            return;
        }
        self.lost += n as u64;
        if self.loss_reasons.len() < MAX_REASONS && !self.loss_reasons.iter().any(|r| r == why) {
            self.loss_reasons.push(why.to_string());
        }
    }

    /// "N rows not shipped: why", or `None` when every row was shipped.
    pub fn loss(&self) -> Option<String> {
        (self.lost > 0).then(|| {
            format!(
                "{} of {} rows not shipped to the search cluster ({})",
                self.lost,
                self.lost + self.rows,
                self.loss_reasons.join("; ")
            )
        })
    }
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
    let mut patience = Patience::new(cfg.give_up_after, cfg.max_backoff);
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
        let flushing = flush(es, batch, &mut stats, &mut patience, finished, log);
        let (_, filled) = tokio::join!(flushing, async { src.fill(cfg, finished, path) });
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
/// retry just those items, a bounded number of times. Once shipping has
/// given up (see [`Patience`]), a batch goes out only as a probe, and not
/// at all once the writer has `finished`.
async fn flush(
    es: &Es,
    mut batch: Batch,
    stats: &mut Shipped,
    patience: &mut Patience,
    finished: bool,
    log: &(dyn Fn(&str) + Sync),
) {
    let mut body = bytes::Bytes::from(std::mem::take(&mut batch.body));
    while batch.len() > 0 {
        if patience.given_up() && (finished || !patience.probe_due()) {
            let why = gave_up_why(es, patience);
            stats.lose(batch.len(), &why);
            return;
        }
        stats.requests += 1;
        match es.bulk(body.clone()).await {
            Ok(answer) => {
                batch.body = body.to_vec();
                let (rest, indexed, why) = settle(&answer, &batch, stats);
                if indexed > 0 && patience.progress() {
                    log(&format!(
                        "{} is back; resuming from the file offset",
                        es.shown()
                    ));
                }
                batch = rest;
                body = bytes::Bytes::from(std::mem::take(&mut batch.body));
                if batch.len() == 0 {
                    return;
                }
                if patience.setback(why.clone()) {
                    log(&format!(
                        "{} refused {} rows ({why}); retrying them",
                        es.shown(),
                        batch.len()
                    ));
                }
            }
            Err(e) if !e.is_transient() => {
                log(&format!("giving up {} rows: {e}", batch.len()));
                stats.lose(batch.len(), &e.to_string());
                return;
            }
            Err(e) => {
                if patience.setback(e.to_string()) {
                    stats.outages += 1;
                }
                if !patience.given_up() {
                    log(&format!("{e}; retrying {} rows", batch.len()));
                }
            }
        }
        if patience.given_up() {
            // A probe that did not get through.
            stats.lose(batch.len(), &gave_up_why(es, patience));
            return;
        }
        if patience.exhausted() {
            let why = gave_up_why(es, patience);
            log(&format!(
                "giving up shipping: {why}; the rows not shipped are counted (the JTL keeps them all)"
            ));
            stats.lose(batch.len(), &why);
            return;
        }
        tokio::time::sleep(patience.next_pause()).await;
    }
}

/// Why shipping gave up, for the report.
fn gave_up_why(es: &Es, patience: &Patience) -> String {
    format!(
        "{} indexed nothing for {}s: {}",
        es.shown(),
        patience.stalled_for().as_secs(),
        patience.why()
    )
}

/// Counts the items the answer confirms and those rejected too often (as
/// lost); returns the batch of items to send again, how many were
/// indexed, and why the others were refused.
fn settle(answer: &BulkAnswer, batch: &Batch, stats: &mut Shipped) -> (Batch, u64, String) {
    if !answer.errors {
        stats.rows += batch.len() as u64;
        return (Batch::default(), batch.len() as u64, String::new());
    }
    if answer.items.len() != batch.len() {
        // An answer that does not match the request: send it all again
        // (ids make that safe; the time bound still applies).
        let all: Vec<_> = batch
            .items
            .iter()
            .enumerate()
            .map(|(i, it)| (i, it.2))
            .collect();
        let why = format!(
            "the _bulk answer had {} items for {} rows",
            answer.items.len(),
            batch.len()
        );
        return (batch.retain(&all), 0, why);
    }
    let mut keep = Vec::new();
    let mut indexed = 0;
    let mut why = String::new();
    for (i, (item, answer)) in batch.items.iter().zip(&answer.items).enumerate() {
        let status = answer.index.as_ref().map_or(500, |s| s.status);
        if (200..300).contains(&status) {
            indexed += 1;
            continue;
        }
        let reason = answer
            .index
            .as_ref()
            .map_or_else(|| "no status in the answer".to_string(), |s| s.describe());
        let attempts = item.2 + 1;
        let limit = if status == 429 || status >= 500 {
            ITEM_TRANSIENT_ATTEMPTS
        } else {
            ITEM_ATTEMPTS
        };
        if attempts < limit {
            keep.push((i, attempts));
        } else {
            stats.lose(1, &format!("refused {attempts} times: {reason}"));
        }
        if why.is_empty() {
            why = reason;
        }
    }
    stats.rows += indexed;
    (batch.retain(&keep), indexed, why)
}
