//! Reads the complete rows of a JTL that JMeter is still writing. Only
//! rows ending in a newline are taken (a half-written last line waits for
//! the rest), unless the writer has finished. The layout (delimiter,
//! header or JMeter's default columns) is told as `analyze` tells it, and
//! a row longer than `analyze` reads is dropped and counted.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::results::jtl::Columns;
use crate::results::layout::{CsvLayout, Format, HEAD_BYTES, detect};
use crate::results::split::{MAX_ROW, last_boundary};

/// The file's layout.
#[derive(Debug, Clone)]
pub struct Header {
    /// Column names, in file order.
    pub names: Vec<String>,
    /// Where the needed columns are.
    pub cols: Columns,
    /// The field delimiter.
    pub delimiter: u8,
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
    /// Inside a row longer than [`MAX_ROW`], dropped up to its newline.
    skipping: bool,
    oversized: u64,
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
            skipping: false,
            oversized: 0,
        })
    }

    /// The file's layout, once its first line has been read.
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

    /// Rows longer than [`MAX_ROW`] dropped so far (malformed rows).
    pub fn oversized(&self) -> u64 {
        self.oversized
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
        if self.skipping && !self.skip_to_line_end() {
            return Ok(Vec::new());
        }
        let Some(delimiter) = self.delimiter(whole)? else {
            return Ok(Vec::new());
        };
        let boundary = last_boundary(&self.buf, delimiter);
        if boundary.is_none() && self.buf.len() >= MAX_ROW {
            self.drop_long_row(whole);
            return Ok(Vec::new());
        }
        let end = match boundary {
            _ if whole => self.buf.len(),
            Some(i) => i + 1,
            None => return Ok(Vec::new()),
        };
        let mut rows = Vec::new();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(&self.buf[..end]);
        let mut record = csv::ByteRecord::new();
        while reader.read_byte_record(&mut record).unwrap_or(false) {
            let start = record.position().map_or(0, |p| p.byte());
            let offset = self.base + start;
            if offset < self.header_end {
                continue;
            }
            if reader.position().byte() - start > MAX_ROW as u64 {
                self.oversized += 1;
                continue;
            }
            rows.push(Row {
                offset,
                record: record.clone(),
            });
        }
        self.drop_front(end);
        Ok(rows)
    }

    /// Drops what is left of a row too long to read, up to its newline:
    /// `false` if it has not come yet.
    fn skip_to_line_end(&mut self) -> bool {
        match memchr::memchr(b'\n', &self.buf) {
            Some(i) => {
                self.drop_front(i + 1);
                self.skipping = false;
                true
            }
            None => {
                self.drop_front(self.buf.len());
                false
            }
        }
    }

    /// The delimiter, telling the layout from the file's first line (and
    /// dropping its header) on the first call that has it; `None` while
    /// that line is still being written.
    fn delimiter(&mut self, whole: bool) -> io::Result<Option<u8>> {
        if let Some(h) = &self.header {
            return Ok(Some(h.delimiter));
        }
        let line_done = memchr::memchr(b'\n', &self.buf).is_some();
        if !(whole || line_done || self.buf.len() >= HEAD_BYTES) {
            return Ok(None);
        }
        let layout = self.layout()?;
        self.drop_front(layout.header_len);
        self.header = Some(Header {
            names: layout.names,
            cols: layout.cols,
            delimiter: layout.delimiter,
        });
        Ok(Some(layout.delimiter))
    }

    /// The buffer starts a row longer than `analyze` reads: dropped up to
    /// the first newline past the limit (or, when that has not come yet,
    /// up to it later), and counted.
    fn drop_long_row(&mut self, whole: bool) {
        self.oversized += 1;
        match memchr::memchr(b'\n', &self.buf[MAX_ROW..]) {
            Some(i) => self.drop_front(MAX_ROW + i + 1),
            None => {
                self.drop_front(self.buf.len());
                self.skipping = !whole;
            }
        }
    }

    fn drop_front(&mut self, n: usize) {
        self.buf.drain(..n);
        self.base += n as u64;
    }

    /// The layout, from the file's first bytes.
    fn layout(&self) -> io::Result<CsvLayout> {
        let head = &self.buf[..self.buf.len().min(HEAD_BYTES)];
        let bad = |m: String| io::Error::new(io::ErrorKind::InvalidData, m);
        match detect(head) {
            Ok(Format::Csv(layout)) => Ok(layout),
            Ok(Format::Xml) => Err(bad(format!(
                "{}: an XML JTL cannot be followed; `stampede analyze` reads it",
                self.path.display()
            ))),
            Err(m) => Err(bad(format!("{}:1: {m}", self.path.display()))),
        }
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

    #[test]
    fn delimiter_told_as_analyze_tells_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jtl");
        std::fs::write(
            &path,
            "timeStamp\telapsed\tlabel\tsuccess\n1\t5\ta, b\ttrue\n2\t6\t\tat Foo.bar\tfalse\n",
        )
        .unwrap();
        let mut t = Tail::open(&path, 0).unwrap();
        let rows = t.poll(true).unwrap();
        assert_eq!(t.header().unwrap().delimiter, b'\t');
        assert_eq!(rows.len(), 2);
        assert_eq!(&rows[0].record[2], b"a, b");
        assert_eq!(rows[1].record.len(), 5);
    }

    #[test]
    fn a_row_longer_than_analyze_reads_is_dropped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jtl");
        let mut f = File::create(&path).unwrap();
        write!(f, "timeStamp,elapsed,label,success\n1,5,a,true\n2,6,").unwrap();
        f.write_all(&vec![b'x'; MAX_ROW + (5 << 20)]).unwrap();
        write!(f, ",true\n3,7,c,true\n").unwrap();
        let mut t = Tail::open(&path, 0).unwrap();
        let mut labels = Vec::new();
        for _ in 0..10 {
            for r in t.poll(true).unwrap() {
                labels.push(String::from_utf8_lossy(&r.record[2]).into_owned());
            }
            assert!(t.buf.len() <= MAX_ROW + MAX_READ as usize);
        }
        assert_eq!(labels, ["a", "c"]);
        assert_eq!(t.oversized(), 1);
    }
}
