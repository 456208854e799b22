//! How long shipping keeps trying. A batch's items are retried a bounded
//! number of times; and when nothing at all has been indexed for
//! `give_up_after` (the cluster down, or refusing every row, as a full
//! or read-only index does), shipping gives up: from then on a batch is
//! sent only as an occasional probe, the other rows are counted as not
//! shipped, and once the writer has finished nothing more is tried, so a
//! bee always finishes.

use std::time::{Duration, Instant};

/// The first backoff after a failure.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// The retry state of one shipping stream, across its batches.
#[derive(Debug)]
pub struct Patience {
    give_up_after: Duration,
    max_backoff: Duration,
    backoff: Duration,
    /// Since when rows have been waiting and none was indexed.
    stalled_since: Option<Instant>,
    /// Why the stall goes on: the latest failure.
    why: String,
    /// Shipping has given up; a probe may go out at this instant.
    gave_up: Option<Instant>,
}

impl Patience {
    /// Patience of `give_up_after` without progress, backing off up to
    /// `max_backoff` between tries.
    pub fn new(give_up_after: Duration, max_backoff: Duration) -> Self {
        Patience {
            give_up_after,
            max_backoff,
            backoff: FIRST_BACKOFF,
            stalled_since: None,
            why: String::new(),
            gave_up: None,
        }
    }

    /// Rows were indexed: the stall (if any) is over. Returns whether
    /// there was one.
    pub fn progress(&mut self) -> bool {
        self.backoff = FIRST_BACKOFF;
        self.gave_up = None;
        self.stalled_since.take().is_some()
    }

    /// A try failed because of `why`; returns whether this starts a stall.
    pub fn setback(&mut self, why: String) -> bool {
        self.why = why;
        let new = self.stalled_since.is_none();
        self.stalled_since.get_or_insert_with(Instant::now);
        new
    }

    /// Why the current stall goes on.
    pub fn why(&self) -> &str {
        &self.why
    }

    /// Whether shipping has given up.
    pub fn given_up(&self) -> bool {
        self.gave_up.is_some()
    }

    /// Whether the stall has lasted `give_up_after`: if so, shipping
    /// gives up (now, or it already had).
    pub fn exhausted(&mut self) -> bool {
        let over = self
            .stalled_since
            .is_some_and(|s| s.elapsed() >= self.give_up_after);
        if over && self.gave_up.is_none() {
            self.gave_up = Some(Instant::now() + self.max_backoff);
        }
        over
    }

    /// Once given up, whether a batch may go out as a probe (at most one
    /// per `max_backoff`); the rest are not sent.
    pub fn probe_due(&mut self) -> bool {
        match self.gave_up {
            Some(at) if Instant::now() >= at => {
                self.gave_up = Some(Instant::now() + self.max_backoff);
                true
            }
            Some(_) => false,
            None => true,
        }
    }

    /// The pause before the next try, doubling up to the maximum.
    pub fn next_pause(&mut self) -> Duration {
        let pause = self.backoff;
        self.backoff = (self.backoff * 2).min(self.max_backoff);
        pause
    }

    /// How long the stall has lasted.
    pub fn stalled_for(&self) -> Duration {
        self.stalled_since.map_or(Duration::ZERO, |s| s.elapsed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_up_after_the_bound_and_then_only_probes() {
        let mut p = Patience::new(Duration::from_millis(30), Duration::from_millis(40));
        assert!(p.setback("refused".into()));
        assert!(!p.setback("refused again".into()));
        assert!(!p.exhausted());
        assert_eq!(p.next_pause(), Duration::from_millis(200));
        assert_eq!(p.next_pause(), Duration::from_millis(40));
        std::thread::sleep(Duration::from_millis(35));
        assert!(p.exhausted());
        assert!(p.given_up());
        assert_eq!(p.why(), "refused again");
        assert!(!p.probe_due(), "no probe right after giving up");
        std::thread::sleep(Duration::from_millis(45));
        assert!(p.probe_due());
        assert!(!p.probe_due(), "one probe per interval");
        assert!(p.progress());
        assert!(!p.given_up());
        assert!(!p.exhausted());
    }
}
