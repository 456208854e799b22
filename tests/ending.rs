//! How every run ends, told once: the NDJSON stream's last line is one
//! result object whose `exit_code` is the process's, and the run record
//! (`summary.json`) says how the run ended, in laptop mode (real JMeter)
//! and on LocalStack alike. Faults no emulator makes on demand (a slow
//! upload, gather or deletion; a refused DeleteStack) are injected with
//! `STAMPEDE_FAULT` and named as such.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::lifecycle::{BUCKET, bees_upload, gzip, stack_status};
use crate::support::*;

/// Every stdout line is a JSON object; the last is the result, and its
/// `exit_code` is the process's.
fn result_of(code: i32, stdout: &str) -> Value {
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not NDJSON ({e}): {l}")))
        .collect();
    let last = lines.last().cloned().unwrap_or_else(|| panic!("no output"));
    assert_eq!(
        last["type"], "result",
        "the last line is the result: {stdout}"
    );
    assert_eq!(
        lines.iter().filter(|l| l["type"] == "result").count(),
        1,
        "one result object: {stdout}"
    );
    assert_eq!(
        last["exit_code"], code,
        "result says the process's code: {stdout}"
    );
    last
}

fn summary(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("summary.json")).expect("summary.json");
    serde_json::from_str(&text).unwrap()
}

/// A laptop run of the quickstart plan in `--output json`.
fn laptop(jmeter: &str, report: &Path, vars: &[&str]) -> Command {
    let mut cmd = stampede();
    cmd.args(["--output", "json", "run", "blueprints/local-quickstart.yml"])
        .args(["--var", "bees=1", "--var", "port=0"]);
    for v in vars {
        cmd.args(["--var", v]);
    }
    cmd.arg("--report")
        .arg(report)
        .env_remove("STAMPEDE_ES_URL")
        .env("JMETER_HOME", jmeter)
        .current_dir(root());
    cmd
}

#[test]
fn a_laptop_run_ends_with_its_result_and_phases_at_their_own_times() {
    let Some(jmeter) = jmeter_home() else { return };
    let report = tempfile::tempdir().unwrap();
    let out = run(&mut laptop(&jmeter, report.path(), &["duration=3"]));
    assert_eq!(out.code, 0, "{out:?}");
    let result = result_of(out.code, &out.stdout);
    assert_eq!(result["status"], "passed");
    assert_eq!(result["ended"]["status"], "passed");
    let s = summary(report.path());
    assert_eq!(s["ended"]["status"], "passed", "{s}");
    assert_eq!(s["ended"]["exit_code"], 0);
    let phases: Vec<(&str, &str)> = s["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["phase"].as_str().unwrap(), p["at"].as_str().unwrap()))
        .collect();
    let names: Vec<&str> = phases.iter().map(|p| p.0).collect();
    assert_eq!(names, ["provisioning", "ready", "testing", "done"], "{s}");
    assert!(
        phases.windows(2).all(|w| w[0].1 <= w[1].1),
        "in time order: {phases:?}"
    );
    // Testing starts with the first sample, not when the run noticed the
    // bees were ready; done is when the last bee said so, after the last
    // sample.
    let testing = phases[2].1;
    assert_eq!(Some(testing), s["start"].as_str(), "{s}");
    assert!(phases[3].1 >= s["end"].as_str().unwrap(), "{s}");
}

#[test]
fn a_failing_gate_and_a_failing_bee_say_so_in_the_result_and_the_record() {
    let Some(jmeter) = jmeter_home() else { return };
    let dir = tempfile::tempdir().unwrap();
    let gate = write(
        dir.path(),
        "gate.yml",
        "criteria:\n  - { metric: p50, label: total, max: 0ms }\n",
    );
    let report = dir.path().join("gated");
    let out = run(laptop(&jmeter, &report, &["duration=2"])
        .arg("--gate")
        .arg(&gate));
    assert_eq!(out.code, 1, "{out:?}");
    let result = result_of(out.code, &out.stdout);
    assert_eq!(result["status"], "gate_failed");
    assert_eq!(summary(&report)["ended"]["status"], "gate_failed");

    write(
        dir.path(),
        "jmeter/bin/jmeter",
        "#!/bin/sh\necho 'broken plan' >&2\nexit 1\n",
    );
    std::process::Command::new("chmod")
        .args(["+x"])
        .arg(dir.path().join("jmeter/bin/jmeter"))
        .status()
        .unwrap();
    let report = dir.path().join("failed");
    let jm = dir.path().join("jmeter").display().to_string();
    let out = run(&mut laptop(&jm, &report, &["duration=2"]));
    assert_eq!(out.code, 1, "{out:?}");
    let result = result_of(out.code, &out.stdout);
    assert_eq!(result["status"], "failed", "{out:?}");
    assert!(
        out.stdout.contains("\"type\":\"signal\"") && out.stdout.contains("FAILURE"),
        "the bee's FAILURE is an event: {out:?}"
    );
}

#[test]
fn a_laptop_run_past_its_timeout_keeps_what_the_bees_measured() {
    let Some(jmeter) = jmeter_home() else { return };
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("blueprints/local-quickstart.yml")).unwrap();
    let bp = write(
        dir.path(),
        "bp.yml",
        &text
            .replace("timeout: 10m", "timeout: 15s")
            .replace("../testcases/", &format!("{}/testcases/", root().display())),
    );
    let report = dir.path().join("r");
    let out = run(stampede()
        .args(["--output", "json", "run"])
        .arg(&bp)
        .args([
            "--var",
            "bees=1",
            "--var",
            "port=0",
            "--var",
            "duration=60",
            "--report",
        ])
        .arg(&report)
        .env_remove("STAMPEDE_ES_URL")
        .env("JMETER_HOME", &jmeter));
    assert_eq!(out.code, 3, "{out:?}");
    let result = result_of(out.code, &out.stdout);
    assert_eq!(result["status"], "timed_out");
    let s = summary(&report);
    assert_eq!(s["ended"]["status"], "timed_out", "{s}");
    assert_eq!(s["ended"]["stage"], "testing", "{s}");
    assert!(
        s["total"]["count"].as_u64().unwrap() > 0,
        "partial results: {s}"
    );
    let gate: Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("gate.json")).unwrap()).unwrap();
    assert_eq!(
        gate["verdict"], "fail",
        "a cut-short run passes no gate: {gate}"
    );
}

/// Waits until the laptop bee has written `n` samples.
fn wait_for_samples(report: &Path, n: usize) {
    let jtl = report.join("bees/bee-1/bee-1.jtl");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let rows = std::fs::read_to_string(&jtl).map_or(0, |t| t.lines().count());
        if rows > n {
            return;
        }
        assert!(Instant::now() < deadline, "the bee never wrote samples");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn an_interrupted_laptop_run_is_never_a_green_pass() {
    let Some(jmeter) = jmeter_home() else { return };
    let Some(chrome) = crate::report::browser::chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r");
    let junit = dir.path().join("gate.xml");
    let child = laptop(&jmeter, &report, &["duration=120"])
        .arg("--junit")
        .arg(&junit)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_samples(&report, 30);
    signal(&child, "TERM");
    let out = finish(child);
    let (code, stdout) = (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout),
    );
    assert_eq!(code, 143, "{stdout}");
    let result = result_of(code, &stdout);
    assert_eq!(result["status"], "interrupted");
    assert_eq!(result["ended"]["signal"], "SIGTERM");
    let s = summary(&report);
    assert_eq!(s["ended"]["status"], "interrupted", "{s}");
    assert_eq!(s["ended"]["signal"], "SIGTERM", "{s}");
    assert_eq!(s["ended"]["stage"], "testing", "{s}");
    assert_eq!(s["ended"]["exit_code"], 143, "{s}");
    let junit = std::fs::read_to_string(&junit).unwrap();
    assert!(
        junit.contains("the run completed") && junit.contains("<failure"),
        "{junit}"
    );
    let visit = crate::report::browser::visit(&chrome, &report.join("report.html"));
    let banner = visit
        .dom
        .split("id=\"verdict\"")
        .nth(1)
        .and_then(|rest| rest.split("</div>").next())
        .unwrap_or_else(|| panic!("no verdict banner: {}", visit.dom));
    assert!(
        banner.contains("INTERRUPTED BY SIGTERM WHILE TESTING"),
        "{banner}"
    );
    assert!(!banner.contains("PASS"), "{banner}");
}

/// Sends `SIG<sig>` to the child.
fn signal(child: &Child, sig: &str) {
    std::process::Command::new("kill")
        .args([format!("-{sig}"), child.id().to_string()])
        .status()
        .unwrap();
}

/// An AWS run on LocalStack in `--output json` whose bees are played by
/// `bees_upload`; the stdout lines arrive on the receiver.
fn aws_run(
    url: &str,
    extra_env: &[(&str, &str)],
) -> (
    Child,
    mpsc::Receiver<(Instant, String)>,
    String,
    tempfile::TempDir,
) {
    let run_id = unique("it-end");
    let jtl = std::fs::read(fixture("jtl/jmeter-5.6.3.jtl")).unwrap();
    let _bees = bees_upload(
        url,
        &run_id,
        vec![(format!("stampede/{run_id}/results/i-1.jtl.gz"), gzip(&jtl))],
    );
    let report = tempfile::tempdir().unwrap();
    let build = unique("b").replace("b-", "");
    let mut cmd = against(url);
    cmd.args(["--output", "json", "run", "blueprints/jmeter.yml"])
        .args([
            "--var",
            "target=http://127.0.0.1:9",
            "--run-id",
            &run_id,
            "--report",
        ])
        .arg(report.path())
        .env("STAMPEDE_BUCKET", BUCKET)
        .env("BUILD_NUMBER", &build)
        .current_dir(root());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = stdout_lines(&mut child);
    (child, rx, format!("stampede-jmeter-{build}"), report)
}

/// Reads lines until one contains `needle`; returns every line so far.
fn until(rx: &mpsc::Receiver<(Instant, String)>, needle: &str, seen: &mut Vec<String>) {
    loop {
        let (_, line) = rx
            .recv_timeout(Duration::from_secs(90))
            .unwrap_or_else(|_| panic!("no line with {needle:?}: {seen:#?}"));
        seen.push(line.clone());
        if line.contains(needle) {
            return;
        }
    }
}

/// The rest of the run: its exit code and its whole stdout.
fn rest(
    mut child: Child,
    rx: mpsc::Receiver<(Instant, String)>,
    mut seen: Vec<String>,
) -> (i32, String) {
    let status = wait_limited(&mut child);
    seen.extend(rx.iter().map(|(_, l)| l));
    (status.code().unwrap_or(-1), seen.join("\n"))
}

#[test]
fn an_aws_run_ends_with_one_result_whose_code_is_the_processes() {
    let Some(url) = localstack() else { return };
    let (child, rx, stack, report) = aws_run(&url, &[]);
    let (code, stdout) = rest(child, rx, Vec::new());
    assert_eq!(code, 0, "{stdout}");
    let result = result_of(code, &stdout);
    assert_eq!(result["status"], "passed");
    assert_eq!(result["stack_state"], "deleted");
    assert_eq!(summary(report.path())["ended"]["status"], "passed");
    assert_eq!(stack_status(&url, &stack), None);
}

/// Signals in each step of an AWS run: the process exits 143, the result
/// says so with the step, nothing is left behind.
#[test]
fn sigterm_in_each_step_of_an_aws_run_exits_143_with_its_result() {
    let Some(url) = localstack() else { return };
    for (step, fault, wait_for) in [
        ("upload", "pause-upload", "\"credentials:"),
        ("gather", "pause-gather", "\"phase\":\"done\""),
        ("deleting", "pause-deleting", "\"phase\":\"deleting\""),
    ] {
        let (child, rx, stack, report) = aws_run(&url, &[("STAMPEDE_FAULT", fault)]);
        let mut seen = Vec::new();
        until(&rx, wait_for, &mut seen);
        std::thread::sleep(Duration::from_millis(500));
        signal(&child, "TERM");
        let (code, stdout) = rest(child, rx, seen);
        assert_eq!(code, 143, "{step}: {stdout}");
        let result = result_of(code, &stdout);
        assert_eq!(result["status"], "interrupted", "{step}: {stdout}");
        assert_eq!(result["ended"]["stage"], step, "{step}: {stdout}");
        assert_eq!(
            stack_status(&url, &stack),
            None,
            "{step}: the stack is gone"
        );
        if step != "upload" {
            let s = summary(report.path());
            assert_eq!(s["ended"]["status"], "interrupted", "{step}: {s}");
            assert_eq!(s["ended"]["stage"], step, "{step}: {s}");
        }
    }
}

#[test]
fn sigint_during_preflight_ends_with_a_result_and_creates_nothing() {
    let Some(url) = localstack() else { return };
    // STS that accepts the connection and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let sts = format!("http://{}", silent.local_addr().unwrap());
    let (child, rx, stack, _report) = aws_run(&url, &[("AWS_ENDPOINT_URL_STS", &sts)]);
    std::thread::sleep(Duration::from_secs(3));
    let signalled = Instant::now();
    signal(&child, "INT");
    let (code, stdout) = rest(child, rx, Vec::new());
    assert!(signalled.elapsed() < Duration::from_secs(10), "{stdout}");
    assert_eq!(code, 130, "{stdout}");
    let result = result_of(code, &stdout);
    assert_eq!(result["ended"]["stage"], "preflight", "{stdout}");
    assert!(
        result["message"]
            .as_str()
            .unwrap()
            .contains("nothing was created")
    );
    assert_eq!(stack_status(&url, &stack), None);
    drop(silent);
}

#[test]
fn a_second_signal_exits_at_once_with_a_result_naming_the_stack() {
    let Some(url) = localstack() else { return };
    let (child, rx, stack, _report) = aws_run(
        &url,
        &[
            ("STAMPEDE_FAULT", "pause-deleting"),
            ("STAMPEDE_FAULT_PAUSE_S", "30"),
        ],
    );
    let mut seen = Vec::new();
    until(&rx, "\"phase\":\"deleting\"", &mut seen);
    signal(&child, "TERM");
    std::thread::sleep(Duration::from_millis(500));
    let signalled = Instant::now();
    signal(&child, "TERM");
    let (code, stdout) = rest(child, rx, seen);
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "at once: {stdout}"
    );
    assert_eq!(code, 143, "{stdout}");
    let result = result_of(code, &stdout);
    assert_eq!(result["status"], "interrupted");
    assert!(
        result["message"]
            .as_str()
            .unwrap()
            .contains(&format!("stampede delete {stack}")),
        "{result}"
    );
    // What the second signal left: the stack is already deleting.
    let _ = run(against(&url).args(["delete", &stack]));
}

#[test]
fn a_deletion_aws_refuses_exits_3_and_the_record_says_so() {
    let Some(url) = localstack() else { return };
    let (child, rx, stack, report) = aws_run(&url, &[("STAMPEDE_FAULT", "fail-delete")]);
    let (code, stdout) = rest(child, rx, Vec::new());
    assert_eq!(code, 3, "{stdout}");
    let result = result_of(code, &stdout);
    assert_eq!(result["status"], "infrastructure_failed", "{stdout}");
    assert_eq!(result["stack_state"], "delete_error", "{stdout}");
    assert!(
        stdout.contains(&format!("stampede delete {stack}")),
        "{stdout}"
    );
    let s = summary(report.path());
    assert_eq!(s["ended"]["status"], "infrastructure_failed", "{s}");
    assert_eq!(s["ended"]["exit_code"], 3, "{s}");
    let out = run(against(&url).args(["delete", &stack]));
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn compare_report_and_errors_end_with_a_result_object_too() {
    let dir = tempfile::tempdir().unwrap();
    let fast = write(dir.path(), "fast.jtl", &jtl(1, 200, &[], 1.0));
    let slow = write(dir.path(), "slow.jtl", &jtl(1, 200, &["checkout"], 3.0));
    let out = run(stampede()
        .args(["--output", "json", "compare"])
        .arg(&slow)
        .arg(&fast));
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(result_of(out.code, &out.stdout)["status"], "gate_failed");
    let s = dir.path().join("s.json");
    let out = run(stampede()
        .args(["--output", "json", "analyze"])
        .arg(&fast)
        .arg("--json")
        .arg(&s));
    assert_eq!(out.code, 0, "{out:?}");
    let out = run(stampede().args(["--output", "json", "report"]).arg(&s));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(result_of(out.code, &out.stdout)["status"], "passed");
    let empty = write(dir.path(), "empty.jtl", "");
    let out = run(stampede().args(["--output", "json", "analyze"]).arg(&empty));
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(result_of(out.code, &out.stdout)["status"], "bad_input");
}
