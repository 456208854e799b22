//! `stampede analyze JTL...`: a per-label table in one streaming pass.

use anyhow::Context;

use super::Ctx;
use crate::cli::{AnalyzeArgs, OutputMode};
use crate::exit::Ended;
use crate::report;
use crate::results::aggregate::capped_notice;
use crate::results::beesum::BeeSummary;
use crate::results::{self, ResultsError, Summary, table};

/// Reads the files and prints (and optionally writes) the summary.
pub async fn run(ctx: &Ctx<'_>, args: AnalyzeArgs) -> anyhow::Result<Ended> {
    let global = ctx.global;
    // Checked first: a bad name must not leave the other outputs half-done.
    let bee = args.bee_summary.as_deref().map(bee_of).transpose()?;
    let paths = args.jtl.clone();
    let analysis = tokio::task::spawn_blocking(move || {
        results::analyze_paths(&paths, results::default_workers())
    })
    .await
    .context("the results reader stopped")??;
    for f in &analysis.files {
        if f.malformed.count > 0 {
            let lines: Vec<String> = f.malformed.first_lines.iter().map(u64::to_string).collect();
            eprintln!(
                "warning: {}: {} malformed row(s) skipped, first at line(s) {}",
                f.path.display(),
                f.malformed.count,
                lines.join(", ")
            );
        }
        if f.rows == 0 {
            let detail = if f.malformed.count > 0 {
                format!(" ({} malformed)", f.malformed.count)
            } else {
                String::new()
            };
            return Err(ResultsError::NoRows {
                path: f.path.clone(),
                detail,
            }
            .into());
        }
    }
    let malformed = analysis.files.iter().map(|f| f.malformed.count).sum();
    let summary = Summary::from_aggregate(&analysis.aggregate, malformed);
    if let Some(notice) = capped_notice(summary.labels.iter().map(|l| &l.label)) {
        eprintln!("{notice}");
    }
    if let Some(path) = &args.json {
        std::fs::write(path, summary.to_json())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let (Some(path), Some(bee)) = (&args.bee_summary, &bee) {
        let rows = analysis.files.iter().map(|f| f.rows).sum();
        let s = BeeSummary::of(bee, &analysis.aggregate, rows, malformed, None);
        std::fs::write(path, s.to_json()).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.html {
        // Through the JSON, as `stampede report` reads it: the same page.
        let (summary, extras) = report::input::parse_summary(path, &summary.to_json())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let html = report::render(&report::Inputs {
            summary,
            extras,
            ..report::Inputs::default()
        });
        std::fs::write(path, html).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.markdown {
        std::fs::write(path, table::markdown(&summary))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if global.output == OutputMode::Json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print!("{}", table::text(&summary));
    }
    let total = summary.total.as_ref();
    Ok(Ended::passed()
        .with("files", analysis.files.len())
        .with("count", total.map_or(0, |t| t.count))
        .with("errors", total.map_or(0, |t| t.errors))
        .with("labels", summary.labels.len()))
}

/// The bee a summary file is named after: `bee-7.summary.json` is bee-7's.
fn bee_of(path: &std::path::Path) -> Result<String, crate::exit::InputError> {
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(crate::results::beemerge::SUMMARY_SUFFIX))
        .filter(|b| !b.is_empty())
        .map(String::from)
        .ok_or_else(|| {
            crate::exit::InputError(format!(
                "{}: a bee summary's name is <bee id>.summary.json",
                path.display()
            ))
        })
}
