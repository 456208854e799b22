//! `stampede live-view` (hidden): the live view on its own, one JSON line
//! per poll, so tests can check its numbers and `bench/swarm.sh` can
//! measure the orchestrator's side (CPU, memory, freshness) apart from
//! the bees.

use std::time::{Duration, Instant};

use super::Ctx;
use crate::cli::LiveViewArgs;
use crate::exit::{self, Ended, Outcome};
use crate::metrics::es::Es;
use crate::metrics::live;
use crate::metrics::rollup_live::RollupLive;

/// Polls `args.polls` times (or until interrupted), printing each view.
pub async fn run(ctx: &Ctx<'_>, args: LiveViewArgs) -> anyhow::Result<Ended> {
    let es = Es::connect(&args.es)
        .await
        .map_err(|e| exit::InputError(format!("--es: {e}")))?;
    let start = args
        .since_ms
        .unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
    let mut view = RollupLive::new(&args.index, &args.run_id, start);
    let interrupt = ctx.interrupt;
    let every = Duration::from_secs_f64(args.every.clamp(0.1, 3600.0));
    let mut polled = 0;
    loop {
        let now = chrono::Utc::now().timestamp_millis();
        let began = Instant::now();
        let snapshot = if args.raw {
            live::from_es(&es, &args.index, &args.run_id, start, now).await
        } else {
            view.poll(&es, now).await
        };
        let took_ms = began.elapsed().as_millis() as u64;
        match snapshot {
            Ok(l) => println!(
                "{}",
                serde_json::json!({ "at_ms": now, "took_ms": took_ms, "live": l })
            ),
            Err(e) => println!(
                "{}",
                serde_json::json!({ "at_ms": now, "error": e.to_string() })
            ),
        }
        polled += 1;
        if args.polls > 0 && polled >= args.polls {
            return Ok(Ended::passed().with("polls", polled));
        }
        tokio::select! {
            _ = interrupt.token().cancelled() => {
                let code = interrupt.exit_code().unwrap_or(exit::SIGINT);
                return Ok(Ended::new(Outcome::Interrupted { code }).with("polls", polled));
            }
            _ = tokio::time::sleep(every.saturating_sub(began.elapsed())) => {}
        }
    }
}
