//! One event type, three renderers: a live terminal view, plain lines for
//! CI logs, and NDJSON.

mod line;
mod redact;

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::cli::OutputMode;
use crate::stack::event::StackEvent;
use crate::stack::phase::Phase;
pub use redact::redact;

/// Shows what happens during a command.
pub struct Reporter {
    mode: OutputMode,
    bar: Option<ProgressBar>,
    started: Instant,
    state: Mutex<State>,
    phases: tokio::sync::watch::Sender<Option<Phase>>,
}

struct State {
    phase: Option<Phase>,
    metrics: Option<String>,
    /// Every phase shown, and when: the report marks them on its charts.
    log: Vec<(Phase, chrono::DateTime<chrono::Utc>)>,
}

impl Reporter {
    /// A reporter for `mode`; `auto` picks by whether stdout is a terminal.
    pub fn new(mode: OutputMode) -> Self {
        let mode = match mode {
            OutputMode::Auto if std::io::stdout().is_terminal() => OutputMode::Tty,
            OutputMode::Auto => OutputMode::Plain,
            m => m,
        };
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
            state: Mutex::new(State {
                phase: None,
                metrics: None,
                log: Vec::new(),
            }),
            phases: tokio::sync::watch::channel(None).0,
        }
    }

    /// Phase changes, for tasks that start with a phase (live metrics).
    pub fn phases(&self) -> tokio::sync::watch::Receiver<Option<Phase>> {
        self.phases.subscribe()
    }

    /// Every phase shown so far, with when it was shown.
    pub fn phase_log(&self) -> Vec<(Phase, chrono::DateTime<chrono::Utc>)> {
        self.state.lock().map(|s| s.log.clone()).unwrap_or_default()
    }

    /// The resolved mode (never `Auto`).
    pub fn mode(&self) -> OutputMode {
        self.mode
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

    fn json(&self, value: serde_json::Value) {
        self.line(&value.to_string());
    }

    fn refresh(&self) {
        if let (Some(bar), Ok(state)) = (&self.bar, self.state.lock()) {
            bar.set_prefix(state.phase.map_or("starting", Phase::name));
            bar.set_message(state.metrics.clone().unwrap_or_default());
        }
    }

    /// A stack event; `nested` when it belongs to a nested stack.
    pub fn event(&self, e: &StackEvent, nested: bool) {
        match self.mode {
            OutputMode::Json => {
                let mut v = serde_json::to_value(e).unwrap_or_default();
                v["type"] = json!("event");
                v["nested"] = json!(nested);
                if let Some(r) = e.reason.as_deref() {
                    v["reason"] = json!(redact(r));
                }
                self.json(v);
            }
            _ => self.line(&line::event(e, nested)),
        }
        self.refresh();
    }

    /// A phase change.
    pub fn phase(&self, p: Phase) {
        tracing::debug!(
            target: "stampede::phase",
            "entering {} after {} ms",
            p.name(),
            self.started.elapsed().as_millis()
        );
        if let Ok(mut s) = self.state.lock() {
            s.phase = Some(p);
            s.log.push((p, chrono::Utc::now()));
        }
        self.phases.send_replace(Some(p));
        match self.mode {
            OutputMode::Json => self.json(
                json!({"type": "phase", "phase": p, "elapsed_s": self.started.elapsed().as_secs()}),
            ),
            _ => self.line(&format!("== {} ({})", p.name(), self.elapsed())),
        }
        self.refresh();
    }

    /// A live metrics line (plain/tty) or object (json).
    pub fn metrics(&self, text: &str, value: serde_json::Value) {
        match self.mode {
            OutputMode::Json => {
                let mut v = value;
                v["type"] = json!("metrics");
                self.json(v);
            }
            OutputMode::Tty => {
                if let Ok(mut s) = self.state.lock() {
                    s.metrics = Some(text.to_string());
                }
                self.refresh();
            }
            _ => self.line(&format!("-- {text}")),
        }
    }

    /// An informational message.
    pub fn info(&self, text: &str) {
        match self.mode {
            OutputMode::Json => self.json(json!({"type": "info", "message": redact(text)})),
            _ => self.line(&redact(text)),
        }
    }

    /// A warning; always also visible on a terminal.
    pub fn warn(&self, text: &str) {
        match self.mode {
            OutputMode::Json => self.json(json!({"type": "warning", "message": redact(text)})),
            _ => self.line(&format!("warning: {}", redact(text))),
        }
    }

    /// A block of text, such as a results table (plain/tty only; json
    /// carries the same data in the result object).
    pub fn block(&self, text: &str) {
        if self.mode != OutputMode::Json {
            for l in text.lines() {
                self.line(l);
            }
        }
    }

    /// The final result object (json) and the end of the live view.
    pub fn finish(&self, result: serde_json::Value) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if self.mode == OutputMode::Json {
            let mut v = result;
            v["type"] = json!("result");
            self.json(v);
        }
    }
}
