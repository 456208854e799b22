//! Runs JMeter in non-GUI mode under a hard timeout, passing SIGTERM on.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

/// How JMeter ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// Exited with this code.
    Exited(i32),
    /// Ran past the hard timeout and was stopped.
    TimedOut,
    /// Stopped because the bee was told to stop.
    Interrupted,
}

/// After SIGTERM, how long JMeter gets to flush its JTL before SIGKILL.
const GRACE: Duration = Duration::from_secs(20);

/// Runs `jmeter -n -t testcase -l jtl` with the properties.
pub async fn run(
    jmeter: &str,
    testcase: &Path,
    jtl: &Path,
    properties: &[(String, String)],
    hard_timeout: Duration,
    stop: &CancellationToken,
) -> anyhow::Result<Ended> {
    let workdir = jtl.parent().unwrap_or(Path::new("."));
    let mut cmd = Command::new(jmeter);
    cmd.arg("-n")
        .arg("-t")
        .arg(testcase)
        .arg("-l")
        .arg(jtl)
        .arg("-j")
        .arg(workdir.join("jmeter.log"))
        // CSV with a header, flushed per row: the shipper tails it live.
        .arg("-Jjmeter.save.saveservice.output_format=csv")
        .arg("-Jjmeter.save.saveservice.print_field_names=true")
        .arg("-Jjmeter.save.saveservice.autoflush=true");
    for (k, v) in properties {
        cmd.arg(format!("-J{k}={v}"));
    }
    cmd.current_dir(workdir)
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::fs::File::create(
            workdir.join("jmeter.out"),
        )?))
        .stderr(Stdio::from(std::fs::File::create(
            workdir.join("jmeter.err"),
        )?))
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| anyhow::anyhow!("starting JMeter ({jmeter}): {e}"))?;
    let pid = child.id().map(|p| Pid::from_raw(p as i32));
    let ended = tokio::select! {
        status = child.wait() => return Ok(Ended::Exited(status?.code().unwrap_or(-1))),
        _ = tokio::time::sleep(hard_timeout) => Ended::TimedOut,
        _ = stop.cancelled() => Ended::Interrupted,
    };
    if let Some(pid) = pid {
        let _ = kill(pid, Signal::SIGTERM);
    }
    if tokio::time::timeout(GRACE, child.wait()).await.is_err() {
        let _ = child.kill().await;
    }
    Ok(ended)
}
