//! `stampede collect` and `stampede annotate` against the real emulators:
//! groups and load balancers in moto 5.2.5, metric data in LocalStack
//! 2026.3.0's CloudWatch (the CBOR protocol of the current SDK), documents
//! in OpenSearch.

use serde_json::{Value, json};

use crate::support::*;

struct Env {
    moto: String,
    cw: String,
    es: String,
    python: String,
}

fn env() -> Option<Env> {
    Some(Env {
        moto: moto()?,
        cw: cloudwatch()?,
        es: opensearch()?,
        python: moto_python()?,
    })
}

/// Whole minutes, `n` minutes ago, in epoch ms.
fn minutes_ago(n: i64) -> i64 {
    let now = chrono::Utc::now().timestamp_millis();
    (now / 60_000 - n) * 60_000
}

/// Points of one group's CPU (Average) in `index`: (timestamp, value).
fn cpu_points(e: &Env, index: &str, group: &str) -> Vec<(i64, f64)> {
    let v = es_search(
        &e.es,
        index,
        &json!({
            "size": 1000,
            "sort": [{"@timestamp": "asc"}],
            "query": {"bool": {"filter": [
                {"term": {"dimensions.AutoScalingGroupName": group}},
                {"term": {"metric": "CPUUtilization"}},
                {"term": {"stat": "Average"}}
            ]}}
        }),
    );
    v["hits"]["hits"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|h| {
            (
                h["_source"]["@timestamp"].as_i64().unwrap(),
                h["_source"]["value"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn cpu(group: &str, points: &[(i64, f64)]) -> Value {
    json!({"namespace": "AWS/EC2", "metric": "CPUUtilization",
           "dimensions": {"AutoScalingGroupName": group}, "points": points})
}

fn collect(e: &Env, tag: &str, index: &str, since: &str, until: &str) -> Output {
    let out = run(watching(&e.moto, &e.cw).args([
        "collect",
        "--tag",
        &format!("Env={tag}"),
        "--since",
        since,
        "--until",
        until,
        "--es",
        &e.es,
        "--index",
        index,
        "--events-index",
        &format!("{index}-events"),
        "--run-id",
        "collect-test",
    ]));
    assert_eq!(out.code, 0, "{out:?}");
    out
}

#[test]
fn collecting_overlapping_windows_twice_stores_every_point_once() {
    let Some(e) = env() else { return };
    let tag = unique("overlap");
    let group = format!("web-{tag}");
    let lb = format!("lb{}", &tag[tag.len() - 9..]);
    let points: Vec<(i64, f64)> = (2..=12).rev().map(|m| (minutes_ago(m), m as f64)).collect();
    let made = world(
        &e.python,
        &e.moto,
        &e.cw,
        &json!({
            "albs": [{"name": lb, "tags": {"Env": tag}}],
            "groups": [{"name": group, "tags": {"Env": tag}, "alb": lb}],
            "metrics": [cpu(&group, &points)],
        }),
    );
    let index = format!("m-{}", tag.to_lowercase());
    let first = collect(&e, &tag, &index, "20m", "6m");
    assert!(
        first.stdout.contains("1 autoscaling-group") && first.stdout.contains("1 alb"),
        "{first:?}"
    );
    let after_first = cpu_points(&e, &index, &group);
    assert!(
        !after_first.is_empty() && after_first.len() < points.len(),
        "{after_first:?}"
    );
    let second = collect(&e, &tag, &index, "15m", "now");
    assert!(second.stdout.contains("1 target-group"), "{second:?}");
    assert_eq!(cpu_points(&e, &index, &group), points);
    // A third, identical collection changes nothing either.
    collect(&e, &tag, &index, "15m", "now");
    assert_eq!(cpu_points(&e, &index, &group), points);
    // Documents carry the run id, the monitored tags and the series id.
    let v = es_search(
        &e.es,
        &index,
        &json!({"size": 1, "query": {"term": {"dimensions.AutoScalingGroupName": group}}}),
    );
    let doc = &v["hits"]["hits"][0]["_source"];
    assert_eq!(doc["run_id"], "collect-test", "{doc}");
    assert_eq!(doc["tags"]["Env"], tag.as_str(), "{doc}");
    assert_eq!(doc["series"], "cloudwatch:AWS/EC2/CPUUtilization", "{doc}");
    assert!(
        made["albs"][&lb]["dimension"]
            .as_str()
            .unwrap()
            .starts_with("app/")
    );
}

#[test]
fn a_group_created_between_two_collections_is_picked_up() {
    let Some(e) = env() else { return };
    let tag = unique("moving");
    let (old, new) = (format!("old-{tag}"), format!("new-{tag}"));
    let pts: Vec<(i64, f64)> = (2..=5).rev().map(|m| (minutes_ago(m), 50.0)).collect();
    world(
        &e.python,
        &e.moto,
        &e.cw,
        &json!({
            "groups": [{"name": old, "tags": {"Env": tag}}],
            // The new group's metrics exist before the group is found.
            "metrics": [cpu(&old, &pts), cpu(&new, &pts)],
        }),
    );
    let index = format!("m-{}", tag.to_lowercase());
    collect(&e, &tag, &index, "10m", "now");
    assert_eq!(cpu_points(&e, &index, &old).len(), pts.len());
    assert!(cpu_points(&e, &index, &new).is_empty());
    world(
        &e.python,
        &e.moto,
        &e.cw,
        &json!({"groups": [{"name": new, "tags": {"Env": tag}}]}),
    );
    let out = collect(&e, &tag, &index, "10m", "now");
    assert!(out.stdout.contains("2 autoscaling-group"), "{out:?}");
    assert_eq!(cpu_points(&e, &index, &new), pts);
}

#[test]
fn a_tag_filter_matching_nothing_is_a_warning_naming_the_search() {
    let Some(e) = env() else { return };
    let tag = unique("nothing");
    let out = collect(&e, &tag, &format!("m-{}", tag.to_lowercase()), "10m", "now");
    assert!(
        out.stdout
            .contains(&format!("warning: no resource is tagged Env={tag}")),
        "{out:?}"
    );
    assert!(out.stdout.contains("Tagging API"), "{out:?}");
}

#[test]
fn collect_without_a_target_or_with_a_bad_window_is_bad_input() {
    let out = run(stampede().args(["collect", "--since", "10m"]));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("--tag K=V"), "{out:?}");
    let out = run(stampede().args(["collect", "--tag", "A=b", "--since", "soon"]));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("--since \"soon\""), "{out:?}");
    let out = run(stampede().args(["collect", "--tag", "A=b", "--period", "45"]));
    assert_eq!(out.code, 2, "{out:?}");
}

#[test]
fn annotate_writes_an_event_grafana_reads() {
    let Some(es) = opensearch() else { return };
    let index = format!("ev-{}", unique("annotate").to_lowercase());
    let out = run(stampede().args([
        "annotate",
        "--es",
        &es,
        "--index",
        &index,
        "Deployment: shop build 42",
        "--tag",
        "deploy",
        "--tag",
        "service=shop",
        "--at",
        "2026-11-25T10:00:00Z",
    ]));
    assert_eq!(out.code, 0, "{out:?}");
    // What Grafana's Elasticsearch annotation query sends: a time range on
    // @timestamp and a tag filter.
    let v = es_search(
        &es,
        &index,
        &json!({"query": {"bool": {"filter": [
            {"range": {"@timestamp": {"gte": "2026-11-25T09:59:00Z", "lte": "2026-11-25T10:01:00Z"}}},
            {"terms": {"tags": ["deploy"]}}
        ]}}}),
    );
    let hits = v["hits"]["hits"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(hits.len(), 1, "{v}");
    let doc = &hits[0]["_source"];
    assert_eq!(doc["text"], "Deployment: shop build 42");
    assert_eq!(doc["@timestamp"], "2026-11-25T10:00:00.000Z");
    assert_eq!(doc["tags"], json!(["deploy", "service=shop"]));
    assert_eq!(doc["source"], "annotation");
    let bad = run(stampede().args(["annotate", "--es", &es, "x", "--at", "yesterday"]));
    assert_eq!(bad.code, 2, "{bad:?}");
}

/// A laptop-mode run watching a tagged group: a second group appears
/// while the test runs; summary.json holds both groups' series, the
/// business metric and every phase; the indices hold the same.
#[test]
fn a_run_watches_the_system_under_test_into_summary_and_indices() {
    let Some(e) = env() else { return };
    let Some(jmeter) = jmeter_home() else { return };
    let tag = unique("run");
    let (first, second) = (format!("a-{tag}"), format!("b-{tag}"));
    let pts: Vec<(i64, f64)> = (1..=3)
        .rev()
        .map(|m| (minutes_ago(m), 70.0 + m as f64))
        .collect();
    let orders: Vec<(i64, f64)> = (1..=3).rev().map(|m| (minutes_ago(m), 5.0)).collect();
    world(
        &e.python,
        &e.moto,
        &e.cw,
        &json!({
            "groups": [{"name": first, "tags": {"Env": tag}}],
            "metrics": [cpu(&first, &pts), cpu(&second, &pts),
                        {"namespace": "Shop", "metric": "OrdersPlaced", "dimensions": {"Store": tag}, "points": orders}],
        }),
    );
    let lower = tag.to_lowercase();
    let dir = tempfile::tempdir().unwrap();
    let bp = monitored_blueprint(dir.path(), &e, &tag, None);
    let mut child = watching(&e.moto, &e.cw)
        .args(["--output", "plain", "run"])
        .arg(&bp)
        .arg("--report")
        .arg(dir.path().join("report"))
        .env("JMETER_HOME", &jmeter)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    for line in std::io::BufRead::lines(stdout).map_while(Result::ok) {
        if line.starts_with("== testing") {
            world(
                &e.python,
                &e.moto,
                &e.cw,
                &json!({"groups": [{"name": second, "tags": {"Env": tag}}]}),
            );
        }
        lines.push(line);
    }
    let status = wait_limited(&mut child);
    let all = lines.join("\n");
    assert!(status.success(), "{all}");
    assert!(
        all.contains(&format!("-- sut group {first}: cpu avg")),
        "{all}"
    );
    assert!(all.contains("GetMetricData calls"), "{all}");
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("report/summary.json")).unwrap(),
    )
    .unwrap();
    let series = summary["monitor"]["series"]
        .as_array()
        .unwrap_or_else(|| panic!("{summary}"));
    let group_points = |g: &str| -> Vec<(i64, f64)> {
        series
            .iter()
            .find(|s| {
                s["id"] == "cloudwatch:AWS/EC2/CPUUtilization"
                    && s["stat"] == "Average"
                    && s["dimensions"]["AutoScalingGroupName"] == g
            })
            .map(|s| serde_json::from_value(s["points"].clone()).unwrap())
            .unwrap_or_default()
    };
    assert_eq!(group_points(&first), pts, "{summary}");
    assert_eq!(
        group_points(&second),
        pts,
        "the group created mid-run: {summary}"
    );
    let order_points: Vec<(i64, f64)> = series
        .iter()
        .find(|s| s["id"] == "cloudwatch:Shop/OrdersPlaced")
        .map(|s| serde_json::from_value(s["points"].clone()).unwrap())
        .unwrap_or_default();
    assert_eq!(order_points, orders, "{summary}");
    assert!(summary["monitor"]["calls"].as_u64() > Some(0));
    let texts: Vec<&str> = summary["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["text"].as_str())
        .collect();
    for phase in ["provisioning", "ready", "testing", "done"] {
        assert!(
            texts.contains(&format!("phase {phase}").as_str()),
            "{texts:?}"
        );
    }
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("run ") && t.contains("ended: done")),
        "{texts:?}"
    );
    // The indices hold the same: the phases, and the points under the run id.
    let run_id = summary["run_id"].as_str().unwrap();
    let v = es_search(
        &e.es,
        &format!("e-{lower}"),
        &json!({"size": 50, "query": {"term": {"tags": "phase"}}}),
    );
    assert_eq!(v["hits"]["total"]["value"], 4, "{v}");
    assert_eq!(
        es_count(&e.es, &format!("m-{lower}"), run_id, None) as usize,
        series
            .iter()
            .map(|s| s["points"].as_array().unwrap().len())
            .sum::<usize>(),
    );
}

/// A laptop-mode blueprint of one short bee, watching `Env=<tag>` every
/// 10 s (plus Shop/OrdersPlaced of store `<tag>`: a business metric with
/// no resource behind it), indices named after the tag.
fn monitored_blueprint(
    dir: &std::path::Path,
    e: &Env,
    tag: &str,
    gate: Option<&str>,
) -> std::path::PathBuf {
    let lower = tag.to_lowercase();
    let gate = match gate {
        Some(g) => {
            write(dir, "gate.yml", g);
            "gate: gate.yml\n"
        }
        None => "",
    };
    write(
        dir,
        "bp.yml",
        &format!(
            r#"stack: monitored
target: local
local: {{ bees: 1, serve: 0 }}
testcase: {testcase}
timeout: 5m
properties: {{ threads: "2", duration: "6", think_ms: "50" }}
metrics: {{ es: "{es}", index: "r-{lower}" }}
{gate}monitor:
  tags: {{ Env: "{tag}" }}
  period: 10
  index: "m-{lower}"
  events_index: "e-{lower}"
  metrics:
    - {{ namespace: Shop, metric: OrdersPlaced, dimensions: {{ Store: "{tag}" }}, stat: Sum }}
"#,
            testcase = root().join("testcases/quickstart.jmx").display(),
            es = e.es,
        ),
    )
}

/// The gate takes criteria on collected series, and the data decides.
#[test]
fn a_gate_criterion_on_a_collected_metric_fails_the_run() {
    let Some(e) = env() else { return };
    let Some(jmeter) = jmeter_home() else { return };
    let tag = unique("gated");
    let group = format!("g-{tag}");
    let pts: Vec<(i64, f64)> = [(3, 40.0), (2, 93.5), (1, 55.0)]
        .iter()
        .map(|&(m, v)| (minutes_ago(m), v))
        .collect();
    world(
        &e.python,
        &e.moto,
        &e.cw,
        &json!({"groups": [{"name": group, "tags": {"Env": tag}}], "metrics": [cpu(&group, &pts)]}),
    );
    let dir = tempfile::tempdir().unwrap();
    let bp = monitored_blueprint(
        dir.path(),
        &e,
        &tag,
        Some(
            "criteria:\n  - { metric: \"cloudwatch:AWS/EC2/CPUUtilization\", stat: max, max: 90 }\n  - { metric: \"cloudwatch:AWS/EC2/NetworkIn\", stat: sum, max: 1000, verdict: unstable }\n",
        ),
    );
    let out = run(watching(&e.moto, &e.cw)
        .args(["--output", "plain", "run"])
        .arg(&bp)
        .arg("--report")
        .arg(dir.path().join("report"))
        .env("JMETER_HOME", &jmeter));
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("93.50 > 90.00"), "{out:?}");
    assert!(
        out.stdout.contains("no collected points"),
        "NetworkIn was never put: {out:?}"
    );
}

/// A malformed `monitor:` section stops `run` with exit 2 and the file
/// and line, before anything is started or created.
#[test]
fn a_bad_monitor_section_is_bad_input_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let bp = write(
        dir.path(),
        "bp.yml",
        &format!(
            "stack: monitored\ntarget: local\ntestcase: {}\nmonitor:\n  tags: {{ Env: int }}\n  metrics:\n    - {{ namespace: Shop, metric: OrdersPlaced, stat: Median }}\n",
            root().join("testcases/quickstart.jmx").display()
        ),
    );
    let out = run(stampede()
        .args(["--output", "plain", "run"])
        .arg(&bp)
        .arg("--report")
        .arg(dir.path().join("report"))
        .env("AWS_REGION", "us-east-1"));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("bp.yml:7: monitor.metrics: unknown statistic \"Median\""),
        "{out:?}"
    );
    assert!(
        !dir.path().join("report").exists(),
        "nothing was started: {out:?}"
    );
}

/// An AWS-mode run (CloudFormation and S3 on LocalStack 4.4.0, discovery
/// on moto, CloudWatch on LocalStack 2026.3.0, each by its own
/// `AWS_ENDPOINT_URL_<SERVICE>`) watches as the laptop mode does, and
/// records the stack's creation.
#[test]
fn an_aws_run_watches_the_system_under_test() {
    let Some(e) = env() else { return };
    let Some(ls) = localstack() else { return };
    let tag = unique("aws");
    let group = format!("g-{tag}");
    let pts: Vec<(i64, f64)> = (1..=3).rev().map(|m| (minutes_ago(m), 12.0)).collect();
    world(
        &e.python,
        &e.moto,
        &e.cw,
        &json!({"groups": [{"name": group, "tags": {"Env": tag}}], "metrics": [cpu(&group, &pts)]}),
    );
    let run_id = unique("it-mon");
    let lower = tag.to_lowercase();
    let jtl = std::fs::read(fixture("jtl/jmeter-5.6.3.jtl")).unwrap();
    let bees = crate::lifecycle::bees_upload(
        &ls,
        &run_id,
        vec![(
            format!("stampede/{run_id}/results/i-1.jtl.gz"),
            crate::lifecycle::gzip(&jtl),
        )],
    );
    let dir = tempfile::tempdir().unwrap();
    let shipped = std::fs::read_to_string(root().join("blueprints/jmeter.yml")).unwrap();
    let bp = write(
        dir.path(),
        "bp.yml",
        &format!(
            "{}\nmetrics:\n  es: \"{}\"\n  index: \"r-{lower}\"\nmonitor:\n  tags: {{ Env: \"{tag}\" }}\n  period: 60\n  index: \"m-{lower}\"\n  events_index: \"e-{lower}\"\n",
            shipped.replace("../", &format!("{}/", root().display())),
            e.es
        ),
    );
    let report = dir.path().join("report");
    let out = run(against(&ls)
        .args(["--output", "plain", "run"])
        .arg(&bp)
        .args([
            "--var",
            "target=http://127.0.0.1:9",
            "--run-id",
            &run_id,
            "--report",
        ])
        .arg(&report)
        .env("AWS_ENDPOINT_URL", &e.moto)
        .env("AWS_ENDPOINT_URL_CLOUDFORMATION", &ls)
        .env("AWS_ENDPOINT_URL_S3", &ls)
        .env("AWS_ENDPOINT_URL_CLOUDWATCH", &e.cw)
        .env("STAMPEDE_BUCKET", crate::lifecycle::BUCKET)
        .env("BUILD_NUMBER", unique("b").replace("b-", "")));
    bees.join().unwrap();
    assert_eq!(out.code, 0, "{out:?}");
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("summary.json")).unwrap())
            .unwrap();
    let cpu_avg = summary["monitor"]["series"]
        .as_array()
        .unwrap_or_else(|| panic!("{summary}"))
        .iter()
        .find(|s| {
            s["stat"] == "Average" && s["dimensions"]["AutoScalingGroupName"] == group.as_str()
        })
        .map(|s| serde_json::from_value::<Vec<(i64, f64)>>(s["points"].clone()).unwrap());
    assert_eq!(cpu_avg, Some(pts), "{summary}");
    let events = summary["events"].as_array().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e["source"] == "stack"
                && e["text"].as_str().unwrap().contains("creation started")),
        "{summary}"
    );
    assert!(
        events.iter().any(|e| e["text"] == "phase done"),
        "{summary}"
    );
    // The stack's deletion, the run's last act, is in the events index.
    let v = es_search(
        &e.es,
        &format!("e-{lower}"),
        &json!({"size": 10, "query": {"term": {"tags": "stack"}}}),
    );
    let texts: Vec<String> = v["hits"]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            h["_source"]["text"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert!(
        texts.iter().any(|t| t.ends_with("creation started")),
        "{texts:?}"
    );
    assert!(texts.iter().any(|t| t.ends_with(" deleted")), "{texts:?}");
}

/// A window longer than one round's 360 periods is collected in slices,
/// each point still exactly once.
#[test]
fn a_long_window_is_collected_in_slices() {
    let Some(e) = env() else { return };
    let tag = unique("slices");
    let group = format!("s-{tag}");
    // Period 10 s: 360 periods are one hour; points over the last 90 min.
    let pts: Vec<(i64, f64)> = (1..=90).rev().map(|m| (minutes_ago(m), m as f64)).collect();
    world(
        &e.python,
        &e.moto,
        &e.cw,
        &json!({"groups": [{"name": group, "tags": {"Env": tag}}], "metrics": [cpu(&group, &pts)]}),
    );
    let index = format!("m-{}", tag.to_lowercase());
    let out = run(watching(&e.moto, &e.cw).args([
        "--output",
        "json",
        "collect",
        "--tag",
        &format!("Env={tag}"),
        "--since",
        "100m",
        "--period",
        "10",
        "--es",
        &e.es,
        "--index",
        &index,
        "--events-index",
        &format!("{index}-events"),
    ]));
    assert_eq!(out.code, 0, "{out:?}");
    let result: Value = serde_json::from_str(out.stdout.lines().last().unwrap()).unwrap();
    assert!(result["calls"].as_u64() >= Some(2), "two slices: {result}");
    assert_eq!(cpu_points(&e, &index, &group), pts);
}

/// `collect --follow` keeps collecting until a signal, and a signal ends
/// it cleanly, with the first round's points stored (the cron-free way to
/// keep a production stream going).
#[test]
fn collect_follow_collects_until_a_signal_and_stops_cleanly() {
    use std::io::BufRead;
    let Some(e) = env() else { return };
    let tag = unique("follow");
    let group = format!("f-{tag}");
    let points: Vec<(i64, f64)> = (2..=6).rev().map(|m| (minutes_ago(m), m as f64)).collect();
    world(
        &e.python,
        &e.moto,
        &e.cw,
        &json!({"groups": [{"name": group, "tags": {"Env": tag}}], "metrics": [cpu(&group, &points)]}),
    );
    let index = format!("m-{}", tag.to_lowercase());
    let mut child = watching(&e.moto, &e.cw)
        .args(["--output", "plain", "collect", "--follow", "--tag"])
        .arg(format!("Env={tag}"))
        .args(["--since", "10m", "--es", &e.es, "--index", &index])
        .arg("--events-index")
        .arg(format!("{index}-events"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The first round's report, then it waits for the next period.
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut seen = Vec::new();
    for line in stdout.lines() {
        let line = line.unwrap();
        let done = line.contains("collected ") && line.contains("indexed ");
        seen.push(line);
        if done {
            break;
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "--follow ended by itself: {seen:?}"
    );
    let pid = child.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let status = wait_limited(&mut child);
    assert_eq!(status.code(), Some(143), "a SIGTERM ends it as interrupted");
    assert_eq!(cpu_points(&e, &index, &group), points);
}
