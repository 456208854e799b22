//! Command-line definitions. These structs stay dumb: validation happens
//! when a command turns them into a plan.

use std::path::PathBuf;
use std::time::Duration;

pub use crate::ui::OutputMode;
use clap::{Args, Parser, Subcommand};

/// stampede: distributed load tests on AWS from one command.
#[derive(Debug, Parser)]
#[command(name = "stampede", version, about, propagate_version = true, after_help = crate::exit::TABLE)]
pub struct Cli {
    /// Options shared by every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every command.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// How to show progress: a live view on a terminal, one line per event,
    /// or NDJSON. `auto` picks `tty` on a terminal and `plain` otherwise.
    #[arg(long, global = true, value_enum, default_value_t = OutputMode::Auto, env = "STAMPEDE_OUTPUT")]
    pub output: OutputMode,
    /// AWS region; defaults to the blueprint's, then the SDK chain.
    #[arg(long, global = true, env = "STAMPEDE_REGION")]
    pub region: Option<String>,
    /// AWS profile to load credentials from.
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// More log output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Seconds between polls of CloudFormation. 5 is kind to API limits;
    /// tests against an emulator use less.
    #[arg(long, global = true, hide = true, env = "STAMPEDE_POLL_INTERVAL", default_value = "5", value_parser = parse_seconds)]
    pub poll_interval: Duration,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole lifecycle: render, upload, create, follow, collect, delete.
    Run(RunArgs),
    /// Render the template, parameters and userdata without touching AWS.
    Render(RenderArgs),
    /// Follow an existing stack's events until it settles.
    Observe(ObserveArgs),
    /// Delete a stack and follow it to DELETE_COMPLETE.
    Delete(DeleteArgs),
    /// Delete stampede stacks whose expiry tag has passed.
    Reap(ReapArgs),
    /// Per-label summary of JMeter result files, in one streaming pass.
    Analyze(AnalyzeArgs),
    /// The regression gate: compare a run with a baseline.
    Compare(CompareArgs),
    /// Rebuild a run's self-contained HTML report from stored results.
    Report(ReportArgs),
    /// Ship a JTL into Elasticsearch / OpenSearch `_bulk`.
    Ship(ShipArgs),
    /// The agent on each load generator.
    Bee(BeeArgs),
    /// CloudWatch metrics and scaling events of tagged resources (or
    /// stacks) into the search cluster, without a run. Idempotent.
    Collect(CollectArgs),
    /// Write an event (a deployment, say) for the charts and Grafana.
    Annotate(AnnotateArgs),
    /// A run's live view from the search cluster, as JSON lines (tests and
    /// bench/swarm.sh: the orchestrator's side on its own).
    #[command(hide = true)]
    LiveView(LiveViewArgs),
    /// Simulated bees: synthetic samples into JTLs, shipped by the real
    /// shipping code (bench/swarm.sh).
    #[command(hide = true)]
    Swarm(SwarmArgs),
}

/// Arguments of the hidden `stampede live-view`.
#[derive(Debug, Args)]
pub struct LiveViewArgs {
    /// Elasticsearch / OpenSearch URL.
    #[arg(long, env = "STAMPEDE_ES_URL")]
    pub es: String,
    /// Results index (rollups are read from `<index>-rollup`).
    #[arg(long, default_value = "stampede-results")]
    pub index: String,
    /// The run.
    #[arg(long)]
    pub run_id: String,
    /// Start of the test, epoch ms (default: now).
    #[arg(long)]
    pub since_ms: Option<i64>,
    /// Seconds between polls.
    #[arg(long, default_value_t = 5.0)]
    pub every: f64,
    /// Polls before exiting (0: until interrupted).
    #[arg(long, default_value_t = 1)]
    pub polls: u64,
    /// Read raw rows with `percentiles` aggregations instead of rollups
    /// (the way before rollups, the benchmark's peer).
    #[arg(long)]
    pub raw: bool,
}

/// Arguments of the hidden `stampede swarm`.
#[derive(Debug, Args)]
pub struct SwarmArgs {
    /// Elasticsearch / OpenSearch URL.
    #[arg(long, env = "STAMPEDE_ES_URL")]
    pub es: String,
    /// Results index.
    #[arg(long, default_value = "stampede-swarm")]
    pub index: String,
    /// The run.
    #[arg(long)]
    pub run_id: String,
    /// Simulated bees.
    #[arg(long, default_value_t = 500)]
    pub bees: usize,
    /// Samples per second per bee.
    #[arg(long, default_value_t = 2000)]
    pub rate: u64,
    /// Seconds of load.
    #[arg(long, default_value_t = 60)]
    pub duration: u64,
    /// Raw rows shipped: all, errors or none.
    #[arg(long, default_value = "none", value_parser = parse_rows)]
    pub rows: crate::metrics::rollup::RowsMode,
    /// Folder for the bees' JTLs.
    #[arg(long)]
    pub dir: PathBuf,
    /// Seconds the bees may take to ship what is left once the load ends;
    /// then they are stopped and the cluster's count is what was shipped.
    #[arg(long, default_value_t = 60)]
    pub drain_max: u64,
}

/// Arguments of `stampede collect`.
#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Watch resources carrying this tag (repeatable; all must match).
    #[arg(long = "tag", value_name = "K=V", value_parser = parse_var)]
    pub tags: Vec<(String, String)>,
    /// Watch every resource of this stack (repeatable).
    #[arg(long = "stack", value_name = "NAME")]
    pub stacks: Vec<String>,
    /// Start of the window: a duration ago (`15m`, `2h`) or an RFC 3339 time.
    #[arg(long, default_value = "15m")]
    pub since: String,
    /// End of the window: `now`, a duration ago, or an RFC 3339 time.
    #[arg(long, default_value = "now")]
    pub until: String,
    /// Seconds per data point: 1, 5, 10, 30 or a multiple of 60.
    #[arg(long, default_value_t = 60)]
    pub period: u64,
    /// Elasticsearch / OpenSearch URL; without it, nothing is shipped and
    /// the counts are printed.
    #[arg(long, env = "STAMPEDE_ES_URL")]
    pub es: Option<String>,
    /// Index of data points.
    #[arg(long, default_value = "stampede-metrics")]
    pub index: String,
    /// Index of events.
    #[arg(long, default_value = "stampede-events")]
    pub events_index: String,
    /// Run id stored with each document.
    #[arg(long)]
    pub run_id: Option<String>,
    /// Keep collecting every period (the window slides) until interrupted.
    #[arg(long)]
    pub follow: bool,
}

/// Arguments of `stampede annotate`.
#[derive(Debug, Args)]
pub struct AnnotateArgs {
    /// What happened, e.g. "Deployment: shop build 42".
    pub text: String,
    /// Elasticsearch / OpenSearch URL.
    #[arg(long, env = "STAMPEDE_ES_URL")]
    pub es: String,
    /// A tag (repeatable), e.g. `deploy` or `service=shop`.
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Index of events.
    #[arg(long, default_value = "stampede-events")]
    pub index: String,
    /// When it happened (RFC 3339); default now.
    #[arg(long)]
    pub at: Option<String>,
    /// When it ended (RFC 3339), for events that last.
    #[arg(long)]
    pub end: Option<String>,
    /// Run id stored with the event.
    #[arg(long)]
    pub run_id: Option<String>,
}

/// Arguments of `stampede ship`.
#[derive(Debug, Args)]
pub struct ShipArgs {
    /// The JTL file.
    pub jtl: PathBuf,
    /// Elasticsearch / OpenSearch URL (user:password@ for basic auth; AWS
    /// domains are signed with SigV4).
    #[arg(long, env = "STAMPEDE_ES_URL")]
    pub es: String,
    /// Index name.
    #[arg(long, default_value = "stampede-results")]
    pub index: String,
    /// Keep following the file as it grows, until interrupted.
    #[arg(long)]
    pub follow: bool,
    /// Bee id stored with each row (default: the file's name).
    #[arg(long)]
    pub bee: Option<String>,
    /// Run id stored with each row, and the first part of each
    /// document's id (letters, digits, `.`, `_`, `-`).
    #[arg(long, default_value = "adhoc")]
    pub run_id: String,
    /// How long shipping may go without indexing a row (the cluster down,
    /// a full or read-only index) before it gives up and reports the rows
    /// not shipped, like 30s or 2m.
    #[arg(long, default_value = "2m", value_parser = parse_give_up)]
    pub give_up_after: Duration,
    /// Which raw rows go to the index beside the per-interval rollups
    /// (`<index>-rollup`): all, errors or none.
    #[arg(long, default_value = "all", value_parser = parse_rows)]
    pub rows: crate::metrics::rollup::RowsMode,
    /// Length of a rollup interval, 1s to 60s.
    #[arg(long, default_value = "1s", value_parser = parse_interval)]
    pub rollup_interval: Duration,
}

/// Arguments of `stampede bee`.
#[derive(Debug, Args)]
pub struct BeeArgs {
    /// The bee config: a file or an s3:// URI.
    #[arg(long, env = "STAMPEDE_BEE_CONFIG")]
    pub config: String,
}

/// Blueprint and variable overrides, shared by `run` and `render`.
#[derive(Debug, Args, Clone)]
pub struct BlueprintArgs {
    /// The blueprint YAML file.
    pub blueprint: PathBuf,
    /// Override a blueprint variable (repeatable).
    #[arg(long = "var", value_name = "K=V", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Run id; defaults to `<stack>-<UTC timestamp>`.
    #[arg(long)]
    pub run_id: Option<String>,
}

/// Arguments of `stampede run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Blueprint and variables.
    #[command(flatten)]
    pub blueprint: BlueprintArgs,
    /// Leave the stack (and the run's S3 inputs) in place when the run ends.
    #[arg(long)]
    pub keep: bool,
    /// Check everything that can be checked (blueprint, gate, baseline,
    /// limits, paths, credentials, bucket, stack name) and print what
    /// would be created, without creating or uploading anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Folder for summary.json, the bees' JTLs and other reports.
    #[arg(long, value_name = "DIR", default_value = "stampede-report")]
    pub report: PathBuf,
    /// Gate file; overrides the blueprint's `gate`.
    #[arg(long, value_name = "FILE")]
    pub gate: Option<PathBuf>,
    /// Write the gate's verdicts as JUnit XML.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a markdown summary (for Jenkins or GitHub job summaries).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Exit code for an unstable verdict (default 0).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub unstable_exit: u8,
    /// The x86_64 Linux stampede binary the bees run (default: this one).
    #[arg(long, value_name = "PATH", env = "STAMPEDE_BEE_BINARY")]
    pub bee_binary: Option<PathBuf>,
    /// Show live metrics per label too.
    #[arg(long)]
    pub labels: bool,
}

/// Arguments of `stampede render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Blueprint and variables.
    #[command(flatten)]
    pub blueprint: BlueprintArgs,
    /// Write template, parameters.json and userdata/ here instead of
    /// printing the template.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Render for this bee binary: its content hash names its S3 key and
    /// is checked by the bee (default: the run's own prefix, unchecked).
    #[arg(long, value_name = "PATH")]
    pub bee_binary: Option<PathBuf>,
}

/// Arguments of `stampede observe`.
#[derive(Debug, Args)]
pub struct ObserveArgs {
    /// Stack name or id.
    pub stack: String,
}

/// Arguments of `stampede delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Stack name or id.
    pub stack: String,
    /// Return once deletion has started.
    #[arg(long)]
    pub no_wait: bool,
}

/// Arguments of `stampede reap`.
#[derive(Debug, Args)]
pub struct ReapArgs {
    /// List what would be deleted, delete nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `stampede analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// JTL files (CSV, plain or .gz).
    #[arg(required = true)]
    pub jtl: Vec<PathBuf>,
    /// Write the summary (with histograms) as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write a bee summary (`<bee id>.summary.json`, the form `run`
    /// merges), e.g. to replace one a bee could not upload.
    #[arg(long, value_name = "FILE")]
    pub bee_summary: Option<PathBuf>,
    /// Write a markdown summary.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Write the self-contained HTML report.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// Arguments of `stampede report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run's report folder (with summary.json, and gate.json and
    /// baseline.json when the run had a gate), or a summary JSON.
    pub input: PathBuf,
    /// Compare with this baseline (a summary or JTL file, or an s3://
    /// URI) and judge again.
    #[arg(long, value_name = "FILE|S3_URI")]
    pub baseline: Option<String>,
    /// Judge again with this gate file (default with --baseline: p95 and
    /// error rate checks).
    #[arg(long, value_name = "FILE")]
    pub gate: Option<PathBuf>,
    /// Where to write the page (default: report.html beside the summary).
    #[arg(short, long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Arguments of `stampede compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// This run: a JTL or a summary JSON.
    pub current: PathBuf,
    /// The baseline: a JTL or a summary JSON.
    pub baseline: PathBuf,
    /// Gate file with the criteria (default: p95 and error rate checks).
    #[arg(long, value_name = "FILE")]
    pub gate: Option<PathBuf>,
    /// Write the verdicts as JUnit XML.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a markdown summary.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Exit code for an unstable verdict (default 0).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub unstable_exit: u8,
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected K=V, got {s:?}")),
    }
}

fn parse_give_up(s: &str) -> Result<Duration, String> {
    crate::blueprint::parse_duration(s)
        .filter(|&t| t <= crate::bee::config::MAX_GIVE_UP_AFTER_S)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("expected a duration up to 24h like 30s or 2m, got {s:?}"))
}

fn parse_rows(s: &str) -> Result<crate::metrics::rollup::RowsMode, String> {
    crate::metrics::rollup::RowsMode::parse(s)
        .ok_or_else(|| format!("expected all, errors or none, got {s:?}"))
}

fn parse_interval(s: &str) -> Result<Duration, String> {
    crate::blueprint::parse_duration(s)
        .filter(|t| (1..=60).contains(t))
        .map(Duration::from_secs)
        .ok_or_else(|| format!("expected a duration from 1s to 60s, like 1s or 5s, got {s:?}"))
}

fn parse_seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("expected seconds, got {s:?}"))?;
    if !(0.0..=3600.0).contains(&secs) {
        return Err(format!("poll interval {secs}s is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn var_needs_a_key() {
        assert!(parse_var("=x").is_err());
        assert_eq!(parse_var("a=b=c").unwrap(), ("a".into(), "b=c".into()));
    }
}
