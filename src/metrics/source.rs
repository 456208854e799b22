//! Where shipped documents come from: the rows of a followed JTL become
//! raw-row documents (as `metrics.rows` says) and rollups.

use std::path::Path;
use std::time::{Duration, Instant};

use super::batch::{Batch, Kind};
use super::doc::DocWriter;
use super::es::EsError;
use super::rollup::{Chunk, Roller, RollupWriter};
use super::ship::{BATCH_ROWS, ShipConfig};
use super::tail::{Row, Tail};
use crate::results::jtl::parse_row;

/// Rows read from the JTL, and what they become.
pub struct Source {
    tail: Tail,
    leftover: Vec<Row>,
    writer: Option<DocWriter>,
    roller: Roller,
    rollups: RollupWriter,
    /// The `bytes` column, once the header is known.
    bytes_col: Option<usize>,
    /// When the open chunk's documents were last written.
    written_at: Instant,
    /// How long a chunk with rows may wait for its end (a lull in the
    /// test) before it is shipped as it is so far.
    early_after: Duration,
    /// Rows that are not valid JTL rows.
    pub malformed: u64,
    /// Valid rows read.
    pub samples: u64,
}

impl Source {
    /// Reads `tail` for `cfg`.
    pub fn new(tail: Tail, cfg: &ShipConfig) -> Self {
        let interval = cfg.rollup_interval_ms.max(1);
        Source {
            tail,
            leftover: Vec::new(),
            writer: None,
            roller: Roller::new(interval),
            rollups: RollupWriter::new(&cfg.index, &cfg.bee, &cfg.run_id),
            bytes_col: None,
            written_at: Instant::now(),
            early_after: Duration::from_millis(interval + interval / 2),
            malformed: 0,
            samples: 0,
        }
    }

    /// The tail, for its counters.
    pub fn tail(&self) -> &Tail {
        &self.tail
    }

    /// Reads rows into a batch of up to [`BATCH_ROWS`] documents; the flag
    /// says whether the whole (finished) file has been read.
    pub fn fill(
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
            // At most BATCH_ROWS per request: the rest waits for the next.
            let room = BATCH_ROWS.saturating_sub(batch.len()).max(1);
            if rows.len() > room {
                self.leftover = rows.split_off(room);
            }
            for row in &rows {
                self.take(cfg, row, &mut batch);
            }
            let drained = self.tail.at_eof() && self.leftover.is_empty();
            if batch.len() >= BATCH_ROWS || drained {
                let complete = read_all && self.leftover.is_empty();
                self.rollups_due(complete, &mut batch);
                return Ok((batch, complete));
            }
        }
    }

    /// One row: into its rollup, and as a raw document if wanted.
    fn take(&mut self, cfg: &ShipConfig, row: &Row, batch: &mut Batch) {
        let Some(h) = self.tail.header() else { return };
        let w = self
            .writer
            .get_or_insert_with(|| DocWriter::new(h, &cfg.index, &cfg.bee, &cfg.run_id));
        let bytes_col = *self.bytes_col.get_or_insert_with(|| {
            h.names
                .iter()
                .position(|n| n.eq_ignore_ascii_case("bytes"))
                .unwrap_or(usize::MAX)
        });
        let Some(sample) = parse_row(&row.record, &h.cols) else {
            self.malformed += 1;
            return;
        };
        self.samples += 1;
        let bytes = row
            .record
            .get(bytes_col)
            .and_then(|b| std::str::from_utf8(b).ok()?.parse().ok())
            .unwrap_or(0);
        if let Some(done) = self.roller.add(row.offset, &sample, bytes) {
            write_chunk(&self.rollups, &done, batch);
            self.written_at = Instant::now();
        }
        if cfg.rows.ships(sample.success) {
            let start = batch.body.len();
            if w.write(row, &mut batch.body) {
                batch.push(start, batch.body.len(), Kind::Row);
            }
        }
    }

    /// Adds the open chunk's documents when the file is complete, or when
    /// the chunk has waited too long for its end.
    fn rollups_due(&mut self, complete: bool, batch: &mut Batch) {
        if complete {
            if let Some(last) = self.roller.finish() {
                write_chunk(&self.rollups, &last, batch);
            }
        } else if self.roller.pending() && self.written_at.elapsed() >= self.early_after {
            if let Some(open) = self.roller.open_chunk() {
                write_chunk(&self.rollups, open, batch);
            }
            self.written_at = Instant::now();
        }
    }
}

fn write_chunk(w: &RollupWriter, chunk: &Chunk, batch: &mut Batch) {
    let mut items = Vec::new();
    chunk.write(w, &mut batch.body, &mut |a, b, n| items.push((a, b, n)));
    for (a, b, n) in items {
        batch.push(a, b, Kind::Rollup(n));
    }
}
