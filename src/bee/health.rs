//! The bee's own health: CPU, memory, swapping and network use, read from
//! /proc once per interval (four small files, well under a millisecond),
//! on a thread of its own so the async runtime never blocks on a read.

use std::io;
use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::results::generators::{GeneratorSummary, HealthSample};

/// Counters read from /proc at one moment; rates come from two of them.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Counters {
    /// CPU jiffies spent busy (all but idle and iowait), all cores.
    pub cpu_busy: u64,
    /// All CPU jiffies, all cores.
    pub cpu_total: u64,
    /// Pages swapped in plus out since boot.
    pub swap_pages: u64,
    /// Bytes received since boot, all interfaces but loopback.
    pub rx_bytes: u64,
    /// Bytes sent since boot.
    pub tx_bytes: u64,
}

/// The first (all-CPU) line of /proc/stat: busy and total jiffies.
pub fn parse_stat(text: &str) -> Option<(u64, u64)> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest is in user).
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3)? + v.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// Memory in use, percent: (MemTotal - MemAvailable) / MemTotal.
pub fn parse_meminfo(text: &str) -> Option<f64> {
    let field = |name: &str| -> Option<f64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    let total = field("MemTotal:")?;
    let available = field("MemAvailable:")?;
    (total > 0.0).then(|| 100.0 * (total - available) / total)
}

/// Pages swapped in plus out since boot, from /proc/vmstat.
pub fn parse_vmstat(text: &str) -> u64 {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            matches!(k, "pswpin" | "pswpout").then(|| v.trim().parse::<u64>().ok())?
        })
        .sum()
}

/// Received and sent bytes of every interface but loopback, from
/// /proc/net/dev.
pub fn parse_net_dev(text: &str) -> (u64, u64) {
    let mut rx = 0;
    let mut tx = 0;
    for line in text.lines().skip(2) {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        if name.trim() == "lo" {
            continue;
        }
        let f: Vec<u64> = rest
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        rx += f.first().copied().unwrap_or(0);
        tx += f.get(8).copied().unwrap_or(0);
    }
    (rx, tx)
}

/// Reads the counters and memory now.
pub fn read_now() -> io::Result<(Counters, f64)> {
    let read = |p: &str| std::fs::read_to_string(p);
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("{what} unreadable"));
    let (cpu_busy, cpu_total) =
        parse_stat(&read("/proc/stat")?).ok_or_else(|| bad("/proc/stat"))?;
    let mem = parse_meminfo(&read("/proc/meminfo")?).ok_or_else(|| bad("/proc/meminfo"))?;
    // Containers may hide these two: then no swap and no network is seen.
    let swap_pages = read("/proc/vmstat").map_or(0, |t| parse_vmstat(&t));
    let (rx_bytes, tx_bytes) = read("/proc/net/dev").map_or((0, 0), |t| parse_net_dev(&t));
    let c = Counters {
        cpu_busy,
        cpu_total,
        swap_pages,
        rx_bytes,
        tx_bytes,
    };
    Ok((c, mem))
}

/// One interval's sample from the counters at its start and end.
pub fn sample(
    before: &Counters,
    after: &Counters,
    mem_pct: f64,
    secs: f64,
    at_ms: i64,
) -> HealthSample {
    let d = |a: u64, b: u64| b.saturating_sub(a) as f64;
    let total = d(before.cpu_total, after.cpu_total);
    let rate = |a, b| if secs > 0.0 { d(a, b) / secs } else { 0.0 };
    HealthSample {
        at_ms,
        cpu_pct: if total > 0.0 {
            100.0 * d(before.cpu_busy, after.cpu_busy) / total
        } else {
            0.0
        },
        mem_pct,
        swap_pages_per_s: rate(before.swap_pages, after.swap_pages),
        net_rx_bytes_per_s: rate(before.rx_bytes, after.rx_bytes),
        net_tx_bytes_per_s: rate(before.tx_bytes, after.tx_bytes),
    }
}

/// A running sampler: stop it to get the bee's health over the run.
pub struct Sampler {
    stop: Sender<()>,
    thread: JoinHandle<GeneratorSummary>,
}

impl Sampler {
    /// Samples every `every` until stopped, handing each sample to `each`
    /// (shipping; it must not block). `None` when /proc cannot be read
    /// (not Linux): the run goes on without health.
    pub fn start(
        bee: &str,
        every: Duration,
        each: impl Fn(HealthSample) + Send + 'static,
    ) -> Option<Sampler> {
        let (mut before, _) = read_now().ok()?;
        let (stop, stopped) = channel();
        let mut summary = GeneratorSummary::new(bee);
        let thread = std::thread::spawn(move || {
            let mut since = Instant::now();
            loop {
                match stopped.recv_timeout(every) {
                    Err(RecvTimeoutError::Timeout) => {}
                    _ => return summary,
                }
                let Ok((now, mem)) = read_now() else { continue };
                let at_ms = chrono::Utc::now().timestamp_millis();
                let s = sample(&before, &now, mem, since.elapsed().as_secs_f64(), at_ms);
                (before, since) = (now, Instant::now());
                summary.add(&s);
                each(s);
            }
        });
        Some(Sampler { stop, thread })
    }

    /// Stops sampling; the bee's health over the run.
    pub fn finish(self) -> GeneratorSummary {
        let _ = self.stop.send(());
        self.thread.join().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
