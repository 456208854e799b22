//! The HTML report in a real browser (Debian's headless Chromium): a real
//! laptop-mode run with JMeter and a failing gate, and a comparison built
//! from stored summaries. Network requests are read from Chromium's own
//! NetLog (`--log-net-log`), console messages from its log
//! (`--enable-logging=stderr`), the drawn page from `--dump-dom`.

use std::path::Path;

use serde_json::Value;

use crate::support::*;

pub(crate) mod browser;

use browser::{attr, chart, chromium, screenshot, tags, unescape, visit};

fn ms(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_millis()
}

/// The gate rows in the page match the stored outcome, in order.
fn assert_gate_rows(dom: &str, outcome: &Value) {
    let rows: Vec<&str> = tags(dom, "data-criterion");
    let checks = outcome["checks"].as_array().unwrap();
    assert_eq!(rows.len(), checks.len(), "one row per check");
    for (row, check) in rows.iter().zip(checks) {
        assert_eq!(attr(row, "data-verdict"), check["verdict"].as_str());
        assert_eq!(attr(row, "data-label"), check["label"].as_str());
        assert_eq!(
            unescape(attr(row, "data-criterion").unwrap()),
            check["criterion"].as_str().unwrap()
        );
    }
    let verdict = tags(dom, "data-verdict")
        .into_iter()
        .find(|t| t.starts_with("<div"))
        .unwrap();
    assert_eq!(attr(verdict, "data-verdict"), outcome["verdict"].as_str());
}

// The detector itself: a page that does reach out is caught, both by the
// NetLog and on the console. Without this, "no request" could mean "not
// looking".
#[test]
fn the_browser_check_catches_requests_and_errors() {
    let Some(chrome) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = write(
        dir.path(),
        "leaky.html",
        "<html><body><img src=\"http://127.0.0.1:9/x.png\"><script>fetch('http://127.0.0.1:9/y').catch(function(){}); throw new Error('boom');</script></body></html>",
    );
    let v = visit(&chrome, &page);
    assert!(
        v.requests.iter().any(|u| u.ends_with("/x.png")),
        "{:?}",
        v.requests
    );
    assert!(
        v.requests.iter().any(|u| u.ends_with("/y")),
        "{:?}",
        v.requests
    );
    assert!(
        v.console.iter().any(|l| l.contains("boom")),
        "{:?}",
        v.console
    );
}

const FAILING_GATE: &str = "baseline: base.json\ncriteria:\n  - { metric: p95, label: total, max: 1ms }\n  - { metric: error_rate, label: total, max: 5% }\n  - { metric: p95, label: \"*\", max_increase: 10%, verdict: unstable }\n";

#[test]
fn laptop_run_report_in_chromium() {
    let (Some(home), Some(chrome)) = (jmeter_home(), chromium()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // A baseline summary (from a generated JTL) for the relative criterion
    // and the percentile curve.
    let base_jtl = write(dir.path(), "base.jtl", &jtl(1, 500, &[], 0.01));
    let out = run(stampede()
        .arg("analyze")
        .arg(&base_jtl)
        .arg("--json")
        .arg(dir.path().join("base.json")));
    assert_eq!(out.code, 0, "{out:?}");
    let gate = write(dir.path(), "gate.yml", FAILING_GATE);
    let report = dir.path().join("report");
    let out = run(stampede()
        .env("JMETER_HOME", &home)
        .args(["--output", "plain", "run"])
        .arg(root().join("blueprints/local-quickstart.yml"))
        .args(["--var", "duration=8", "--var", "port=0", "--gate"])
        .arg(&gate)
        .arg("--report")
        .arg(&report));
    assert_eq!(out.code, 1, "the gate fails: {out:?}");
    let page = report.join("report.html");
    assert!(out.stdout.contains("report.html"), "{out:?}");
    let summary: Value =
        serde_json::from_slice(&std::fs::read(report.join("summary.json")).unwrap()).unwrap();
    let outcome: Value =
        serde_json::from_slice(&std::fs::read(report.join("gate.json")).unwrap()).unwrap();
    assert_eq!(outcome["verdict"], "fail");

    // Rebuilt from the stored files: the same bytes.
    let again = dir.path().join("again.html");
    let out = run(stampede().arg("report").arg(&report).arg("-o").arg(&again));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        std::fs::read(&page).unwrap() == std::fs::read(&again).unwrap(),
        "report from the stored summary differs from the run's"
    );

    let v = visit(&chrome, &page);
    screenshot(&chrome, &page, "laptop-run.png");
    assert!(v.console.is_empty(), "console: {:#?}", v.console);
    assert!(v.requests.is_empty(), "requests: {:#?}", v.requests);
    assert!(v.dom.contains("data-ready=\"1\""), "the script finished");
    assert_gate_rows(&v.dom, &outcome);

    let series = &summary["series"];
    let points = series["labels"]["total"]["count"].as_array().unwrap().len();
    assert!(points > 3, "{series}");
    let phases: Vec<(String, i64)> = summary["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["phase"].as_str().unwrap().to_string(),
                ms(p["at"].as_str().unwrap()),
            )
        })
        .collect();
    let names: Vec<&str> = phases.iter().map(|p| p.0.as_str()).collect();
    assert_eq!(names, ["provisioning", "ready", "testing", "done"]);
    let mut at_px = Vec::new();
    for (name, want_series) in [("throughput", 2), ("latency", 3)] {
        let (n, p, markers) = chart(&v.dom, name);
        assert_eq!((n, p), (want_series, points), "{name}");
        // Every phase is drawn on the chart, later phases further right.
        for (phase, t) in &phases {
            assert!(
                markers.iter().any(|m| m.0 == *t),
                "{name}: no marker for {phase} at {t}: {markers:?}"
            );
        }
        let px: Vec<i64> = markers.iter().map(|m| m.1).collect();
        assert!(px.windows(2).all(|w| w[0] <= w[1]), "{name}: {px:?}");
        assert!(px[0] < px[px.len() - 1], "{name}: {px:?}");
        at_px.push(px);
    }
    // One time axis: the same time sits at the same column in each chart.
    assert_eq!(at_px[0], at_px[1]);
    // Active threads from JMeter's allThreads, summed over the bees.
    let threads = series["threads"].as_array().expect("threads in the series");
    assert_eq!(threads.len(), points);
    let most = threads.iter().filter_map(|t| t.as_u64()).max().unwrap_or(0);
    assert!(most >= 2, "two bees' threads add up: {threads:?}");
    assert_eq!(chart(&v.dom, "threads").0, 1);
    assert_eq!(chart(&v.dom, "threads").1, points);
    let (n, p, _) = chart(&v.dom, "percentiles");
    assert_eq!((n, p), (2, 51), "this run and the baseline");
    // Choosing a label redraws the percentiles with that label's points.
    let home = page.display().to_string() + "#label=home";
    let v2 = visit(&chrome, Path::new(&home));
    assert!(v2.console.is_empty(), "console: {:#?}", v2.console);
    let tag = tags(&v2.dom, "data-chart")
        .into_iter()
        .find(|t| attr(t, "data-chart") == Some("latency"))
        .unwrap();
    assert_eq!(attr(tag, "data-label"), Some("home"));
    // Per-label table: total and each label.
    for l in summary["labels"].as_array().unwrap() {
        let label = l["label"].as_str().unwrap();
        assert!(
            v.dom.contains(&format!("<tr data-label=\"{label}\">")),
            "{label}"
        );
    }
}

#[test]
fn failed_gate_comparison_in_chromium() {
    let Some(chrome) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    for (name, factor) in [("base", 1.0), ("slow", 1.6)] {
        let path = write(
            dir.path(),
            &format!("{name}.jtl"),
            &jtl(7, 3000, &["checkout"], factor),
        );
        let out = run(stampede()
            .arg("analyze")
            .arg(&path)
            .arg("--json")
            .arg(dir.path().join(format!("{name}.json"))));
        assert_eq!(out.code, 0, "{out:?}");
    }
    let gate = write(
        dir.path(),
        "gate.yml",
        "criteria:\n  - { metric: p95, label: \"*\", max_increase: 10% }\n  - { metric: error_rate, label: total, max: 2% }\n",
    );
    let (cur, base) = (dir.path().join("slow.json"), dir.path().join("base.json"));
    // What the correlation part stores (SCHEMA.md): two series of one
    // metric, one of another, and an annotation, mid-run.
    let mut stored: Value = serde_json::from_slice(&std::fs::read(&cur).unwrap()).unwrap();
    let mid = 1_700_000_000_000i64 + 30_000;
    let points = |n: i64, v: f64| -> Vec<Value> {
        (0..n)
            .map(|i| serde_json::json!([1_700_000_000_000i64 + i * 60_000, v + i as f64]))
            .collect()
    };
    stored["monitor"] = serde_json::json!({"series": [
        {"id": "a", "namespace": "AWS/RDS", "metric": "CPUUtilization", "stat": "Average", "period": 60,
         "dimensions": {"DBInstanceIdentifier": "db1"}, "unit": "Percent", "points": points(2, 10.0)},
        {"id": "b", "namespace": "AWS/RDS", "metric": "CPUUtilization", "stat": "Average", "period": 60,
         "dimensions": {"DBInstanceIdentifier": "db2"}, "unit": "Percent", "points": points(2, 20.0)},
        {"id": "c", "namespace": "Shop", "metric": "OrdersPlaced", "stat": "Sum", "period": 60,
         "dimensions": {}, "points": points(2, 5.0)}
    ], "calls": 1, "throttled": 0, "resources": []});
    let at = chrono::DateTime::from_timestamp_millis(mid)
        .unwrap()
        .to_rfc3339();
    stored["events"] = serde_json::json!([{"@timestamp": at, "text": "deploy v2", "tags": ["deploy"], "source": "annotation"}]);
    std::fs::write(&cur, stored.to_string()).unwrap();
    let compare = run(stampede()
        .args(["--output", "json", "compare"])
        .arg(&cur)
        .arg(&base)
        .arg("--gate")
        .arg(&gate));
    assert_eq!(compare.code, 1, "{compare:?}");
    let outcome: Value = serde_json::from_str(compare.stdout.trim()).unwrap();
    let page = dir.path().join("compare.html");
    let out = run(stampede()
        .arg("report")
        .arg(&cur)
        .arg("--baseline")
        .arg(&base)
        .arg("--gate")
        .arg(&gate)
        .arg("-o")
        .arg(&page));
    assert_eq!(out.code, 0, "{out:?}");
    let v = visit(&chrome, &page);
    screenshot(&chrome, &page, "failed-gate.png");
    assert!(v.console.is_empty(), "console: {:#?}", v.console);
    assert!(v.requests.is_empty(), "requests: {:#?}", v.requests);
    assert_eq!(outcome["verdict"], "fail");
    assert_gate_rows(&v.dom, &outcome);
    let failed: Vec<&str> = tags(&v.dom, "data-criterion")
        .into_iter()
        .filter(|r| attr(r, "data-verdict") == Some("fail"))
        .filter_map(|r| attr(r, "data-label"))
        .collect();
    assert_eq!(failed, ["checkout"]);
    // The failed relative check shows both runs' 95% intervals, as the
    // gate computed them.
    let check = outcome["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["label"] == "checkout" && c["verdict"] == "fail")
        .unwrap();
    let fmt = |v: &Value| format!("{} ms", v.as_f64().unwrap().round());
    let shown = format!(
        "baseline {}..{}, current {}..{}",
        fmt(&check["noise"]["baseline"]["lo"]),
        fmt(&check["noise"]["baseline"]["hi"]),
        fmt(&check["noise"]["current"]["lo"]),
        fmt(&check["noise"]["current"]["hi"])
    );
    let row_at = v
        .dom
        .find("data-label=\"checkout\" data-criterion")
        .unwrap_or(0);
    let row = &v.dom[row_at..row_at + v.dom[row_at..].find("</tr>").unwrap()];
    assert!(
        row.contains(&shown),
        "no `{shown}` in the checkout row: {row}"
    );
    let summary: Value = serde_json::from_slice(&std::fs::read(&cur).unwrap()).unwrap();
    let points = summary["series"]["labels"]["total"]["count"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(chart(&v.dom, "throughput").0, 2);
    assert_eq!(chart(&v.dom, "throughput").1, points);
    assert_eq!(chart(&v.dom, "percentiles").0, 2);
    // One chart per monitored metric, the annotation drawn on every chart.
    assert_eq!(chart(&v.dom, "monitor-0").0, 2);
    assert_eq!(chart(&v.dom, "monitor-0").1, 2);
    assert_eq!(chart(&v.dom, "monitor-1").0, 1);
    for name in ["throughput", "latency", "monitor-0", "monitor-1"] {
        let markers = chart(&v.dom, name).2;
        assert!(markers.iter().any(|m| m.0 == mid), "{name}: {markers:?}");
    }
    // The per-label table shows the baseline's deltas: checkout got slower.
    let row = &v.dom[v.dom.find("<tr data-label=\"checkout\">").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("class=\"delta worse\""), "{row}");
}

#[test]
fn bad_input_exits_2_naming_file_and_problem() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.jtl", &jtl(3, 200, &[], 1.0));
    let summary = dir.path().join("good.json");
    let out = run(stampede()
        .arg("analyze")
        .arg(&good)
        .arg("--json")
        .arg(&summary));
    assert_eq!(out.code, 0, "{out:?}");
    let text = std::fs::read_to_string(&summary).unwrap();
    let cut = write(dir.path(), "cut.json", &text[..text.len() / 2]);
    let foreign = write(
        dir.path(),
        "package.json",
        "{\"name\": \"left-pad\", \"version\": \"1.3.0\"}\n",
    );
    let mut future: Value = serde_json::from_str(&text).unwrap();
    future["format_version"] = 99.into();
    let future = write(dir.path(), "future.json", &future.to_string());
    for (args, file, problem) in [
        (vec![cut.clone()], "cut.json", "truncated"),
        (
            vec![foreign.clone()],
            "package.json",
            "not a stampede summary",
        ),
        (
            vec![dir.path().join("missing.json")],
            "missing.json",
            "cannot read",
        ),
        (
            vec![summary.clone(), "--baseline".into(), future.clone()],
            "future.json",
            "format_version 99",
        ),
        (
            vec![summary.clone(), "--baseline".into(), cut.clone()],
            "cut.json",
            "truncated",
        ),
    ] {
        let out = run(stampede()
            .arg("report")
            .args(&args)
            .arg("-o")
            .arg(dir.path().join("x.html")));
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(
            out.stderr.contains(file) && out.stderr.contains(problem),
            "{args:?}: {out:?}"
        );
        assert!(!dir.path().join("x.html").exists(), "nothing half-done");
    }
}

// `--baseline s3://…` reads the summary from S3 (LocalStack); one of a
// newer format there is bad input naming the URI.
#[test]
fn baseline_from_s3() {
    let Some(url) = localstack() else { return };
    use crate::lifecycle::{BUCKET, seed};
    let dir = tempfile::tempdir().unwrap();
    let mut texts = Vec::new();
    for (name, factor) in [("base", 1.0), ("cur", 1.5)] {
        let path = write(
            dir.path(),
            &format!("{name}.jtl"),
            &jtl(11, 500, &["home"], factor),
        );
        let json = dir.path().join(format!("{name}.json"));
        let out = run(stampede()
            .arg("analyze")
            .arg(&path)
            .arg("--json")
            .arg(&json));
        assert_eq!(out.code, 0, "{out:?}");
        texts.push(std::fs::read(&json).unwrap());
    }
    let key = format!("report-test/{}/summary.json", unique("b"));
    let mut future: Value = serde_json::from_slice(&texts[0]).unwrap();
    future["format_version"] = 7.into();
    let future_key = format!("{key}.future");
    seed(
        &url,
        &[
            (&key, texts[0].clone()),
            (&future_key, future.to_string().into_bytes()),
        ],
    );
    let page = dir.path().join("r.html");
    let out = run(against(&url)
        .arg("report")
        .arg(dir.path().join("cur.json"))
        .arg("--baseline")
        .arg(format!("s3://{BUCKET}/{key}"))
        .arg("-o")
        .arg(&page));
    assert_eq!(out.code, 0, "{out:?}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("\"baseline\":[") && html.contains("\"verdict\":\"fail\""),
        "judged against S3's baseline"
    );
    let out = run(against(&url)
        .arg("report")
        .arg(dir.path().join("cur.json"))
        .arg("--baseline")
        .arg(format!("s3://{BUCKET}/{future_key}"))
        .arg("-o")
        .arg(&page));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains(&future_key) && out.stderr.contains("format_version 7"),
        "{out:?}"
    );
}
