//! Rollups against the real OpenSearch node: the live view's merged
//! histograms against exact values for 1, 2 and 50 bees, a re-ship that
//! overwrites instead of adding, an outage that loses and duplicates
//! nothing, and laptop runs with raw rows and without giving the same
//! numbers.

use std::io::Write;
use std::time::Duration;

use crate::shipping::Proxy;
use crate::support::*;

const HEADER: &str = "timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect\n";

/// A seeded generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Log-normal around `median` ms, with a slow tail.
    fn skewed(&mut self, median: f64) -> u64 {
        let n = (-2.0 * self.unit().ln()).sqrt() * (std::f64::consts::TAU * self.unit()).cos();
        let tail = if self.unit() < 0.03 { 8.0 } else { 1.0 };
        ((median.ln() + 0.9 * n).exp() * tail).round().max(0.0) as u64
    }
}

/// Bee `b`'s JTL of `n` samples from `start_ms` on: each bee is slower or
/// faster than the others, so averaging per-bee percentiles would be
/// wrong; 2 % errors. Returns the text and its latencies.
fn skewed_jtl(b: usize, n: usize, start_ms: i64) -> (String, Vec<(String, u64)>) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (b as u64 + 1).wrapping_mul(0xbf58_476d_1ce4_e5b9));
    let mut text = String::from(HEADER);
    let mut values = Vec::new();
    for i in 0..n {
        let label = ["home", "search", "checkout"][i % 3];
        let ms = rng.skewed(30.0 * (1 + b % 7) as f64 * (1 + i % 3) as f64);
        let ok = rng.unit() >= 0.02;
        let ts = start_ms + (i as i64 * 60_000) / n as i64;
        text.push_str(&format!(
            "{ts},{ms},{label},200,OK,t 1-1,text,{ok},,100,50,1,1,http://x/,3,0,1\n"
        ));
        values.push((label.to_string(), ms));
    }
    (text, values)
}

/// The exact value at quantile `q`: rank `ceil(q * n)`, as `analyze`
/// and the rollups count ranks (0 ms counts as 1 ms, as there).
fn exact(values: &mut [u64], q: f64) -> f64 {
    values.sort_unstable();
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1].max(1) as f64
}

fn ship(es: &str, index: &str, run_id: &str, bee: &str, path: &std::path::Path) -> Output {
    run(stampede()
        .args([
            "--output", "json", "ship", "--rows", "none", "--index", index,
        ])
        .args(["--bee", bee, "--run-id", run_id, "--es", es])
        .arg(path))
}

/// The live view of `run_id` from its rollups, one poll.
fn live_view(es: &str, index: &str, run_id: &str, since_ms: i64) -> serde_json::Value {
    // A refresh, so the poll sees every document shipped.
    es_count(es, &format!("{index}-rollup"), run_id, None);
    let out = run(stampede()
        .args([
            "live-view",
            "--es",
            es,
            "--index",
            index,
            "--run-id",
            run_id,
        ])
        .arg(format!("--since-ms={since_ms}")));
    assert_eq!(out.code, 0, "{out:?}");
    let line: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert!(line.get("error").is_none(), "{line}");
    line["live"].clone()
}

fn within_1pct(live: f64, exact: f64, what: &str) {
    assert!(
        (live - exact).abs() <= 0.01 * exact,
        "{what}: live {live} vs exact {exact}"
    );
}

#[test]
fn merged_rollups_give_exact_percentiles_for_1_2_and_50_bees() {
    let Some(es) = opensearch() else { return };
    let index = "stampede-rollup-it";
    let start = chrono::Utc::now().timestamp_millis() - 600_000;
    for bees in [1usize, 2, 50] {
        let dir = tempfile::tempdir().unwrap();
        let run_id = unique(&format!("merge{bees}"));
        let per_bee = (40_000 / bees).max(1_000);
        let mut all = Vec::new();
        for b in 0..bees {
            let (text, values) = skewed_jtl(b, per_bee, start);
            let path = write(dir.path(), &format!("b{b}.jtl"), &text);
            let out = ship(&es, index, &run_id, &format!("b{b}"), &path);
            assert_eq!(out.code, 0, "{out:?}");
            all.extend(values);
        }
        let live = live_view(&es, index, &run_id, start);
        assert_eq!(live["samples"].as_u64(), Some(all.len() as u64), "{live}");
        assert_eq!(live["bees"].as_u64(), Some(bees as u64), "{live}");
        let mut ms: Vec<u64> = all.iter().map(|(_, v)| *v).collect();
        for (q, key) in [(0.95, "p95"), (0.99, "p99")] {
            let want = exact(&mut ms, q);
            within_1pct(
                live["overall"][key].as_f64().unwrap(),
                want,
                &format!("{bees} bees {key}"),
            );
        }
        for l in live["labels"].as_array().unwrap() {
            let name = l["label"].as_str().unwrap();
            let mut mine: Vec<u64> = all
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| *v)
                .collect();
            assert_eq!(l["samples"].as_u64(), Some(mine.len() as u64));
            let want = exact(&mut mine, 0.99);
            within_1pct(
                l["overall"]["p99"].as_f64().unwrap(),
                want,
                &format!("{bees} bees {name} p99"),
            );
        }
    }
}

/// Shipping a file again (a bee or `ship` restarted from the start)
/// re-sends the same ids: the counts do not double; and no raw rows go
/// out with `--rows none`.
#[test]
fn a_reship_overwrites_rollups_instead_of_adding() {
    let Some(es) = opensearch() else { return };
    let index = "stampede-rollup-it";
    let start = chrono::Utc::now().timestamp_millis() - 600_000;
    let dir = tempfile::tempdir().unwrap();
    let run_id = unique("reship");
    let (text, values) = skewed_jtl(3, 5_000, start);
    let path = write(dir.path(), "b.jtl", &text);
    for _ in 0..2 {
        let out = ship(&es, index, &run_id, "b", &path);
        assert_eq!(out.code, 0, "{out:?}");
        let result: serde_json::Value =
            serde_json::from_str(out.stdout.lines().last().unwrap()).unwrap();
        assert_eq!(
            (&result["rows"], &result["samples"]),
            (&0.into(), &5_000.into()),
            "{result}"
        );
    }
    let live = live_view(&es, index, &run_id, start);
    assert_eq!(
        live["samples"].as_u64(),
        Some(values.len() as u64),
        "{live}"
    );
    // No raw rows: the results index (if it exists at all) has none.
    let raw = crate::shipping::es_call(
        "POST",
        &format!("{es}/{index}/_count"),
        serde_json::json!({ "query": { "term": { "run_id": &run_id } } }),
    );
    assert_eq!(raw["count"].as_u64().unwrap_or(0), 0, "{raw}");
}

fn rows(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| {
            format!(
                "{},{},\"label, {}\",200,OK,t 1-1,text,{},,100,50,1,1,http://x/{i},3,0,1\n",
                chrono::Utc::now().timestamp_millis() - 200,
                1 + i % 97,
                i % 5,
                i % 50 != 0
            )
        })
        .collect()
}

/// The cluster's own sums (samples, errors) over the rollups of `run_id`.
pub fn rollup_sums(es: &str, index: &str, run_id: &str) -> (u64, u64) {
    rollup_sums_of(es, index, run_id, None)
}

/// [`rollup_sums`] of one bee, or of all when `bee` is `None`.
pub fn rollup_sums_of(es: &str, index: &str, run_id: &str, bee: Option<&str>) -> (u64, u64) {
    let mut filter = vec![serde_json::json!({ "term": { "run_id": run_id } })];
    if let Some(b) = bee {
        filter.push(serde_json::json!({ "term": { "bee": b } }));
    }
    let answer = es_search(
        es,
        &format!("{index}-rollup"),
        &serde_json::json!({ "size": 0, "query": { "bool": { "filter": filter } },
            "aggs": { "n": { "sum": { "field": "count" } }, "e": { "sum": { "field": "errors" } } } }),
    );
    let get = |k: &str| answer["aggregations"][k]["value"].as_f64().unwrap_or(-1.0) as u64;
    (get("n"), get("e"))
}

/// The search cluster goes away while rollups are being shipped (a TCP
/// proxy cuts it: a fake for the fault only) and comes back: every
/// sample is in the rollups exactly once.
#[test]
fn an_outage_during_rollup_shipping_loses_and_duplicates_nothing() {
    let Some(es) = opensearch() else { return };
    let index = "stampede-rollup-faults";
    let proxy = Proxy::start(&es);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bee.jtl");
    let mut jtl = std::fs::File::create(&path).unwrap();
    jtl.write_all(HEADER.as_bytes()).unwrap();
    jtl.write_all(rows(0, 3000).as_bytes()).unwrap();
    let run_id = unique("rollfaults");
    let child = stampede()
        .args([
            "ship", "--follow", "--output", "plain", "--rows", "none", "--index", index,
        ])
        .args(["--bee", "b1", "--run-id", &run_id, "--es"])
        .arg(format!("http://127.0.0.1:{}", proxy.port))
        .arg(&path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    jtl.write_all(rows(3000, 3000).as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(1600));
    proxy.down();
    let during = rows(6000, 3000);
    jtl.write_all(&during.as_bytes()[..during.len() - 20])
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    jtl.write_all(&during.as_bytes()[during.len() - 20..])
        .unwrap();
    proxy.up();
    jtl.write_all(rows(9000, 3000).as_bytes()).unwrap();
    std::thread::sleep(Duration::from_secs(4));
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{stdout}");
    assert!(
        stdout.contains("retrying") && stdout.contains("is back"),
        "{stdout}"
    );
    assert!(stdout.contains("of 12000 samples"), "{stdout}");
    assert_eq!(rollup_sums(&es, index, &run_id), (12000, 240));
    let live = live_view(
        &es,
        index,
        &run_id,
        chrono::Utc::now().timestamp_millis() - 600_000,
    );
    assert_eq!(
        (&live["samples"], &live["errors"]),
        (&12000.into(), &240.into()),
        "{live}"
    );
}

/// Laptop runs with every raw row shipped and with none: in both, the
/// rollups hold exactly the samples and errors of summary.json, and the
/// live view's p95 is the summary's within 1 %; raw rows are in the
/// index only when asked for.
#[test]
fn laptop_runs_with_and_without_raw_rows_agree_with_the_summary() {
    let (Some(es), Some(jmeter)) = (opensearch(), jmeter_home()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("testcases/quickstart.jmx"),
        dir.path().join("q.jmx"),
    )
    .unwrap();
    let index = "stampede-rollup-laptop";
    for mode in ["all", "none"] {
        let run_id = unique(&format!("laptop-{mode}"));
        let bp = write(
            dir.path(),
            &format!("{mode}.yml"),
            &format!(
                "stack: rl\ntarget: local\nlocal: {{ bees: 2, serve: 0 }}\ntestcase: q.jmx\ntimeout: 10m\nproperties: {{ threads: 2, duration: 4, think_ms: 20 }}\nmetrics:\n  es: {es}\n  index: {index}\n  rows: {mode}\n"
            ),
        );
        let report = dir.path().join(format!("report-{mode}"));
        let out = run(stampede()
            .args(["run", "--output", "plain", "--run-id", &run_id, "--report"])
            .arg(&report)
            .arg(&bp)
            .env("JMETER_HOME", &jmeter));
        assert_eq!(out.code, 0, "{out:?}");
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(report.join("summary.json")).unwrap())
                .unwrap();
        let (count, errors) = (
            summary["total"]["count"].as_u64().unwrap(),
            summary["total"]["errors"].as_u64().unwrap(),
        );
        assert!(count > 20, "{summary}");
        assert_eq!(rollup_sums(&es, index, &run_id), (count, errors), "{mode}");
        let raw = es_count(&es, index, &run_id, None);
        assert_eq!(raw, if mode == "all" { count } else { 0 }, "{mode}");
        let live = live_view(
            &es,
            index,
            &run_id,
            chrono::Utc::now().timestamp_millis() - 600_000,
        );
        assert_eq!(live["samples"].as_u64(), Some(count), "{live}");
        let p95 = summary["total"]["p95"].as_f64().unwrap();
        within_1pct(live["overall"]["p95"].as_f64().unwrap(), p95.max(1.0), mode);
    }
}

/// A bee that was cut off ships old intervals late, after the live view
/// has settled them: the view notices (the cluster's settled count
/// differs from its own) and reads them again, so it ends exact.
#[test]
fn the_live_view_takes_in_intervals_shipped_late() {
    use std::io::BufRead;
    let Some(es) = opensearch() else { return };
    let index = "stampede-rollup-it";
    let start = chrono::Utc::now().timestamp_millis() - 600_000;
    let dir = tempfile::tempdir().unwrap();
    let run_id = unique("late");
    let (first, a) = skewed_jtl(1, 4_000, start);
    let (late, b) = skewed_jtl(2, 3_000, start);
    let out = ship(
        &es,
        index,
        &run_id,
        "b1",
        &write(dir.path(), "b1.jtl", &first),
    );
    assert_eq!(out.code, 0, "{out:?}");
    es_count(&es, &format!("{index}-rollup"), &run_id, None);
    let mut view = stampede()
        .args([
            "live-view",
            "--es",
            &es,
            "--index",
            index,
            "--run-id",
            &run_id,
        ])
        .args(["--polls", "2", "--every", "4"])
        .arg(format!("--since-ms={start}"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(view.stdout.take().unwrap()).lines();
    let poll = |l: String| -> serde_json::Value {
        serde_json::from_str::<serde_json::Value>(&l).unwrap()["live"].clone()
    };
    let before = poll(lines.next().unwrap().unwrap());
    assert_eq!(before["samples"].as_u64(), Some(a.len() as u64), "{before}");
    let out = ship(
        &es,
        index,
        &run_id,
        "b2",
        &write(dir.path(), "b2.jtl", &late),
    );
    assert_eq!(out.code, 0, "{out:?}");
    es_count(&es, &format!("{index}-rollup"), &run_id, None);
    let after = poll(lines.next().unwrap().unwrap());
    assert!(view.wait().unwrap().success());
    assert_eq!(
        after["samples"].as_u64(),
        Some((a.len() + b.len()) as u64),
        "{after}"
    );
    let mut all: Vec<u64> = a.iter().chain(&b).map(|(_, v)| *v).collect();
    within_1pct(
        after["overall"]["p99"].as_f64().unwrap(),
        exact(&mut all, 0.99),
        "p99 after the late bee",
    );
}
