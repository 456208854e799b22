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

/// Runs the wrapper; when the script says it installs Java (it has passed
/// its late-bee check), `at_install` runs. Returns the exit status and
/// the script's output. Killed (the whole process group) after 300 s.
fn run_script(t: &Path, env: &[(&str, String)], at_install: impl FnOnce()) -> (bool, Vec<String>) {
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
    let mut at_install = Some(at_install);
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap_or_default();
        if line.contains("installing Java")
            && let Some(f) = at_install.take()
        {
            f();
        }
        lines.push(line);
    }
    let ok = child.wait().unwrap().success();
    let _ = finished.send(());
    watchdog.join().unwrap();
    (ok, lines)
}

#[test]
fn the_bee_script_runs_end_to_end_against_the_metadata_mock() {
    let (Some(url), Some(jmeter)) = (localstack(), jmeter_home()) else {
        return;
    };
    let Some(mock_bin) = tool("STAMPEDE_METADATA_MOCK", "ci/metadata-mock.sh") else {
        return;
    };
    assert!(can_unshare(), "the test needs root and `unshare --mount`");
    let t = tempfile::tempdir().unwrap();
    let t = t.path();
    let run_id = unique("ud-run");
    let (bin, bytes) = stripped_stampede(t);
    let sha = hex(&bytes);
    let script = rendered_script(&run_id, Some(&bin));
    assert!(script.contains(&format!("BEE_SHA256='{sha}'")), "{script}");
    let target = http_target();
    let config = serde_json::json!({
        "run_id": run_id,
        "testcase": format!("s3://{BUCKET}/stampede/{run_id}/testcase/quickstart.jmx"),
        "results": format!("s3://{BUCKET}/stampede/{run_id}/results"),
        "properties": {"threads": "2", "duration": "5", "target": target},
        "coordinator": {"kind": "cloudformation"}
    });
    seed(
        &url,
        &[
            (&format!("stampede/_bin/sha256-{sha}/stampede"), bytes),
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
    // The handles come from one stack; the stack the bee waits on is made
    // only once the script is past its late-bee check, because LocalStack
    // completes a wait condition at once and the script would take itself
    // for a replacement.
    let handles = wait_condition_stack(&url, &unique("ud-handles"));
    let stack = unique("ud-bee");
    let served = t.join("www");
    std::fs::create_dir_all(&served).unwrap();
    jmeter_tarball(&jmeter, &served);
    let www = file_server(served);
    let jmeter_url = format!("{www}/jmeter.tgz");
    let mut values = sample_values(&handles.ready, &handles.done, &stack);
    values.push(("TargetUrl", &target));
    values.push(("JMeterUrl", &jmeter_url));
    std::fs::write(t.join("bee.sh"), fn_sub(&script, &values)).unwrap();
    let calls = t.join("fakes.log");
    fakes(&t.join("fakes"), &calls);
    let mock = metadata_mock(&mock_bin);
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
        ("AWS_ENDPOINT_URL", url.clone()),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", mock.endpoint.clone()),
    ];
    let (ok, out) = run_script(t, &env, || {
        wait_condition_stack(&url, &stack);
    });
    let log = std::fs::read_to_string(t.join("root/log/stampede-bee.log")).unwrap_or_default();
    assert!(ok, "bee.sh failed:\n{}\n--- log\n{log}", out.join("\n"));

    // The values it read: the instance id from the metadata service.
    let id = &mock.instance_id;
    assert!(log.contains(&format!("instance id {id}")), "{log}");
    assert!(log.contains("JMeter checksum ok"), "{log}");
    assert!(log.contains("stampede agent checksum ok"), "{log}");
    assert!(log.contains("agent exited with status 0"), "{log}");
    // Its downloads: the agent it ran is the binary the run shipped.
    let agent = std::fs::read(t.join("root/bin/stampede")).unwrap();
    assert_eq!(hex(&agent), sha);
    // The fakes: the package installation, the kernel tuning and the
    // shutdown path, in that order.
    let calls = std::fs::read_to_string(&calls).unwrap();
    let order: Vec<&str> = calls.lines().collect();
    assert_eq!(
        order,
        [
            "sysctl -q -w net.ipv4.ip_local_port_range=10240 65000 net.ipv4.tcp_tw_reuse=1",
            "dnf install -y -q java-17-amazon-corretto-headless",
            "shutdown -h now",
        ],
        "{log}"
    );
    // Its signals and its upload: Done from this instance, and its JTL.
    let done = read_signal(&url, &handles.done);
    assert_eq!(done["Status"], "SUCCESS", "{done}");
    assert_eq!(done["UniqueId"], id.as_str(), "{done}");
    let jtl = t.join("result.jtl.gz");
    download(
        &url,
        &format!("stampede/{run_id}/results/{id}.jtl.gz"),
        &jtl,
    );
    assert!(jtl_rows(&jtl) > 5, "JMeter ran on the bee");
}
