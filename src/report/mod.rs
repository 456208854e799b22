//! The self-contained HTML run report: verdict, facts, charts on one time
//! axis, the percentile curve against the baseline, per-label table and the
//! stack's events, in one file that opens offline.
//!
//! The page depends only on its inputs (summary, baseline, gate outcome):
//! no clock, no host, so `stampede report` rebuilds byte for byte what
//! `run` wrote.

pub mod data;
mod html;
pub mod input;
pub mod run;
mod stored;

pub use input::{Inputs, ReportError, load_dir_or_summary, load_summary_file};

/// Renders the page.
pub fn render(inputs: &Inputs) -> String {
    let data = data::build(
        &inputs.summary,
        &inputs.extras,
        inputs.baseline.as_ref(),
        inputs.gate.as_ref(),
    );
    html::page(&data)
}

#[cfg(test)]
mod tests;
