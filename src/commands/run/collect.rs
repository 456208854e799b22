//! Gathers the bees' results from S3: their summaries merged, a bee's JTL
//! read only when its summary cannot be used (see [`super::gather`]).

use std::path::Path;

use crate::aws::S3;
use crate::blueprint::Plan;
use crate::results::Summary;
use crate::ui::Reporter;

use super::gather::{self, Place};

/// Result files found and what they held.
pub struct Collected {
    /// The summary (with run id, stack and build filled in).
    pub summary: Summary,
    /// How many bees left results.
    pub files: usize,
}

/// Fetches the run's bee summaries (and, where needed, JTLs) under
/// `results/` into `dir` and summarises them. `None` when the bees left
/// nothing.
pub async fn collect(
    s3: &S3,
    plan: &Plan,
    dir: &Path,
    ui: &Reporter,
) -> anyhow::Result<Option<Collected>> {
    let place = Place::S3 {
        s3,
        bucket: plan.run.bucket.clone(),
        prefix: plan.run.results_prefix(),
        dir: dir.to_path_buf(),
    };
    Ok(gather::gather(&place, plan, ui).await?.map(|g| Collected {
        summary: g.summary,
        files: g.bees,
    }))
}
