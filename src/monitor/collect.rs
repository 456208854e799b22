//! GetMetricData in batches of at most 500 queries, throttling retried
//! and counted.

use std::future::Future;
use std::time::Duration;

use super::query::Query;
use crate::aws::watch::Watch;
use crate::aws::{AwsError, AwsErrorKind};

/// CloudWatch's limit of queries per GetMetricData call.
pub const MAX_QUERIES: usize = 500;
/// Attempts per call while throttled.
const ATTEMPTS: u32 = 8;
/// First backoff; doubles per attempt.
const BACKOFF: Duration = Duration::from_millis(500);

/// One collected series.
#[derive(Debug, Clone)]
pub struct Series {
    /// What was asked.
    pub query: Query,
    /// Epoch ms and value, oldest first.
    pub points: Vec<(i64, f64)>,
}

/// What one collection fetched.
#[derive(Debug, Default)]
pub struct Collection {
    /// Every series asked for, with or without points.
    pub series: Vec<Series>,
    /// GetMetricData calls made (pages and retries included).
    pub calls: u32,
    /// Throttled calls that were retried.
    pub throttled: u32,
    /// CloudWatch's complaints about single series.
    pub warnings: Vec<String>,
}

impl Collection {
    /// Data points over all series.
    pub fn points(&self) -> usize {
        self.series.iter().map(|s| s.points.len()).sum()
    }
}

/// The batches of one collection: consecutive runs of at most `size`
/// queries (a call's limit is 500).
pub fn batches(queries: &[Query], size: usize) -> impl Iterator<Item = &[Query]> {
    queries.chunks(size.clamp(1, MAX_QUERIES))
}

/// Fetches `[start_ms, end_ms)` for every query.
pub async fn collect(
    watch: &Watch,
    queries: &[Query],
    start_ms: i64,
    end_ms: i64,
) -> Result<Collection, AwsError> {
    let mut c = Collection::default();
    for batch in batches(queries, MAX_QUERIES) {
        let mut throttled = 0;
        let (data, calls) = retrying(&mut throttled, BACKOFF, || {
            watch.metric_data(batch, start_ms, end_ms)
        })
        .await?;
        c.throttled += throttled;
        c.calls += calls + throttled;
        for (q, d) in batch.iter().zip(data) {
            if !d.status.is_empty() && d.status != "Complete" {
                c.warnings.push(format!(
                    "{} {:?}: {} {}",
                    q.series_id(),
                    q.dimensions,
                    d.status,
                    d.messages.join("; ")
                ));
            }
            let mut points = d.points;
            points.sort_by_key(|p| p.0);
            points.dedup_by_key(|p| p.0);
            c.series.push(Series {
                query: q.clone(),
                points,
            });
        }
    }
    Ok(c)
}

/// Runs `call` until it is not throttled (at most [`ATTEMPTS`] times,
/// backing off exponentially), counting the throttled attempts.
pub async fn retrying<T, F, Fut>(
    throttled: &mut u32,
    backoff: Duration,
    mut call: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    let mut wait = backoff;
    for attempt in 1.. {
        match call().await {
            Err(e) if e.kind == AwsErrorKind::Throttled && attempt < ATTEMPTS => {
                *throttled += 1;
                tracing::debug!("{e}: retrying in {wait:?}");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(20));
            }
            other => return other,
        }
    }
    unreachable!("the loop returns")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::spec::Stat;

    fn q(i: usize) -> Query {
        Query {
            namespace: "AWS/EC2".into(),
            metric: "CPUUtilization".into(),
            dimensions: vec![("InstanceId".into(), format!("i-{i}"))],
            stat: Stat::Average,
            period: 60,
        }
    }

    #[test]
    fn at_most_500_queries_per_call() {
        // 200 resources x the 4 EC2 defaults = 800 queries: two calls.
        let queries: Vec<Query> = (0..800).map(q).collect();
        let sizes: Vec<usize> = batches(&queries, MAX_QUERIES).map(<[Query]>::len).collect();
        assert_eq!(sizes, vec![500, 300]);
        assert_eq!(batches(&queries[..500], MAX_QUERIES).count(), 1);
        assert_eq!(batches(&queries[..501], MAX_QUERIES).count(), 2);
        assert_eq!(batches(&[], MAX_QUERIES).count(), 0);
    }

    fn throttle() -> AwsError {
        AwsError {
            op: "cloudwatch:GetMetricData",
            target: "2 queries".into(),
            kind: AwsErrorKind::Throttled,
            message: "Throttling: Rate exceeded".into(),
        }
    }

    // A fake: no emulator throttles on demand.
    #[tokio::test]
    async fn throttling_is_retried_and_counted() {
        let mut left = 2;
        let mut throttled = 0;
        let r = retrying(&mut throttled, Duration::from_millis(1), || {
            let fail = left > 0;
            left -= 1;
            async move { if fail { Err(throttle()) } else { Ok(7) } }
        })
        .await;
        assert_eq!(r.unwrap(), 7);
        assert_eq!(throttled, 2);
    }

    #[tokio::test]
    async fn throttling_gives_up_after_the_attempts_and_other_errors_are_not_retried() {
        let mut throttled = 0;
        let r: Result<(), _> = retrying(&mut throttled, Duration::from_millis(1), || async {
            Err(throttle())
        })
        .await;
        assert_eq!(r.unwrap_err().kind, AwsErrorKind::Throttled);
        assert_eq!(throttled, ATTEMPTS - 1);
        let mut calls = 0;
        let mut throttled = 0;
        let r: Result<(), _> = retrying(&mut throttled, Duration::from_millis(1), || {
            calls += 1;
            async {
                Err(AwsError {
                    kind: AwsErrorKind::AccessDenied,
                    ..throttle()
                })
            }
        })
        .await;
        assert!(r.is_err());
        assert_eq!((calls, throttled), (1, 0));
    }
}
