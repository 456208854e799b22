//! The laptop fleet (`target: local`): the same bee code as local
//! processes, signalling a local coordinator; results under the report
//! folder; live metrics from the cluster when one is configured, else
//! from the JTLs.

mod files;
mod follow;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Instant;

use anyhow::Context;
use tokio::process::{Child, Command};

use super::checks::Checks;
use super::fleet::{Fleet, Followed, Teardown};
use super::gather::Place;
use super::live;
use super::plan::{BaselineChoice, RunPlan};
use super::{Cx, beeconf};
use crate::bee::{BeeConfig, Coordinator};
use crate::blueprint::Target;
use crate::engine::store::Store;
use crate::exit::InfraError;
use crate::feed::Phase;
use crate::gate::Baseline;
use crate::local::{coordinator, target};
use crate::metrics::live::JtlLive;
use files::{AbortOnDrop, RemoveOnDrop};

/// Local bee processes.
#[derive(Default)]
pub struct LaptopFleet {
    testcase: Option<PathBuf>,
    jmeter: Option<String>,
    /// The report folder, made absolute once it exists.
    report: PathBuf,
    coord: Option<coordinator::Coordinator>,
    children: Vec<Child>,
    jtls: Vec<PathBuf>,
    /// The configs hold the search cluster's credentials: gone when the
    /// run is, whichever way it ends.
    configs: RemoveOnDrop,
    target: Option<AbortOnDrop>,
    /// The search cluster, when it answered at the start.
    es: Option<crate::bee::EsTarget>,
}

impl LaptopFleet {
    fn results_dir(&self) -> PathBuf {
        self.report.join("results")
    }
}

impl Fleet for LaptopFleet {
    async fn check(&mut self, _cx: &Cx<'_>, plan: &mut RunPlan, checks: &mut Checks) {
        let b = &plan.blueprint;
        match &b.testcase {
            None => checks.input(format!(
                "{}:1: missing required field `testcase` (the JMeter test plan)",
                b.source.display()
            )),
            Some(tc) => match std::fs::canonicalize(tc) {
                Ok(p) => self.testcase = Some(p),
                Err(e) => checks.input(format!(
                    "{}: testcase {}: {e}",
                    b.source.display(),
                    tc.display()
                )),
            },
        }
        match files::find_jmeter() {
            Ok(j) => self.jmeter = Some(j),
            Err(e) => checks.input(format!("{e:#}")),
        }
        let gate = plan.gate.path.clone().unwrap_or_default();
        match &plan.gate.baseline {
            BaselineChoice::Pending(Baseline::Previous) => {
                plan.gate.baseline = BaselineChoice::None(
                    "laptop mode keeps no build history: relative criteria pass".into(),
                );
            }
            BaselineChoice::Pending(Baseline::S3(_)) => checks.input(format!(
                "{}: an s3:// baseline needs an AWS run",
                gate.display()
            )),
            _ => {}
        }
    }

    async fn upload(&mut self, _cx: &Cx<'_>, plan: &RunPlan) -> anyhow::Result<()> {
        let report = &plan.exports.report;
        files::clear_own_results(report, &report.join("results"))?;
        std::fs::create_dir_all(report.join("bees"))
            .with_context(|| format!("creating {}", report.display()))?;
        self.report = std::fs::canonicalize(report)
            .with_context(|| format!("finding {}", report.display()))?;
        Ok(())
    }

    async fn create(&mut self, cx: &Cx<'_>, plan: &RunPlan) -> anyhow::Result<()> {
        let Target::Local { bees, serve } = plan.blueprint.target else {
            unreachable!("the laptop fleet runs local targets only")
        };
        let mut properties: std::collections::BTreeMap<String, String> =
            plan.blueprint.properties.iter().cloned().collect();
        if let Some(port) = serve {
            let (addr, task) = target::start(port).await.map_err(|e| {
                InfraError(format!(
                    "{}: local.serve: cannot listen on port {port}: {e} (another program uses it? pick another port, or 0 for any free one)",
                    plan.blueprint.source.display()
                ))
            })?;
            cx.feed
                .info(&format!("built-in target listening on http://{addr}"));
            properties
                .entry("target".into())
                .or_insert(format!("http://{addr}"));
            self.target = Some(AbortOnDrop(task));
        }
        let coord = coordinator::start(bees as usize)
            .await
            .context("starting the local coordinator")?;
        cx.feed.info(&format!(
            "run {}: {bees} local bee(s), results under {}",
            plan.blueprint.run.id,
            self.report.display()
        ));
        cx.feed.phase_at(Phase::Provisioning, chrono::Utc::now());
        let es = beeconf::reachable_es_target(&plan.blueprint, cx.feed).await;
        for i in 1..=bees {
            let cfg = self.config(plan, &format!("bee-{i}"), &properties, &coord, es.clone());
            self.spawn(cfg)?;
        }
        self.coord = Some(coord);
        self.es = es;
        Ok(())
    }

    fn watch(&self) -> Option<&crate::aws::watch::Watch> {
        None
    }

    fn created_event(&self, _plan: &RunPlan) -> Option<String> {
        None
    }

    async fn live_source(&self, cx: &Cx<'_>, plan: &RunPlan) -> live::Source {
        // The cluster only when it answered at the start (see `create`).
        let fallback = live::Source::Jtl(JtlLive::new(self.jtls.clone()));
        live::source(self.es.as_ref(), &plan.blueprint.run.id, fallback, cx.feed).await
    }

    async fn follow(&mut self, cx: &Cx<'_>, _plan: &RunPlan, deadline: Instant) -> Followed {
        let coord = self.coord.as_ref().expect("created before following");
        let followed = follow::follow(coord, &mut self.children, cx, deadline).await;
        if !matches!(followed, Followed::Finished { .. }) {
            follow::stop(&mut self.children).await;
        }
        followed
    }

    async fn diagnose(&mut self, cx: &Cx<'_>, _plan: &RunPlan, _followed: &mut Followed) {
        // What a bee that finished well still has to say (rows it could
        // not ship, for one): its Done reason.
        if let Some(coord) = &self.coord {
            for sig in coord.signals.borrow().done.values() {
                if let Some(note) = sig.reason.strip_prefix("done; ")
                    && sig.status == "SUCCESS"
                {
                    cx.feed.warn(&format!("{}: {note}", sig.unique_id));
                }
            }
        }
    }

    async fn start_teardown(&mut self, _cx: &Cx<'_>, _plan: &RunPlan) {
        follow::stop(&mut self.children).await;
        self.configs = RemoveOnDrop::default();
    }

    fn results(&self, _plan: &RunPlan) -> Place<'_> {
        Place::Local(self.results_dir())
    }

    fn store<'a>(&'a self, _plan: &'a RunPlan) -> Option<Store<'a>> {
        None
    }

    async fn teardown(&mut self, cx: &Cx<'_>, plan: &RunPlan) -> Teardown {
        self.start_teardown(cx, plan).await;
        self.target = None;
        self.coord = None;
        Teardown::Gone
    }

    async fn remove_uploads(&mut self, _cx: &Cx<'_>, _plan: &RunPlan) {
        self.configs = RemoveOnDrop::default();
    }
}

impl LaptopFleet {
    /// The config of local bee `id`.
    fn config(
        &self,
        plan: &RunPlan,
        id: &str,
        properties: &std::collections::BTreeMap<String, String>,
        coord: &coordinator::Coordinator,
        es: Option<crate::bee::EsTarget>,
    ) -> BeeConfig {
        let b = &plan.blueprint;
        BeeConfig {
            run_id: b.run.id.clone(),
            stack: b.stack.clone(),
            testcase: self
                .testcase
                .as_ref()
                .map(|t| t.display().to_string())
                .unwrap_or_default(),
            results: self.results_dir().display().to_string(),
            properties: properties.clone(),
            duration_s: properties.get("duration").and_then(|d| d.parse().ok()),
            hard_timeout_s: b.timeout.as_secs(),
            ready_timeout_s: 120,
            late_start_s: 120,
            es,
            coordinator: Coordinator::Local {
                url: coord.url.clone(),
            },
            ready_url: None,
            done_url: None,
            bee_id: Some(id.to_string()),
            jmeter: self.jmeter.clone(),
            workdir: Some(self.report.join("bees").join(id).display().to_string()),
            region: None,
        }
    }

    /// Starts one bee process with `cfg`.
    fn spawn(&mut self, cfg: BeeConfig) -> anyhow::Result<()> {
        let id = cfg.bee_id.clone().unwrap_or_default();
        let bees = self.report.join("bees");
        let path = bees.join(format!("{id}.json"));
        files::write_private(&path, &serde_json::to_vec_pretty(&cfg)?)?;
        self.configs.0.push(path.clone());
        let log = std::fs::File::create(bees.join(format!("{id}.log")))?;
        let exe = std::env::current_exe().context("finding this executable")?;
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
        self.children.push(child);
        self.jtls.push(bees.join(&id).join(format!("{id}.jtl")));
        Ok(())
    }
}
