//! One round of watching: discover, plan the queries, fetch the window,
//! read the groups' scaling activities, and ship it all when a search
//! cluster is there. `collect` runs it once or every period; `run` every
//! period during the test and once more after the end.

use super::collect::{self, Collection};
use super::query;
use super::resolve::{self, Discovery};
use super::spec::Spec;
use super::store::{self, DocContext, Shipped};
use crate::aws::AwsError;
use crate::aws::watch::Watch;
use crate::events::Event;
use crate::metrics::es::{Es, EsError};

/// What one round found and did.
#[derive(Debug, Default)]
pub struct Pass {
    /// The resources.
    pub discovery: Discovery,
    /// The series.
    pub collection: Collection,
    /// Scaling activities in the window.
    pub events: Vec<Event>,
    /// Warnings: filters that matched nothing, `*` that matched nothing,
    /// series CloudWatch answered only partly.
    pub warnings: Vec<String>,
    /// Points and events indexed, when shipped.
    pub shipped: Option<Shipped>,
}

/// A round's failure: AWS refused, or the cluster did.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    /// An AWS call failed (it names the action).
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The search cluster failed.
    #[error("shipping to the search cluster: {0}")]
    Es(#[from] EsError),
}

impl PassError {
    /// As an error whose chain holds the AWS or cluster error itself, so
    /// the exit code follows it (`transparent` would hide it).
    pub fn into_anyhow(self) -> anyhow::Error {
        match self {
            PassError::Aws(e) => e.into(),
            PassError::Es(e) => anyhow::Error::from(e).context("shipping to the search cluster"),
        }
    }
}

/// Runs one round over `[start_ms, end_ms)`.
pub async fn run(
    watch: &Watch,
    spec: &Spec,
    start_ms: i64,
    end_ms: i64,
    es: Option<&Es>,
    ctx: &DocContext,
) -> Result<Pass, PassError> {
    let discovery = resolve::discover(watch, spec).await?;
    let (queries, mut warnings) = query::plan(&discovery.resources, spec);
    warnings.splice(0..0, discovery.warnings.iter().cloned());
    let collection = collect::collect(watch, &queries, start_ms, end_ms).await?;
    warnings.extend(collection.warnings.iter().cloned());
    let mut events = Vec::new();
    for g in &discovery.groups {
        for a in watch.activities(g, start_ms).await? {
            let mut e = Event::from_activity(&a);
            e.run_id = ctx.run_id.clone();
            events.push(e);
        }
    }
    let shipped = match es {
        Some(es) => {
            let mut s = store::ship_series(es, &spec.index, &collection.series, ctx).await?;
            let e = store::ship_events(es, &spec.events_index, &events).await?;
            s.indexed += e.indexed;
            s.failed += e.failed;
            Some(s)
        }
        None => None,
    };
    Ok(Pass {
        discovery,
        collection,
        events,
        warnings,
        shipped,
    })
}

/// `[start, end)` aligned down to whole periods, so every round asks
/// CloudWatch for the same buckets.
pub fn align(start_ms: i64, end_ms: i64, period: u32) -> (i64, i64) {
    let p = i64::from(period.max(1)) * 1000;
    (start_ms.div_euclid(p) * p, (end_ms.div_euclid(p) + 1) * p)
}
