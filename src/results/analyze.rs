//! One streaming pass over JTL files: a reader thread cuts blocks (and
//! inflates .gz), worker threads parse and aggregate, the partial
//! aggregates merge at the end. Memory stays bounded by the blocks in
//! flight, whatever the file's size. XML JTLs are read by
//! [`super::xml`], on one thread.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use super::ResultsError;
use super::aggregate::{Aggregate, LocalAggregate};
use super::inflate::Inflate;
use super::jtl::Columns;
use super::layout::{Format, HEAD_BYTES, detect};
use super::rows::RowReader;
use super::split::{Block, Splitter};

const BLOCK_SIZE: usize = 1 << 20;
/// How many malformed line numbers to keep for the report.
const KEEP_BAD_LINES: usize = 5;

/// Malformed rows: how many, and the first few line numbers.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// Rows that could not be read.
    pub count: u64,
    /// The lowest line numbers among them.
    pub first_lines: Vec<u64>,
}

impl Malformed {
    pub(crate) fn add(&mut self, line: u64) {
        self.count += 1;
        if self.first_lines.len() < KEEP_BAD_LINES {
            self.first_lines.push(line);
        } else if let Some(max) = self.first_lines.iter_mut().max()
            && line < *max
        {
            *max = line;
        }
    }

    /// Adds `count` rows, of which `lines` are the first few's lines.
    fn add_some(&mut self, count: u64, lines: &[u64]) {
        for &l in lines {
            self.add(l);
        }
        self.count += count - lines.len() as u64;
    }
}

/// What one file held.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// The file.
    pub path: PathBuf,
    /// Rows read.
    pub rows: u64,
    /// Rows that could not be read.
    pub malformed: Malformed,
}

/// The samples of several files.
#[derive(Debug, Default)]
pub struct Analysis {
    /// Samples by label.
    pub aggregate: Aggregate,
    /// One report per file.
    pub files: Vec<FileReport>,
}

/// Reads every file into one aggregate. Fails on unreadable files and on
/// files whose header lacks a needed column; malformed rows are counted.
pub fn analyze_paths(paths: &[PathBuf], workers: usize) -> Result<Analysis, ResultsError> {
    let mut out = Analysis::default();
    for path in paths {
        let file = File::open(path).map_err(|source| ResultsError::Io {
            path: path.clone(),
            error: source,
        })?;
        let (agg, report) = analyze_reader(path, file, workers)?;
        out.aggregate.absorb(agg);
        out.files.push(report);
    }
    Ok(out)
}

/// Reads one JTL: CSV or XML, plain or gzip (told apart by its magic
/// bytes; see [`Inflate`] for the bound on what it may expand to).
pub fn analyze_reader<R: Read + Send + 'static>(
    path: &Path,
    reader: R,
    workers: usize,
) -> Result<(Aggregate, FileReport), ResultsError> {
    let io_err = |source| ResultsError::Io {
        path: path.to_path_buf(),
        error: source,
    };
    let mut buffered = BufReader::with_capacity(64 * 1024, reader);
    let gzip = buffered
        .fill_buf()
        .map_err(io_err)?
        .starts_with(&[0x1f, 0x8b]);
    let mut text: Box<dyn BufRead + Send> = if gzip {
        Box::new(BufReader::with_capacity(64 * 1024, Inflate::new(buffered)))
    } else {
        Box::new(buffered)
    };
    let mut head = Vec::new();
    (&mut text)
        .take(HEAD_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(io_err)?;
    match detect(&head) {
        Err(message) => Err(ResultsError::Header {
            path: path.to_path_buf(),
            message,
        }),
        Ok(Format::Xml) => super::xml::read(path, BufReader::new(Cursor::new(head).chain(text))),
        Ok(Format::Csv(layout)) => {
            let rows = head.split_off(layout.header_len);
            let stream = Cursor::new(rows).chain(text);
            let first_line = 1 + layout.header_lines;
            run_blocks(
                path,
                stream,
                first_line,
                &layout.cols,
                layout.delimiter,
                workers,
                BLOCK_SIZE,
            )
        }
    }
}

/// Malformed rows, placed at their file lines once every block before
/// theirs has told how many lines it held (blocks finish in any order).
struct LineBook {
    /// The next block in file order, and the file line it starts on.
    next: u64,
    line: u64,
    /// Blocks done ahead of `next`: lines held, malformed rows, the first
    /// few of their lines (within the block). At most the blocks in flight.
    ahead: BTreeMap<u64, (u64, u64, Vec<u64>)>,
    malformed: Malformed,
}

impl LineBook {
    fn new(first_line: u64) -> Self {
        LineBook {
            next: 0,
            line: first_line,
            ahead: BTreeMap::new(),
            malformed: Malformed::default(),
        }
    }

    fn done(&mut self, seq: u64, lines: u64, bad: u64, bad_lines: Vec<u64>) {
        self.ahead.insert(seq, (lines, bad, bad_lines));
        while let Some((lines, bad, bad_lines)) = self.ahead.remove(&self.next) {
            let at: Vec<u64> = bad_lines.iter().map(|l| self.line + l).collect();
            self.malformed.add_some(bad, &at);
            self.line += lines;
            self.next += 1;
        }
    }
}

/// The pipeline: the reader thread cuts `block_size` blocks into a fixed
/// set of buffers that come back once parsed, so memory stays at
/// `(workers + 2) * block_size` whatever the input's size.
fn run_blocks<R: Read + Send + 'static>(
    path: &Path,
    stream: R,
    first_line: u64,
    cols: &Columns,
    delim: u8,
    workers: usize,
    block_size: usize,
) -> Result<(Aggregate, FileReport), ResultsError> {
    let workers = workers.max(1);
    let buffers = workers + 2;
    let (tx, rx) = sync_channel::<Block>(buffers);
    // Never full: there are only `buffers` buffers.
    let (back_tx, back_rx) = sync_channel::<Vec<u8>>(buffers);
    let rx = Arc::new(Mutex::new(rx));
    let book = Arc::new(Mutex::new(LineBook::new(first_line)));
    let reader = std::thread::spawn(move || -> io::Result<()> {
        // Workers count lines as they parse: the reader does not.
        let mut splitter = Splitter::uncounted(stream, delim, block_size);
        let mut made = 1;
        while let Some(block) = splitter.next_block()? {
            if tx.send(block).is_err() {
                break;
            }
            let buf = if made < buffers {
                match back_rx.try_recv() {
                    Ok(buf) => buf,
                    Err(_) => {
                        made += 1;
                        continue;
                    }
                }
            } else {
                match back_rx.recv() {
                    Ok(buf) => buf,
                    Err(_) => break,
                }
            };
            splitter.recycle(buf);
        }
        Ok(())
    });
    let handles: Vec<_> = (0..workers)
        .map(|_| {
            let rx = rx.clone();
            let back = back_tx.clone();
            let cols = cols.clone();
            let book = book.clone();
            std::thread::spawn(move || parse_blocks(&rx, &back, &book, &cols, delim))
        })
        .collect();
    drop(back_tx);
    // Workers' samples add up before they become HdrHistograms: one
    // conversion per label, not one per label and worker.
    let mut local = LocalAggregate::default();
    let mut rows = 0;
    for h in handles {
        let (a, n) = h.join().expect("parser thread panicked");
        if local.is_empty() {
            local = a;
        } else {
            local.merge(&a);
        }
        rows += n;
    }
    let agg = local.finish();
    reader
        .join()
        .expect("reader thread panicked")
        .map_err(|source| ResultsError::Io {
            path: path.to_path_buf(),
            error: source,
        })?;
    let malformed = std::mem::take(&mut book.lock().expect("line book").malformed);
    let report = FileReport {
        path: path.to_path_buf(),
        rows,
        malformed,
    };
    Ok((agg, report))
}

fn parse_blocks(
    rx: &Mutex<Receiver<Block>>,
    back: &SyncSender<Vec<u8>>,
    book: &Mutex<LineBook>,
    cols: &Columns,
    delim: u8,
) -> (LocalAggregate, u64) {
    let mut agg = LocalAggregate::default();
    let mut rows = 0;
    let mut reader = RowReader::new(cols, delim);
    loop {
        let block = match rx.lock().map(|r| r.recv()) {
            Ok(Ok(b)) => b,
            _ => break,
        };
        agg.start_block(block.seq);
        let mut bad = 0;
        let mut bad_lines = Vec::new();
        let lines = reader.read_block(
            &block.data,
            block.last,
            |s| {
                rows += 1;
                agg.record(s);
            },
            |line| {
                bad += 1;
                if bad_lines.len() < KEEP_BAD_LINES {
                    bad_lines.push(line);
                }
            },
        );
        if let Ok(mut book) = book.lock() {
            book.done(block.seq, lines, bad, bad_lines);
        }
        // The reader may be gone (an I/O error): then the buffer just drops.
        let _ = back.send(block.data);
    }
    (agg, rows)
}

#[cfg(test)]
mod tests;
