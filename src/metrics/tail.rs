//! Reads the complete rows of a JTL that JMeter is still writing. Only
//! rows ending in a newline are taken (a half-written last line waits for
//! the rest), unless the writer has finished.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::results::jtl::Columns;
use crate::results::split::last_boundary;

/// JMeter 5.x's default columns, for files without a header.
pub const DEFAULT_NAMES: [&str; 17] = [
    "timeStamp",
    "elapsed",
    "label",
    "responseCode",
    "responseMessage",
    "threadName",
    "dataType",
    "success",
    "failureMessage",
    "bytes",
    "sentBytes",
    "grpThreads",
    "allThreads",
    "URL",
    "Latency",
    "IdleTime",
    "Connect",
];

/// The file's columns.
#[derive(Debug, Clone)]
pub struct Header {
    /// Column names, in file order.
    pub names: Vec<String>,
    /// Where the needed columns are.
    pub cols: Columns,
}

/// One row and the byte offset it starts at (its identity).
#[derive(Debug)]
pub struct Row {
    /// Offset of the row's first byte in the file.
    pub offset: u64,
    /// The row's fields.
    pub record: csv::ByteRecord,
}

/// A JTL being tailed.
pub struct Tail {
    path: PathBuf,
    file: File,
    /// Offset of `buf[0]` in the file.
    base: u64,
    buf: Vec<u8>,
    header: Option<Header>,
    header_end: u64,
    eof: bool,
}

/// Most bytes one poll reads.
pub const MAX_READ: u64 = 4 << 20;

impl Tail {
    /// Opens `path`; rows before `from` are skipped (already shipped).
    pub fn open(path: &Path, from: u64) -> io::Result<Self> {
        Ok(Tail {
            path: path.to_path_buf(),
            file: File::open(path)?,
            base: 0,
            buf: Vec::new(),
            header: None,
            header_end: from,
            eof: false,
        })
    }

    /// The file's columns, once its first line has been read.
    pub fn header(&self) -> Option<&Header> {
        self.header.as_ref()
    }

    /// Offset up to which every row has been handed out.
    pub fn offset(&self) -> u64 {
        self.base
    }

    /// Whether the last poll read up to the end of the file.
    pub fn at_eof(&self) -> bool {
        self.eof
    }

    /// New complete rows, reading at most [`MAX_READ`] bytes, so memory
    /// stays bounded and a big file is shipped as it is read. With
    /// `finished`, the writer is done and a last line without its newline
    /// counts too, once the end of the file is reached.
    pub fn poll(&mut self, finished: bool) -> io::Result<Vec<Row>> {
        self.file
            .seek(SeekFrom::Start(self.base + self.buf.len() as u64))?;
        let read = (&mut self.file).take(MAX_READ).read_to_end(&mut self.buf)?;
        self.eof = (read as u64) < MAX_READ;
        let whole = finished && self.eof;
        let end = match last_boundary(&self.buf) {
            _ if whole => self.buf.len(),
            Some(i) => i + 1,
            None => return Ok(Vec::new()),
        };
        let mut rows = Vec::new();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(&self.buf[..end]);
        let mut record = csv::ByteRecord::new();
        while reader.read_byte_record(&mut record).unwrap_or(false) {
            let offset = self.base + record.position().map_or(0, |p| p.byte());
            if self.header.is_none() {
                let (header, is_header) = read_header(&self.path, &record, offset)?;
                self.header = Some(header);
                if is_header {
                    continue;
                }
            }
            if offset < self.header_end {
                continue;
            }
            rows.push(Row {
                offset,
                record: record.clone(),
            });
        }
        self.buf.drain(..end);
        self.base += end as u64;
        Ok(rows)
    }
}

/// Takes the first record as the header when it is one (`true`);
/// otherwise the file has JMeter's default columns (`false`).
fn read_header(path: &Path, record: &csv::ByteRecord, offset: u64) -> io::Result<(Header, bool)> {
    match Columns::from_header(record.iter()) {
        Some(Ok(cols)) if offset == 0 => Ok((
            Header {
                names: record
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect(),
                cols,
            },
            true,
        )),
        Some(Err(m)) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}:1: {m}", path.display()),
        )),
        _ => Ok((
            Header {
                names: DEFAULT_NAMES.iter().map(|s| s.to_string()).collect(),
                cols: Columns::DEFAULT,
            },
            false,
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn takes_only_complete_rows_until_the_writer_finishes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jtl");
        let mut f = File::create(&path).unwrap();
        write!(
            f,
            "timeStamp,elapsed,label,success\n1,5,\"a, b\",true\n2,6,c,tr"
        )
        .unwrap();
        let mut t = Tail::open(&path, 0).unwrap();
        let rows = t.poll(false).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].offset, 32);
        assert_eq!(&rows[0].record[2], b"a, b");
        write!(f, "ue\n3,7,d,false").unwrap();
        let rows = t.poll(false).unwrap();
        assert_eq!(rows.iter().map(|r| r.offset).collect::<Vec<_>>(), vec![48]);
        let rows = t.poll(true).unwrap();
        assert_eq!(&rows[0].record[2], b"d");
        assert!(t.poll(true).unwrap().is_empty());
        assert_eq!(t.header().unwrap().cols.elapsed, 1);
    }

    #[test]
    fn resumes_after_the_shipped_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jtl");
        std::fs::write(
            &path,
            "timeStamp,elapsed,label,success\n1,5,a,true\n2,6,b,true\n",
        )
        .unwrap();
        let mut t = Tail::open(&path, 43).unwrap();
        let rows = t.poll(true).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(&rows[0].record[2], b"b");
    }
}
