//! bee.sh end to end: everything real but the named fakes (see the parent
//! module). The script runs as root in a private mount namespace, so its
//! writes to /opt, /var/log, /var/lib, /run and /usr/local/bin land in the
//! test's folder and the host's stay untouched.

use std::os::unix::process::CommandExt;

use sha2::{Digest, Sha256};

use super::*;

/// Binds the test's folders over the paths the script writes, then runs it.
const WRAPPER: &str = r#"#!/bin/bash
set -eu
T=$1
for d in opt log bin run lib; do mkdir -p "$T/root/$d"; done
mount --bind "$T/root/opt" /opt
mount --bind "$T/root/log" /var/log
mount --bind "$T/root/bin" /usr/local/bin
mount --bind "$T/root/run" /run
mount --bind "$T/root/lib" /var/lib
exec /bin/bash "$T/bee.sh"
"#;

/// Whether this machine lets the test make a private mount namespace.
fn can_unshare() -> bool {
    Command::new("unshare")
        .args(["--mount", "true"])
        .status()
        .is_ok_and(|s| s.success())
}

/// The debug test binary without its debug info, as a run would ship it.
fn stripped_stampede(dir: &Path) -> (PathBuf, Vec<u8>) {
    let path = dir.join("stampede");
    let status = Command::new("strip")
        .args(["--strip-debug", "-o"])
        .arg(&path)
        .arg(env!("CARGO_BIN_EXE_stampede"))
        .status()
        .unwrap();
    assert!(status.success(), "strip (binutils) is needed");
    let bytes = std::fs::read(&path).unwrap();
    (path, bytes)
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Runs the wrapper, handing each line of the script's output to
/// `on_line` as it comes. Returns the exit status and the output. Killed
/// (the whole process group) after 300 s.
fn run_script(
    t: &Path,
    env: &[(&str, String)],
    mut on_line: impl FnMut(&str),
) -> (bool, Vec<String>) {
    std::fs::write(t.join("wrapper.sh"), WRAPPER).unwrap();
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private", "/bin/bash"])
        .arg(t.join("wrapper.sh"))
        .arg(t)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_PROFILE")
        .env_remove("JMETER_HOME")
        .env("AWS_SHARED_CREDENTIALS_FILE", t.join("no-credentials"))
        .env("AWS_CONFIG_FILE", t.join("no-config"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let pgid = child.id();
    let (finished, wait) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        // Only while the script's process group is still ours.
        if wait.recv_timeout(Duration::from_secs(300)).is_err() {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{pgid}")])
                .status();
        }
    });
    let mut lines = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap_or_default();
        on_line(&line);
        lines.push(line);
    }
    let ok = child.wait().unwrap().success();
    let _ = finished.send(());
    watchdog.join().unwrap();
    (ok, lines)
}

/// One bee's world: its script rendered for a shipped binary, the run's
/// files in LocalStack, JMeter's tarball on a local server, the metadata
/// mock, and the fakes.
struct Bee {
    dir: tempfile::TempDir,
    url: String,
    run_id: String,
    sha: String,
    handles: crate::lifecycle::Handles,
    stack: String,
    mock: MetadataMock,
}

impl Bee {
    /// Everything ready to run; `stored` is what S3 holds at the binary's
    /// key (`None`: the binary the script was rendered for).
    fn new(url: &str, jmeter: &str, mock_bin: &str, nonce: &str, stored: Option<Vec<u8>>) -> Bee {
        Bee::with(url, jmeter, (mock_bin, false), nonce, stored, 5)
    }

    /// [`Bee::new`] with the mock's Spot notice and the test's duration.
    fn with(
        url: &str,
        jmeter: &str,
        (mock_bin, spot_notice): (&str, bool),
        nonce: &str,
        stored: Option<Vec<u8>>,
        duration_s: u32,
    ) -> Bee {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path();
        let run_id = unique("ud-run");
        let (bin, mut bytes) = stripped_stampede(t);
        // A nonce after the ELF's end changes its hash, not its meaning:
        // each test gets a key of its own.
        bytes.extend_from_slice(nonce.as_bytes());
        std::fs::write(&bin, &bytes).unwrap();
        let sha = hex(&bytes);
        let script = rendered_script(&run_id, Some(&bin));
        assert!(script.contains(&format!("BEE_SHA256='{sha}'")), "{script}");
        let target = http_target();
        let stored = stored.unwrap_or(bytes);
        seed_run(url, &run_id, (&sha, stored), &target, duration_s);
        // The handles come from one stack; the stack the bee waits on is
        // made only once the script is past its late-bee check, because
        // LocalStack completes a wait condition at once and the script
        // would take itself for a replacement.
        let handles = wait_condition_stack(url, &unique("ud-handles"));
        let stack = unique("ud-bee");
        let served = t.join("www");
        std::fs::create_dir_all(&served).unwrap();
        jmeter_tarball(jmeter, &served);
        let jmeter_url = format!("{}/jmeter.tgz", file_server(served));
        let mut values = sample_values(&handles.ready, &handles.done, &stack);
        values.push(("TargetUrl", &target));
        values.push(("JMeterUrl", &jmeter_url));
        std::fs::write(t.join("bee.sh"), fn_sub(&script, &values)).unwrap();
        fakes(&t.join("fakes"), &t.join("fakes.log"));
        Bee {
            url: url.to_string(),
            run_id,
            sha,
            handles,
            stack,
            mock: metadata_mock(mock_bin, spot_notice),
            dir,
        }
    }

    /// Runs the script, handing each output line to `watch` too; returns
    /// whether it succeeded and its log. Once the script says it installs
    /// Java, it is past its late-bee check: the stack it waits on is made.
    fn run(&self, mut watch: impl FnMut(&str)) -> (bool, String) {
        let t = self.dir.path();
        // The AWS CLI from ci/awscli.sh when it is not on PATH already.
        let cli_dir = std::env::var("STAMPEDE_AWS_CLI")
            .ok()
            .and_then(|p| Path::new(&p).parent().map(|d| format!("{}:", d.display())))
            .unwrap_or_default();
        let path = format!(
            "{}:{cli_dir}{}",
            t.join("fakes").display(),
            std::env::var("PATH").unwrap()
        );
        let env = [
            ("PATH", path),
            ("AWS_ENDPOINT_URL", self.url.clone()),
            (
                "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                self.mock.endpoint.clone(),
            ),
        ];
        let (ok, out) = run_script(t, &env, |line| {
            if line.contains("installing Java") {
                wait_condition_stack(&self.url, &self.stack);
            }
            watch(line);
        });
        let log = std::fs::read_to_string(t.join("root/log/stampede-bee.log")).unwrap_or_default();
        (ok, format!("{log}\n--- stdout\n{}", out.join("\n")))
    }

    /// What the named fakes were called with, in order.
    fn fake_calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("fakes.log"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }
}

/// The run's files in LocalStack: the binary at the key of `sha` (holding
/// `stored`), the bee config and the testcase.
fn seed_run(
    url: &str,
    run_id: &str,
    (sha, stored): (&str, Vec<u8>),
    target: &str,
    duration_s: u32,
) {
    let config = serde_json::json!({
        "run_id": run_id,
        "testcase": format!("s3://{BUCKET}/stampede/{run_id}/testcase/quickstart.jmx"),
        "results": format!("s3://{BUCKET}/stampede/{run_id}/results"),
        "properties": {"threads": "2", "duration": duration_s.to_string(), "target": target},
        "coordinator": {"kind": "cloudformation"}
    });
    let testcase = std::fs::read(root().join("testcases/quickstart.jmx")).unwrap();
    seed(
        url,
        &[
            (&format!("stampede/_bin/sha256-{sha}/stampede"), stored),
            (
                &format!("stampede/{run_id}/bee.json"),
                config.to_string().into_bytes(),
            ),
            (
                &format!("stampede/{run_id}/testcase/quickstart.jmx"),
                testcase,
            ),
        ],
    );
}

const SYSCTL: &str =
    "sysctl -q -w net.ipv4.ip_local_port_range=10240 65000 net.ipv4.tcp_tw_reuse=1";
const DNF: &str = "dnf install -y -q java-17-amazon-corretto-headless";

/// The services and tools, or `None` when a test must skip.
fn world() -> Option<(String, String, String)> {
    let (Some(url), Some(jmeter)) = (localstack(), jmeter_home()) else {
        return None;
    };
    let mock = tool("STAMPEDE_METADATA_MOCK", "ci/metadata-mock.sh")?;
    assert!(can_unshare(), "the test needs root and `unshare --mount`");
    Some((url, jmeter, mock))
}

#[test]
fn the_bee_script_runs_end_to_end_against_the_metadata_mock() {
    let Some((url, jmeter, mock)) = world() else {
        return;
    };
    let bee = Bee::new(&url, &jmeter, &mock, "ok", None);
    let (ok, log) = bee.run(|_| {});
    assert!(ok, "bee.sh failed:\n{log}");
    // The values it read: the instance id from the metadata service.
    let id = &bee.mock.instance_id;
    assert!(log.contains(&format!("instance id {id}")), "{log}");
    assert!(log.contains("JMeter checksum ok"), "{log}");
    assert!(log.contains("stampede agent checksum ok"), "{log}");
    assert!(log.contains("agent exited with status 0"), "{log}");
    // Its download: the agent it ran is the binary the run shipped.
    let agent = std::fs::read(bee.dir.path().join("root/bin/stampede")).unwrap();
    assert_eq!(hex(&agent), bee.sha);
    // The fakes: the kernel tuning, the package installation and the
    // shutdown path, in that order.
    assert_eq!(bee.fake_calls(), [SYSCTL, DNF, "shutdown -h now"], "{log}");
    // Its signals and its upload: Done from this instance, and its JTL.
    let done = read_signal(&url, &bee.handles.done);
    assert_eq!(done["Status"], "SUCCESS", "{done}");
    assert_eq!(done["UniqueId"], id.as_str(), "{done}");
    let jtl = bee.dir.path().join("result.jtl.gz");
    let key = format!("stampede/{}/results/{id}.jtl.gz", bee.run_id);
    download(&url, &key, &jtl);
    assert!(jtl_rows(&jtl) > 5, "JMeter ran on the bee");
}

/// S3 holds another binary than the one the run shipped: the bee refuses
/// to run it, signals FAILURE to Ready with both hashes, and does not shut
/// down (the failed stack rolls back and removes it).
#[test]
fn a_bee_binary_that_is_not_the_shipped_one_is_refused_with_a_failure_signal() {
    let Some((url, jmeter, mock)) = world() else {
        return;
    };
    let bee = Bee::new(
        &url,
        &jmeter,
        &mock,
        "shipped",
        Some(b"\x7fELF not it".to_vec()),
    );
    let (ok, log) = bee.run(|_| {});
    assert!(!ok, "bee.sh ran another binary:\n{log}");
    assert_eq!(bee.fake_calls(), [SYSCTL, DNF], "{log}");
    let ready = read_signal(&url, &bee.handles.ready);
    assert_eq!(ready["Status"], "FAILURE", "{ready}");
    assert_eq!(ready["UniqueId"], bee.mock.instance_id.as_str(), "{ready}");
    let reason = ready["Reason"].as_str().unwrap();
    assert!(reason.contains("failed during setup"), "{reason}");
    assert!(
        reason.contains(&format!("the run shipped {}", bee.sha)),
        "{reason}"
    );
    assert!(!log.contains("running: stampede bee"), "{log}");
}

/// EC2 posts a Spot interruption notice during the test: the bee fails
/// Done with it at once (the run names the interruption, not a lost bee).
#[test]
fn a_spot_interruption_notice_fails_done_with_the_notice() {
    let Some((url, jmeter, mock)) = world() else {
        return;
    };
    let bee = Bee::with(&url, &jmeter, (&mock, true), "spot", None, 20);
    let mut signal = None;
    // LocalStack gives both handles one object, which the agent's own
    // Done overwrites at the end: read the signal when the script says
    // it sent it.
    let (_, log) = bee.run(|line| {
        if line.contains("EC2 Spot interruption notice") && signal.is_none() {
            signal = Some(read_signal(&url, &bee.handles.done));
        }
    });
    let done = signal.unwrap_or_else(|| panic!("no interruption signal:\n{log}"));
    assert_eq!(done["Status"], "FAILURE", "{done}");
    assert_eq!(done["UniqueId"], bee.mock.instance_id.as_str(), "{done}");
    let reason = done["Reason"].as_str().unwrap();
    assert!(
        reason.contains("got an EC2 Spot interruption notice"),
        "{reason}"
    );
    assert!(reason.contains("action: terminate"), "{reason}");
}
