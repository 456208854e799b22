//! Bee summaries end to end: real JMeter bees summarise their own JTLs,
//! `run` merges the summaries to what the JTLs give, and a bee whose
//! summary is missing, truncated or of another format version is read
//! from its JTL instead, by name, on real LocalStack S3.

use std::path::{Path, PathBuf};

use crate::lifecycle::{BUCKET, bees_upload};
use crate::support::*;

/// A laptop run of two real JMeter bees (shipping to OpenSearch when it
/// is up); returns the report folder and the output.
fn laptop_run(es: Option<&str>) -> Option<(tempfile::TempDir, Output)> {
    let jmeter = jmeter_home()?;
    let report = tempfile::tempdir().unwrap();
    let mut cmd = stampede();
    cmd.args([
        "run",
        "blueprints/local-quickstart.yml",
        "--output",
        "plain",
        "--var",
        "duration=5",
        "--var",
        "port=0",
        "--report",
    ])
    .arg(report.path())
    .env("JMETER_HOME", &jmeter)
    .current_dir(root());
    match es {
        Some(es) => cmd.env("STAMPEDE_ES_URL", es),
        None => cmd.env_remove("STAMPEDE_ES_URL"),
    };
    let out = run(&mut cmd);
    assert_eq!(out.code, 0, "{out:?}");
    Some((report, out))
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The per-label numbers two summaries must agree on.
fn numbers(summary: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = summary["labels"]
        .as_array()
        .unwrap()
        .iter()
        .chain(std::iter::once(&summary["total"]))
        .map(|l| {
            let f = [
                "count",
                "errors",
                "mean",
                "p50",
                "p90",
                "p95",
                "p99",
                "max",
                "histogram",
            ];
            f.map(|k| format!("{k}={}", l[k])).join(" ") + &format!(" {}", l["label"])
        })
        .collect();
    out.sort();
    out
}

/// `stampede analyze` over JTLs: the summary parsing every JTL gives.
fn analyzed(jtls: &[PathBuf]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("s.json");
    let out = run(stampede().arg("analyze").args(jtls).arg("--json").arg(&to));
    assert_eq!(out.code, 0, "{out:?}");
    json(&to)
}

#[test]
fn a_laptop_run_merges_bee_summaries_to_what_the_jtls_give() {
    let es = opensearch();
    let Some((report, out)) = laptop_run(es.as_deref()) else {
        return;
    };
    assert!(
        out.stdout.contains("results: merged 2 bee summaries"),
        "{out:?}"
    );
    assert!(!out.stdout.contains("reading its JTL instead"), "{out:?}");
    let results = report.path().join("results");
    for bee in ["bee-1", "bee-2"] {
        let s = json(&results.join(format!("{bee}.summary.json")));
        assert_eq!(s["format"], "stampede-bee-summary");
        assert_eq!(s["format_version"], 1);
    }
    let summary = json(&report.path().join("summary.json"));
    let jtls = [results.join("bee-1.jtl.gz"), results.join("bee-2.jtl.gz")];
    assert_eq!(numbers(&summary), numbers(&analyzed(&jtls)));
    assert_eq!(summary["series"], analyzed(&jtls)["series"]);
    // Each bee's health over the run.
    let generators = summary["generators"].as_array().unwrap();
    let bees: Vec<&str> = generators
        .iter()
        .filter_map(|g| g["bee"].as_str())
        .collect();
    assert_eq!(bees, ["bee-1", "bee-2"], "{summary}");
    for g in generators {
        assert!(g["samples"].as_u64() >= Some(3), "{g}");
        assert!(
            g["cpu_max"].as_f64() > Some(0.0) && g["mem_max"].as_f64() > Some(0.0),
            "{g}"
        );
        let flagged = g["flagged"].as_bool().unwrap();
        assert_eq!(
            flagged,
            out.stdout.contains("may reflect the load generators"),
            "a flagged bee must be in the verdict: {out:?}"
        );
    }
    if let Some(es) = es {
        let run_id = summary["run_id"].as_str().unwrap();
        for bee in ["bee-1", "bee-2"] {
            let docs = es_count(&es, "stampede-quickstart-health", run_id, Some(bee));
            assert!(docs >= 3, "{bee}: {docs} health documents");
        }
    }
}

/// Real bee files from a laptop run, placed on LocalStack S3 as four bees
/// of an AWS run: one whole, one without its summary, one with its
/// summary cut short, one with a summary of another format version.
#[test]
fn unusable_bee_summaries_fall_back_to_their_jtls_by_name() {
    let Some(url) = localstack() else { return };
    let Some((report, _)) = laptop_run(None) else {
        return;
    };
    let results = report.path().join("results");
    let read = |name: &str| std::fs::read(results.join(name)).unwrap();
    let summary_1 = read("bee-1.summary.json");
    let summary_2 = String::from_utf8(read("bee-2.summary.json")).unwrap();
    let other_version = summary_2.replace("\"format_version\":1", "\"format_version\":2");
    assert_ne!(other_version, summary_2);
    let run_id = unique("it-beesum");
    let key = |name: &str| format!("stampede/{run_id}/results/{name}");
    let bees = bees_upload(
        &url,
        &run_id,
        vec![
            (key("i-1.jtl.gz"), read("bee-1.jtl.gz")),
            (key("i-1.summary.json"), summary_1.clone()),
            (key("i-2.jtl.gz"), read("bee-2.jtl.gz")),
            (key("i-3.jtl.gz"), read("bee-1.jtl.gz")),
            (
                key("i-3.summary.json"),
                summary_1[..summary_1.len() / 2].to_vec(),
            ),
            (key("i-4.jtl.gz"), read("bee-2.jtl.gz")),
            (key("i-4.summary.json"), other_version.into_bytes()),
        ],
    );
    let aws_report = tempfile::tempdir().unwrap();
    let out = run(against(&url)
        .args(["run", "blueprints/jmeter.yml", "--output", "plain"])
        .args([
            "--var",
            "target=http://127.0.0.1:9",
            "--run-id",
            &run_id,
            "--report",
        ])
        .arg(aws_report.path())
        .env("STAMPEDE_BUCKET", BUCKET)
        .env("BUILD_NUMBER", unique("b").replace("b-", ""))
        .current_dir(root()));
    bees.join().unwrap();
    assert_eq!(out.code, 0, "{out:?}");
    for line in [
        "i-2: no summary; reading its JTL instead",
        "i-3: summary truncated (",
        "i-4: summary format_version 2, this stampede merges 1; reading its JTL instead",
        "results: merged 1 bee summary, read 3 bee JTL(s) in ",
    ] {
        assert!(out.stdout.contains(line), "missing {line:?}: {out:?}");
    }
    assert!(!out.stdout.contains("i-1:"), "{out:?}");
    let summary = json(&aws_report.path().join("summary.json"));
    let jtls: Vec<PathBuf> = ["bee-1", "bee-2", "bee-1", "bee-2"]
        .iter()
        .map(|b| results.join(format!("{b}.jtl.gz")))
        .collect();
    assert_eq!(numbers(&summary), numbers(&analyzed(&jtls)));
}
