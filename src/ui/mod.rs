//! The sinks that render the event feed: a live terminal view, plain
//! lines for CI logs, and NDJSON. They only render: what happened and
//! when is decided by whoever emitted the event.

mod line;

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::feed::{Feed, Kind, Level, Phase, RunEvent, Sink};
pub use crate::redact::redact;

/// How output is rendered (`--output`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputMode {
    /// `tty` on a terminal, `plain` otherwise.
    Auto,
    /// Live view with a status line.
    Tty,
    /// One plain line per event, no escape codes.
    Plain,
    /// One JSON object per event.
    Json,
}

impl OutputMode {
    /// The mode `auto` stands for here: by whether stdout is a terminal.
    pub fn resolve(self) -> Self {
        match self {
            OutputMode::Auto if std::io::stdout().is_terminal() => OutputMode::Tty,
            OutputMode::Auto => OutputMode::Plain,
            m => m,
        }
    }
}

/// Plain logs get one live metrics line this often.
const PLAIN_LIVE_EVERY: Duration = Duration::from_secs(10);

/// A feed whose one renderer is `mode`'s.
pub fn feed(mode: OutputMode) -> Feed {
    Feed::new(vec![Arc::new(Reporter::new(mode))])
}

/// Renders events in one output mode.
pub struct Reporter {
    mode: OutputMode,
    bar: Option<ProgressBar>,
    started: Instant,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    phase: Option<Phase>,
    metrics: Option<String>,
    last_live: Option<Instant>,
}

impl Reporter {
    /// A renderer for `mode`; `auto` picks by whether stdout is a terminal.
    pub fn new(mode: OutputMode) -> Self {
        let mode = mode.resolve();
        let bar = (mode == OutputMode::Tty).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {prefix:.bold} {elapsed_precise} {wide_msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Reporter {
            mode,
            bar,
            started: Instant::now(),
            state: Mutex::new(State::default()),
        }
    }

    fn elapsed(&self) -> String {
        let s = self.started.elapsed().as_secs();
        format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    }

    /// Prints a line above the live view (or plainly).
    fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{text}");
                let _ = out.flush();
            }
        }
    }

    fn lines(&self, text: &str) {
        for l in text.lines() {
            self.line(l);
        }
    }

    fn json(&self, at: &chrono::DateTime<chrono::Utc>, mut value: serde_json::Value) {
        if value.get("at").is_none() && value.get("type") != Some(&json!("result")) {
            value["at"] = json!(at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        }
        self.line(&value.to_string());
    }

    fn refresh(&self) {
        if let (Some(bar), Ok(state)) = (&self.bar, self.state.lock()) {
            bar.set_prefix(state.phase.map_or("starting", Phase::name));
            bar.set_message(state.metrics.clone().unwrap_or_default());
        }
    }

    fn render_json(&self, e: &RunEvent) {
        let v = match &e.kind {
            Kind::Stack { event, nested } => {
                let mut v = serde_json::to_value(event).unwrap_or_default();
                v["type"] = json!("event");
                v["nested"] = json!(nested);
                if let Some(r) = event.reason.as_deref() {
                    v["reason"] = json!(redact(r));
                }
                v
            }
            Kind::Phase(p) => json!({"type": "phase", "phase": p,
                "elapsed_s": self.started.elapsed().as_secs()}),
            Kind::BeeSignal {
                bee,
                condition,
                status,
                reason,
            } => json!({"type": "signal", "bee": bee, "condition": condition,
                "status": status, "reason": redact(reason)}),
            Kind::Live { value, .. } => {
                let mut v = value.clone();
                v["type"] = json!("metrics");
                v
            }
            Kind::Target(text) => json!({"type": "target", "message": redact(text)}),
            Kind::Planned(text) => json!({"type": "plan", "message": redact(text)}),
            Kind::Problem(text) => json!({"type": "problem", "message": redact(text)}),
            Kind::Note(Level::Info, text) => json!({"type": "info", "message": redact(text)}),
            Kind::Note(Level::Warn, text) => {
                json!({"type": "warning", "message": redact(text)})
            }
            // The result object and the gate carry the tables' data.
            Kind::Block(_) => return,
            Kind::Finished(result) => {
                let mut v = result.clone();
                v["type"] = json!("result");
                if let Some(m) = v.get("message").and_then(|m| m.as_str()) {
                    v["message"] = json!(redact(m));
                }
                v
            }
        };
        self.json(&e.at, v);
    }

    fn render_text(&self, e: &RunEvent) {
        match &e.kind {
            Kind::Stack { event, nested } => self.line(&line::event(event, *nested)),
            Kind::Phase(p) => {
                if let Ok(mut s) = self.state.lock() {
                    s.phase = Some(*p);
                }
                self.line(&format!("== {} ({})", p.name(), self.elapsed()));
            }
            Kind::BeeSignal {
                bee,
                condition,
                status,
                reason,
            } => {
                // A bee's success is progress the phases show already.
                if status != "SUCCESS" {
                    self.line(&format!(
                        "warning: {bee} signalled {status} on {condition:?}: {}",
                        redact(reason)
                    ));
                }
            }
            Kind::Live {
                line,
                labels,
                value: _,
            } => self.live(line, labels.as_deref()),
            Kind::Target(text) => self.line(&format!("-- sut {}", redact(text))),
            Kind::Planned(text) | Kind::Note(Level::Info, text) => self.line(&redact(text)),
            Kind::Problem(text) => self.line(&format!("problem: {}", redact(text))),
            Kind::Note(Level::Warn, text) => self.line(&format!("warning: {}", redact(text))),
            Kind::Block(text) => self.lines(text),
            Kind::Finished(_) => {
                if let Some(bar) = &self.bar {
                    bar.finish_and_clear();
                }
            }
        }
    }

    fn live(&self, line: &str, labels: Option<&str>) {
        if self.mode == OutputMode::Tty {
            if let Ok(mut s) = self.state.lock() {
                s.metrics = Some(line.to_string());
            }
        } else {
            // A CI log gets one line every so often, not one per poll.
            let due = self.state.lock().is_ok_and(|mut s| {
                let due = s.last_live.is_none_or(|t| t.elapsed() >= PLAIN_LIVE_EVERY);
                if due {
                    s.last_live = Some(Instant::now());
                }
                due
            });
            if !due {
                return;
            }
            self.line(&format!("-- {line}"));
        }
        if let Some(l) = labels {
            self.lines(l);
        }
    }
}

impl Sink for Reporter {
    fn emit(&self, e: &RunEvent) {
        if self.mode == OutputMode::Json {
            self.render_json(e);
        } else {
            self.render_text(e);
            self.refresh();
        }
    }
}
