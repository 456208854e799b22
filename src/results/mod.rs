//! Results: JTL reading, per-label statistics, summaries and tables.

pub mod aggregate;
pub mod analyze;
pub mod beemerge;
pub mod beesum;
pub mod generators;
pub mod inflate;
pub mod jtl;
pub mod layout;
pub(crate) mod rows;
pub mod series;
pub(crate) mod split;
pub mod summary;
pub mod table;
pub mod xml;

use std::path::PathBuf;

pub use analyze::analyze_paths;
pub use summary::Summary;

/// What can go wrong reading results.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// A file could not be read.
    #[error("{}: cannot read: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why (in the message, not the error chain, so it shows once).
        error: std::io::Error,
    },
    /// The header lacks a needed column.
    #[error("{}:1: {message}", path.display())]
    Header {
        /// The file.
        path: PathBuf,
        /// What is missing.
        message: String,
    },
    /// No row could be read.
    #[error("{}: no valid rows{detail}", path.display())]
    NoRows {
        /// The file.
        path: PathBuf,
        /// Which lines were bad, if any.
        detail: String,
    },
    /// A summary JSON file is invalid.
    #[error("{}:{line}: not a stampede summary: {message}", path.display())]
    Summary {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The parser's message.
        message: String,
    },
}

impl crate::exit::Classify for ResultsError {
    fn exit_code(&self) -> u8 {
        crate::exit::BAD_INPUT
    }
}

/// Worker threads for parsing: every core, but at least one.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Whether a file starts (after blanks) with `{`: summaries are JSON
/// objects, JTLs are not.
pub fn is_summary_json(path: &std::path::Path) -> std::io::Result<bool> {
    let mut first = [0u8; 64];
    let n = std::io::Read::read(&mut std::fs::File::open(path)?, &mut first)?;
    Ok(first[..n].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'))
}

/// Reads a run from a summary JSON or a JTL (plain or .gz), told apart by
/// the first byte: summaries are JSON objects.
pub fn load_run(path: &std::path::Path) -> Result<Summary, ResultsError> {
    let io = |source| ResultsError::Io {
        path: path.to_path_buf(),
        error: source,
    };
    if is_summary_json(path).map_err(io)? {
        return Summary::read(path);
    }
    let analysis = analyze_paths(&[path.to_path_buf()], default_workers())?;
    let file = &analysis.files[0];
    if file.rows == 0 {
        return Err(ResultsError::NoRows {
            path: path.to_path_buf(),
            detail: String::new(),
        });
    }
    Ok(Summary::from_aggregate(
        &analysis.aggregate,
        file.malformed.count,
    ))
}
