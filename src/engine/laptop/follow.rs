//! Following local bees: their signals to the coordinator become the
//! run's bee-signal events and phases, each at the moment the coordinator
//! received it, until every bee has exited.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::Child;

use super::super::Cx;
use super::super::fleet::Followed;
use crate::feed::{Condition, Kind, Phase};
use crate::local::coordinator::{Coordinator, Signals};

/// How long bees get to stop (and upload) after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(60);

/// Emits each new signal and phase until every bee has exited, the
/// deadline passes or a signal arrives.
pub async fn follow(
    coord: &Coordinator,
    children: &mut [Child],
    cx: &Cx<'_>,
    deadline: Instant,
) -> Followed {
    let mut signals = coord.signals.clone();
    let mut said = Said::default();
    loop {
        let s = signals.borrow_and_update().clone();
        said.news(&s, cx);
        let all_exited = children
            .iter_mut()
            .all(|c| c.try_wait().ok().flatten().is_some());
        if all_exited {
            let failure = s
                .failure()
                .map(|f| format!("{}: {}", f.unique_id, f.reason))
                .or_else(|| {
                    (s.done.len() < s.expected).then(|| {
                        format!(
                            "only {} of {} bees signalled Done (see bees/*.log)",
                            s.done.len(),
                            s.expected
                        )
                    })
                });
            return Followed::Finished { failure };
        }
        tokio::select! {
            () = cx.interrupt.token().cancelled() => return Followed::Interrupted,
            () = tokio::time::sleep_until(deadline.into()) => return Followed::TimedOut,
            _ = signals.changed() => {}
            () = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
}

/// What was already emitted.
#[derive(Default)]
struct Said {
    signals: BTreeSet<(String, bool)>,
    phase: Option<Phase>,
}

impl Said {
    /// Emits the signals and phases in `s` not emitted yet, at their times.
    fn news(&mut self, s: &Signals, cx: &Cx<'_>) {
        for (condition, map) in [(Condition::Ready, &s.ready), (Condition::Done, &s.done)] {
            for sig in map.values() {
                if self
                    .signals
                    .insert((sig.unique_id.clone(), condition == Condition::Done))
                {
                    cx.feed.emit_at(
                        at(sig.received_ms),
                        Kind::BeeSignal {
                            bee: sig.unique_id.clone(),
                            condition,
                            status: sig.status.clone(),
                            reason: sig.reason.clone(),
                        },
                    );
                }
            }
        }
        let ready = s.ready_at_ms.map(at);
        let failed = s.failure().map(|f| at(f.received_ms));
        let steps = [
            (Phase::Ready, ready),
            (Phase::Testing, ready),
            (
                Phase::Done,
                (s.done_status() == "CREATE_COMPLETE")
                    .then(|| s.done_at_ms.map(at))
                    .flatten(),
            ),
            (Phase::Failed, failed),
        ];
        for (phase, when) in steps {
            let Some(when) = when else { continue };
            if self.phase.is_some_and(|p| p >= phase || p == Phase::Failed) {
                continue;
            }
            self.phase = Some(phase);
            cx.feed.phase_at(phase, when);
        }
    }
}

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_else(Utc::now)
}

/// SIGTERM to every bee still running (each stops JMeter, ships and
/// uploads what it has), then SIGKILL after the grace period.
pub async fn stop(children: &mut [Child]) {
    for c in children.iter_mut() {
        if c.try_wait().ok().flatten().is_some() {
            continue;
        }
        if let Some(pid) = c.id() {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
        }
    }
    for c in children.iter_mut() {
        if tokio::time::timeout(STOP_GRACE, c.wait()).await.is_err() {
            let _ = c.kill().await;
        }
    }
}
