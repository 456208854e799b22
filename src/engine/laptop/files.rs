//! The laptop run's files: the report folder's own results, the bee
//! configs that hold credentials, the JMeter launcher.

use std::path::Path;

use anyhow::Context;

use crate::exit::InputError;

/// Removes what an earlier laptop run left in the report folder, and only
/// that: the bees' own `bee-N.jtl.gz` results, `bee-N.log` logs and
/// `bee-N.summary.json` summaries, and the summary. Anything
/// else in `results/` is not stampede's to delete, and would be counted as
/// this run's results, so it stops the run.
pub fn clear_own_results(report: &Path, results_dir: &Path) -> anyhow::Result<()> {
    let _ = std::fs::remove_file(report.join("summary.json"));
    let Ok(entries) = std::fs::read_dir(results_dir) else {
        return Ok(());
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let own = name.strip_prefix("bee-").is_some_and(|n| {
            // A `.part` is one of them, cut short by a crash mid-copy.
            let n = n.strip_suffix(".part").unwrap_or(n);
            [".jtl.gz", ".log", ".summary.json"]
                .iter()
                .filter_map(|suffix| n.strip_suffix(suffix))
                .any(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        });
        if !own {
            anyhow::bail!(InputError(format!(
                "{}: holds {name}, which stampede did not write; move it away or pass another --report folder",
                results_dir.display()
            )));
        }
        std::fs::remove_file(entry.path())
            .with_context(|| format!("removing the earlier run's {}", entry.path().display()))?;
    }
    Ok(())
}

/// Files removed when dropped.
#[derive(Default)]
pub struct RemoveOnDrop(pub Vec<std::path::PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Writes a file only its owner can read: bee configs carry the search
/// cluster's credentials.
pub fn write_private(path: &Path, body: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(body))
        .with_context(|| format!("writing {}", path.display()))
}

pub struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The JMeter launcher: `$JMETER_HOME/bin/jmeter`, else `jmeter` on PATH.
pub fn find_jmeter() -> anyhow::Result<String> {
    if let Ok(home) = std::env::var("JMETER_HOME") {
        let bin = Path::new(&home).join("bin/jmeter");
        if bin.is_file() {
            return Ok(bin.display().to_string());
        }
        anyhow::bail!(InputError(format!("JMETER_HOME={home} has no bin/jmeter")));
    }
    let on_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("jmeter").is_file()));
    if on_path {
        return Ok("jmeter".into());
    }
    anyhow::bail!(InputError(
        "JMeter not found: set JMETER_HOME (ci/jmeter.sh assembles JMeter 5.6.3) or put jmeter on PATH".into()
    ))
}
