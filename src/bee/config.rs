//! The bee's configuration: written by `run` beside the testcase, with
//! per-instance values (handle URLs, instance id) from the environment
//! the userdata sets.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How the bee learns that every bee is ready.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Coordinator {
    /// The stack's `Ready` wait condition (DescribeStackResource).
    Cloudformation,
    /// `run`'s local coordinator: signals are PUT to `<url>/ready` and
    /// `<url>/done`, readiness is read from `GET <url>/ready`.
    Local {
        /// Base URL.
        url: String,
    },
}

/// The longest `give_up_after_s` accepted: a day.
pub const MAX_GIVE_UP_AFTER_S: u64 = 86_400;

/// Where live rows go.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EsTarget {
    /// Cluster URL.
    pub url: String,
    /// Index name.
    pub index: String,
    /// Seconds shipping may go without indexing a row (the cluster down,
    /// a full or read-only index) before it gives up; the rows not
    /// shipped are counted in the Done reason, and the JTL keeps them.
    #[serde(default = "default_give_up_after")]
    pub give_up_after_s: u64,
    /// Which raw rows go to `index` beside the rollups.
    #[serde(default)]
    pub rows: crate::metrics::rollup::RowsMode,
    /// Milliseconds per rollup interval.
    #[serde(default = "default_rollup_interval")]
    pub rollup_interval_ms: u64,
}

/// One second per rollup interval.
pub fn default_rollup_interval() -> u64 {
    1000
}

/// Two minutes: a cluster restart, not a test's length.
pub fn default_give_up_after() -> u64 {
    120
}

impl EsTarget {
    /// The shipping patience, within bounds.
    pub fn give_up_after(&self) -> Duration {
        Duration::from_secs(self.give_up_after_s.min(MAX_GIVE_UP_AFTER_S))
    }
}

/// Everything a bee needs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BeeConfig {
    /// Run id.
    pub run_id: String,
    /// Stack name (AWS mode).
    #[serde(default)]
    pub stack: String,
    /// The testcase: an s3:// URI or a path.
    pub testcase: String,
    /// Where the gzipped JTL goes: an s3:// prefix or a folder.
    pub results: String,
    /// JMeter properties (`-Jkey=value`).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// Seconds the test is planned to take (for the hard timeout).
    #[serde(default)]
    pub duration_s: Option<u64>,
    /// Seconds JMeter may run before it is stopped.
    #[serde(default = "default_hard_timeout")]
    pub hard_timeout_s: u64,
    /// Seconds to wait for every bee to be ready.
    #[serde(default = "default_ready_timeout")]
    pub ready_timeout_s: u64,
    /// A bee that finds the test started longer ago than this (seconds)
    /// runs no load: see [`crate::bee::late_start`].
    #[serde(default = "default_late_start")]
    pub late_start_s: u64,
    /// Live metrics target.
    #[serde(default)]
    pub es: Option<EsTarget>,
    /// How readiness is coordinated.
    pub coordinator: Coordinator,
    /// Ready handle URL (AWS: from STAMPEDE_READY_URL).
    #[serde(default)]
    pub ready_url: Option<String>,
    /// Done handle URL (AWS: from STAMPEDE_DONE_URL).
    #[serde(default)]
    pub done_url: Option<String>,
    /// This bee's id (AWS: the instance id, from STAMPEDE_BEE_ID).
    #[serde(default)]
    pub bee_id: Option<String>,
    /// The JMeter launcher; default `$JMETER_HOME/bin/jmeter`, then
    /// `jmeter` on PATH.
    #[serde(default)]
    pub jmeter: Option<String>,
    /// Working folder for the testcase, JTL and logs.
    #[serde(default)]
    pub workdir: Option<String>,
    /// Region for AWS calls (AWS: from STAMPEDE_REGION).
    #[serde(default)]
    pub region: Option<String>,
}

fn default_hard_timeout() -> u64 {
    3600
}

/// Two minutes: bees of one fleet come up within seconds of each other
/// once Ready completes; an instance much later is a replacement.
fn default_late_start() -> u64 {
    120
}

fn default_ready_timeout() -> u64 {
    900
}

impl BeeConfig {
    /// Takes per-instance values from the environment the userdata set.
    pub fn apply_env(&mut self, env: &BTreeMap<String, String>) {
        let get = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
        if let Some(v) = get("STAMPEDE_READY_URL") {
            self.ready_url = Some(v);
        }
        if let Some(v) = get("STAMPEDE_DONE_URL") {
            self.done_url = Some(v);
        }
        if let Some(v) = get("STAMPEDE_BEE_ID") {
            self.bee_id = Some(v);
        }
        if let Some(v) = get("STAMPEDE_STACK") {
            self.stack = v;
        }
        if let Some(v) = get("STAMPEDE_REGION") {
            self.region = Some(v);
        }
        // The stack's parameters are the truth for what each bee runs.
        for (var, prop) in [
            ("STAMPEDE_THREADS", "threads"),
            ("STAMPEDE_DURATION", "duration"),
            ("STAMPEDE_TARGET_URL", "target"),
        ] {
            if let Some(v) = get(var) {
                self.properties.insert(prop.to_string(), v);
            }
        }
        if let Some(d) = self.properties.get("duration").and_then(|d| d.parse().ok()) {
            self.duration_s = Some(d);
        }
        if self.jmeter.is_none()
            && let Some(home) = get("JMETER_HOME")
        {
            self.jmeter = Some(format!("{home}/bin/jmeter"));
        }
    }

    /// This bee's id.
    pub fn id(&self) -> String {
        self.bee_id.clone().unwrap_or_else(|| "bee".into())
    }

    /// How long JMeter may run: the planned duration plus five minutes,
    /// or the configured hard timeout.
    pub fn hard_timeout(&self) -> Duration {
        Duration::from_secs(self.duration_s.map_or(self.hard_timeout_s, |d| d + 300))
    }
}
