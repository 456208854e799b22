//! The end of a run: the bees' own summaries merged (exact, and small to
//! fetch), and for any bee whose summary is missing or unusable, its JTL
//! read instead, saying which bee and why. Works on S3 and on a laptop
//! run's results folder alike.

use std::path::PathBuf;

use anyhow::Context;
use futures_util::StreamExt;

use crate::aws::S3;
use crate::blueprint::Plan;
use crate::feed::Feed;
use crate::results::beemerge::{self, BeeFiles, Merged};
use crate::results::beesum::Unusable;
use crate::results::{self, Summary};

/// Bees whose fallback is warned about one by one.
const NAMED_FALLBACKS: usize = 20;
/// Summary downloads in flight at once.
const FETCHES: usize = 16;

/// Where the bees left their results.
pub enum Place<'a> {
    /// A laptop run's results folder.
    Local(PathBuf),
    /// A run's results prefix on S3; files are fetched into `dir`.
    S3 {
        /// The client.
        s3: &'a S3,
        /// The bucket.
        bucket: String,
        /// The run's results prefix.
        prefix: String,
        /// Where fetched files go.
        dir: PathBuf,
    },
}

impl Place<'_> {
    /// Where, for messages.
    pub fn describe(&self) -> String {
        match self {
            Place::Local(dir) => dir.display().to_string(),
            Place::S3 { bucket, prefix, .. } => format!("s3://{bucket}/{prefix}"),
        }
    }

    async fn names(&self) -> anyhow::Result<Vec<String>> {
        match self {
            Place::Local(dir) => Ok(std::fs::read_dir(dir)
                .map(|d| {
                    d.filter_map(Result::ok)
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default()),
            Place::S3 {
                s3, bucket, prefix, ..
            } => Ok(s3
                .list(bucket, prefix)
                .await
                .context("listing the bees' results")?
                .into_iter()
                .map(|(k, _)| k)
                .collect()),
        }
    }

    /// A local path holding the file `name` (a key on S3).
    async fn fetch(&self, name: &str) -> anyhow::Result<PathBuf> {
        match self {
            Place::Local(dir) => Ok(dir.join(name)),
            Place::S3 {
                s3, bucket, dir, ..
            } => {
                let path = dir.join(name.rsplit('/').next().unwrap_or(name));
                s3.get_to_file(bucket, name, &path).await?;
                Ok(path)
            }
        }
    }
}

/// What the bees left, summarised.
pub struct Gathered {
    /// The summary (run id, stack and build filled in).
    pub summary: Summary,
    /// How many bees left results.
    pub bees: usize,
}

/// Merges the bees' summaries, reading the JTL of any bee whose summary
/// cannot be used. `None` when the bees left nothing.
pub async fn gather(place: &Place<'_>, plan: &Plan, ui: &Feed) -> anyhow::Result<Option<Gathered>> {
    let bees = beemerge::group(place.names().await?);
    if bees.is_empty() {
        return Ok(None);
    }
    if let Place::S3 { dir, .. } = place {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let started = std::time::Instant::now();
    let (files, mut unusable) = fetch_summaries(place, &bees).await;
    let fetched = started.elapsed();
    let mut merged = tokio::task::spawn_blocking(move || {
        beemerge::merge_files(&files, results::default_workers())
    })
    .await
    .context("the summary merger stopped")?;
    unusable.append(&mut merged.unusable);
    unusable.sort_by(|a, b| beemerge::bee_order(&a.0, &b.0));
    let read = read_jtls(place, &bees, &unusable, &mut merged, ui).await?;
    if read > 0 || merged.merged > 0 {
        ui.info(&format!(
            "results: merged {} bee summar{}{} in {:.1} s ({:.1} s fetching)",
            merged.merged,
            if merged.merged == 1 { "y" } else { "ies" },
            if read > 0 {
                format!(", read {read} bee JTL(s)")
            } else {
                String::new()
            },
            started.elapsed().as_secs_f64(),
            fetched.as_secs_f64()
        ));
    }
    let mut summary = Summary::from_aggregate(&merged.aggregate, merged.malformed);
    summary.run_id = Some(plan.run.id.clone());
    summary.stack = Some(plan.stack.clone());
    summary.build = serde_json::to_value(&plan.build).ok();
    summary.generators = merged.generators;
    Ok(Some(Gathered {
        summary,
        bees: bees.len(),
    }))
}

/// Fetches every bee's summary (several at once); bees without one, or
/// whose fetch failed, come back as unusable.
async fn fetch_summaries(
    place: &Place<'_>,
    bees: &[BeeFiles],
) -> (Vec<(String, PathBuf)>, Vec<(String, Unusable)>) {
    let results: Vec<(String, Result<PathBuf, Unusable>)> = futures_util::stream::iter(bees)
        .map(|b| async move {
            let got = match &b.summary {
                None => Err(Unusable::Missing),
                Some(name) => place
                    .fetch(name)
                    .await
                    .map_err(|e| Unusable::Unreadable(format!("{e:#}"))),
            };
            (b.bee.clone(), got)
        })
        .buffered(FETCHES)
        .collect()
        .await;
    let mut files = Vec::new();
    let mut unusable = Vec::new();
    for (bee, got) in results {
        match got {
            Ok(path) => files.push((bee, path)),
            Err(why) => unusable.push((bee, why)),
        }
    }
    (files, unusable)
}

/// Reads the JTLs of the bees whose summaries could not be used into
/// `merged`, warning once per bee. Returns how many were read.
async fn read_jtls(
    place: &Place<'_>,
    bees: &[BeeFiles],
    unusable: &[(String, Unusable)],
    merged: &mut Merged,
    ui: &Feed,
) -> anyhow::Result<usize> {
    let mut paths = Vec::new();
    for (n, (bee, why)) in unusable.iter().enumerate() {
        let jtl = bees
            .iter()
            .find(|b| &b.bee == bee)
            .and_then(|b| b.jtl.as_ref());
        let said = match jtl {
            Some(_) => format!("{bee}: {why}; reading its JTL instead"),
            None => format!("{bee}: {why}, and no JTL: its samples are not in the results"),
        };
        // Every bee is named up to a point; a whole fleet's worth is one line.
        if n < NAMED_FALLBACKS {
            ui.warn(&said);
        } else if n == NAMED_FALLBACKS {
            ui.warn(&format!(
                "{} more bees' summaries could not be used; reading their JTLs",
                unusable.len() - n
            ));
        }
        if let Some(jtl) = jtl {
            paths.push(place.fetch(jtl).await?);
        }
    }
    if paths.is_empty() {
        return Ok(0);
    }
    let n = paths.len();
    let analysis = tokio::task::spawn_blocking(move || {
        results::analyze_paths(&paths, results::default_workers())
    })
    .await
    .context("the results reader stopped")??;
    merged.malformed += analysis
        .files
        .iter()
        .map(|f| f.malformed.count)
        .sum::<u64>();
    merged.aggregate.absorb(analysis.aggregate);
    Ok(n)
}
