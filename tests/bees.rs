//! Bees with real JMeter, real OpenSearch and LocalStack: the laptop
//! quickstart, one bee against a LocalStack stack, shipping under faults.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::support::*;

/// The README's first command: two local bees against the built-in
/// target. OpenSearch ends up with exactly the rows the JTLs hold, and the
/// summary counts the same.
#[test]
fn local_quickstart_ships_every_sample_once_and_summarises_them() {
    let (Some(es), Some(jmeter)) = (opensearch(), jmeter_home()) else {
        return;
    };
    let report = tempfile::tempdir().unwrap();
    let out = run(stampede()
        .args([
            "run",
            "blueprints/local-quickstart.yml",
            "--output",
            "json",
            "--var",
            "duration=12",
            "--var",
            "port=0",
            "--report",
        ])
        .arg(report.path())
        .env("STAMPEDE_ES_URL", &es)
        .env("JMETER_HOME", &jmeter)
        .current_dir(root()));
    assert_eq!(out.code, 0, "{out:?}");
    let events: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let phases: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "phase")
        .filter_map(|e| e["phase"].as_str())
        .collect();
    assert_eq!(
        phases,
        ["provisioning", "ready", "testing", "done"],
        "{out:?}"
    );
    let metrics: Vec<&serde_json::Value> =
        events.iter().filter(|e| e["type"] == "metrics").collect();
    assert!(
        metrics
            .iter()
            .any(|m| m["samples"].as_u64() > Some(0) && m["bees"] == 2),
        "live metrics from OpenSearch: {out:?}"
    );
    let result = events.last().unwrap();
    assert_eq!(result["type"], "result");
    let run_id = std::fs::read_to_string(report.path().join("summary.json")).unwrap();
    let summary: serde_json::Value = serde_json::from_str(&run_id).unwrap();
    let run_id = summary["run_id"].as_str().unwrap();
    let mut jtl_total = 0;
    for bee in ["bee-1", "bee-2"] {
        let rows = jtl_rows(&report.path().join(format!("results/{bee}.jtl.gz")));
        assert!(rows > 50, "{bee} ran load");
        // The blueprint ships failed samples as raw rows (the default
        // `metrics.rows: errors`) and every sample in the rollups.
        let (samples, errors) =
            crate::rollup::rollup_sums_of(&es, "stampede-quickstart", run_id, Some(bee));
        assert_eq!(samples, rows, "{bee}: the rollups hold exactly its JTL");
        assert_eq!(
            es_count(&es, "stampede-quickstart", run_id, Some(bee)),
            errors,
            "{bee}: one raw row per failed sample"
        );
        jtl_total += rows;
    }
    assert_eq!(summary["total"]["count"], jtl_total);
    assert_eq!(result["total"]["count"], jtl_total);
}

#[test]
fn local_run_without_a_cluster_reads_live_metrics_from_the_jtls() {
    let Some(jmeter) = jmeter_home() else { return };
    let report = tempfile::tempdir().unwrap();
    let out = run(stampede()
        .args([
            "run",
            "blueprints/local-quickstart.yml",
            "--output",
            "plain",
            "--var",
            "duration=11",
            "--var",
            "bees=1",
            "--var",
            "port=0",
            "--report",
        ])
        .arg(report.path())
        .env_remove("STAMPEDE_ES_URL")
        .env("JMETER_HOME", &jmeter)
        .current_dir(root()));
    assert_eq!(out.code, 0, "{out:?}");
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("-- samples "))
        .unwrap_or_else(|| panic!("no metrics line: {out:?}"));
    assert!(line.contains("/s now") && line.contains("bees 1"), "{line}");
    assert!(
        out.stdout.lines().any(|l| l.starts_with("total ")),
        "{out:?}"
    );
}

/// One bee against a LocalStack stack: its Ready and Done signals land in
/// the wait-condition bucket as cfn-signal JSON, and its JTL lands in the
/// run's results prefix. LocalStack gives both handles one URL and
/// completes wait conditions without waiting, so the Ready signal is read
/// while JMeter runs and the Done signal after the bee exits.
#[test]
fn bee_signals_ready_and_done_and_uploads_its_jtl() {
    let (Some(url), Some(es), Some(jmeter)) = (localstack(), opensearch(), jmeter_home()) else {
        return;
    };
    let run_id = unique("bee-run");
    let stack = unique("it-bee");
    let target = http_target();
    let handles = crate::lifecycle::wait_condition_stack(&url, &stack);
    let config = serde_json::json!({
        "run_id": run_id,
        "testcase": format!("s3://{}/stampede/{run_id}/testcase/quickstart.jmx", crate::lifecycle::BUCKET),
        "results": format!("s3://{}/stampede/{run_id}/results", crate::lifecycle::BUCKET),
        "properties": {"threads": "2", "duration": "6", "target": target},
        "es": {"url": es, "index": "stampede-bees", "rows": "all"},
        "coordinator": {"kind": "cloudformation"}
    });
    crate::lifecycle::seed(
        &url,
        &[
            (
                &format!("stampede/{run_id}/bee.json"),
                config.to_string().into_bytes(),
            ),
            (
                &format!("stampede/{run_id}/testcase/quickstart.jmx"),
                std::fs::read(root().join("testcases/quickstart.jmx")).unwrap(),
            ),
        ],
    );
    let workdir = tempfile::tempdir().unwrap();
    let mut child = against(&url)
        .args([
            "bee",
            "--config",
            &format!(
                "s3://{}/stampede/{run_id}/bee.json",
                crate::lifecycle::BUCKET
            ),
        ])
        .env("STAMPEDE_READY_URL", &handles.ready)
        .env("STAMPEDE_DONE_URL", &handles.done)
        .env("STAMPEDE_STACK", &stack)
        .env("STAMPEDE_BEE_ID", "i-0123456789abcdef0")
        .env("JMETER_HOME", &jmeter)
        .current_dir(workdir.path())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut log = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        log.push(line.clone());
        if line.contains("starting JMeter") {
            break;
        }
    }
    let ready = crate::lifecycle::read_signal(&url, &handles.ready);
    assert_eq!(ready["Status"], "SUCCESS", "{log:?}");
    assert_eq!(ready["UniqueId"], "i-0123456789abcdef0");
    assert_eq!(ready["Reason"], "ready");
    log.extend(lines.map_while(Result::ok));
    let status = wait_limited(&mut child);
    assert!(status.success(), "{log:#?}");
    let done = crate::lifecycle::read_signal(&url, &handles.done);
    assert_eq!(done["Status"], "SUCCESS", "{done}");
    assert_eq!(done["UniqueId"], "i-0123456789abcdef0");
    let data: serde_json::Value = serde_json::from_str(done["Data"].as_str().unwrap()).unwrap();
    let key = format!("stampede/{run_id}/results/i-0123456789abcdef0.jtl.gz");
    assert_eq!(
        data["jtl"],
        format!("s3://{}/{key}", crate::lifecycle::BUCKET)
    );
    let jtl = workdir.path().join("result.jtl.gz");
    crate::lifecycle::download(&url, &key, &jtl);
    let rows = jtl_rows(&jtl);
    assert!(rows > 10, "JMeter ran: {rows} rows");
    assert_eq!(data["rows_shipped"], rows);
    assert_eq!(data["samples_rolled_up"], rows);
    assert_eq!(es_count(&es, "stampede-bees", &run_id, None), rows);
    assert_eq!(
        crate::rollup::rollup_sums(&es, "stampede-bees", &run_id).0,
        rows
    );
    // Its own summary beside the JTL, counting the same rows, with its
    // health; and that health, once a second, in the health index.
    let key = format!("stampede/{run_id}/results/i-0123456789abcdef0.summary.json");
    let summary = workdir.path().join("bee.summary.json");
    crate::lifecycle::download(&url, &key, &summary);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(summary["format"], "stampede-bee-summary");
    assert_eq!(summary["rows"], rows);
    let samples = summary["generator"]["samples"].as_u64().unwrap();
    assert!(samples >= 1, "{}", summary["generator"]);
    let health = es_count(
        &es,
        "stampede-bees-health",
        &run_id,
        Some("i-0123456789abcdef0"),
    );
    assert_eq!(health, samples, "one health document per sample");
}
