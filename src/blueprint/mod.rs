//! Blueprints: loading, variables, and rendering into a [`Plan`] that
//! needs no further input before AWS is touched.

mod constraints;
mod context;
pub mod limits;
mod load;
mod model;
mod monitor;
pub mod testcase;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::metrics::rollup::RowsMode;
use crate::render::{OutputTable, RenderFailure, Renderer};
pub use context::{Build, RunInfo, check_run_id};
pub use limits::Limits;
use load::Loader;
pub use model::parse_duration;
use model::{RawBlueprint, scalar_to_string};

/// Default run timeout when the blueprint gives none.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3600);

/// The longest run timeout accepted: a week. It is added to clocks and
/// dates, which must not overflow, and no load test needs more.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);

/// Everything wrong with a blueprint, with the file and line at fault.
#[derive(Debug, thiserror::Error)]
pub enum BlueprintError {
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: crate::input_file::InputFileError,
    },
    /// A problem at a known place.
    #[error("{}:{line}: {message}", path.display())]
    At {
        /// The file at fault.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong, naming the name at fault.
        message: String,
    },
    /// A command-line value is invalid.
    #[error("{0}")]
    Usage(String),
    /// The blueprint refers to outputs of other stacks that must be
    /// fetched first.
    #[error("the blueprint needs outputs of other stacks: {0:?}")]
    NeedsOutputs(Vec<(String, String)>),
}

impl crate::exit::Classify for BlueprintError {
    fn exit_code(&self) -> u8 {
        crate::exit::BAD_INPUT
    }
}

/// Where the bees run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A CloudFormation stack of load generators.
    Aws,
    /// Local processes (laptop mode).
    Local {
        /// Number of bee processes.
        bees: u32,
        /// Port of the built-in HTTP target to start, if any.
        serve: Option<u16>,
    },
}

/// The rendered CloudFormation template.
#[derive(Debug, Clone)]
pub struct Template {
    /// Rendered text.
    pub body: String,
    /// `json` or `yaml`, from the source file's extension.
    pub format: &'static str,
}

/// Where live metrics go.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// Elasticsearch / OpenSearch base URL.
    pub es: Option<String>,
    /// Index name.
    pub index: String,
    /// How long shipping may go without indexing a row before it gives
    /// up; `None`: the bee's default.
    pub give_up_after: Option<Duration>,
    /// Which raw rows still go to the index beside the rollups.
    pub rows: RowsMode,
    /// Length of a rollup interval.
    pub rollup_interval: Duration,
}

/// A fully rendered blueprint.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The blueprint file.
    pub source: PathBuf,
    /// Stack name.
    pub stack: String,
    /// Region, if the blueprint names one.
    pub region: Option<String>,
    /// Run identity and S3 locations.
    pub run: RunInfo,
    /// Build identity (Jenkins).
    pub build: Build,
    /// The template, for AWS runs.
    pub template: Option<Template>,
    /// Stack parameters, in order.
    pub parameters: Vec<(String, String)>,
    /// Stack tags from the blueprint.
    pub tags: Vec<(String, String)>,
    /// Rendered userdata scripts by name.
    pub userdata: BTreeMap<String, String>,
    /// JMeter testcase on disk.
    pub testcase: Option<PathBuf>,
    /// JMeter properties for every bee.
    pub properties: Vec<(String, String)>,
    /// Live metrics settings.
    pub metrics: Option<Metrics>,
    /// Gate file.
    pub gate: Option<PathBuf>,
    /// Longest the run may take.
    pub timeout: Duration,
    /// Where bees run.
    pub target: Target,
    /// Guardrails on bees, duration and instance-hours.
    pub limits: Limits,
    /// The system under test to watch, if any.
    pub monitor: Option<crate::monitor::Spec>,
}

/// Inputs to [`load`] other than the file.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--var` overrides.
    pub vars: Vec<(String, String)>,
    /// `--run-id`.
    pub run_id: Option<String>,
    /// The environment, as `env.*`.
    pub env: BTreeMap<String, String>,
    /// Other stacks' outputs for `{{output}}`.
    pub outputs: OutputTable,
    /// SHA-256 (lowercase hex) of the bee binary the run ships: it names
    /// the binary's S3 key. `None` for `render` and laptop runs.
    pub bee_sha256: Option<String>,
    /// An offline check (`render`): a bucket that cannot be rendered
    /// (its environment variable is not set) becomes [`OFFLINE_BUCKET`].
    pub offline: bool,
}

/// The bucket name `render` uses when the blueprint's cannot be rendered.
pub const OFFLINE_BUCKET: &str = "offline-check-bucket";

/// Loads and renders a blueprint. Nothing here touches the network.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<Plan, BlueprintError> {
    let (text, raw) = parse(path)?;
    let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut r = Loader {
        path,
        text: &text,
        renderer: Renderer::new(opts.outputs.clone()),
    };
    let plan = r.plan(raw, &base, opts)?;
    let missing = r.renderer.missing_outputs();
    if !missing.is_empty() {
        return Err(BlueprintError::NeedsOutputs(missing));
    }
    Ok(plan)
}

/// Where a blueprint's bees run, rendering only the variables and the
/// `target`: a run learns whether it ships a bee binary (whose hash the
/// full rendering needs) before rendering the rest once.
pub fn target_of(path: &Path, opts: &LoadOptions) -> Result<Target, BlueprintError> {
    let (text, raw) = parse(path)?;
    let r = Loader {
        path,
        text: &text,
        renderer: Renderer::new(opts.outputs.clone()),
    };
    r.target_only(&raw, opts)
}

/// The blueprint's text and its YAML, unrendered.
fn parse(path: &Path) -> Result<(String, RawBlueprint), BlueprintError> {
    let text = read(path)?;
    let raw = serde_norway::from_str(&text).map_err(|e| BlueprintError::At {
        path: path.to_path_buf(),
        line: e.location().map_or(1, |l| l.line()),
        message: yaml_message(&e),
    })?;
    Ok((text, raw))
}

fn read(path: &Path) -> Result<String, BlueprintError> {
    crate::input_file::read_text(path, crate::input_file::MAX_TEXT_BYTES).map_err(|source| {
        BlueprintError::Read {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// serde_norway appends " at line L column C" to messages; we print the
/// line ourselves.
fn yaml_message(e: &serde_norway::Error) -> String {
    let msg = e.to_string();
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    }
}

/// The 1-based line of the first line holding `needle`'s first line.
fn line_of(text: &str, needle: &str) -> usize {
    let first = needle.lines().next().unwrap_or(needle).trim();
    if first.is_empty() {
        return 1;
    }
    text.lines()
        .position(|l| l.contains(first))
        .map_or(1, |i| i + 1)
}

#[cfg(test)]
mod tests;
