//! `stampede annotate --es URL "TEXT" [--tag T]...`: one event in the
//! events index, for the charts and Grafana (what a Jenkins deploy step
//! used to do with curl).

use anyhow::Context;
use chrono::{DateTime, Utc};

use super::Ctx;
use crate::cli::AnnotateArgs;
use crate::events::{Event, Source, rfc3339};
use crate::exit::{Ended, InputError};
use crate::metrics::es::Es;
use crate::monitor::store;

/// Writes the event.
pub async fn run(ctx: &Ctx<'_>, args: AnnotateArgs) -> anyhow::Result<Ended> {
    let ui = ctx.feed;
    if args.text.trim().is_empty() {
        anyhow::bail!(InputError("annotate: the text is empty".into()));
    }
    let at = match &args.at {
        Some(s) => time("--at", s)?,
        None => Utc::now(),
    };
    let mut event = Event::new(at, Source::Annotation, args.text.clone(), args.tags.clone());
    if let Some(end) = &args.end {
        let end = time("--end", end)?;
        if end < at {
            anyhow::bail!(InputError(format!(
                "annotate: --end {} is before the event's time {}",
                rfc3339(end),
                rfc3339(at)
            )));
        }
        event.end = Some(rfc3339(end));
    }
    event.run_id = args.run_id.clone();
    let es = Es::connect(&args.es).await?;
    es.put(
        &format!("_index_template/stampede-{}", args.index),
        &crate::events::index_template(&args.index),
    )
    .await
    .with_context(|| format!("putting the index template for {}", args.index))?;
    let shipped = store::ship_events(&es, &args.index, std::slice::from_ref(&event))
        .await
        .with_context(|| format!("writing the event to {}/{}", es.shown(), args.index))?;
    if shipped.indexed != 1 {
        anyhow::bail!(
            "{}/{} refused the event (see the cluster's log)",
            es.shown(),
            args.index
        );
    }
    ui.info(&format!(
        "annotated {} at {} in {}/{}",
        event.text,
        event.timestamp,
        es.shown(),
        args.index
    ));
    Ok(Ended::passed()
        .with("id", event.id())
        .with("event", serde_json::to_value(&event)?))
}

fn time(flag: &str, s: &str) -> anyhow::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.to_utc())
        .map_err(|e| {
            InputError(format!(
                "annotate: {flag} {s:?} is not an RFC 3339 time: {e}"
            ))
            .into()
        })
}
