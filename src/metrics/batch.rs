//! Documents waiting to be indexed, and what a `_bulk` answer says
//! about them: which were indexed, which go again, which are lost.

use super::es::BulkAnswer;
use super::ship::Shipped;

/// Per-item rejections (4xx) are tried this often before the item counts
/// as not shipped.
const ITEM_ATTEMPTS: u32 = 3;
/// Per-item answers worth retrying (429, 5xx: an overloaded, full or
/// recovering cluster) are tried this often before the item counts as not
/// shipped: with the backoff, about a minute.
const ITEM_TRANSIENT_ATTEMPTS: u32 = 10;

/// What a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A raw JTL row.
    Row,
    /// A rollup of this many samples.
    Rollup(u64),
}

/// One document's action and source lines in the body.
#[derive(Debug, Clone, Copy)]
pub struct Item {
    start: usize,
    end: usize,
    /// Per-item rejections so far.
    attempts: u32,
    kind: Kind,
}

/// Documents waiting to be indexed: one body buffer, and where each
/// document sits in it.
#[derive(Default)]
pub struct Batch {
    /// The `_bulk` body.
    pub body: Vec<u8>,
    items: Vec<Item>,
}

impl Batch {
    /// Documents in the batch.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the batch holds no document.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Records that `body[start..end]` is one document of `kind`.
    pub fn push(&mut self, start: usize, end: usize, kind: Kind) {
        self.items.push(Item {
            start,
            end,
            attempts: 0,
            kind,
        });
    }

    /// Raw rows and rollup documents in the batch.
    fn counts(&self) -> (u64, u64) {
        let rows = self.items.iter().filter(|i| i.kind == Kind::Row).count() as u64;
        (rows, self.items.len() as u64 - rows)
    }

    /// Counts every document of the batch as lost because of `why`.
    pub fn lose_all(&self, stats: &mut Shipped, why: &str) {
        let (rows, rollups) = self.counts();
        stats.lose(rows, rollups, why);
    }

    /// A batch of just the items `keep` selects, with their new counts.
    fn retain(&self, keep: &[(usize, u32)]) -> Batch {
        let mut out = Batch::default();
        for &(i, attempts) in keep {
            let it = self.items[i];
            let start = out.body.len();
            out.body.extend_from_slice(&self.body[it.start..it.end]);
            out.items.push(Item {
                start,
                end: out.body.len(),
                attempts,
                ..it
            });
        }
        out
    }
}

/// Counts the items the answer confirms and those rejected too often (as
/// lost); returns the batch of items to send again, how many were
/// indexed, and why the others were refused.
pub fn settle(answer: &BulkAnswer, batch: &Batch, stats: &mut Shipped) -> (Batch, u64, String) {
    if !answer.errors {
        let (rows, rollups) = batch.counts();
        stats.rows += rows;
        stats.rollups += rollups;
        return (Batch::default(), batch.len() as u64, String::new());
    }
    if answer.items.len() != batch.len() {
        // An answer that does not match the request: send it all again
        // (ids make that safe; the time bound still applies).
        let all: Vec<_> = (0..batch.len())
            .map(|i| (i, batch.items[i].attempts))
            .collect();
        let why = format!(
            "the _bulk answer had {} items for {} documents",
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
        let rollup = u64::from(matches!(item.kind, Kind::Rollup(_)));
        if (200..300).contains(&status) {
            indexed += 1;
            stats.rows += 1 - rollup;
            stats.rollups += rollup;
            continue;
        }
        let reason = answer
            .index
            .as_ref()
            .map_or_else(|| "no status in the answer".to_string(), |s| s.describe());
        let attempts = item.attempts + 1;
        let limit = if status == 429 || status >= 500 {
            ITEM_TRANSIENT_ATTEMPTS
        } else {
            ITEM_ATTEMPTS
        };
        if attempts < limit {
            keep.push((i, attempts));
        } else {
            stats.lose(
                1 - rollup,
                rollup,
                &format!("refused {attempts} times: {reason}"),
            );
        }
        if why.is_empty() {
            why = reason;
        }
    }
    (batch.retain(&keep), indexed, why)
}
