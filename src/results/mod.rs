//! Results: JTL reading, per-label statistics, summaries and tables.

pub mod aggregate;
pub mod analyze;
pub mod jtl;
mod split;
pub mod summary;
pub mod table;

use std::path::PathBuf;

pub use analyze::analyze_paths;
pub use summary::Summary;

/// What can go wrong reading results.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// A file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
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
