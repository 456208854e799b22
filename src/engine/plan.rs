//! The run's plan: everything the run needs, read, rendered and checked
//! once before anything acts (ripgrep's and hyperfine's arguments → plan).
//! The engine and the fleets read nothing from the command line.

use std::path::PathBuf;
use std::time::Duration;

use super::checks::Footprint;
use crate::blueprint::Plan;
use crate::gate::{self, Gate};
use crate::results::Summary;

/// What the gate compares with, resolved once: the preflight names it
/// and the verdict uses it.
#[derive(Debug, Clone)]
pub enum BaselineChoice {
    /// Not resolved yet: `baseline: previous` or an `s3://` URI, which
    /// the fleet's checks resolve (AWS) before the run starts.
    Pending(gate::Baseline),
    /// There is none; relative criteria pass, and why.
    None(String),
    /// This summary, named for the user.
    Found {
        /// Where it came from: `build 41 (the last that passed)`, a path.
        name: String,
        /// The baseline's summary.
        summary: Box<Summary>,
    },
}

impl BaselineChoice {
    /// The summary, when there is one.
    pub fn summary(&self) -> Option<&Summary> {
        match self {
            BaselineChoice::Found { summary, .. } => Some(summary),
            _ => None,
        }
    }
}

/// The gate a run is judged by.
#[derive(Debug, Clone)]
pub struct GatePlan {
    /// The gate file (`None`: the built-in gate).
    pub path: Option<PathBuf>,
    /// The parsed gate.
    pub gate: Gate,
    /// Its baseline.
    pub baseline: BaselineChoice,
}

/// Where a run's files go.
#[derive(Debug, Clone)]
pub struct Exports {
    /// `--report`: summary.json, report.html, the bees' files.
    pub report: PathBuf,
    /// `--junit`.
    pub junit: Option<PathBuf>,
    /// `--markdown`.
    pub markdown: Option<PathBuf>,
}

/// What the user asked for beyond the blueprint.
#[derive(Debug, Clone)]
pub struct Choices {
    /// `--keep`: leave the stack and its inputs.
    pub keep: bool,
    /// `--dry-run`: check and describe, create nothing.
    pub dry_run: bool,
    /// `--labels`: per-label lines in the live view.
    pub labels: bool,
    /// `--unstable-exit`.
    pub unstable_exit: u8,
    /// How often the stack is polled.
    pub poll_interval: Duration,
    /// `--region`, else the blueprint's.
    pub region: Option<String>,
    /// `--profile`.
    pub profile: Option<String>,
}

/// A fully prepared run.
#[derive(Debug)]
pub struct RunPlan {
    /// The rendered blueprint (rendered once, the bee binary's hash known).
    pub blueprint: Plan,
    /// The gate and its baseline.
    pub gate: GatePlan,
    /// Where files go.
    pub exports: Exports,
    /// What the run would create.
    pub footprint: Footprint,
    /// The user's choices.
    pub choices: Choices,
    /// Problems found while preparing (reported with the checks').
    pub problems: Vec<super::checks::Problem>,
}
