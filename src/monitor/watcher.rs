//! Watching during a run: a round every period from shortly before the
//! test starts, events for the run's start, phases and end, and one more
//! round after the end. Without a search cluster everything still reaches
//! `summary.json`; only shipping is skipped, said once.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::pass::{self, Pass};
use super::spec::Spec;
use super::store::{self, DocContext};
use super::summary::MonitorSummary;
use crate::aws::watch::{Watch, tags_text};
use crate::events::{Event, Source};
use crate::feed::Phase;
use crate::feed::{Feed, Kind};
use crate::metrics::es::Es;

/// How long before the test the window starts: the system's state just
/// before the load is the reference the charts need.
const LEAD: Duration = Duration::from_secs(300);
/// Rounds are never closer than this, whatever the period.
const MIN_ROUND: Duration = Duration::from_secs(5);

/// What a run collected, for `summary.json`.
#[derive(Debug, Clone, Default)]
pub struct Correlation {
    /// The series.
    pub monitor: Option<MonitorSummary>,
    /// The events, oldest first.
    pub events: Vec<Event>,
}

impl Correlation {
    /// Puts the series and events into a run's summary.
    pub fn apply(self, summary: &mut crate::results::summary::Summary) {
        summary.monitor = self.monitor;
        summary.events = self.events;
    }
}

/// The run's watcher.
pub struct Watcher {
    spec: Spec,
    watch: Watch,
    es: Option<Es>,
    ctx: DocContext,
    start_ms: i64,
    events: Vec<Event>,
    calls: u32,
    throttled: u32,
    last: Option<Pass>,
    warned: BTreeSet<String>,
    failing: bool,
    phases: Vec<Phase>,
}

impl Watcher {
    /// A watcher for `spec`; `es` is the blueprint's search cluster.
    pub async fn new(
        spec: Spec,
        watch: Watch,
        es: Option<&str>,
        ctx: DocContext,
        ui: &Feed,
    ) -> Self {
        let es = match es {
            Some(url) => match Es::connect(url).await {
                Ok(es) => match store::prepare(&es, &spec.index, &spec.events_index).await {
                    Ok(()) => Some(es),
                    Err(e) => {
                        ui.warn(&format!(
                            "monitor: shipping to the search cluster is off: {e}"
                        ));
                        None
                    }
                },
                Err(e) => {
                    ui.warn(&format!(
                        "monitor: shipping to the search cluster is off: {e}"
                    ));
                    None
                }
            },
            None => {
                ui.info("monitor: no search cluster (blueprint `metrics.es`): CloudWatch series and events go to summary.json only");
                None
            }
        };
        let now = Utc::now();
        let mut w = Watcher {
            spec,
            watch,
            es,
            ctx,
            start_ms: now.timestamp_millis() - LEAD.as_millis() as i64,
            events: Vec::new(),
            calls: 0,
            throttled: 0,
            last: None,
            warned: BTreeSet::new(),
            failing: false,
            phases: Vec::new(),
        };
        let what = w.what();
        w.event(
            Source::Stampede,
            format!("run {} started ({what})", w.run_id()),
            &["run", "start"],
        );
        w
    }

    fn run_id(&self) -> String {
        self.ctx.run_id.clone().unwrap_or_default()
    }

    fn what(&self) -> String {
        let mut parts = Vec::new();
        if !self.spec.tags.is_empty() {
            parts.push(format!("watching tags {}", tags_text(&self.spec.tags)));
        }
        if !self.spec.stacks.is_empty() {
            parts.push(format!("stacks {}", self.spec.stacks.join(", ")));
        }
        parts.join(", ")
    }

    fn event(&mut self, source: Source, text: String, tags: &[&str]) {
        let mut e = Event::new(
            Utc::now(),
            source,
            text,
            tags.iter().map(|t| t.to_string()).collect(),
        );
        e.run_id = self.ctx.run_id.clone();
        self.events.push(e);
    }

    /// An event of the load generators' stack (its creation started).
    pub fn stack_event(&mut self, text: String) {
        self.event(Source::Stack, text, &["stack"]);
    }

    /// Rounds every period until `stop`, with an event for each phase.
    pub async fn during(&mut self, ui: &Feed, stop: &CancellationToken) {
        let mut phases = ui.phases();
        let every = Duration::from_secs(u64::from(self.spec.period)).max(MIN_ROUND);
        let mut next = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                changed = phases.changed() => {
                    if changed.is_err() {
                        stop.cancelled().await;
                        return;
                    }
                    phases.borrow_and_update();
                    self.phases(ui);
                    self.ship_events(ui).await;
                }
                _ = tokio::time::sleep_until(next) => {
                    next += every;
                    self.round(ui, true).await;
                }
            }
        }
    }

    /// An event for each phase the run entered and that has none yet,
    /// at the time the phase began (the feed's record, not the moment
    /// this task noticed it).
    fn phases(&mut self, feed: &Feed) {
        for (p, at) in feed.recording().phases {
            if !self.phases.contains(&p) {
                self.phases.push(p);
                let mut e = Event::new(
                    at,
                    Source::Stampede,
                    format!("phase {}", p.name()),
                    vec!["phase".to_string(), p.name().to_string()],
                );
                e.run_id = self.ctx.run_id.clone();
                self.events.push(e);
            }
        }
    }

    async fn round(&mut self, ui: &Feed, live: bool) {
        let now = Utc::now().timestamp_millis();
        let (start, end) = pass::align(self.start_ms, now, self.spec.period);
        match pass::run(
            &self.watch,
            &self.spec,
            start,
            end,
            self.es.as_ref(),
            &self.ctx,
        )
        .await
        {
            Ok(p) => {
                self.failing = false;
                self.calls += p.collection.calls;
                self.throttled += p.collection.throttled;
                for w in &p.warnings {
                    if self.warned.insert(w.clone()) {
                        ui.warn(&format!("monitor: {w}"));
                    }
                }
                if live {
                    for l in super::live::lines(&p.collection.series, now) {
                        ui.emit(Kind::Target(l));
                    }
                }
                self.last = Some(p);
            }
            Err(e) if !self.failing => {
                self.failing = true;
                ui.warn(&format!("monitor: {e}"));
            }
            Err(_) => {}
        }
        self.ship_events(ui).await;
    }

    async fn ship_events(&mut self, ui: &Feed) {
        if let Some(es) = &self.es
            && let Err(e) = store::ship_events(es, &self.spec.events_index, &self.events).await
            && !self.failing
        {
            ui.warn(&format!("monitor: writing events: {e}"));
        }
    }

    /// The run's end: an event, one more round, and what goes into
    /// `summary.json`. Says how late CloudWatch is.
    pub async fn finish(mut self, ui: &Feed) -> Correlation {
        // The phase that ended the test usually arrives together with the
        // stop, which `during` may see first.
        self.phases(ui);
        let outcome = outcome(ui.phase());
        self.event(
            Source::Stampede,
            format!("run {} ended: {outcome}", self.run_id()),
            &["run", "end"],
        );
        self.round(ui, false).await;
        let Some(p) = &self.last else {
            return Correlation {
                monitor: None,
                events: self.events,
            };
        };
        let monitor = MonitorSummary::new(
            &p.collection.series,
            &p.discovery.resources,
            self.calls,
            self.throttled,
        );
        ui.info(&format!(
            "monitor: {} series of {} ({} GetMetricData calls, {} throttled and retried). CloudWatch publishes AWS metrics 1-5 minutes late, so the last minutes of the test may be missing; `stampede collect --since 30m` in a few minutes fills them in the search cluster",
            monitor.series.len(),
            p.discovery.describe(),
            self.calls,
            self.throttled
        ));
        let mut events = self.events.clone();
        for e in &p.events {
            if !events.iter().any(|x| x.id() == e.id()) {
                events.push(e.clone());
            }
        }
        events.sort_by_key(Event::at_ms);
        Correlation {
            monitor: Some(monitor),
            events,
        }
    }
}

/// The phase of a finished run, for the end event.
pub fn outcome(p: Option<Phase>) -> &'static str {
    p.map_or("unknown", Phase::name)
}
