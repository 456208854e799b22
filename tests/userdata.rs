//! The bee's own script, templates/userdata/bee.sh, rendered as a run
//! renders it and substituted as CloudFormation's Fn::Sub would: shellcheck
//! finds nothing in it, and it runs end to end on this machine against
//! amazon-ec2-metadata-mock (the instance metadata service), LocalStack
//! (S3 and CloudFormation) and real JMeter.
//!
//! FAKES, named as such, for what must not happen on a test machine:
//! `dnf` (the package installation), `sysctl` (it would retune the shared
//! host's kernel) and `shutdown` (it would power the host off). Each one
//! records its arguments, and the test checks that the script called it.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::lifecycle::{BUCKET, download, read_signal, seed, wait_condition_stack};
use crate::support::*;

/// A tool a ci/ script installs: its path from `var`, or `None` (and a
/// note) when not set; under STAMPEDE_REQUIRE_SERVICES a missing tool fails.
fn tool(var: &str, script: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            assert!(
                std::env::var("STAMPEDE_REQUIRE_SERVICES").is_err(),
                "{var} is not set: run `export {var}=$({script})` first"
            );
            eprintln!("skipped: {var} is not set (export {var}=$({script}))");
            None
        }
    }
}

/// The shipped blueprint's bee script as `render` writes it.
fn rendered_script(run_id: &str, bee_binary: Option<&Path>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = stampede();
    cmd.args([
        "render",
        "blueprints/jmeter.yml",
        "--run-id",
        run_id,
        "--out",
    ])
    .arg(dir.path())
    .env("STAMPEDE_BUCKET", BUCKET)
    .current_dir(root());
    if let Some(b) = bee_binary {
        cmd.arg("--bee-binary").arg(b);
    }
    let out = run(&mut cmd);
    assert_eq!(out.code, 0, "{out:?}");
    std::fs::read_to_string(dir.path().join("userdata/Bee.sh")).unwrap()
}

/// What CloudFormation's Fn::Sub does to the script: every dollar-brace
/// name replaced by its value; none may be left.
fn fn_sub(script: &str, values: &[(&str, &str)]) -> String {
    let mut out = script.to_string();
    for (name, value) in values {
        out = out.replace(&format!("${{{name}}}"), value);
    }
    assert!(!out.contains("${"), "a name Fn::Sub would not know:\n{out}");
    out
}

fn sample_values<'a>(ready: &'a str, done: &'a str, stack: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("ReadyHandle", ready),
        ("DoneHandle", done),
        ("AWS::StackName", stack),
        ("AWS::Region", "us-east-1"),
        ("BeeCount", "1"),
        ("ThreadsPerBee", "2"),
        ("TestDuration", "5"),
    ]
}

#[test]
fn the_rendered_bee_script_passes_shellcheck() {
    let Some(shellcheck) = tool("STAMPEDE_SHELLCHECK", "ci/shellcheck.sh") else {
        return;
    };
    let script = rendered_script("sc-run", None);
    let mut values = sample_values("https://h/ready?x=1", "https://h/done?x=1", "s");
    values.push(("TargetUrl", "https://shop.example.com"));
    values.push(("JMeterUrl", "https://example.com/apache-jmeter-5.6.3.tgz"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bee.sh");
    std::fs::write(&path, fn_sub(&script, &values)).unwrap();
    let out = Command::new(&shellcheck)
        .args(["--shell=bash", "--severity=style"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "shellcheck on the rendered bee.sh:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Serves the files of `dir` over HTTP/1.0 on a free port until the
/// process ends.
fn file_server(dir: PathBuf) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            let mut line = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let name = line.split_whitespace().nth(1).unwrap_or("/");
            let file = dir.join(name.trim_start_matches('/'));
            let _ = match std::fs::read(&file) {
                Ok(body) if !name.contains("..") => {
                    let head = format!("HTTP/1.0 200 OK\r\ncontent-length: {}\r\n\r\n", body.len());
                    stream
                        .write_all(head.as_bytes())
                        .and_then(|()| stream.write_all(&body))
                }
                _ => stream.write_all(b"HTTP/1.0 404 Not Found\r\ncontent-length: 0\r\n\r\n"),
            };
        }
    });
    format!("http://{addr}")
}

/// JMeter's home as the release tarball Apache publishes (one top folder)
/// beside its `.sha512`.
fn jmeter_tarball(jmeter_home: &str, dir: &Path) {
    let home = Path::new(jmeter_home);
    let status = Command::new("tar")
        .arg("-C")
        .arg(home.parent().unwrap())
        .args(["-czf"])
        .arg(dir.join("jmeter.tgz"))
        .arg(home.file_name().unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    let out = Command::new("sha512sum")
        .arg(dir.join("jmeter.tgz"))
        .output()
        .unwrap();
    let hex = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    std::fs::write(
        dir.join("jmeter.tgz.sha512"),
        format!("{hex}  jmeter.tgz\n"),
    )
    .unwrap();
}

/// amazon-ec2-metadata-mock on a free port; returns its endpoint and the
/// instance id it serves.
struct MetadataMock {
    child: std::process::Child,
    endpoint: String,
    instance_id: String,
}

impl Drop for MetadataMock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `spot_notice`: whether a Spot interruption notice is posted from the
/// start (else an hour later, after the test).
fn metadata_mock(bin: &str, spot_notice: bool) -> MetadataMock {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(bin)
        .args(["-n", "127.0.0.1", "-p", &port.to_string()])
        .args(["--mock-delay-sec", if spot_notice { "0" } else { "3600" }])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let endpoint = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let instance_id = loop {
        let got = Command::new("curl")
            .args(["-fsS", "--max-time", "2"])
            .arg(format!("{endpoint}/latest/meta-data/instance-id"))
            .output()
            .unwrap();
        if got.status.success() {
            break String::from_utf8(got.stdout).unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "the metadata mock did not answer"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    MetadataMock {
        child,
        endpoint,
        instance_id,
    }
}

/// The named fakes, each recording its arguments in `log`.
fn fakes(dir: &Path, log: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for name in ["dnf", "sysctl", "shutdown"] {
        let path = dir.join(name);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\n# FAKE {name} for the bee.sh test: records, changes nothing.\necho \"{name} $*\" >> '{}'\n",
                log.display()
            ),
        )
        .unwrap();
        let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
        std::fs::set_permissions(&path, mode).unwrap();
    }
}

#[path = "userdata_e2e.rs"]
mod e2e;
