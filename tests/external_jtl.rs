//! `stampede analyze` on the result files of other JMeter tools' test
//! suites (`../shared/fixtures/external-jtl` next to the checkout, or
//! `STAMPEDE_EXTERNAL_JTL`),
//! read by path, checked against the values those projects assert (the
//! directory's EXPECTED.md). Where a project's definition differs from
//! stampede's, both values are written down, with the reason and the
//! tolerance that difference makes; the README documents them.

use std::path::PathBuf;

use serde_json::Value;

use crate::support::*;

/// The fixtures' directory, or `None` (and a note) when it is absent.
fn dir() -> Option<PathBuf> {
    if let Ok(d) = std::env::var("STAMPEDE_EXTERNAL_JTL") {
        let d = PathBuf::from(d);
        assert!(
            d.is_dir(),
            "STAMPEDE_EXTERNAL_JTL={} is not a directory",
            d.display()
        );
        return Some(d);
    }
    // `../shared` from the main checkout, `../../shared` from a worktree
    // under /work/wt.
    let root = root();
    let found = root
        .ancestors()
        .skip(1)
        .take(2)
        .map(|a| a.join("shared/fixtures/external-jtl"))
        .find(|d| d.is_dir());
    if found.is_none() {
        eprintln!(
            "SKIPPED: no external JTL fixtures at ../shared/fixtures/external-jtl from {} \
             (set STAMPEDE_EXTERNAL_JTL)",
            root.display()
        );
    }
    found
}

/// `stampede analyze FILE --json OUT`: the exit code, the summary (when
/// written), stdout and stderr.
struct Analyzed {
    code: i32,
    summary: Value,
    stdout: String,
    stderr: String,
}

impl Analyzed {
    fn label(&self, name: &str) -> &Value {
        self.summary["labels"]
            .as_array()
            .and_then(|ls| ls.iter().find(|l| l["label"] == name))
            .unwrap_or_else(|| panic!("no label {name:?} in {}", self.summary))
    }

    fn total(&self) -> &Value {
        &self.summary["total"]
    }

    fn labels(&self) -> Vec<&str> {
        self.summary["labels"]
            .as_array()
            .map(|ls| ls.iter().filter_map(|l| l["label"].as_str()).collect())
            .unwrap_or_default()
    }
}

fn analyze(dir: &std::path::Path, file: &str) -> Analyzed {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("s.json");
    let out = run(stampede()
        .arg("analyze")
        .arg(dir.join(file))
        .arg("--json")
        .arg(&json));
    let summary = std::fs::read_to_string(&json)
        .map(|s| serde_json::from_str(&s).unwrap())
        .unwrap_or(Value::Null);
    Analyzed {
        code: out.code,
        summary,
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

/// Reads cleanly: exit 0, no malformed row.
fn clean(dir: &std::path::Path, file: &str) -> Analyzed {
    let a = analyze(dir, file);
    assert_eq!(a.code, 0, "{file}: {}", a.stderr);
    assert_eq!(a.summary["malformed"], 0, "{file}: {}", a.stderr);
    a
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn near(what: &str, ours: f64, theirs: f64, tolerance: f64) {
    assert!(
        (ours - theirs).abs() <= tolerance,
        "{what}: stampede {ours}, theirs {theirs}, tolerance {tolerance}"
    );
}

/// stampede's throughput: samples over the span of their start times
/// (at least 1 s). JMeter and the Jenkins plugin divide by the span up to
/// the last sample's end: on spans of many seconds the two agree within
/// a few percent.
const THROUGHPUT_TOLERANCE: f64 = 0.02;

#[test]
fn jmeter_html_report_statistics() {
    let Some(d) = dir() else { return };
    let a = clean(&d, "jmeter-HTMLReportTestFile.csv");
    let expect: Value = serde_json::from_str(
        &std::fs::read_to_string(d.join("jmeter-HTMLReportExpect.json")).unwrap(),
    )
    .unwrap();
    for (theirs, ours) in [
        ("JR-KO", a.label("JR-KO")),
        ("JR-OK", a.label("JR-OK")),
        ("Total", a.total()),
    ] {
        let e = &expect[theirs];
        assert_eq!(ours["count"], e["sampleCount"], "{theirs}");
        assert_eq!(ours["errors"], e["errorCount"], "{theirs}");
        near(
            theirs,
            f(&ours["error_rate"]) * 100.0,
            f(&e["errorPct"]),
            1e-6,
        );
        near(theirs, f(&ours["mean"]), f(&e["meanResTime"]), 1e-9);
        near(theirs, f(&ours["max"]), f(&e["maxResTime"]), 0.0);
        near(theirs, f(&ours["p50"]), f(&e["medianResTime"]), 0.0);
        near(theirs, f(&ours["p90"]), f(&e["pct1ResTime"]), 0.0);
        // JMeter interpolates between ranks (339.35, 339.2); stampede
        // reports a sample's own value (nearest rank).
        near(theirs, f(&ours["p95"]), f(&e["pct2ResTime"]), 1.0);
        near(theirs, f(&ours["p99"]), f(&e["pct3ResTime"]), 0.0);
        let tp = f(&e["throughput"]);
        near(
            theirs,
            f(&ours["throughput"]),
            tp,
            tp * THROUGHPUT_TOLERANCE,
        );
    }
    assert_eq!(a.total()["p95"], 339);
}

#[test]
fn jmeter_files_it_refuses_or_cannot_summarise() {
    let Some(d) = dir() else { return };
    // JMeter's report generator fails on this file (no responseCode);
    // stampede needs only timestamps, elapsed, label and success.
    let a = clean(&d, "jmeter-HTMLReportFalseTestFile.csv");
    assert_eq!(a.labels(), ["Requête HTTP"]);
    assert_eq!(
        (&a.total()["count"], &a.total()["errors"]),
        (&50.into(), &50.into())
    );
    // Saved without timeStamp and elapsed: nothing to time, said clearly.
    let a = analyze(&d, "jmeter-BatchTestLocal.csv");
    assert_eq!(a.code, 2, "{}", a.stderr);
    assert!(
        a.stderr
            .contains("jmeter-BatchTestLocal.csv:1: the header has no `timeStamp` column"),
        "{}",
        a.stderr
    );
    // The expected statistics, not a JTL.
    let a = analyze(&d, "jmeter-HTMLReportExpect.json");
    assert_eq!(a.code, 2, "{}", a.stderr);
    assert!(
        a.stderr.contains("not a JTL: the file holds JSON"),
        "{}",
        a.stderr
    );
}

#[test]
fn performance_plugin_csv_files() {
    let Some(d) = dir() else { return };
    for file in [
        "perfplugin-JMeterCsvResults.csv",
        "perfplugin-JMeterCsvResults2.csv",
        "perfplugin-JMeterCsvResults3.csv",
    ] {
        assert_eq!(clean(&d, file).total()["count"], 3, "{file}");
    }
    // Month 20 and 21 roll over as Java's lenient SimpleDateFormat reads
    // them (what the plugin and JMeter's report generator use).
    assert_eq!(
        clean(&d, "perfplugin-JMeterCsvResults2.csv").summary["start"],
        "2002-08-20T12:05:05.123Z"
    );
    assert_eq!(
        clean(&d, "perfplugin-JMeterCsvResults3.csv").summary["start"],
        "2012-09-21T14:15:25.321Z"
    );
    for file in [
        "perfplugin-JMeterPublisher.csv",
        "perfplugin-JMeterPublisher_formatted_timeStamp.csv",
    ] {
        let a = clean(&d, file);
        // "reported 33.333% of errors".
        near(file, f(&a.total()["error_rate"]) * 100.0, 33.333, 0.0005);
        // The plugin truncates the mean to an integer: 1433.
        assert_eq!(f(&a.total()["mean"]).trunc(), 1433.0, "{file}");
    }
    assert_eq!(
        clean(&d, "perfplugin-JMeterPublisher_formatted_timeStamp.csv").summary["start"],
        "2014-02-24T07:42:21.256Z"
    );
    let a = clean(&d, "perfplugin-single_result-res.csv");
    assert_eq!(
        (&a.total()["count"], &a.total()["errors"]),
        (&1.into(), &1.into())
    );
    // The plugin refuses a header-less file; stampede reads it in JMeter's
    // default columns.
    let a = clean(&d, "perfplugin-JENKINS-16627_CSV_instead_of_XML.jtl");
    assert_eq!(a.total()["count"], 3);
    assert_eq!(a.label("GET /ordermgmt/inventory")["max"], 59);
}

#[test]
fn performance_plugin_multi_line_label_and_transactions() {
    let Some(d) = dir() else { return };
    let a = clean(&d, "perfplugin-multiLineCSV.jtl");
    let multi = "no such element: Unable to locate element: {\"method\":\"id\",\"selector\":\"reviewBAD\"}\n                  Session ID: 89a1a36b52e184afb01963257d8739e8\n                  *** Element info: {Using=id, value=reviewBAD}";
    assert_eq!(a.labels(), ["Preparation: Login", multi]);
    assert_eq!(a.label("Preparation: Login")["errors"], 0);
    assert_eq!(a.label(multi)["errors"], 1);
    // The text table keeps one line per label: header, 2 labels, total.
    assert_eq!(a.stdout.lines().count(), 4, "{}", a.stdout);
    assert!(
        a.stdout
            .contains("reviewBAD\"}\\n                  Session ID"),
        "{}",
        a.stdout
    );

    let a = clean(&d, "perfplugin-filewithtransactions.csv");
    // The plugin's filter `^(HP|Scenario|Search)(-success|-failure)?$`.
    for (label, count) in [("HP", 37), ("Search", 33), ("Scenario", 33)] {
        assert_eq!(a.label(label)["count"], count, "{label}");
    }
    // 313 rows, of which 103 are Transaction Controllers' samples: not in
    // the total, as in JMeter's dashboard (`jmeter -g` on this file: Total
    // 210 samples, 0 errors).
    assert_eq!(
        (&a.total()["count"], &a.total()["errors"]),
        (&210.into(), &0.into())
    );
}

#[test]
fn performance_plugin_xml_files() {
    let Some(d) = dir() else { return };
    let a = clean(&d, "perfplugin-JMeterResults.jtl");
    assert_eq!(a.total()["count"], 8);
    assert_eq!(a.labels(), ["Home", "Workgroup"]);
    // Start 1296846792004; the Workgroup sample that ends last (at
    // 1296846969154) starts 58 ms earlier: stampede's `end` is the last
    // sample's start.
    assert_eq!(a.summary["start"], "2011-02-04T19:13:12.004Z");
    assert_eq!(a.summary["end"], "2011-02-04T19:16:09.096Z");
    assert_eq!(a.label("Home")["max"], 15902);

    // Nested assertion results are not samples.
    let a = clean(&d, "perfplugin-JMeterResultsMultiLevel.jtl");
    assert_eq!(a.labels(), ["Home", "Workgroup"]);
    assert_eq!(a.total()["count"], 10);

    // The plugin's percentile is sorted[floor(n * p) - 1]; stampede's is
    // the nearest rank, sorted[ceil(n * p) - 1]: one rank apart at most.
    let a = clean(&d, "perfplugin-JMeterResultsTenSamples.jtl");
    let t = a.total();
    assert_eq!((&t["p90"], &t["max"]), (&9.into(), &10.into()));
    near("p95 of 1..10", f(&t["p95"]), 9.0, 1.0);
    let a = clean(&d, "perfplugin-JMeterResultsThreeSamples.jtl");
    let t = a.total();
    assert_eq!(t["max"], 3);
    near("p90 of 1..3", f(&t["p90"]), 2.0, 1.0);
    near("p95 of 1..3", f(&t["p95"]), 2.0, 1.0);

    // Empty: not a run to summarise.
    let a = analyze(&d, "perfplugin-emptyfile.jtl");
    assert_eq!(a.code, 2);
    assert!(
        a.stderr.contains("perfplugin-emptyfile.jtl: no valid rows"),
        "{}",
        a.stderr
    );
}

#[test]
fn taurus_files() {
    let Some(d) = dir() else { return };
    // Two of its 8 rows are Transaction Controllers' (out of the total).
    assert_eq!(clean(&d, "taurus-kpi-pair1.jtl").total()["count"], 6);
    // TAB-delimited.
    let a = clean(&d, "taurus-tabs.jtl");
    assert_eq!(a.total()["count"], 4);
    assert_eq!(a.labels(), ["http://localhost:8080"]);
    // Only Transaction Controllers' samples: each keeps its row, the
    // total (JMeter's, without them) is empty.
    let a = clean(&d, "taurus-tranctl.jtl");
    assert_eq!(
        (
            &a.label("Transaction Controller2")["count"],
            &a.label("Transaction Controller2")["errors"]
        ),
        (&1.into(), &1.into())
    );
    assert_eq!(a.label("Transaction Controller1")["transaction"], true);
    assert_eq!(a.total()["count"], 0);
    let a = clean(&d, "taurus-unicode.jtl");
    assert!(
        a.labels().contains(&"САП.АутентифицироватьРасш"),
        "{:?}",
        a.labels()
    );
    assert_eq!(clean(&d, "taurus-doublequoting.jtl").total()["count"], 2);
    assert_eq!(
        clean(&d, "taurus-quote-guessing-crash.jtl").total()["count"],
        10
    );
    let a = clean(&d, "taurus-slow-stdev.jtl");
    assert_eq!((a.labels().len(), &a.total()["count"]), (18, &599.into()));
    let a = clean(&d, "taurus-simple.kpi.jtl");
    assert_eq!(
        (&a.total()["count"], &a.total()["errors"]),
        (&6.into(), &3.into())
    );
    let a = clean(&d, "taurus-kpi1.jtl");
    assert_eq!(
        (&a.label("good")["count"], &a.label("bad")["errors"]),
        (&12.into(), &9.into())
    );
    // Response code 500 with success=true: a success, as Taurus counts it.
    let a = clean(&d, "taurus-500-success-kpi.jtl");
    assert_eq!(
        (&a.total()["count"], &a.total()["errors"]),
        (&1.into(), &0.into())
    );
    assert_eq!(
        clean(&d, "taurus-smart-aggregation-kpi.jtl").total()["count"],
        4
    );
    let a = clean(&d, "taurus-non-http-kpi.jtl");
    assert_eq!(
        (&a.total()["count"], &a.total()["errors"]),
        (&11.into(), &8.into())
    );
    let a = clean(&d, "taurus-embedded_resources-kpi_ed.jtl");
    assert_eq!(
        (&a.total()["count"], &a.total()["errors"]),
        (&1.into(), &1.into())
    );
    // XML with response data, headers and cookies per sample.
    let a = clean(&d, "taurus-error1.jtl");
    assert_eq!(a.labels(), ["bad"]);
    assert_eq!(
        (&a.total()["count"], &a.total()["errors"]),
        (&9.into(), &9.into())
    );
}

#[test]
fn performance_results_parser_and_jmeter_statistics() {
    let Some(d) = dir() else { return };
    let a = clean(&d, "perfresults-simple.jtl");
    let (t, c1, c2) = (a.total(), a.label("call1"), a.label("call2"));
    assert_eq!(
        (&t["count"], &c1["count"], &c2["count"]),
        (&8.into(), &4.into(), &4.into())
    );
    near("total rate", f(&t["throughput"]), 6.92, 0.005);
    near("call1 rate", f(&c1["throughput"]), 3.46, 0.005);
    // parse-jtl truncates means to integers.
    for (l, mean) in [(t, 1153.0), (c1, 837.0), (c2, 1469.0)] {
        assert_eq!(f(&l["mean"]).trunc(), mean);
    }
    for (l, max) in [(t, 2200), (c1, 1170), (c2, 2200)] {
        assert_eq!(
            (&l["max"], &l["p90"], &l["p99"]),
            (&max.into(), &max.into(), &max.into())
        );
    }
    // parse-jtl interpolates the median (1077 = (1023 + 1131) / 2);
    // stampede's is a sample's own value.
    near("median", f(&t["p50"]), 1077.0, 1131.0 - 1077.0);
    // parse-jtl counts a 500 as an error whatever `success` says (0.13);
    // stampede counts JMeter's verdict, and this 500 was a success.
    assert_eq!(t["errors"], 0);
    // call2's four samples start within 112 ms: parse-jtl divides by the
    // span to the last end (1.73/s), stampede by its start span, at least
    // 1 s (4/s).
    assert_eq!(f(&c2["throughput"]), 4.0);

    // The `ping` rows are sub-samples to parse-jtl (URL not null) and left
    // out of its totals; in a CSV JTL every row is a sample to stampede.
    let a = clean(&d, "perfresults-latency.jtl");
    assert_eq!(
        (&a.label("call1")["max"], &a.label("call2")["max"]),
        (&1131.into(), &938.into())
    );
    assert_eq!(
        (&a.label("call1")["count"], &a.label("ping")["count"]),
        (&1.into(), &2.into())
    );

    // Header-less, JMeter 2.x columns.
    let a = clean(&d, "roylines-fixture1.jtl");
    let (c1, c2) = (a.label("call1"), a.label("call2"));
    assert_eq!((&c1["count"], f(&c1["mean"])), (&4.into(), 837.0));
    assert_eq!((&c2["count"], f(&c2["mean"])), (&4.into(), 1469.5));
    near("call1 rate", f(&c1["throughput"]), 3.46, 0.005);
    // 4 samples started within 112 ms: 35.71/s there, 4/s here (1 s floor).
    assert_eq!(f(&c2["throughput"]), 4.0);
}

#[test]
fn blorticus_jtl_reporter_and_jmeter_plugins_files() {
    let Some(d) = dir() else { return };
    let a = clean(&d, "blorticus-jtl_good_01.csv");
    let t = a.total();
    assert_eq!((&t["count"], &t["errors"]), (&9.into(), &0.into()));
    near("mean", f(&t["mean"]), 57.333, 0.0005);
    assert_eq!((&t["p50"], &t["max"]), (&43.into(), &170.into()));
    // Its "nearest percentile" is sorted[round(0.95 * 8)] = 44; the
    // nearest rank, ceil(0.95 * 9) = the 9th of 9, is 170.
    assert_eq!(t["p95"], 170);
    assert_eq!(clean(&d, "blorticus-jtl_good_02.csv").total()["count"], 17);
    let a = analyze(&d, "blorticus-jtl_header_only.csv");
    assert_eq!(a.code, 2);
    assert!(a.stderr.contains("no valid rows"), "{}", a.stderr);
    // A timestamp of -1 and a success of "fork" are malformed rows; a
    // quoted elapsed time and a non-numeric `bytes` are not.
    let a = analyze(&d, "blorticus-jtl_with_row_errors.csv");
    assert_eq!(a.code, 0, "{}", a.stderr);
    assert_eq!(
        (&a.summary["malformed"], &a.total()["count"]),
        (&2.into(), &13.into())
    );
    assert!(a.stderr.contains("first at line(s) 2, 4"), "{}", a.stderr);

    assert_eq!(clean(&d, "jtlreporter-kpi.jtl").total()["count"], 54);
    assert_eq!(clean(&d, "jtlreporter-kpi1.jtl").total()["count"], 885);
    assert_eq!(clean(&d, "jmeterplugins-short.jtl").total()["count"], 150);
    // `;`-delimited, CRLF, formatted timestamps.
    for (file, start, max) in [
        (
            "jmeterplugins-test-merge-1.csv",
            "2014-04-28T16:49:28.068Z",
            288_478,
        ),
        (
            "jmeterplugins-test-merge-2.csv",
            "2014-04-29T17:43:18.161Z",
            257_065,
        ),
    ] {
        let a = clean(&d, file);
        assert_eq!(
            (&a.summary["start"], &a.total()["max"]),
            (&start.into(), &max.into()),
            "{file}"
        );
        assert_eq!(a.labels(), ["P1_RECHERCHE"]);
    }
}

#[test]
fn every_file_is_covered() {
    let Some(d) = dir() else { return };
    let src = std::fs::read_to_string(root().join(file!())).unwrap();
    let mut n = 0;
    for e in std::fs::read_dir(&d).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if name == "EXPECTED.md" {
            continue;
        }
        n += 1;
        assert!(
            src.contains(&format!("\"{name}\"")),
            "{name} has no check here"
        );
    }
    // 43 result files and the JSON of JMeter's expected statistics.
    assert_eq!(n, 44);
}
