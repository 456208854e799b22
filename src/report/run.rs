//! What a run leaves for its report: the gate's outcome and the baseline
//! beside summary.json, then report.html built from those files exactly
//! as `stampede report RUN_DIR` reads them.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::input::{BASELINE_FILE, GATE_FILE, load_dir_or_summary};
use crate::gate::Outcome;
use crate::results::Summary;

/// The report's file name in a run folder.
pub const REPORT_FILE: &str = "report.html";

/// Writes (or, without a gate, removes stale) gate.json and baseline.json
/// in `dir`, which already holds summary.json, then report.html.
pub fn write(
    dir: &Path,
    gate: Option<&Outcome>,
    baseline: Option<&Summary>,
) -> anyhow::Result<PathBuf> {
    let put = |name: &str, body: Option<String>| -> anyhow::Result<()> {
        let path = dir.join(name);
        match body {
            Some(b) => crate::atomic::write(&path, b)
                .with_context(|| format!("writing {}", path.display())),
            None => match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(e).with_context(|| format!("removing the stale {}", path.display()))
                }
                _ => Ok(()),
            },
        }
    };
    put(
        GATE_FILE,
        gate.map(|g| serde_json::to_string_pretty(g).unwrap_or_default() + "\n"),
    )?;
    put(BASELINE_FILE, baseline.map(Summary::to_json))?;
    let inputs = load_dir_or_summary(dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    let path = dir.join(REPORT_FILE);
    crate::atomic::write(&path, super::render(&inputs))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Renders report.html again from the files in `dir` (after summary.json
/// changed), keeping gate.json and baseline.json as they are.
pub fn render_again(dir: &Path) -> anyhow::Result<PathBuf> {
    let inputs = load_dir_or_summary(dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    let path = dir.join(REPORT_FILE);
    crate::atomic::write(&path, super::render(&inputs))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}
