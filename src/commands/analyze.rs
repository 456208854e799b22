//! `stampede analyze JTL...`: a per-label table in one streaming pass.

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{AnalyzeArgs, GlobalArgs, OutputMode};
use crate::report;
use crate::results::aggregate::capped_notice;
use crate::results::{self, ResultsError, Summary, table};

/// Reads the files and prints (and optionally writes) the summary.
pub async fn run(global: &GlobalArgs, args: AnalyzeArgs) -> anyhow::Result<ExitCode> {
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
    Ok(ExitCode::SUCCESS)
}
