//! The run record on disk (`summary.json` and the report built from it):
//! written by [`super::conclude`], and amended here when the run's ending
//! changed after it was written (a signal or a failed deletion during the
//! teardown), so the files never tell another story than the exit code.

use std::path::Path;

use super::ending::RunReport;
use crate::feed::Feed;
use crate::results;

/// Rewrites `ended` in `dir/summary.json` (and report.html) when it
/// differs from the report's. Nothing when no summary was written.
pub fn amend(feed: &Feed, dir: &Path, report: &RunReport) {
    let path = dir.join("summary.json");
    if !path.is_file() {
        return;
    }
    let ended = report.ended();
    let mut summary = match results::load_run(&path) {
        Ok(s) => s,
        Err(e) => {
            feed.warn(&format!("could not re-read {}: {e}", path.display()));
            return;
        }
    };
    if summary.ended.as_ref() == Some(&ended) {
        return;
    }
    summary.ended = Some(ended);
    if let Err(e) = crate::atomic::write(&path, summary.to_json()) {
        feed.warn(&format!("could not update {}: {e}", path.display()));
        return;
    }
    if let Err(e) = crate::report::run::render_again(dir) {
        feed.warn(&format!(
            "could not update the report in {}: {e:#}",
            dir.display()
        ));
    }
}
