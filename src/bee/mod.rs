//! The bee: the agent on each load generator. It fetches the testcase,
//! signals Ready, waits until every bee is ready, runs JMeter while
//! shipping its rows, uploads the JTL and signals Done.

pub mod cause;
pub mod config;
pub mod health;
mod jmeter;
mod ready;
pub mod signal;
mod summary;
pub mod trail;
mod upload;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::aws::{self, Clients};
use crate::metrics::es::Es;
use crate::metrics::ship::{self, ShipConfig, Shipped};
pub use config::{BeeConfig, Coordinator, EsTarget};
use jmeter::Ended;
pub use ready::late_start;
use ready::wait_ready;
use signal::Status;
use upload::{leave_trail, upload};

/// How a bee's run ended.
#[derive(Debug)]
pub struct Report {
    /// JMeter's end.
    pub jmeter: Ended,
    /// Shipping counts, when shipping was configured.
    pub shipped: Option<Shipped>,
    /// Where the JTL went.
    pub uploaded: String,
    /// Why Done was FAILURE, if it was.
    pub failure: Option<String>,
}

/// Reads a config from a file or an s3:// URI.
pub async fn load_config(uri: &str, region: Option<&str>) -> anyhow::Result<BeeConfig> {
    let raw = match aws::s3::parse_uri(uri) {
        Some((bucket, key)) => {
            let clients = aws::connect(region, None).await?;
            clients.s3.get(bucket, key).await?
        }
        None => std::fs::read(uri).with_context(|| format!("reading bee config {uri}"))?,
    };
    serde_json::from_slice(&raw)
        .map_err(|e| crate::exit::InputError(format!("{uri}: not a bee config: {e}")).into())
}

/// Runs the bee protocol. `stop` is the first SIGTERM/SIGINT: JMeter is
/// stopped, and what it wrote is still shipped, uploaded and signalled.
/// Whatever happens, the bee's log goes beside its results as
/// `<bee>.log` (see [`trail`]), so that `run` can show why a bee failed.
pub async fn run(
    cfg: &BeeConfig,
    stop: &CancellationToken,
    log: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<Report> {
    let id = cfg.id();
    let trail = trail::Trail::default();
    let logged = |m: &str| {
        trail.line(m);
        log(m);
    };
    let result = protocol(cfg, stop, &logged).await;
    if let Err(e) = &result {
        trail.line(&format!("bee {id}: stopped: {e:#}"));
    }
    let text = trail.text(&workdir_of(cfg));
    if let Err(e) = leave_trail(cfg, &id, text).await {
        log(&format!("bee {id}: could not upload its log: {e:#}"));
    }
    result
}

fn workdir_of(cfg: &BeeConfig) -> PathBuf {
    PathBuf::from(
        cfg.workdir
            .clone()
            .unwrap_or_else(|| format!("stampede-bee-{}", cfg.id())),
    )
}

async fn protocol(
    cfg: &BeeConfig,
    stop: &CancellationToken,
    log: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<Report> {
    let id = cfg.id();
    let workdir = workdir_of(cfg);
    std::fs::create_dir_all(&workdir).with_context(|| format!("creating {}", workdir.display()))?;
    // JMeter runs inside the workdir: every path it gets must be absolute.
    let workdir = std::fs::canonicalize(&workdir)?;
    let clients = if matches!(cfg.coordinator, Coordinator::Cloudformation)
        || cfg.testcase.starts_with("s3://")
        || cfg.results.starts_with("s3://")
    {
        Some(aws::connect(cfg.region.as_deref(), None).await?)
    } else {
        None
    };
    let ready_url = signal_url(cfg, "ready")?;
    let done_url = signal_url(cfg, "done")?;
    let testcase = match fetch_testcase(cfg, clients.as_ref(), &workdir).await {
        Ok(t) => t,
        Err(e) => {
            let reason = format!("bee {id}: cannot fetch the testcase: {e:#}");
            signal::send(&ready_url, Status::Failure, &reason, &id, "").await?;
            anyhow::bail!(reason);
        }
    };
    signal::send(&ready_url, Status::Success, "ready", &id, "").await?;
    log(&format!("bee {id}: ready; waiting for every bee"));
    let ready_at = match wait_ready(cfg, clients.as_ref(), stop).await {
        Ok(at) => at,
        Err(e) => {
            let reason = format!("bee {id}: {e:#}");
            signal::send(&done_url, Status::Failure, &reason, &id, "").await?;
            anyhow::bail!(reason);
        }
    };
    if let Some(why) = ready_at.and_then(|at| late_start(at, chrono::Utc::now(), cfg.late_start_s))
    {
        // Done counts it, so the run is not held up by the bee it
        // replaces; the run prints the note from the Done data.
        log(&format!("bee {id}: skipping the load: {why}"));
        let data = serde_json::json!({ "skipped": why }).to_string();
        let reason = format!("bee {id}: skipped the load: {why}");
        signal::send(&done_url, Status::Success, &reason, &id, &data).await?;
        anyhow::bail!(reason);
    }
    log(&format!("bee {id}: every bee is ready; starting JMeter"));
    let jtl = workdir.join(format!("{id}.jtl"));
    let _ = std::fs::remove_file(&jtl);
    let (done_tx, done_rx) = tokio::sync::watch::channel(false);
    let shipper = start_shipping(cfg, &id, &jtl, done_rx, log).await;
    let jmeter = cfg.jmeter.clone().unwrap_or_else(|| "jmeter".into());
    let props: Vec<(String, String)> = cfg.properties.clone().into_iter().collect();
    let health = summary::Health::start(cfg, &id, log).await;
    let ended = jmeter::run(&jmeter, &testcase, &jtl, &props, cfg.hard_timeout(), stop).await;
    let generator = health.finish().await;
    let _ = done_tx.send(true);
    let shipped = match shipper {
        Some(h) => Some(h.await.context("the shipper stopped")?),
        None => None,
    };
    let ended = ended?;
    let uploaded = upload(cfg, clients.as_ref(), &id, &jtl).await?;
    summary::upload(cfg, clients.as_ref(), &id, &jtl, generator, log).await;
    let failure = failure(&ended, &jtl);
    // Shipping feeds the live view; the JTL is the record the results are
    // made from. Rows not shipped are reported in the reason, and do not
    // fail the test.
    let shipping = shipping_note(shipped.as_ref().map(|s| s.as_ref()));
    if let Some(note) = &shipping {
        log(&format!("bee {id}: {note}"));
    }
    let ok = shipped.as_ref().and_then(|s| s.as_ref().ok());
    let data = serde_json::json!({
        "rows_shipped": ok.map(|s| s.rows),
        "rows_not_shipped": ok.map(|s| s.lost),
        "samples_rolled_up": ok.map(|s| s.samples),
        "not_shipped_because": shipping,
        "jtl": uploaded,
    })
    .to_string();
    let (status, reason) = match (&failure, &shipping) {
        (None, None) => (Status::Success, "done".to_string()),
        (None, Some(note)) => (Status::Success, format!("done; {note}")),
        (Some(r), None) => (Status::Failure, format!("bee {id}: {r}")),
        (Some(r), Some(note)) => (Status::Failure, format!("bee {id}: {r}; {note}")),
    };
    signal::send(&done_url, status, &reason, &id, &data).await?;
    Ok(Report {
        jmeter: ended,
        shipped: shipped.and_then(Result::ok),
        uploaded,
        failure,
    })
}

fn signal_url(cfg: &BeeConfig, which: &str) -> anyhow::Result<String> {
    let given = if which == "ready" {
        &cfg.ready_url
    } else {
        &cfg.done_url
    };
    match (&cfg.coordinator, given) {
        (_, Some(u)) => Ok(u.clone()),
        (Coordinator::Local { url }, None) => Ok(format!("{}/{which}", url.trim_end_matches('/'))),
        (Coordinator::Cloudformation, None) => Err(crate::exit::InputError(format!(
            "no {which} handle URL: set STAMPEDE_{}_URL",
            which.to_uppercase()
        ))
        .into()),
    }
}

async fn fetch_testcase(
    cfg: &BeeConfig,
    clients: Option<&Clients>,
    workdir: &Path,
) -> anyhow::Result<PathBuf> {
    match aws::s3::parse_uri(&cfg.testcase) {
        Some((bucket, key)) => {
            let name = key.rsplit('/').next().unwrap_or("testcase.jmx");
            let path = workdir.join(name);
            let clients = clients.context("no AWS clients")?;
            clients.s3.get_to_file(bucket, key, &path).await?;
            Ok(path)
        }
        None => {
            let path = PathBuf::from(&cfg.testcase);
            anyhow::ensure!(path.is_file(), "{} does not exist", path.display());
            Ok(std::fs::canonicalize(path)?)
        }
    }
}

async fn start_shipping(
    cfg: &BeeConfig,
    id: &str,
    jtl: &Path,
    done: tokio::sync::watch::Receiver<bool>,
    log: &(dyn Fn(&str) + Sync),
) -> Option<tokio::task::JoinHandle<Result<Shipped, String>>> {
    let target = cfg.es.clone()?;
    let es = match Es::connect(&target.url).await {
        Ok(es) => es,
        Err(e) => {
            log(&format!("bee {id}: metrics disabled: {e}"));
            return None;
        }
    };
    // A template is a nicety: if the cluster is down now, rows are still
    // shipped (and typed by dynamic mapping) once it is back.
    if let Err(e) = ship::prepare(&es, &target.index).await {
        log(&format!("bee {id}: index template: {e}"));
    }
    let ship_cfg = ShipConfig {
        give_up_after: target.give_up_after(),
        index: target.index,
        bee: id.to_string(),
        run_id: cfg.run_id.clone(),
        max_backoff: Duration::from_secs(10),
        rows: target.rows,
        rollup_interval_ms: target.rollup_interval_ms,
    };
    let jtl = jtl.to_path_buf();
    Some(tokio::spawn(async move {
        let quiet = |m: &str| tracing::warn!("{m}");
        ship::ship(&es, &ship_cfg, &jtl, Some(done), &quiet)
            .await
            .map_err(|e| e.to_string())
    }))
}

/// Why Done should be FAILURE, if it should: JMeter failed or wrote
/// nothing. Shipping never fails the test (see [`shipping_note`]).
fn failure(ended: &Ended, jtl: &Path) -> Option<String> {
    let mut reasons = Vec::new();
    // JMeter's logs are read only when a reason needs them.
    let with_error = |what: String| match jtl.parent().and_then(trail::jmeter_first_error) {
        Some(e) => format!("{what}: {e}"),
        None => format!("{what} (see jmeter.log)"),
    };
    match ended {
        Ended::Exited(0) => {}
        Ended::Exited(c) => reasons.push(with_error(format!("JMeter exited with {c}"))),
        Ended::TimedOut => {
            reasons.push("JMeter ran past its hard timeout and was stopped".to_string())
        }
        Ended::Interrupted => reasons.push("interrupted".to_string()),
    }
    if std::fs::metadata(jtl).map_or(true, |m| m.len() == 0) {
        // JMeter exits 0 on some broken plans; its own words say why.
        reasons.push(if matches!(ended, Ended::Exited(0)) {
            with_error("JMeter wrote no results".to_string())
        } else {
            "JMeter wrote no results".to_string()
        });
    }
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// What shipping lost, and why, if it lost anything.
fn shipping_note(shipped: Option<Result<&Shipped, &String>>) -> Option<String> {
    match shipped {
        Some(Ok(s)) => s
            .loss()
            .map(|l| format!("{l}; the uploaded JTL holds every row")),
        Some(Err(e)) => Some(format!(
            "shipping to the search cluster failed: {e}; the uploaded JTL holds every row"
        )),
        None => None,
    }
}

#[cfg(test)]
mod tests;
