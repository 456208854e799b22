//! `stampede collect --tag K=V... [--stack NAME]...`: discovery and
//! collection without a run, idempotent, so a cron job every few minutes
//! keeps a continuous stream.

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};

use super::Ctx;
use crate::aws::watch::Watch;
use crate::blueprint::{Build, parse_duration};
use crate::cli::CollectArgs;
use crate::exit::{Ended, InputError, Outcome};
use crate::feed::Feed;
use crate::metrics::es::Es;
use crate::monitor::pass::{self, Pass};
use crate::monitor::spec::{self, Spec};
use crate::monitor::store::{self, DocContext};

/// Periods per round: 360 points of 1,600 series stay under 10 MB.
const MAX_PERIODS_PER_ROUND: i64 = 360;

/// Collects once, or every period with `--follow`.
pub async fn run(ctx: &Ctx<'_>, args: CollectArgs) -> anyhow::Result<Ended> {
    let (global, ui, interrupt) = (ctx.global, ctx.feed, ctx.interrupt);
    let spec = spec_of(&args)?;
    let now = Utc::now();
    // Checked now, so a typo fails before any call.
    window(&args, now)?;
    let sdk = crate::aws::load_config(global.region.as_deref(), global.profile.as_deref()).await?;
    let watch = Watch::new(&sdk);
    let es = match &args.es {
        Some(url) => {
            let es = Es::connect(url).await?;
            store::prepare(&es, &spec.index, &spec.events_index)
                .await
                .with_context(|| format!("putting the index templates on {}", es.shown()))?;
            Some(es)
        }
        None => {
            ui.info("no --es: nothing is shipped, the counts are printed");
            None
        }
    };
    let env = std::env::vars().collect();
    let ctx = DocContext {
        run_id: args.run_id.clone(),
        build: serde_json::to_value(Build::from_env(&env)).ok(),
        tags: spec.tags_json(),
    };
    let mut totals = serde_json::Value::Null;
    loop {
        let (start, end) = window(&args, Utc::now())?;
        let (start, end) = pass::align(start, end, spec.period);
        let step = MAX_PERIODS_PER_ROUND * i64::from(spec.period) * 1000;
        let mut from = start;
        // A long backfill goes in slices, so memory stays bounded by the
        // series count, not by the window's length.
        while from < end {
            let to = (from + step).min(end);
            let p = pass::run(&watch, &spec, from, to, es.as_ref(), &ctx)
                .await
                .map_err(pass::PassError::into_anyhow)?;
            report(ui, &p, es.as_ref(), &spec);
            add(&mut totals, result(&p));
            from = to;
        }
        if !args.follow {
            break;
        }
        tokio::select! {
            _ = interrupt.token().cancelled() => break,
            _ = tokio::time::sleep(Duration::from_secs(u64::from(spec.period).max(60))) => {}
        }
    }
    let outcome = match interrupt.exit_code() {
        // `--follow` ends on a signal, with every round stored.
        Some(code) => Outcome::Interrupted { code },
        None => Outcome::Passed,
    };
    let mut ended = Ended::new(outcome);
    if let serde_json::Value::Object(fields) = totals {
        ended.fields = fields;
    }
    Ok(ended)
}

fn spec_of(args: &CollectArgs) -> anyhow::Result<Spec> {
    if args.tags.is_empty() && args.stacks.is_empty() {
        anyhow::bail!(InputError(
            "collect: say what to watch with --tag K=V and/or --stack NAME".into()
        ));
    }
    let mut spec = Spec::new(args.tags.clone(), args.stacks.clone());
    spec.period = spec::check_period(args.period)
        .map_err(|m| InputError(format!("collect: --period: {m}")))?;
    spec.index = args.index.clone();
    spec.events_index = args.events_index.clone();
    Ok(spec)
}

/// `[since, until)` in epoch ms.
fn window(args: &CollectArgs, now: DateTime<Utc>) -> anyhow::Result<(i64, i64)> {
    let start = when("--since", &args.since, now)?;
    let end = when("--until", &args.until, now)?;
    if start >= end {
        anyhow::bail!(InputError(format!(
            "collect: --since {} is not before --until {}",
            args.since, args.until
        )));
    }
    Ok((start.timestamp_millis(), end.timestamp_millis()))
}

/// `now`, a duration ago, or an RFC 3339 time.
fn when(flag: &str, s: &str, now: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
    if s == "now" {
        return Ok(now);
    }
    if let Some(secs) = parse_duration(s) {
        return Ok(now - chrono::Duration::seconds(secs as i64));
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.to_utc())
        .map_err(|_| {
            InputError(format!(
                "collect: {flag} {s:?} is neither `now`, a duration like 15m, nor an RFC 3339 time"
            ))
            .into()
        })
}

fn report(ui: &Feed, p: &Pass, es: Option<&Es>, spec: &Spec) {
    for w in &p.warnings {
        ui.warn(w);
    }
    ui.info(&format!("discovered {}", p.discovery.describe()));
    let c = &p.collection;
    let shipped = match (es, p.shipped) {
        (Some(es), Some(s)) => format!(
            "; indexed {} documents into {}/{} and {}{}",
            s.indexed,
            es.shown(),
            spec.index,
            spec.events_index,
            if s.failed > 0 {
                format!(" ({} refused)", s.failed)
            } else {
                String::new()
            }
        ),
        _ => String::new(),
    };
    ui.info(&format!(
        "collected {} points of {} series, {} scaling activities ({} GetMetricData calls, {} throttled and retried){shipped}",
        c.points(),
        c.series.len(),
        p.events.len(),
        c.calls,
        c.throttled
    ));
}

fn result(p: &Pass) -> serde_json::Value {
    serde_json::json!({
        "resources": p.discovery.resources.iter().map(|r| serde_json::json!({"type": r.kind.name(), "id": r.id})).collect::<Vec<_>>(),
        "series": p.collection.series.len(),
        "points": p.collection.points(),
        "calls": p.collection.calls,
        "throttled": p.collection.throttled,
        "events": p.events.len(),
        "indexed": p.shipped.map(|s| s.indexed),
        "warnings": p.warnings,
    })
}

/// Sums the counts of `next` into `acc` (resources and warnings: the
/// latest slice's).
fn add(acc: &mut serde_json::Value, next: serde_json::Value) {
    if acc.is_null() {
        *acc = next;
        return;
    }
    for k in [
        "series",
        "points",
        "calls",
        "throttled",
        "events",
        "indexed",
    ] {
        if let (Some(a), Some(b)) = (acc[k].as_u64(), next[k].as_u64()) {
            acc[k] = serde_json::json!(if k == "series" { a.max(b) } else { a + b });
        }
    }
    acc["resources"] = next["resources"].clone();
    acc["warnings"] = next["warnings"].clone();
}
