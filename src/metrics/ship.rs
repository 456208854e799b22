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

use super::batch::{Batch, settle};
use super::doc::index_template;
use super::es::{Es, EsError};
use super::patience::Patience;
use super::rollup::{RowsMode, rollup_index, rollup_template};
use super::source::Source;
use super::tail::Tail;

/// Documents per `_bulk` request.
pub const BATCH_ROWS: usize = 5000;
/// How often a followed file is polled for new rows.
const POLL: Duration = Duration::from_millis(250);
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
    /// Which raw rows go to `index` (rollups always go).
    pub rows: RowsMode,
    /// Milliseconds per rollup interval.
    pub rollup_interval_ms: u64,
}

/// What was shipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shipped {
    /// Rows indexed.
    pub rows: u64,
    /// Rows that could not be indexed (rejected or given up).
    pub lost: u64,
    /// Rollup documents indexed (a chunk shipped early counts again when
    /// it is shipped whole).
    pub rollups: u64,
    /// Rollup documents that could not be indexed.
    pub rollups_lost: u64,
    /// Valid rows read (each one is in a rollup).
    pub samples: u64,
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
    /// Counts `rows` rows and `rollups` rollup documents as not shipped
    /// because of `why`.
    pub(super) fn lose(&mut self, rows: u64, rollups: u64, why: &str) {
        if rows + rollups == 0 {
            return;
        }
        self.lost += rows;
        self.rollups_lost += rollups;
        if self.loss_reasons.len() < MAX_REASONS && !self.loss_reasons.iter().any(|r| r == why) {
            self.loss_reasons.push(why.to_string());
        }
    }

    /// "N rows not shipped: why", or `None` when everything was shipped.
    pub fn loss(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.lost > 0 {
            parts.push(format!("{} of {} rows", self.lost, self.lost + self.rows));
        }
        if self.rollups_lost > 0 {
            parts.push(format!(
                "{} of {} rollup documents",
                self.rollups_lost,
                self.rollups_lost + self.rollups
            ));
        }
        (!parts.is_empty()).then(|| {
            format!(
                "{} not shipped to the search cluster ({})",
                parts.join(" and "),
                self.loss_reasons.join("; ")
            )
        })
    }
}

/// Puts the index templates for `index` and its rollups (idempotent).
pub async fn prepare(es: &Es, index: &str) -> Result<(), EsError> {
    es.put(
        &format!("_index_template/stampede-{index}"),
        &index_template(index),
    )
    .await?;
    es.put(
        &format!("_index_template/stampede-{}", rollup_index(index)),
        &rollup_template(index),
    )
    .await
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
    let mut src = Source::new(wait_open(path, writer_done.as_mut()).await?, cfg);
    let is_done = |w: &Option<watch::Receiver<bool>>| w.as_ref().is_none_or(|w| *w.borrow());
    let mut patience = Patience::new(cfg.give_up_after, cfg.max_backoff);
    let (mut next, mut complete) = src.fill(cfg, is_done(&writer_done), path)?;
    loop {
        if next.is_empty() {
            if complete {
                stats.malformed = src.malformed + src.tail().oversized();
                stats.samples = src.samples;
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
    while !batch.is_empty() {
        if patience.given_up() && (finished || !patience.probe_due()) {
            let why = gave_up_why(es, patience);
            batch.lose_all(stats, &why);
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
                if batch.is_empty() {
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
                batch.lose_all(stats, &e.to_string());
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
            batch.lose_all(stats, &gave_up_why(es, patience));
            return;
        }
        if patience.exhausted() {
            let why = gave_up_why(es, patience);
            log(&format!(
                "giving up shipping: {why}; the rows not shipped are counted (the JTL keeps them all)"
            ));
            batch.lose_all(stats, &why);
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
