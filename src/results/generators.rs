//! The load generators' own health over a run (SCHEMA.md `generators`):
//! a saturated generator measures itself, not the system under test.

use serde::{Deserialize, Serialize};

/// CPU above this (percent of all cores) is saturation: JMeter's own
/// timing then slips and latencies include queueing inside the bee.
pub const CPU_FLAG_PCT: f64 = 80.0;

/// Pages swapped in or out per second above this count as swapping (a
/// stray page now and then is not a generator in trouble).
pub const SWAP_FLAG_PAGES_PER_S: f64 = 10.0;

/// One health sample of a bee (one interval).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct HealthSample {
    /// Epoch ms at the end of the interval.
    pub at_ms: i64,
    /// Busy CPU over the interval, percent of all cores.
    pub cpu_pct: f64,
    /// Memory in use (total minus available), percent.
    pub mem_pct: f64,
    /// Pages swapped in plus out per second.
    pub swap_pages_per_s: f64,
    /// Bytes received per second, all interfaces but loopback.
    pub net_rx_bytes_per_s: f64,
    /// Bytes sent per second.
    pub net_tx_bytes_per_s: f64,
}

/// One bee's health over the run, kept as running totals (memory does not
/// grow with the run's length).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GeneratorSummary {
    /// The bee.
    pub bee: String,
    /// Highest CPU %, over intervals.
    pub cpu_max: f64,
    /// Mean CPU %.
    pub cpu_avg: f64,
    /// Highest memory %.
    pub mem_max: f64,
    /// Whether the bee swapped in some interval.
    pub swapping: bool,
    /// Above [`CPU_FLAG_PCT`] (sustained, see [`GeneratorSummary::add`]) or swapping.
    pub flagged: bool,
    /// Intervals sampled.
    pub samples: u64,
    /// Intervals above [`CPU_FLAG_PCT`].
    #[serde(default)]
    pub cpu_hot_samples: u64,
    /// Highest network bytes/s, received plus sent.
    #[serde(default)]
    pub net_max_bytes_per_s: f64,
}

/// The share of intervals above [`CPU_FLAG_PCT`] that flags a bee: one hot
/// second (the JVM starting) is not saturation, a quarter of the run is.
const HOT_SHARE: f64 = 0.25;

impl GeneratorSummary {
    /// An empty summary for `bee`.
    pub fn new(bee: &str) -> Self {
        GeneratorSummary {
            bee: bee.to_string(),
            ..GeneratorSummary::default()
        }
    }

    /// Adds one interval's sample and re-decides the flag.
    pub fn add(&mut self, s: &HealthSample) {
        let n = self.samples as f64;
        self.cpu_avg = (self.cpu_avg * n + s.cpu_pct) / (n + 1.0);
        self.samples += 1;
        self.cpu_max = self.cpu_max.max(s.cpu_pct);
        self.mem_max = self.mem_max.max(s.mem_pct);
        self.net_max_bytes_per_s = self
            .net_max_bytes_per_s
            .max(s.net_rx_bytes_per_s + s.net_tx_bytes_per_s);
        self.swapping |= s.swap_pages_per_s > SWAP_FLAG_PAGES_PER_S;
        self.cpu_hot_samples += u64::from(s.cpu_pct > CPU_FLAG_PCT);
        self.flagged = self.swapping || self.cpu_saturated();
    }

    /// CPU above the line for at least two intervals and a quarter of them.
    fn cpu_saturated(&self) -> bool {
        self.cpu_hot_samples >= 2 && self.cpu_hot_samples as f64 >= HOT_SHARE * self.samples as f64
    }

    /// Why the bee is flagged, for people: `bee-3 (CPU above 80 % in 12 of
    /// 30 s, peak 97 %; swapping)`.
    pub fn why(&self) -> String {
        let mut parts = Vec::new();
        if self.cpu_saturated() {
            parts.push(format!(
                "CPU above {CPU_FLAG_PCT:.0} % in {} of {} intervals, peak {:.0} %",
                self.cpu_hot_samples, self.samples, self.cpu_max
            ));
        }
        if self.swapping {
            parts.push("swapping".to_string());
        }
        format!("{} ({})", self.bee, parts.join("; "))
    }
}

/// The verdict's note when any generator is flagged, else `None`.
pub fn verdict_note(generators: &[GeneratorSummary]) -> Option<String> {
    let flagged: Vec<String> = generators
        .iter()
        .filter(|g| g.flagged)
        .map(GeneratorSummary::why)
        .collect();
    if flagged.is_empty() {
        return None;
    }
    const SHOWN: usize = 5;
    let more = flagged.len().saturating_sub(SHOWN);
    let mut list = flagged[..flagged.len().min(SHOWN)].join(", ");
    if more > 0 {
        list.push_str(&format!(" and {more} more"));
    }
    Some(format!(
        "results may reflect the load generators rather than the system under test: {} of {} bee(s) flagged: {list}; use larger or more bees",
        flagged.len(),
        generators.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(cpu: f64, swap: f64) -> HealthSample {
        HealthSample {
            cpu_pct: cpu,
            mem_pct: 40.0,
            swap_pages_per_s: swap,
            ..HealthSample::default()
        }
    }

    fn over(samples: &[(f64, f64)]) -> GeneratorSummary {
        let mut g = GeneratorSummary::new("bee-1");
        for &(c, s) in samples {
            g.add(&sample(c, s));
        }
        g
    }

    #[test]
    fn a_hot_start_is_not_saturation_but_a_hot_run_is() {
        // The JVM's first second.
        let start = over(&[(99.0, 0.0), (30.0, 0.0), (35.0, 0.0), (30.0, 0.0)]);
        assert!(!start.flagged, "{start:?}");
        assert_eq!(start.cpu_max, 99.0);
        assert!((start.cpu_avg - 48.5).abs() < 1e-9);
        let hot = over(&[(85.0, 0.0), (90.0, 0.0), (50.0, 0.0), (60.0, 0.0)]);
        assert!(hot.flagged, "{hot:?}");
        assert!(hot.why().contains("2 of 4 intervals"), "{}", hot.why());
        // Exactly 80 % is not above it.
        assert!(!over(&[(80.0, 0.0); 10]).flagged);
    }

    #[test]
    fn swapping_flags_a_bee_at_once_but_a_stray_page_does_not() {
        assert!(!over(&[(10.0, 5.0), (10.0, 0.0)]).flagged);
        let g = over(&[(10.0, 0.0), (10.0, 500.0), (10.0, 0.0)]);
        assert!(g.flagged && g.swapping, "{g:?}");
        assert_eq!(g.why(), "bee-1 (swapping)");
    }

    #[test]
    fn the_verdict_names_flagged_bees_only() {
        let calm = over(&[(20.0, 0.0)]);
        assert_eq!(verdict_note(std::slice::from_ref(&calm)), None);
        let mut hot = over(&[(95.0, 0.0), (95.0, 0.0)]);
        hot.bee = "bee-7".into();
        let note = verdict_note(&[calm, hot]).unwrap();
        assert!(note.contains("may reflect the load generators"), "{note}");
        assert!(
            note.contains("1 of 2 bee(s) flagged: bee-7 (CPU above 80 %"),
            "{note}"
        );
        assert!(!note.contains("bee-1"), "{note}");
    }
}
