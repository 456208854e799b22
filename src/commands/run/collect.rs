//! Gathers the bees' result files from S3 and summarises them.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::aws::S3;
use crate::blueprint::Plan;
use crate::results::{self, Summary};

/// Result files found and what they held.
pub struct Collected {
    /// The summary (with run id, stack and build filled in).
    pub summary: Summary,
    /// How many JTL files there were.
    pub files: usize,
}

/// Downloads `results/*.jtl.gz` of the run into `dir` and summarises them.
/// `None` when the bees left nothing.
pub async fn collect(s3: &S3, plan: &Plan, dir: &Path) -> anyhow::Result<Option<Collected>> {
    let prefix = plan.run.results_prefix();
    let keys: Vec<String> = s3
        .list(&plan.run.bucket, &prefix)
        .await
        .context("listing the bees' results")?
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| k.ends_with(".jtl.gz") || k.ends_with(".jtl"))
        .collect();
    if keys.is_empty() {
        return Ok(None);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut paths = Vec::new();
    for key in &keys {
        let name = key.rsplit('/').next().unwrap_or(key);
        let path = dir.join(name);
        s3.get_to_file(&plan.run.bucket, key, &path).await?;
        paths.push(path);
    }
    let summary = summarise(plan, paths.clone()).await?;
    Ok(Some(Collected {
        summary,
        files: paths.len(),
    }))
}

/// Summarises JTL files on disk (off the async threads: it is CPU work).
pub async fn summarise(plan: &Plan, paths: Vec<PathBuf>) -> anyhow::Result<Summary> {
    let analysis = tokio::task::spawn_blocking(move || {
        results::analyze_paths(&paths, results::default_workers())
    })
    .await
    .context("the results reader stopped")??;
    let malformed = analysis.files.iter().map(|f| f.malformed.count).sum();
    let mut summary = Summary::from_aggregate(&analysis.aggregate, malformed);
    summary.run_id = Some(plan.run.id.clone());
    summary.stack = Some(plan.stack.clone());
    summary.build = serde_json::to_value(&plan.build).ok();
    Ok(summary)
}
