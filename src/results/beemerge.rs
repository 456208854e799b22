//! Merging many bees' summaries: which files belong to which bee, and the
//! parallel, memory-bounded merge itself. Bees whose summary cannot be used
//! are handed back, so the caller reads their JTLs instead.

use std::cmp::Ordering;
use std::io::Read;
use std::path::PathBuf;

use super::aggregate::Aggregate;
use super::beesum::{BeeSummary, MAX_BYTES, Unusable};
use super::generators::GeneratorSummary;

/// Suffix of a bee's summary file.
pub const SUMMARY_SUFFIX: &str = ".summary.json";

/// What one bee left: file names (or keys) of its JTL and its summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeeFiles {
    /// The bee's id.
    pub bee: String,
    /// `<bee>.jtl.gz` (or `.jtl`).
    pub jtl: Option<String>,
    /// `<bee>.summary.json`.
    pub summary: Option<String>,
}

/// Groups result file names by bee, in bee order (`bee-2` before
/// `bee-10`). Other names are ignored.
pub fn group(names: impl IntoIterator<Item = String>) -> Vec<BeeFiles> {
    let mut bees: Vec<BeeFiles> = Vec::new();
    for name in names {
        let base = name.rsplit('/').next().unwrap_or(&name);
        let (bee, is_summary) = if let Some(b) = base.strip_suffix(SUMMARY_SUFFIX) {
            (b, true)
        } else if let Some(b) = base
            .strip_suffix(".jtl.gz")
            .or_else(|| base.strip_suffix(".jtl"))
        {
            (b, false)
        } else {
            continue;
        };
        if bee.is_empty() {
            continue;
        }
        let i = match bees.iter().position(|f| f.bee == bee) {
            Some(i) => i,
            None => {
                bees.push(BeeFiles {
                    bee: bee.to_string(),
                    jtl: None,
                    summary: None,
                });
                bees.len() - 1
            }
        };
        let slot = if is_summary {
            &mut bees[i].summary
        } else {
            &mut bees[i].jtl
        };
        // A bee's .jtl.gz wins over a stray plain .jtl.
        if slot.as_deref().is_none_or(|s| !s.ends_with(".gz")) {
            *slot = Some(name);
        }
    }
    bees.sort_by(|a, b| bee_order(&a.bee, &b.bee));
    bees
}

/// Orders bee ids by their text, then by a trailing number's value.
pub fn bee_order(a: &str, b: &str) -> Ordering {
    let split = |s: &str| {
        let digits = s.len() - s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        let (head, num) = s.split_at(s.len() - digits);
        (
            head.to_string(),
            num.trim_start_matches('0').len(),
            num.to_string(),
        )
    };
    split(a).cmp(&split(b))
}

/// What merging the summaries gave.
#[derive(Debug, Default)]
pub struct Merged {
    /// Every merged bee's samples.
    pub aggregate: Aggregate,
    /// Their malformed rows.
    pub malformed: u64,
    /// Their health, in bee order.
    pub generators: Vec<GeneratorSummary>,
    /// How many summaries were merged.
    pub merged: usize,
    /// Bees whose summary could not be used, and why, in bee order.
    pub unusable: Vec<(String, Unusable)>,
}

/// Merges summary files (bee id, local path) on `threads` threads. Each
/// thread adds a contiguous run of bees into its own aggregate, one file
/// at a time, so memory is `threads` aggregates plus one file each, and the
/// label order is the bees' order, as one pass over their JTLs would give.
pub fn merge_files(files: &[(String, PathBuf)], threads: usize) -> Merged {
    let threads = threads.clamp(1, files.len().max(1));
    let chunk = files.len().div_ceil(threads).max(1);
    let parts: Vec<Merged> = std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| scope.spawn(move || merge_part(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("summary merger panicked"))
            .collect()
    });
    let mut out = Merged::default();
    for p in parts {
        out.aggregate.absorb(p.aggregate);
        out.malformed += p.malformed;
        out.generators.extend(p.generators);
        out.merged += p.merged;
        out.unusable.extend(p.unusable);
    }
    out
}

fn merge_part(files: &[(String, PathBuf)]) -> Merged {
    let mut out = Merged::default();
    for (bee, path) in files {
        match read_bounded(path).and_then(|b| BeeSummary::parse(&b)) {
            Ok(checked) => {
                out.malformed += checked.malformed();
                if let Some(g) = checked.generator() {
                    let mut g = g.clone();
                    // The file's name is the bee's identity.
                    g.bee = bee.clone();
                    out.generators.push(g);
                }
                checked.merge_into(&mut out.aggregate);
                out.merged += 1;
            }
            Err(why) => out.unusable.push((bee.clone(), why)),
        }
    }
    out
}

/// Reads a summary file, refusing one larger than [`MAX_BYTES`].
fn read_bounded(path: &std::path::Path) -> Result<Vec<u8>, Unusable> {
    let unreadable = |e: std::io::Error| Unusable::Unreadable(format!("{}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Unusable::Missing,
        _ => unreadable(e),
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(Unusable::Unreadable(format!(
            "{}: over the {MAX_BYTES} bytes a bee summary can take",
            path.display()
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_group_by_bee_in_numeric_order() {
        let names = [
            "r/bee-10.jtl.gz",
            "r/bee-2.summary.json",
            "r/bee-2.jtl.gz",
            "r/bee-10.summary.json",
            "r/bee-3.jtl",
            "r/notes.txt",
            "r/.jtl.gz",
        ]
        .map(String::from);
        let got = group(names);
        let bees: Vec<&str> = got.iter().map(|b| b.bee.as_str()).collect();
        assert_eq!(bees, ["bee-2", "bee-3", "bee-10"]);
        assert_eq!(got[0].summary.as_deref(), Some("r/bee-2.summary.json"));
        assert_eq!(got[1].summary, None);
        assert_eq!(got[1].jtl.as_deref(), Some("r/bee-3.jtl"));
        assert_eq!(bee_order("i-0abc", "i-0abd"), Ordering::Less);
    }
}
