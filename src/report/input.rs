//! Reading what a report is built from: a run's summary.json (and, beside
//! it, the gate's outcome and the baseline the run used), or any summary
//! with a baseline given on the command line.

use std::path::{Path, PathBuf};

use super::data::{Extras, GateView};
use crate::results::Summary;

use crate::results::summary::READS_FORMAT_VERSIONS;

/// The gate's outcome, written by `run` next to summary.json.
pub const GATE_FILE: &str = "gate.json";
/// The baseline summary the run's gate compared with.
pub const BASELINE_FILE: &str = "baseline.json";
/// The run's summary.
pub const SUMMARY_FILE: &str = "summary.json";

/// Everything a report shows.
#[derive(Debug, Default)]
pub struct Inputs {
    /// The run.
    pub summary: Summary,
    /// Monitor series and events stored in the run's summary.
    pub extras: Extras,
    /// The baseline, when there is one.
    pub baseline: Option<Summary>,
    /// The gate's outcome, when a gate ran.
    pub gate: Option<GateView>,
}

/// Why an input cannot be used; all are bad input (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Unreadable file.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: crate::input_file::InputFileError,
    },
    /// Not JSON, or cut short.
    #[error("{}:{line}:{column}: not valid JSON{hint}: {message}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// " (truncated?)" when the text ends early.
        hint: &'static str,
        /// The parser's message.
        message: String,
    },
    /// JSON, but not what was expected.
    #[error("{}: not a stampede {what}: {message}", path.display())]
    Foreign {
        /// The file.
        path: PathBuf,
        /// `summary` or `gate outcome`.
        what: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A summary of a format this build does not read.
    #[error(
        "{}: summary format_version {found} is not supported (this stampede reads versions {}..={})",
        path.display(), READS_FORMAT_VERSIONS.start(), READS_FORMAT_VERSIONS.end()
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// The file's version.
        found: String,
    },
}

impl crate::exit::Classify for ReportError {
    fn exit_code(&self) -> u8 {
        crate::exit::BAD_INPUT
    }
}

fn read(path: &Path) -> Result<String, ReportError> {
    crate::input_file::read_text(path, crate::results::summary::MAX_SUMMARY_BYTES).map_err(
        |source| ReportError::Read {
            path: path.to_path_buf(),
            source,
        },
    )
}

fn json(path: &Path, text: &str) -> Result<serde_json::Value, ReportError> {
    serde_json::from_str(text).map_err(|e| ReportError::Json {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        hint: if e.is_eof() { " (truncated?)" } else { "" },
        message: e.to_string(),
    })
}

/// Parses summary JSON named `path` (a file or an s3:// URI): checks its
/// format version, then its shape.
pub fn parse_summary(path: &Path, text: &str) -> Result<(Summary, Extras), ReportError> {
    let value = json(path, text)?;
    let foreign = |message: String| ReportError::Foreign {
        path: path.to_path_buf(),
        what: "summary",
        message,
    };
    let Some(obj) = value.as_object() else {
        return Err(foreign("expected a JSON object".into()));
    };
    match obj.get("format_version") {
        None => {}
        Some(v)
            if v.as_u64()
                .is_some_and(|n| READS_FORMAT_VERSIONS.contains(&n)) => {}
        Some(v) => {
            return Err(ReportError::Version {
                path: path.to_path_buf(),
                found: v.to_string(),
            });
        }
    }
    use serde::Deserialize;
    // Both read the same parsed value, borrowed: no copy of a large file.
    let summary = Summary::deserialize(&value).map_err(|e| foreign(e.to_string()))?;
    let extras = Extras::deserialize(&value).map_err(|e| foreign(e.to_string()))?;
    Ok((summary, extras))
}

/// Reads a summary file.
pub fn load_summary_file(path: &Path) -> Result<(Summary, Extras), ReportError> {
    parse_summary(path, &read(path)?)
}

fn load_gate(path: &Path) -> Result<GateView, ReportError> {
    let value = json(path, &read(path)?)?;
    serde_json::from_value(value).map_err(|e| ReportError::Foreign {
        path: path.to_path_buf(),
        what: "gate outcome",
        message: e.to_string(),
    })
}

/// A run folder (or a summary.json in one): the summary, and the gate
/// outcome and baseline stored beside it when the run had a gate.
pub fn load_dir_or_summary(input: &Path) -> Result<Inputs, ReportError> {
    let (summary_path, dir) = if input.is_dir() {
        (input.join(SUMMARY_FILE), input.to_path_buf())
    } else {
        let dir = input.parent().map(Path::to_path_buf).unwrap_or_default();
        (input.to_path_buf(), dir)
    };
    let (summary, extras) = load_summary_file(&summary_path)?;
    // Only a run's own summary.json has its gate files beside it.
    let own = summary_path.file_name() == Some(SUMMARY_FILE.as_ref());
    let gate_path = dir.join(GATE_FILE);
    let gate = if own && gate_path.is_file() {
        Some(load_gate(&gate_path)?)
    } else {
        None
    };
    let base_path = dir.join(BASELINE_FILE);
    let baseline = if own && base_path.is_file() {
        Some(load_summary_file(&base_path)?.0)
    } else {
        None
    };
    Ok(Inputs {
        summary,
        extras,
        baseline,
        gate,
    })
}

/// The gate's outcome as the report reads it.
pub fn gate_view(outcome: &crate::gate::Outcome) -> GateView {
    serde_json::to_value(outcome)
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}
