//! The whole lifecycle against LocalStack: create, follow, collect,
//! delete; failures; SIGTERM.

use std::io::Write;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::Timelike;

use aws_sdk_cloudformation as cfn;
use aws_sdk_s3 as s3;

use crate::support::*;

pub const BUCKET: &str = "stampede-it";

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub async fn sdk(url: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(s3::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await
}

pub fn s3_client(conf: &aws_config::SdkConfig) -> s3::Client {
    s3::Client::from_conf(
        s3::config::Builder::from(conf)
            .force_path_style(true)
            .build(),
    )
}

/// Creates the bucket (if needed) and uploads `objects`.
pub fn seed(url: &str, objects: &[(&str, Vec<u8>)]) {
    runtime().block_on(async {
        let s3 = s3_client(&sdk(url).await);
        let _ = s3.create_bucket().bucket(BUCKET).send().await;
        for (key, body) in objects {
            s3.put_object()
                .bucket(BUCKET)
                .key(*key)
                .body(body.clone().into())
                .send()
                .await
                .unwrap();
        }
    });
}

/// Plays the bees of run `run_id`: once the run has uploaded its template
/// (just before CreateStack), uploads `objects` as the bees would. A run
/// refuses a prefix that already holds files, so results cannot be placed
/// before it starts. LocalStack completes the wait conditions at once, so
/// this polls fast; the run still has to create its stack first.
pub fn bees_upload(
    url: &str,
    run_id: &str,
    objects: Vec<(String, Vec<u8>)>,
) -> std::thread::JoinHandle<()> {
    seed(url, &[]);
    let (url, key) = (url.to_string(), format!("stampede/{run_id}/template.yaml"));
    std::thread::spawn(move || {
        runtime().block_on(async {
            let s3 = s3_client(&sdk(&url).await);
            let deadline = Instant::now() + Duration::from_secs(120);
            while s3
                .head_object()
                .bucket(BUCKET)
                .key(&key)
                .send()
                .await
                .is_err()
            {
                assert!(Instant::now() < deadline, "the run never uploaded {key}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            for (k, body) in objects {
                s3.put_object()
                    .bucket(BUCKET)
                    .key(&k)
                    .body(body.into())
                    .send()
                    .await
                    .unwrap();
            }
        });
    })
}

/// Whether `key` exists in the test bucket.
pub fn object_exists(url: &str, key: &str) -> bool {
    runtime().block_on(async {
        let s3 = s3_client(&sdk(url).await);
        s3.head_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .is_ok()
    })
}

/// The stack's status, or `None` when it is gone.
pub fn stack_status(url: &str, name: &str) -> Option<String> {
    runtime().block_on(async {
        let c = cfn::Client::new(&sdk(url).await);
        match c.describe_stacks().stack_name(name).send().await {
            Ok(out) => out
                .stacks()
                .first()
                .and_then(|s| s.stack_status())
                .map(|s| s.as_str().to_string())
                .filter(|s| s != "DELETE_COMPLETE"),
            Err(_) => None,
        }
    })
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// `run` on the shipped jmeter-bees blueprint: LocalStack completes the
/// wait conditions at once, and the test plays the bees by placing their
/// result files in S3.
#[test]
fn run_creates_follows_summarises_and_deletes() {
    let Some(url) = localstack() else { return };
    let run_id = unique("it-run");
    let jtl = std::fs::read(fixture("jtl/jmeter-5.6.3.jtl")).unwrap();
    let half = jtl.len() / 2;
    let cut = half + jtl[half..].iter().position(|&b| b == b'\n').unwrap() + 1;
    let header_end = jtl.iter().position(|&b| b == b'\n').unwrap() + 1;
    let mut second = jtl[..header_end].to_vec();
    second.extend_from_slice(&jtl[cut..]);
    let bees = bees_upload(
        &url,
        &run_id,
        vec![
            (
                format!("stampede/{run_id}/results/i-1.jtl.gz"),
                gzip(&jtl[..cut]),
            ),
            (
                format!("stampede/{run_id}/results/i-2.jtl.gz"),
                gzip(&second),
            ),
        ],
    );
    let report = tempfile::tempdir().unwrap();
    let build = unique("b").replace("b-", "");
    let out = run(against(&url)
        .args([
            "run",
            "blueprints/jmeter.yml",
            "--output",
            "plain",
            "--var",
            "target=http://127.0.0.1:9",
        ])
        .args(["--run-id", &run_id, "--report"])
        .arg(report.path())
        .env("STAMPEDE_BUCKET", BUCKET)
        .env("BUILD_NUMBER", &build)
        .current_dir(root()));
    bees.join().unwrap();
    assert_eq!(out.code, 0, "{out:?}");
    // The inputs (the bee config may hold the cluster's password) are
    // removed with the stack; the results stay.
    assert!(!object_exists(&url, &format!("stampede/{run_id}/bee.json")));
    assert!(!object_exists(
        &url,
        &format!("stampede/{run_id}/bin/stampede")
    ));
    assert!(object_exists(
        &url,
        &format!("stampede/{run_id}/results/i-1.jtl.gz")
    ));
    let stack = format!("stampede-jmeter-{build}");
    // Events streamed, each once, with resource, type and status.
    let ready = "Ready  AWS::CloudFormation::WaitCondition  CREATE_COMPLETE";
    assert_eq!(out.stdout.matches(ready).count(), 1, "{out:?}");
    assert!(out.stdout.contains(&format!(
        "{stack}  AWS::CloudFormation::Stack  CREATE_COMPLETE"
    )));
    // Phases in order.
    let order: Vec<usize> = [
        "== provisioning",
        "== ready",
        "== testing",
        "== done",
        "== deleting",
        "== deleted",
    ]
    .iter()
    .map(|p| {
        out.stdout
            .find(p)
            .unwrap_or_else(|| panic!("no {p}: {out:?}"))
    })
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{out:?}");
    // Both bees' rows, summarised.
    let total = out.stdout.lines().find(|l| l.starts_with("total")).unwrap();
    assert_eq!(total.split_whitespace().nth(1), Some("92"), "{out:?}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.path().join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["total"]["count"], 92);
    assert_eq!(summary["run_id"], run_id.as_str());
    // What the report draws: the run's phases, the stack's events, and
    // the page itself.
    let phases: Vec<&str> = summary["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["provisioning", "ready", "testing", "done"]);
    assert!(
        summary["stack_events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["logical_id"] == "Ready" && e["status"] == "CREATE_COMPLETE"),
        "{summary}"
    );
    assert!(report.path().join("report.html").is_file());
    assert_eq!(stack_status(&url, &stack), None, "the stack is deleted");
}

#[test]
fn run_without_results_exits_1_and_still_deletes() {
    let Some(url) = localstack() else { return };
    seed(&url, &[]);
    let build = unique("n").replace("n-", "");
    let out = run(against(&url)
        .args(["run", "blueprints/jmeter.yml", "--output", "json"])
        .env("STAMPEDE_BUCKET", BUCKET)
        .env("BUILD_NUMBER", &build)
        .current_dir(root()));
    assert_eq!(out.code, 1, "{out:?}");
    let last: serde_json::Value = serde_json::from_str(out.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["type"], "result");
    assert_eq!(last["status"], "no_results");
    assert_eq!(last["stack_state"], "deleted");
    assert!(last["message"].as_str().unwrap().starts_with("no results"));
    assert!(
        out.stdout
            .lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "NDJSON only"
    );
    assert_eq!(
        stack_status(&url, &format!("stampede-jmeter-{build}")),
        None
    );
}

#[test]
fn failing_resource_exits_3_with_the_root_cause_and_is_deleted() {
    let Some(url) = localstack() else { return };
    seed(&url, &[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("templates/failing.yaml"), dir.path().join("t.yaml")).unwrap();
    let stack = unique("it-fail");
    let bp = write(
        dir.path(),
        "bp.yml",
        &format!("stack: {stack}\nbucket: {BUCKET}\ntemplate: t.yaml\n"),
    );
    let report = dir.path().join("report");
    let out = run(against(&url)
        .args(["run", "--output", "plain", "--report"])
        .arg(&report)
        .arg(&bp));
    assert_eq!(out.code, 3, "{out:?}");
    // The report of a failed stack: its events, the root cause first.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("summary.json")).unwrap())
            .unwrap();
    let causes: Vec<&serde_json::Value> = summary["stack_events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["root_cause"] == true)
        .collect();
    assert_eq!(causes.len(), 1, "{summary}");
    assert_eq!(causes[0]["logical_id"], "Second");
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert!(
        html.contains("\"root_cause\":true"),
        "the page carries the root cause"
    );
    assert!(
        out.stdout
            .contains("stack failed to create: Second (AWS::Logs::LogGroup) CREATE_FAILED: ")
            && out.stdout.contains("already exists"),
        "{out:?}"
    );
    assert!(out.stdout.contains("== deleted"), "{out:?}");
    assert_eq!(stack_status(&url, &stack), None);
}

/// 450 chained resources: slow enough on LocalStack (about 13 s) to be
/// interrupted mid-creation, and over 51,200 bytes, so it goes by
/// TemplateURL.
pub fn slow_template() -> String {
    let mut t = String::from("Resources:\n");
    for i in 0..450 {
        t.push_str(&format!("  P{i}:\n    Type: AWS::SSM::Parameter\n"));
        if i > 0 {
            t.push_str(&format!("    DependsOn: P{}\n", i - 1));
        }
        t.push_str(&format!(
            "    Properties: {{ Name: \"/{{{{stack}}}}/p{i}\", Type: String, Value: v{i} }}\n"
        ));
    }
    t
}

/// Starts `run` on the slow template and returns once the stack is being
/// created: the blueprint's folder, the process, its later stdout lines,
/// and the lines so far.
pub fn start_slow_run(
    url: &str,
    stack: &str,
) -> (
    tempfile::TempDir,
    std::process::Child,
    mpsc::Receiver<(Instant, String)>,
    Vec<String>,
) {
    seed(url, &[]);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "t.yaml", &slow_template());
    let bp = write(
        dir.path(),
        "bp.yml",
        &format!("stack: {stack}\nbucket: {BUCKET}\ntemplate: t.yaml\n"),
    );
    let mut child = against(url)
        .args(["run", "--output", "plain"])
        .arg(&bp)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = stdout_lines(&mut child);
    let mut seen = Vec::new();
    loop {
        let Ok((_, line)) = rx.recv_timeout(Duration::from_secs(60)) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the run did not start creating: {seen:?}");
        };
        seen.push(line.clone());
        if line.contains("CREATE_IN_PROGRESS") {
            return (dir, child, rx, seen);
        }
    }
}

#[test]
fn sigterm_during_creation_deletes_the_stack_and_exits_143() {
    let Some(url) = localstack() else { return };
    let stack = unique("it-term");
    let (_dir, mut child, rx, mut seen) = start_slow_run(&url, &stack);
    assert!(
        seen.iter().any(|l| l.contains("passing it by URL")),
        "{seen:?}"
    );
    let signalled = chrono::Utc::now();
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    while let Ok((_, line)) = rx.recv_timeout(Duration::from_secs(120)) {
        seen.push(line);
    }
    let status = wait_limited(&mut child);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(143), "{seen:#?}\n{stderr}");
    assert!(
        stderr.contains(&format!("SIGTERM: stopping and deleting stack {stack}")),
        "{stderr}"
    );
    // CloudFormation's own clock says when DeleteStack arrived: the stack's
    // DELETE_IN_PROGRESS event (whole seconds, hence the rounding).
    let deleting = seen
        .iter()
        .find(|l| l.contains("AWS::CloudFormation::Stack  DELETE_IN_PROGRESS"))
        .unwrap_or_else(|| panic!("no deletion: {seen:#?}"));
    let at = chrono::NaiveTime::parse_from_str(&deleting[..8], "%H:%M:%S").unwrap();
    let sent = signalled.time().with_nanosecond(0).unwrap();
    assert!(
        at - sent <= chrono::TimeDelta::seconds(1),
        "DeleteStack within a second: sent {sent}, {deleting}"
    );
    assert!(
        !seen
            .iter()
            .any(|l| l.contains("AWS::CloudFormation::Stack  CREATE_COMPLETE")),
        "interrupted mid-creation: {seen:#?}"
    );
    assert!(
        seen.iter().any(|l| l.starts_with("== deleted")),
        "{seen:#?}"
    );
    assert_eq!(stack_status(&url, &stack), None);
}

/// Handle URLs of a wait-condition stack.
pub struct Handles {
    pub ready: String,
    pub done: String,
}

/// Creates a stack with the bee protocol's wait conditions (and nothing
/// else) and returns its handle URLs.
pub fn wait_condition_stack(url: &str, name: &str) -> Handles {
    let template = serde_json::json!({
        "Resources": {
            "ReadyHandle": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
            "Ready": {"Type": "AWS::CloudFormation::WaitCondition", "Properties": {"Handle": {"Ref": "ReadyHandle"}, "Count": 1, "Timeout": "300"}},
            "DoneHandle": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
            "Done": {"Type": "AWS::CloudFormation::WaitCondition", "DependsOn": "Ready", "Properties": {"Handle": {"Ref": "DoneHandle"}, "Count": 1, "Timeout": "600"}}
        }
    });
    runtime().block_on(async {
        let c = cfn::Client::new(&sdk(url).await);
        c.create_stack()
            .stack_name(name)
            .template_body(template.to_string())
            .send()
            .await
            .unwrap();
        for _ in 0..120 {
            let out = c.describe_stacks().stack_name(name).send().await.unwrap();
            if out.stacks()[0].stack_status().map(|s| s.as_str()) == Some("CREATE_COMPLETE") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let res = c
            .describe_stack_resources()
            .stack_name(name)
            .send()
            .await
            .unwrap();
        let phys = |id: &str| {
            res.stack_resources()
                .iter()
                .find(|r| r.logical_resource_id() == Some(id))
                .and_then(|r| r.physical_resource_id())
                .unwrap()
                .to_string()
        };
        Handles {
            ready: phys("ReadyHandle"),
            done: phys("DoneHandle"),
        }
    })
}

/// The signal object a PUT to a (LocalStack) handle URL left in S3.
pub fn read_signal(url: &str, handle: &str) -> serde_json::Value {
    let path = handle
        .split("://")
        .nth(1)
        .unwrap()
        .split_once('/')
        .unwrap()
        .1;
    let path = path.split('?').next().unwrap();
    let (bucket, key) = path.split_once('/').unwrap();
    let key = percent_decode(key);
    runtime().block_on(async {
        let s3 = s3_client(&sdk(url).await);
        let obj = s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        let bytes = obj.body.collect().await.unwrap().into_bytes();
        serde_json::from_slice(&bytes).unwrap()
    })
}

/// Downloads `key` from the test bucket.
pub fn download(url: &str, key: &str, to: &std::path::Path) {
    runtime().block_on(async {
        let s3 = s3_client(&sdk(url).await);
        let obj = s3
            .get_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .unwrap();
        std::fs::write(to, obj.body.collect().await.unwrap().into_bytes()).unwrap();
    });
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}
