//! `stampede swarm` (hidden, for `bench/swarm.sh`): N simulated bees in
//! one process. A writer thread appends synthetic samples (skewed
//! latencies, five labels, 1 % errors) to each bee's JTL at a set rate,
//! in place of JMeter, and each bee ships its file with the real bee
//! shipping code ([`ship::ship`]: tailing, rollups, raw rows as
//! `--rows` says). The exact percentiles of everything written are
//! counted per whole millisecond and printed at the end, for the live
//! view's numbers to be checked against.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::cli::SwarmArgs;
use crate::exit;
use crate::metrics::es::Es;
use crate::metrics::ship::{self, ShipConfig, Shipped};

/// Latencies are counted exactly up to this many ms (the generator
/// stays below it).
const EXACT_MS: usize = 100_000;
const LABELS: [&str; 5] = ["home", "search", "product", "cart", "checkout"];

/// A small, seeded generator (xorshift64*): the bench needs speed and
/// repeatability, not cryptographic quality.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn unit(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// A skewed latency for label `l`: log-normal, with a slow tail.
    fn latency(&mut self, l: usize) -> u64 {
        let normal = (-2.0 * self.unit().ln()).sqrt() * (std::f64::consts::TAU * self.unit()).cos();
        let mut ms = (20.0 * (l as f64 + 1.0)).ln() + (0.6 + 0.1 * l as f64) * normal;
        if self.unit() < 0.02 {
            ms += 2.0;
        }
        (ms.exp().round() as u64).clamp(1, EXACT_MS as u64 - 1)
    }
}

/// Exact counts of everything written.
struct Exact {
    counts: Vec<u64>,
    total: u64,
}

impl Exact {
    fn quantile(&self, q: f64) -> u64 {
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total.max(1));
        let mut seen = 0;
        for (ms, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return ms as u64;
            }
        }
        0
    }
}

/// Appends each bee's due samples every 100 ms until `stop`.
fn write_load(paths: &[PathBuf], rate: u64, stop: &AtomicBool) -> anyhow::Result<Exact> {
    let mut files = Vec::new();
    for p in paths {
        let mut f =
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?;
        f.write_all(b"timeStamp,elapsed,label,responseCode,success,bytes\n")?;
        files.push(std::io::BufWriter::with_capacity(1 << 16, f));
    }
    let mut exact = Exact {
        counts: vec![0; EXACT_MS],
        total: 0,
    };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let started = Instant::now();
    let mut written = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let due = (started.elapsed().as_secs_f64() * rate as f64) as u64;
        let now = chrono::Utc::now().timestamp_millis();
        for f in &mut files {
            for _ in written..due {
                let l = (rng.next() % LABELS.len() as u64) as usize;
                let ms = rng.latency(l);
                let ok = rng.unit() >= 0.01;
                exact.counts[ms as usize] += 1;
                exact.total += 1;
                let code = if ok { 200 } else { 500 };
                writeln!(
                    f,
                    "{},{ms},{},{code},{ok},{}",
                    now - ms as i64,
                    LABELS[l],
                    512 + ms
                )?;
            }
            f.flush()?;
        }
        written = written.max(due);
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(exact)
}

/// Runs the swarm for `args.duration` seconds; prints one JSON result.
pub async fn run(args: SwarmArgs) -> anyhow::Result<crate::exit::Ended> {
    let es = Arc::new(
        Es::connect(&args.es)
            .await
            .map_err(|e| exit::InputError(format!("--es: {e}")))?,
    );
    ship::prepare(&es, &args.index)
        .await
        .map_err(|e| exit::InfraError(format!("index templates: {e}")))?;
    std::fs::create_dir_all(&args.dir)?;
    let paths: Vec<PathBuf> = (0..args.bees)
        .map(|i| args.dir.join(format!("bee-{i:04}.jtl")))
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let (stop2, paths2, rate) = (stop.clone(), paths.clone(), args.rate);
    let writer = std::thread::spawn(move || write_load(&paths2, rate, &stop2));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (done_tx, done_rx) = tokio::sync::watch::channel(false);
    let mut shippers = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        let cfg = ShipConfig {
            index: args.index.clone(),
            bee: format!("bee-{i:04}"),
            run_id: args.run_id.clone(),
            max_backoff: Duration::from_secs(10),
            give_up_after: Duration::from_secs(120),
            rows: args.rows,
            rollup_interval_ms: 1000,
        };
        shippers.push(tokio::spawn(ship_one(
            es.clone(),
            cfg,
            p.clone(),
            done_rx.clone(),
        )));
    }
    let started = Instant::now();
    let start_ms = chrono::Utc::now().timestamp_millis();
    tokio::time::sleep(Duration::from_secs(args.duration)).await;
    stop.store(true, Ordering::SeqCst);
    let exact = writer
        .join()
        .map_err(|_| anyhow::anyhow!("the writer thread panicked"))??;
    let load_s = started.elapsed().as_secs_f64();
    let _ = done_tx.send(true);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.drain_max);
    let mut total = Shipped::default();
    let mut undrained = 0;
    for mut s in shippers {
        match tokio::time::timeout_at(deadline, &mut s).await {
            Ok(done) => {
                let s = done??;
                total.rows += s.rows;
                total.lost += s.lost;
                total.rollups += s.rollups;
                total.rollups_lost += s.rollups_lost;
                total.samples += s.samples;
            }
            Err(_) => {
                s.abort();
                undrained += 1;
            }
        }
    }
    let counted_s = started.elapsed().as_secs_f64();
    let indexed = indexed(&es, &args.index, &args.run_id).await;
    println!(
        "{}",
        serde_json::json!({
            "bees": args.bees, "rate": args.rate, "start_ms": start_ms, "load_s": load_s,
            "drained_s": counted_s, "undrained_bees": undrained, "indexed_docs": indexed,
            "written": exact.total, "samples_shipped": total.samples,
            "rows": total.rows, "rows_lost": total.lost,
            "rollups": total.rollups, "rollups_lost": total.rollups_lost,
            "exact": { "p50": exact.quantile(0.5), "p95": exact.quantile(0.95), "p99": exact.quantile(0.99) },
        })
    );
    Ok(crate::exit::Ended::passed())
}

/// Documents of `run_id` the cluster holds (raw rows and rollups).
async fn indexed(es: &Es, index: &str, run_id: &str) -> u64 {
    let q = serde_json::json!({ "size": 0, "track_total_hits": true,
        "query": { "term": { "run_id": run_id } } });
    let mut n = 0;
    for i in [
        index.to_string(),
        crate::metrics::rollup::rollup_index(index),
    ] {
        if let Ok(a) = es.search(&i, &q).await {
            n += a["hits"]["total"]["value"].as_u64().unwrap_or(0);
        }
    }
    n
}

async fn ship_one(
    es: Arc<Es>,
    cfg: ShipConfig,
    path: PathBuf,
    done: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Shipped> {
    let quiet = |m: &str| tracing::warn!("{m}");
    ship::ship(&es, &cfg, Path::new(&path), Some(done), &quiet)
        .await
        .map_err(|e| anyhow::anyhow!("bee {}: {e}", cfg.bee))
}
