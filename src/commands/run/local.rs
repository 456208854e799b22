//! Laptop mode (`target: local`): the same bee code as local processes,
//! signalling a local coordinator; results under the report folder; live
//! metrics from the cluster when one is configured, else from the JTLs.

use std::path::Path;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

use super::judge::{self, RunVerdict};
use super::{beeconf, gather, live, monitor};
use crate::bee::{BeeConfig, Coordinator};
use crate::blueprint::{Plan, Target};
use crate::cli::RunArgs;
use crate::exit::{self, InputError, Outcome};
use crate::interrupt::Interrupt;
use crate::local::{coordinator, target};
use crate::metrics::live::JtlLive;
use crate::monitor::watcher::{Correlation, Watcher};
use crate::stack::phase::Phase;
use crate::ui::Reporter;

/// How long bees get to stop (and upload) after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(60);

/// Runs the test with local bees.
pub async fn run(
    args: &RunArgs,
    plan: &Plan,
    ui: &Reporter,
    interrupt: &Interrupt,
    mut watcher: Option<Watcher>,
) -> anyhow::Result<ExitCode> {
    let Target::Local { bees, serve } = plan.target else {
        unreachable!("local::run is only called for local targets")
    };
    let testcase = plan.testcase.as_ref().ok_or_else(|| {
        InputError(format!(
            "{}:1: missing required field `testcase` (the JMeter test plan)",
            plan.source.display()
        ))
    })?;
    let testcase = std::fs::canonicalize(testcase).map_err(|e| {
        InputError(format!(
            "{}: testcase {}: {e}",
            plan.source.display(),
            testcase.display()
        ))
    })?;
    let jmeter = find_jmeter()?;
    let report = args.report.clone();
    let results_dir = report.join("results");
    clear_own_results(&report, &results_dir)?;
    std::fs::create_dir_all(report.join("bees"))
        .with_context(|| format!("creating {}", report.display()))?;
    let report = std::fs::canonicalize(&report)?;
    let mut properties: std::collections::BTreeMap<String, String> =
        plan.properties.iter().cloned().collect();
    let _target = match serve {
        Some(port) => {
            let (addr, task) = target::start(port).await.map_err(|e| {
                exit::InfraError(format!(
                    "{}: local.serve: cannot listen on port {port}: {e} (another program uses it? pick another port, or 0 for any free one)",
                    plan.source.display()
                ))
            })?;
            ui.info(&format!("built-in target listening on http://{addr}"));
            properties
                .entry("target".into())
                .or_insert(format!("http://{addr}"));
            Some(AbortOnDrop(task))
        }
        None => None,
    };
    let coord = coordinator::start(bees as usize)
        .await
        .context("starting the local coordinator")?;
    let mut children = Vec::new();
    let mut jtls = Vec::new();
    // The configs hold the search cluster's credentials: gone when the run
    // is, whichever way it ends.
    let mut configs = RemoveOnDrop::default();
    ui.info(&format!(
        "run {}: {bees} local bee(s), results under {}",
        plan.run.id,
        report.display()
    ));
    ui.phase(Phase::Provisioning);
    let exe = std::env::current_exe().context("finding this executable")?;
    let es = beeconf::reachable_es_target(plan, ui).await;
    for i in 1..=bees {
        let id = format!("bee-{i}");
        let workdir = report.join("bees").join(&id);
        let cfg = BeeConfig {
            run_id: plan.run.id.clone(),
            stack: plan.stack.clone(),
            testcase: testcase.display().to_string(),
            results: results_dir.display().to_string(),
            properties: properties.clone(),
            duration_s: properties.get("duration").and_then(|d| d.parse().ok()),
            hard_timeout_s: plan.timeout.as_secs(),
            ready_timeout_s: 120,
            late_start_s: 120,
            es: es.clone(),
            coordinator: Coordinator::Local {
                url: coord.url.clone(),
            },
            ready_url: None,
            done_url: None,
            bee_id: Some(id.clone()),
            jmeter: Some(jmeter.clone()),
            workdir: Some(workdir.display().to_string()),
            region: None,
        };
        let path = report.join("bees").join(format!("{id}.json"));
        write_private(&path, &serde_json::to_vec_pretty(&cfg)?)?;
        configs.0.push(path.clone());
        let log = std::fs::File::create(report.join("bees").join(format!("{id}.log")))?;
        let child = Command::new(&exe)
            .args(["--output", "plain", "bee", "--config"])
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            // Its own process group: a terminal's Ctrl-C reaches only this
            // process, which then stops the bees in order, so that they
            // upload what they measured.
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {id}"))?;
        children.push(child);
        jtls.push(workdir.join(format!("{id}.jtl")));
    }
    let fallback = live::Source::Jtl(JtlLive::new(jtls));
    let source = live::source(es.as_ref(), &plan.run.id, fallback, ui).await;
    let live_stop = CancellationToken::new();
    let deadline = Instant::now() + plan.timeout;
    let (outcome, (), ()) = tokio::join!(
        async {
            let o = follow(&coord, &mut children, ui, interrupt, deadline).await;
            live_stop.cancel();
            o
        },
        live::show(source, ui, args.labels, &live_stop),
        monitor::during(watcher.as_mut(), ui, &live_stop)
    );
    let correlation = monitor::finish(watcher, ui).await;
    // What a bee that finished well still has to say (rows it could not
    // ship, for one): its Done reason.
    for sig in coord.signals.borrow().done.values() {
        if let Some(note) = sig.reason.strip_prefix("done; ")
            && sig.status == "SUCCESS"
        {
            ui.warn(&format!("{}: {note}", sig.unique_id));
        }
    }
    let verdict = match outcome {
        // The bees stopped and uploaded what they had: summarise it, but
        // the run's outcome stays what stopped it.
        Ended::Interrupted => {
            let mut v = results(plan, args, ui, &results_dir, correlation).await;
            v.outcome = Outcome::Interrupted {
                code: interrupt.exit_code().unwrap_or(exit::SIGTERM),
            };
            v.say(
                "interrupted: the bees were stopped; the summary holds what they measured until then"
                    .to_string(),
            );
            v
        }
        Ended::TimedOut => {
            let mut v = results(plan, args, ui, &results_dir, correlation).await;
            v.outcome = Outcome::TimedOut;
            v.say(format!(
                "the run took longer than its timeout of {}s; the summary holds what the bees measured until then",
                plan.timeout.as_secs()
            ));
            v
        }
        Ended::Finished(failure) => {
            let mut v = results(plan, args, ui, &results_dir, correlation).await;
            if let Some(reason) = failure {
                v.outcome = Outcome::Failed;
                v.say(reason);
            }
            v
        }
    };
    if let Some(m) = &verdict.message {
        ui.warn(m);
    }
    ui.finish(verdict.result(plan));
    Ok(ExitCode::from(verdict.outcome.code()))
}

/// Removes what an earlier laptop run left in the report folder, and only
/// that: the bees' own `bee-N.jtl.gz` results, `bee-N.log` logs and
/// `bee-N.summary.json` summaries, and the summary. Anything
/// else in `results/` is not stampede's to delete, and would be counted as
/// this run's results, so it stops the run.
fn clear_own_results(report: &Path, results_dir: &Path) -> anyhow::Result<()> {
    let _ = std::fs::remove_file(report.join("summary.json"));
    let Ok(entries) = std::fs::read_dir(results_dir) else {
        return Ok(());
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let own = name.strip_prefix("bee-").is_some_and(|n| {
            // A `.part` is one of them, cut short by a crash mid-copy.
            let n = n.strip_suffix(".part").unwrap_or(n);
            [".jtl.gz", ".log", ".summary.json"]
                .iter()
                .filter_map(|suffix| n.strip_suffix(suffix))
                .any(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        });
        if !own {
            anyhow::bail!(InputError(format!(
                "{}: holds {name}, which stampede did not write; move it away or pass another --report folder",
                results_dir.display()
            )));
        }
        std::fs::remove_file(entry.path())
            .with_context(|| format!("removing the earlier run's {}", entry.path().display()))?;
    }
    Ok(())
}

/// Files removed when dropped.
#[derive(Default)]
struct RemoveOnDrop(Vec<std::path::PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Writes a file only its owner can read: bee configs carry the search
/// cluster's credentials.
fn write_private(path: &Path, body: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(body))
        .with_context(|| format!("writing {}", path.display()))
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The JMeter launcher: `$JMETER_HOME/bin/jmeter`, else `jmeter` on PATH.
fn find_jmeter() -> anyhow::Result<String> {
    if let Ok(home) = std::env::var("JMETER_HOME") {
        let bin = Path::new(&home).join("bin/jmeter");
        if bin.is_file() {
            return Ok(bin.display().to_string());
        }
        anyhow::bail!(InputError(format!("JMETER_HOME={home} has no bin/jmeter")));
    }
    let on_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("jmeter").is_file()));
    if on_path {
        return Ok("jmeter".into());
    }
    anyhow::bail!(InputError(
        "JMeter not found: set JMETER_HOME (ci/jmeter.sh assembles JMeter 5.6.3) or put jmeter on PATH".into()
    ))
}

enum Ended {
    /// Every bee exited; the first FAILURE reason, if any.
    Finished(Option<String>),
    Interrupted,
    TimedOut,
}

/// Shows phases from the bees' signals until every bee has exited.
async fn follow(
    coord: &coordinator::Coordinator,
    children: &mut [Child],
    ui: &Reporter,
    interrupt: &Interrupt,
    deadline: Instant,
) -> Ended {
    let mut signals = coord.signals.clone();
    let mut phase = Phase::Provisioning;
    let ended = loop {
        let s = signals.borrow_and_update().clone();
        let next = match (s.ready_status(), s.done_status()) {
            (_, "CREATE_FAILED") | ("CREATE_FAILED", _) => Phase::Failed,
            (_, "CREATE_COMPLETE") => Phase::Done,
            ("CREATE_COMPLETE", _) => Phase::Testing,
            _ => Phase::Provisioning,
        };
        if next != phase && phase != Phase::Failed {
            if phase < Phase::Ready && next >= Phase::Testing {
                ui.phase(Phase::Ready);
            }
            if next == Phase::Failed
                && let Some(f) = s.failure()
            {
                ui.warn(&format!("{} signalled FAILURE: {}", f.unique_id, f.reason));
            }
            ui.phase(next);
            phase = next;
        }
        let all_exited = children
            .iter_mut()
            .all(|c| c.try_wait().ok().flatten().is_some());
        if all_exited {
            let failure = s
                .failure()
                .map(|f| format!("{}: {}", f.unique_id, f.reason))
                .or_else(|| {
                    (s.done.len() < s.expected).then(|| {
                        format!(
                            "only {} of {} bees signalled Done (see bees/*.log)",
                            s.done.len(),
                            s.expected
                        )
                    })
                });
            break Ended::Finished(failure);
        }
        tokio::select! {
            _ = interrupt.token().cancelled() => break Ended::Interrupted,
            _ = tokio::time::sleep_until(deadline.into()) => break Ended::TimedOut,
            _ = signals.changed() => {}
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    };
    if !matches!(ended, Ended::Finished(_)) {
        stop(children).await;
    }
    ended
}

/// SIGTERM to every bee (each stops JMeter, ships and uploads what it
/// has), then SIGKILL after the grace period.
async fn stop(children: &mut [Child]) {
    for c in children.iter() {
        if let Some(pid) = c.id() {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
        }
    }
    for c in children.iter_mut() {
        if tokio::time::timeout(STOP_GRACE, c.wait()).await.is_err() {
            let _ = c.kill().await;
        }
    }
}

async fn results(
    plan: &Plan,
    args: &RunArgs,
    ui: &Reporter,
    dir: &Path,
    correlation: Correlation,
) -> RunVerdict {
    let gathered = match gather::gather(&gather::Place::Local(dir.to_path_buf()), plan, ui).await {
        Ok(Some(g)) => g,
        Ok(None) => {
            return RunVerdict::new(
                Outcome::NoResults,
                format!("no results: no bee left a JTL in {}", dir.display()),
            );
        }
        Err(e) => return RunVerdict::failed(&e),
    };
    let (mut summary, files) = (gathered.summary, gathered.bees);
    correlation.apply(&mut summary);
    match judge::conclude(plan, args, ui, summary, files, None).await {
        Ok(v) => v,
        Err(e) => RunVerdict::failed(&e),
    }
}
