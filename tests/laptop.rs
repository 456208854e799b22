//! Laptop mode's trust: it deletes only what it wrote, names a busy port,
//! and a Ctrl-C still leaves a summary of what the bees measured.

use std::time::{Duration, Instant};

use crate::lifecycle::{BUCKET, seed};
use crate::support::*;

/// A JMETER_HOME whose launcher is never reached: the checks under test
/// stop the run before JMeter would start.
fn fake_jmeter(dir: &std::path::Path) -> std::path::PathBuf {
    write(dir, "jmeter/bin/jmeter", "#!/bin/sh\nexit 1\n");
    dir.join("jmeter")
}

#[test]
fn a_busy_port_exits_3_naming_the_port_and_the_way_out() {
    let dir = tempfile::tempdir().unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let out = run(stampede()
        .args(["run", "blueprints/local-quickstart.yml", "--var"])
        .arg(format!("port={port}"))
        .arg("--report")
        .arg(dir.path().join("r"))
        .env("JMETER_HOME", fake_jmeter(dir.path()))
        .current_dir(root()));
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stderr
            .contains(&format!("local.serve: cannot listen on port {port}"))
            && out.stderr.contains("or 0 for any free one"),
        "{out:?}"
    );
}

#[test]
fn files_stampede_did_not_write_are_never_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r");
    let mine = write(&report, "results/notes.jtl.gz", "someone else's");
    let out = run(stampede()
        .args(["run", "blueprints/local-quickstart.yml", "--var", "port=0"])
        .arg("--report")
        .arg(&report)
        .env("JMETER_HOME", fake_jmeter(dir.path()))
        .current_dir(root()));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("holds notes.jtl.gz, which stampede did not write"),
        "{out:?}"
    );
    assert_eq!(std::fs::read_to_string(mine).unwrap(), "someone else's");
}

#[test]
fn a_failed_run_leaves_no_stale_summary_behind() {
    let Some(url) = localstack() else { return };
    seed(&url, &[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("templates/failing.yaml"), dir.path().join("t.yaml")).unwrap();
    let stack = unique("it-stale");
    let bp = write(
        dir.path(),
        "bp.yml",
        &format!("stack: {stack}\nbucket: {BUCKET}\ntemplate: t.yaml\n"),
    );
    let report = dir.path().join("report");
    let stale = write(&report, "summary.json", "{\"an earlier run\": true}");
    let out = run(against(&url)
        .args(["run", "--output", "plain", "--report"])
        .arg(&report)
        .arg(&bp));
    assert_eq!(out.code, 3, "{out:?}");
    // The failed run writes its own summary (phases and stack events, no
    // samples) or none: never the earlier run's.
    if let Ok(text) = std::fs::read_to_string(&stale) {
        assert!(
            !text.contains("an earlier run"),
            "stale summary.json: {text}"
        );
        assert!(text.contains(&stack), "not this run's summary: {text}");
    }
}

#[test]
fn ctrl_c_in_laptop_mode_still_summarises_what_the_bees_measured() {
    let Some(jmeter) = jmeter_home() else { return };
    let report = tempfile::tempdir().unwrap();
    // Its own process group, like a shell's foreground job, so the SIGINT
    // below reaches the group as a terminal's Ctrl-C does.
    let mut cmd = stampede();
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = cmd
        .args([
            "run",
            "blueprints/local-quickstart.yml",
            "--output",
            "plain",
            "--var",
            "duration=120",
            "--var",
            "bees=1",
            "--var",
            "port=0",
            "--report",
        ])
        .arg(report.path())
        .env_remove("STAMPEDE_ES_URL")
        .env("JMETER_HOME", &jmeter)
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let jtl = report.path().join("bees/bee-1/bee-1.jtl");
    let deadline = Instant::now() + Duration::from_secs(90);
    while !jtl.exists() || jtl_rows(&jtl) < 50 {
        assert!(Instant::now() < deadline, "the bee never wrote samples");
        std::thread::sleep(Duration::from_millis(200));
    }
    let pgid = nix::unistd::Pid::from_raw(-(child.id() as i32));
    nix::sys::signal::kill(pgid, nix::sys::signal::Signal::SIGINT).unwrap();
    let out = finish(child);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("interrupted: the bees were stopped"),
        "{stdout}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.path().join("summary.json")).unwrap())
            .unwrap();
    assert!(
        summary["total"]["count"].as_u64().unwrap() >= 50,
        "{summary}"
    );
}

/// A stale STAMPEDE_ES_URL (nothing listens there) is one warning: the
/// run goes on without shipping and summarises the JTLs. (It used to
/// retry until the run's 10-minute timeout, and end without a summary.)
#[test]
fn an_unreachable_search_cluster_is_one_warning_and_the_run_summarises() {
    let Some(jmeter) = jmeter_home() else { return };
    let report = tempfile::tempdir().unwrap();
    let child = stampede()
        .args([
            "run",
            "blueprints/local-quickstart.yml",
            "--output",
            "plain",
            "--var",
            "duration=4",
            "--var",
            "bees=1",
            "--var",
            "port=0",
            "--report",
        ])
        .arg(report.path())
        .env("STAMPEDE_ES_URL", "http://127.0.0.1:9")
        .env("JMETER_HOME", &jmeter)
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (out, took) = crate::shipping::wait_within(child, Duration::from_secs(150));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{took:?}\n{stdout}\n{stderr}");
    let warnings: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("warning:"))
        // This machine may be too busy for its bee: that is said too.
        .filter(|l| !l.contains("may reflect the load generators"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stdout}");
    assert!(
        warnings[0].contains("unreachable") && warnings[0].contains("without shipping"),
        "{stdout}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.path().join("summary.json")).unwrap())
            .unwrap();
    let jtl = report.path().join("results/bee-1.jtl.gz");
    assert_eq!(summary["total"]["count"].as_u64(), Some(jtl_rows(&jtl)));
    assert!(jtl_rows(&jtl) > 10, "{summary}");
}

/// A bee whose index is full (every row refused with 429) gives up after
/// the blueprint's `metrics.give_up_after`, finishes, and the run says how
/// many rows were not shipped and why; the summary still comes from the
/// JTL and the run passes. (The bee used to retry forever.)
#[test]
fn a_bee_against_a_full_index_finishes_and_the_run_reports_the_loss() {
    let (Some(es), Some(jmeter)) = (opensearch(), jmeter_home()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("testcases/quickstart.jmx"),
        dir.path().join("q.jmx"),
    )
    .unwrap();
    let index = "stampede-full-laptop";
    // A full disk refuses every index on the node: the rollups' too.
    let rollups = format!("{index}-rollup");
    crate::shipping::blocked_index(&es, index, "read_only_allow_delete");
    crate::shipping::blocked_index(&es, &rollups, "read_only_allow_delete");
    let bp = write(
        dir.path(),
        "full.yml",
        &format!(
            "stack: full\ntarget: local\nlocal: {{ bees: 1, serve: 0 }}\ntestcase: q.jmx\ntimeout: 10m\nproperties: {{ threads: 2, duration: 4, think_ms: 50 }}\nmetrics:\n  es: {es}\n  index: {index}\n  give_up_after: 3s\n  rows: all\n"
        ),
    );
    let report = dir.path().join("report");
    let child = stampede()
        .args(["run", "--output", "plain", "--report"])
        .arg(&report)
        .arg(&bp)
        .env("JMETER_HOME", &jmeter)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (out, took) = crate::shipping::wait_within(child, Duration::from_secs(180));
    crate::shipping::unblock(&es, index);
    crate::shipping::unblock(&es, &rollups);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{took:?}\n{stdout}\n{stderr}");
    let rows = jtl_rows(&report.join("results/bee-1.jtl.gz"));
    assert!(rows > 10, "{stdout}");
    let loss = stdout
        .lines()
        .find(|l| l.starts_with("warning: bee-1: "))
        .unwrap_or_else(|| panic!("no loss reported: {stdout}"));
    assert!(
        loss.contains(&format!("{rows} of {rows} rows and "))
            && loss.contains("rollup documents not shipped")
            && loss.contains("disk usage exceeded flood-stage watermark"),
        "{loss}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["total"]["count"].as_u64(), Some(rows));
}

#[test]
fn a_bee_whose_jmeter_fails_says_why_in_jmeters_words_and_leaves_its_log() {
    let Some(jmeter) = jmeter_home() else { return };
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "broken.jmx",
        "<jmeterTestPlan version=\"1.2\"><hashTree><NoSuchElement/></hashTree></jmeterTestPlan>\n",
    );
    let bp = write(
        dir.path(),
        "bp.yml",
        "stack: broken\ntarget: local\nlocal: { bees: 1 }\ntestcase: broken.jmx\ntimeout: 5m\n",
    );
    let report = dir.path().join("r");
    let out = run(stampede()
        .args(["run", "--output", "plain", "--report"])
        .arg(&report)
        .arg(&bp)
        .env("JMETER_HOME", &jmeter)
        .env_remove("STAMPEDE_ES_URL"));
    assert_ne!(out.code, 0, "{out:?}");
    // The reason carries JMeter's own first error, not only "see jmeter.log".
    assert!(
        out.stdout
            .contains("JMeter exited with 1: Error in NonGUIDriver")
            || out
                .stderr
                .contains("JMeter exited with 1: Error in NonGUIDriver"),
        "{out:?}"
    );
    let logs: Vec<_> = std::fs::read_dir(report.join("results"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .collect();
    assert_eq!(logs.len(), 1, "one bee log beside the results");
    let log = std::fs::read_to_string(logs[0].path()).unwrap();
    assert!(log.contains("--- jmeter.log (last lines)"), "{log}");
    assert!(log.contains("starting JMeter"), "{log}");
}

#[test]
fn the_search_clusters_password_is_in_no_file_a_run_leaves() {
    let Some(jmeter) = jmeter_home() else { return };
    let Some(es) = opensearch() else { return };
    let report = tempfile::tempdir().unwrap();
    // The test node has no security plugin: it ignores the credentials,
    // which still travel through every config and log a run writes.
    let with_password = es.replacen("://", "://elastic:pAsSw0rd-never-kept@", 1);
    let out = run(stampede()
        .args([
            "run",
            "blueprints/local-quickstart.yml",
            "--output",
            "plain",
            "-v",
        ])
        .args(["--var", "port=0", "--var", "duration=3", "--var", "bees=1"])
        .arg("--report")
        .arg(report.path())
        .env("JMETER_HOME", &jmeter)
        .env("STAMPEDE_ES_URL", &with_password)
        .current_dir(root()));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!format!("{out:?}").contains("pAsSw0rd"), "{out:?}");
    let mut stack = vec![report.path().to_path_buf()];
    let mut files = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            files += 1;
            let body = std::fs::read(&path).unwrap();
            let text = if path.extension().is_some_and(|e| e == "gz") {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut s)
                    .unwrap();
                s
            } else {
                String::from_utf8_lossy(&body).into_owned()
            };
            assert!(
                !text.contains("pAsSw0rd"),
                "{} holds the password",
                path.display()
            );
        }
    }
    assert!(files > 5, "the run left its files: {files}");
}
