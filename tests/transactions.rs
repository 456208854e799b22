//! Transaction Controllers counted as JMeter counts them: each keeps its
//! own label row, and `total` leaves their samples out. Checked against
//! JMeter's own dashboard (`jmeter -g JTL -o DIR`, its `statistics.json`)
//! on what real JMeter 5.6.3 writes for `tests/fixtures/plans/transactions.jmx`
//! (nested controllers, with and without parent samples).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::*;

/// Count and errors per label, JMeter's `Total` included.
type Counts = BTreeMap<String, (u64, u64)>;

/// The labels of the plan that are Transaction Controllers.
const TRANSACTIONS: [&str; 4] = ["checkout", "login", "browse", "details"];

/// Runs the fixture plan in JMeter, writing `format` (csv or xml) results.
fn run_plan(jmeter: &str, dir: &Path, format: &str) -> PathBuf {
    let jtl = dir.join(format!("out.{format}.jtl"));
    let out = Command::new(Path::new(jmeter).join("bin/jmeter"))
        .arg("-n")
        .arg("-t")
        .arg(fixture("plans/transactions.jmx"))
        .arg("-l")
        .arg(&jtl)
        .arg("-j")
        .arg(dir.join(format!("{format}.log")))
        .arg(format!("-Jjmeter.save.saveservice.output_format={format}"))
        .args(["-Jthreads=3", "-Jloops=4"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    jtl
}

/// JMeter's dashboard figures of a CSV JTL.
fn dashboard(jmeter: &str, jtl: &Path, dir: &Path) -> Counts {
    let out_dir = dir.join("dashboard");
    let out = Command::new(Path::new(jmeter).join("bin/jmeter"))
        .arg("-g")
        .arg(jtl)
        .arg("-o")
        .arg(&out_dir)
        .arg("-j")
        .arg(dir.join("g.log"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stats: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("statistics.json")).unwrap())
            .unwrap();
    stats
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let n = |f: &str| v[f].as_u64().unwrap();
            (k.clone(), (n("sampleCount"), n("errorCount")))
        })
        .collect()
}

/// stampede's figures of a summary.json, with `Total` for `total`, and
/// the labels it marks as transactions.
fn figures(summary: &Value) -> (Counts, Vec<String>) {
    let n = |l: &Value, f: &str| l[f].as_u64().unwrap();
    let mut counts = Counts::new();
    let mut transactions = Vec::new();
    for l in summary["labels"].as_array().unwrap() {
        let name = l["label"].as_str().unwrap().to_string();
        if l["transaction"] == true {
            transactions.push(name.clone());
        }
        counts.insert(name, (n(l, "count"), n(l, "errors")));
    }
    let t = &summary["total"];
    counts.insert("Total".into(), (n(t, "count"), n(t, "errors")));
    transactions.sort();
    (counts, transactions)
}

fn analyze(jtl: &Path, dir: &Path) -> Value {
    let json = dir.join("s.json");
    let out = run(stampede().arg("analyze").arg(jtl).arg("--json").arg(&json));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .contains("transactions (not in total, as in JMeter's dashboard): "),
        "{out:?}"
    );
    serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap()
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// The CSV JTL of real JMeter: every label's count and errors, and the
/// Total, equal JMeter's dashboard; the total's error rate is the
/// samplers'. The XML JTL of the same plan (deterministic counts: fixed
/// threads and loops, failures by iteration) gives the same figures.
#[test]
fn total_equals_jmeters_dashboard_for_csv_and_xml() {
    let Some(jmeter) = jmeter_home() else { return };
    let dir = tempfile::tempdir().unwrap();
    let csv = run_plan(&jmeter, dir.path(), "csv");
    let want = dashboard(&jmeter, &csv, dir.path());
    // The plan's samplers: 6 labels x 3 threads x 4 loops.
    assert_eq!(want["Total"].0, 72, "{want:?}");

    let summary = analyze(&csv, dir.path());
    let (got, transactions) = figures(&summary);
    assert_eq!(got, want, "{summary}");
    assert_eq!(transactions, sorted(&TRANSACTIONS));
    let rate = summary["total"]["error_rate"].as_f64().unwrap();
    assert_eq!(rate, want["Total"].1 as f64 / want["Total"].0 as f64);
    // The series' total is the samplers' too.
    let series_total: u64 = summary["series"]["labels"]["total"]["count"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(series_total, want["Total"].0);

    let xml = run_plan(&jmeter, dir.path(), "xml");
    assert!(std::fs::read_to_string(&xml).unwrap().contains("<sample"));
    let (got, transactions) = figures(&analyze(&xml, dir.path()));
    assert_eq!(got, want);
    assert_eq!(transactions, sorted(&TRANSACTIONS));
}

/// Laptop mode: the run's summary.json (merged from the bee's own
/// summary) has JMeter's Total for the bee's JTL, and the run passes
/// the built-in gate on the samplers' error rate.
#[test]
fn a_laptop_run_of_nested_transactions_totals_as_jmeter_does() {
    let Some(jmeter) = jmeter_home() else { return };
    let dir = tempfile::tempdir().unwrap();
    let blueprint = write(
        dir.path(),
        "tx.yml",
        &format!(
            "stack: tx\ntarget: local\nlocal: {{ bees: 1 }}\ntestcase: {}\ntimeout: 5m\n\
             properties: {{ threads: \"3\", loops: \"4\" }}\n",
            fixture("plans/transactions.jmx").display()
        ),
    );
    let report = dir.path().join("report");
    let out = run(stampede()
        .args(["run", "--output", "plain", "--report"])
        .arg(&report)
        .arg(&blueprint)
        .env_remove("STAMPEDE_ES_URL")
        .env("JMETER_HOME", &jmeter));
    assert_eq!(out.code, 0, "{out:?}");
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("summary.json")).unwrap())
            .unwrap();
    let jtl = dir.path().join("bee-1.jtl");
    let mut gz = flate2::read::GzDecoder::new(
        std::fs::File::open(report.join("results/bee-1.jtl.gz")).unwrap(),
    );
    std::io::copy(&mut gz, &mut std::fs::File::create(&jtl).unwrap()).unwrap();
    let want = dashboard(&jmeter, &jtl, dir.path());
    let (got, transactions) = figures(&summary);
    assert_eq!(got, want, "{summary}");
    assert_eq!(transactions, sorted(&TRANSACTIONS));
    // The report's per-label table marks them, in a real browser.
    let Some(chrome) = crate::report::browser::chromium() else {
        return;
    };
    let v = crate::report::browser::visit(&chrome, &report.join("report.html"));
    assert!(v.console.is_empty(), "console: {:#?}", v.console);
    for name in TRANSACTIONS {
        assert!(v.dom.contains(&format!(">{name} (transaction)<")), "{name}");
    }
    assert!(v.dom.contains(">home<"));
    assert!(v.dom.contains("Transactions are not in total"));
}

/// The live view from rollups (what `run` shows with a search cluster):
/// a bee's rollups of the real JTL give JMeter's Total, and the
/// transactions keep their rows.
#[test]
fn the_live_view_from_rollups_totals_as_jmeter_does() {
    let (Some(jmeter), Some(es)) = (jmeter_home(), opensearch()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let csv = run_plan(&jmeter, dir.path(), "csv");
    let want = dashboard(&jmeter, &csv, dir.path());
    // An index of its own, so the rollup template (with `transaction`)
    // makes its mapping.
    let index = unique("stampede-tx");
    let run_id = unique("tx");
    let out = run(stampede()
        .args(["--output", "json", "ship", "--rows", "none", "--index"])
        .arg(&index)
        .args(["--bee", "b1", "--run-id", &run_id, "--es", &es])
        .arg(&csv));
    assert_eq!(out.code, 0, "{out:?}");
    es_count(&es, &format!("{index}-rollup"), &run_id, None);
    let since = chrono::Utc::now().timestamp_millis() - 3_600_000;
    let out = run(stampede()
        .args([
            "live-view",
            "--es",
            &es,
            "--index",
            &index,
            "--run-id",
            &run_id,
        ])
        .arg(format!("--since-ms={since}")));
    assert_eq!(out.code, 0, "{out:?}");
    let live: Value = serde_json::from_str::<Value>(out.stdout.trim()).unwrap()["live"].clone();
    let total = (
        live["samples"].as_u64().unwrap(),
        live["errors"].as_u64().unwrap(),
    );
    assert_eq!(total, want["Total"], "{live}");
    for l in live["labels"].as_array().unwrap() {
        let name = l["label"].as_str().unwrap();
        let got = (
            l["samples"].as_u64().unwrap(),
            l["errors"].as_u64().unwrap(),
        );
        assert_eq!(got, want[name], "{name}");
    }
    assert_eq!(live["labels"].as_array().unwrap().len(), want.len() - 1);
}
