//! Trust before money: every check runs before the first upload or
//! CreateStack, every problem is reported at once, and once a stack
//! exists every exit path deletes it.

use crate::lifecycle::{BUCKET, bees_upload, gzip, seed, stack_status};
use crate::support::*;
use std::process::Command;
use std::time::Duration;

/// A command that can reach no AWS endpoint: anything refused here was
/// refused before the first paid call.
fn offline() -> std::process::Command {
    let mut cmd = stampede();
    cmd.env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("STAMPEDE_BUCKET", "stampede-it")
        .current_dir(root());
    cmd
}

#[test]
fn a_run_id_that_would_run_in_the_bee_shell_is_refused() {
    for id in ["r1$(touch /tmp/pwned)", "r1*", "../other", "a b"] {
        let out = run(offline().args(["run", "blueprints/jmeter.yml", "--run-id", id]));
        assert_eq!(out.code, 2, "{id}: {out:?}");
        assert!(out.stderr.contains("--run-id: run id"), "{id}: {out:?}");
    }
}

#[test]
fn a_mistyped_var_is_refused_with_a_suggestion() {
    let out = run(offline().args(["run", "blueprints/jmeter.yml", "--var", "targt=http://x"]));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("--var targt: blueprints/jmeter.yml declares no variable `targt` in `vars:` (did you mean `target`?)"),
        "{out:?}"
    );
}

#[test]
fn a_parameter_the_template_rejects_is_caught_at_render_time() {
    let out = run(offline().args(["render", "blueprints/jmeter.yml", "--var", "bees=four"]));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains(
            "parameters.BeeCount: \"four\" is not a number (the parameter's Type is Number)"
        ),
        "{out:?}"
    );
    let out = run(offline().args([
        "render",
        "blueprints/jmeter.yml",
        "--var",
        "target=http://a b",
    ]));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("does not match AllowedPattern"),
        "{out:?}"
    );
}

#[test]
fn every_local_problem_is_reported_at_once_before_any_aws_call() {
    let dir = tempfile::tempdir().unwrap();
    let gate = write(
        dir.path(),
        "gate.yml",
        "criteria:\n  - { metric: p95, max_increase: 10 }\n",
    );
    let blocked = write(dir.path(), "file", "");
    let out = run(offline()
        .args(["run", "blueprints/jmeter.yml", "--var", "bees=40", "--gate"])
        .arg(&gate)
        .arg("--junit")
        .arg(blocked.join("junit.xml"))
        .env("STAMPEDE_MAX_BEES", "20")
        .env("STAMPEDE_MAX_INSTANCE_HOURS", "5"));
    assert_eq!(out.code, 2, "{out:?}");
    for want in [
        "gate.yml:2: max_increase: `10` has no unit: write a percentage such as `10%`",
        "--junit: cannot write into",
        "limits: 40 bees is over the limit of 20",
        "limits: up to 23.3 instance-hours is over the limit of 5",
    ] {
        assert!(out.stderr.contains(want), "missing {want:?}: {out:?}");
    }
}

#[test]
fn json_output_ends_with_a_result_object_on_errors_too() {
    let out = run(offline().args([
        "run",
        "blueprints/jmeter.yml",
        "--output",
        "json",
        "--run-id",
        "bad id",
    ]));
    assert_eq!(out.code, 2, "{out:?}");
    let last: serde_json::Value =
        serde_json::from_str(out.stdout.lines().last().expect("a result line")).unwrap();
    assert_eq!(last["type"], "result", "{out:?}");
    assert_eq!(last["status"], "bad_input", "{out:?}");
    assert_eq!(last["exit_code"], 2, "{out:?}");
}

#[test]
fn dry_run_checks_aws_and_creates_nothing() {
    let Some(url) = localstack() else { return };
    seed(&url, &[]);
    let build = unique("dry").replace("dry-", "");
    let run_id = unique("dry");
    let out = run(against(&url)
        .args([
            "run",
            "blueprints/jmeter.yml",
            "--dry-run",
            "--var",
            "bees=3",
            "--run-id",
            &run_id,
        ])
        .env("STAMPEDE_BUCKET", BUCKET)
        .env("BUILD_NUMBER", &build)
        .current_dir(root()));
    assert_eq!(out.code, 0, "{out:?}");
    let stack = format!("stampede-jmeter-{build}");
    assert!(
        out.stdout.contains(&format!(
            "dry run: would create stack {stack} with 3 bee(s) of c6i.large, for at most 35m (the timeout): at most 1.8 instance-hours"
        )),
        "{out:?}"
    );
    assert!(out.stdout.contains("credentials: arn:aws:"), "{out:?}");
    assert_eq!(
        stack_status(&url, &stack),
        None,
        "a dry run created a stack"
    );
    // Nothing was uploaded either: the same run id still runs.
    let again = run(against(&url)
        .args([
            "run",
            "blueprints/jmeter.yml",
            "--dry-run",
            "--run-id",
            &run_id,
            "-vv",
        ])
        .env("AWS_SECRET_ACCESS_KEY", "sEcReT-never-in-logs-0123")
        .env("STAMPEDE_BUCKET", BUCKET)
        .env("BUILD_NUMBER", &build)
        .current_dir(root()));
    assert_eq!(again.code, 0, "{again:?}");
    // -v traces every AWS call with its outcome, and nothing secret.
    for call in [
        "STS.GetCallerIdentity: ok, HTTP 200",
        "S3.ListObjectsV2: ok, HTTP 200",
        "CloudFormation.DescribeStacks: attempt 1",
    ] {
        assert!(again.stderr.contains(call), "no `{call}` in {again:?}");
    }
    assert!(
        !again.stderr.contains("sEcReT-never-in-logs"),
        "the secret key reached the log"
    );
}

#[test]
fn a_reused_run_id_never_reads_an_earlier_runs_results() {
    let Some(url) = localstack() else { return };
    let run_id = unique("reused");
    // An earlier run's results, which once passed and became the baseline.
    seed(
        &url,
        &[(
            &format!("stampede/{run_id}/results/i-1.jtl.gz"),
            gzip(jtl(1, 100, &[], 1.0).as_bytes()),
        )],
    );
    let build = unique("r").replace("r-", "");
    let out = run(against(&url)
        .args(["run", "blueprints/jmeter.yml", "--run-id", &run_id])
        .env("STAMPEDE_BUCKET", BUCKET)
        .env("BUILD_NUMBER", &build)
        .current_dir(root()));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("already holds files of another run"),
        "{out:?}"
    );
    let stack = format!("stampede-jmeter-{build}");
    assert_eq!(stack_status(&url, &stack), None, "a stack was created");
}

#[test]
fn an_existing_stack_of_that_name_is_found_before_anything_is_uploaded() {
    let Some(url) = localstack() else { return };
    let build = unique("x").replace("x-", "");
    let first = unique("first");
    let bees = bees_upload(&url, &first, vec![]);
    let kept = run(against(&url)
        .args(["run", "blueprints/jmeter.yml", "--keep", "--run-id", &first])
        .env("STAMPEDE_BUCKET", BUCKET)
        .env("BUILD_NUMBER", &build)
        .current_dir(root()));
    bees.join().unwrap();
    let stack = format!("stampede-jmeter-{build}");
    assert!(stack_status(&url, &stack).is_some(), "{kept:?}");
    let out = run(against(&url)
        .args([
            "run",
            "blueprints/jmeter.yml",
            "--run-id",
            &unique("second"),
        ])
        .env("STAMPEDE_BUCKET", BUCKET)
        .env("BUILD_NUMBER", &build)
        .current_dir(root()));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains(&format!(
            "stack {stack} already exists (CREATE_COMPLETE): delete it with `stampede delete {stack}`"
        )),
        "{out:?}"
    );
    let deleted = run(against(&url).args(["delete", &stack]));
    assert_eq!(deleted.code, 0, "{deleted:?}");
}

#[test]
fn a_panic_after_create_stack_still_deletes_the_stack_and_exits_4() {
    let Some(url) = localstack() else { return };
    let build = unique("p").replace("p-", "");
    let run_id = unique("panic");
    seed(&url, &[]);
    let out = run(against(&url)
        .args([
            "run",
            "blueprints/jmeter.yml",
            "--run-id",
            &run_id,
            "--output",
            "plain",
        ])
        .env("STAMPEDE_BUCKET", BUCKET)
        .env("BUILD_NUMBER", &build)
        .env("STAMPEDE_FAULT", "after-create")
        .current_dir(root()));
    assert_eq!(out.code, 4, "{out:?}");
    assert!(out.stderr.contains("injected fault"), "{out:?}");
    assert!(out.stdout.contains("== deleted"), "{out:?}");
    let stack = format!("stampede-jmeter-{build}");
    assert_eq!(
        stack_status(&url, &stack),
        None,
        "the stack was left behind"
    );
}

#[test]
fn a_run_in_which_every_sample_failed_does_not_pass_without_a_gate() {
    let Some(url) = localstack() else { return };
    let run_id = unique("allfail");
    let failed = jtl(3, 200, &[], 1.0).replace(",true,", ",false,");
    let bees = bees_upload(
        &url,
        &run_id,
        vec![(
            format!("stampede/{run_id}/results/i-1.jtl.gz"),
            gzip(failed.as_bytes()),
        )],
    );
    let report = tempfile::tempdir().unwrap();
    let out = run(against(&url)
        .args([
            "run",
            "blueprints/jmeter.yml",
            "--output",
            "plain",
            "--run-id",
            &run_id,
        ])
        .arg("--report")
        .arg(report.path())
        .env("STAMPEDE_BUCKET", BUCKET)
        .env("BUILD_NUMBER", unique("f").replace("f-", ""))
        .current_dir(root()));
    bees.join().unwrap();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout
            .contains("the built-in gate fails a run in which most samples failed"),
        "{out:?}"
    );
    assert!(
        out.stdout.contains("of the") && out.stdout.contains("samples failed"),
        "{out:?}"
    );
    assert!(out.stdout.contains("gate: FAIL"), "{out:?}");
}

#[test]
fn a_test_command_past_its_time_limit_is_killed_not_waited_for() {
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    let started = std::time::Instant::now();
    let waited = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_within(&mut child, Duration::from_millis(300))
    }));
    let message = *waited.unwrap_err().downcast::<String>().unwrap();
    assert!(
        message.contains("ran past the test time limit"),
        "{message}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        child.try_wait().unwrap().is_some(),
        "the command still runs"
    );
}

#[test]
fn services_never_adopt_a_process_they_did_not_start() {
    if !root().join(".services/moto-venv").is_dir() {
        assert!(
            std::env::var_os("STAMPEDE_REQUIRE_SERVICES").is_none(),
            "ci/services.sh has not installed moto"
        );
        eprintln!("SKIP: ci/services.sh has not installed moto here");
        return;
    }
    // Something else that answers HTTP on the port moto is asked to use.
    let squatter = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = squatter.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in squatter.incoming().flatten() {
            use std::io::Write;
            let mut conn = conn;
            let _ = conn.write_all(b"HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n");
        }
    });
    let services = |adopt: &str| {
        run(Command::new(root().join("ci/services.sh"))
            .args(["up", "moto"])
            .env("STAMPEDE_MOTO_PORT", port.to_string())
            .env("STAMPEDE_SERVICES_ADOPT", adopt))
    };
    let out = services("0");
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains(&format!(
            "moto: port {port} is taken by a process this script did not start"
        )) && out.stderr.contains("STAMPEDE_MOTO_PORT"),
        "{out:?}"
    );
    // Asked for, it is used, and said so.
    let out = services("1");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .contains(&format!("STAMPEDE_MOTO_URL=http://127.0.0.1:{port}")),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("WARNING: moto: using the process"),
        "{out:?}"
    );
}
