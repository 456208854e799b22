//! `stampede report RUN_DIR|SUMMARY.json`: rebuilds the HTML report from
//! stored results, for example a CI job's archived artifacts.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::Ctx;
use crate::cli::{GlobalArgs, ReportArgs};
use crate::exit::{Ended, InputError};
use crate::gate::{self, Gate};
use crate::report::{self, ReportError};
use crate::results::Summary;

/// Builds the report and writes it.
pub async fn run(ctx: &Ctx<'_>, args: ReportArgs) -> anyhow::Result<Ended> {
    let global = ctx.global;
    let input = args.input.clone();
    let mut inputs = tokio::task::spawn_blocking(move || report::load_dir_or_summary(&input))
        .await
        .context("the summary reader stopped")?
        .map_err(bad_input)?;
    if let Some(base) = &args.baseline {
        inputs.baseline = Some(load_baseline(global, base).await?);
    }
    // A baseline or gate named here means judging again; otherwise the
    // stored outcome stands.
    if args.baseline.is_some() || args.gate.is_some() {
        let gate = match &args.gate {
            Some(path) => Gate::read(path)?,
            None => Gate::default_gate(),
        };
        let outcome = gate::judge(&gate, &inputs.summary, inputs.baseline.as_ref());
        inputs.gate = Some(report::input::gate_view(&outcome));
    }
    let out = args.out.clone().unwrap_or_else(|| default_out(&args.input));
    let html = tokio::task::spawn_blocking(move || report::render(&inputs))
        .await
        .context("the report renderer stopped")?;
    std::fs::write(&out, html).with_context(|| format!("writing {}", out.display()))?;
    ctx.feed.info(&format!("wrote {}", out.display()));
    Ok(Ended::passed().with("report", out.display().to_string()))
}

/// `report.html` in the run folder, or beside the summary.
fn default_out(input: &Path) -> PathBuf {
    if input.is_dir() {
        input.join("report.html")
    } else {
        input.with_file_name("report.html")
    }
}

fn bad_input(e: ReportError) -> anyhow::Error {
    InputError(e.to_string()).into()
}

/// A baseline from a file (summary or JTL) or an s3:// URI.
async fn load_baseline(global: &GlobalArgs, base: &str) -> anyhow::Result<Summary> {
    if let Some((bucket, key)) = crate::aws::s3::parse_uri(base) {
        let clients =
            crate::aws::connect(global.region.as_deref(), global.profile.as_deref()).await?;
        let raw = clients
            .s3
            .get(bucket, key)
            .await
            .with_context(|| format!("reading the baseline {base}"))?;
        let text = String::from_utf8_lossy(&raw);
        return Ok(report::input::parse_summary(Path::new(base), &text)
            .map_err(bad_input)?
            .0);
    }
    let path = PathBuf::from(base);
    tokio::task::spawn_blocking(move || {
        if is_json(&path)? {
            Ok(report::load_summary_file(&path).map_err(bad_input)?.0)
        } else {
            Ok(crate::results::load_run(&path)?)
        }
    })
    .await
    .context("the baseline reader stopped")?
}

/// Whether the file is a summary (JSON), not a JTL.
fn is_json(path: &Path) -> anyhow::Result<bool> {
    crate::results::is_summary_json(path)
        .map_err(|e| InputError(format!("{}: cannot read: {e}", path.display())).into())
}
