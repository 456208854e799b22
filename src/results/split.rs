//! Cuts a CSV byte stream into blocks of whole rows, so that blocks can be
//! parsed on several cores. A boundary is a newline outside quotes; quotes
//! count only at the start of a field, as the csv crate reads them.

use std::io::{self, Read};

use memchr::{memchr, memrchr};

/// Whole rows, and the file line the first of them starts on.
#[derive(Debug)]
pub struct Block {
    /// Bytes of whole rows (the last row may lack its newline at EOF).
    pub data: Vec<u8>,
    /// 1-based file line of `data[0]`.
    pub first_line: u64,
    /// Whether `data` ends the input.
    pub last: bool,
}

/// A quoted field longer than this is taken for an unterminated quote in a
/// garbage line, and the scan goes back to ordinary newlines.
const MAX_QUOTED: usize = 1 << 20;

/// Reads `r` and hands out blocks of about `size` bytes.
pub struct Splitter<R> {
    reader: R,
    size: usize,
    carry: Vec<u8>,
    spare: Vec<Vec<u8>>,
    next_line: u64,
    eof: bool,
}

impl<R: Read> Splitter<R> {
    /// A splitter whose first byte is on file line `first_line`.
    pub fn new(reader: R, size: usize, first_line: u64) -> Self {
        Splitter {
            reader,
            size,
            carry: Vec::new(),
            spare: Vec::new(),
            next_line: first_line,
            eof: false,
        }
    }

    /// Takes back a block's buffer, to read the next blocks into without
    /// allocating (and zeroing) fresh memory.
    pub fn recycle(&mut self, buf: Vec<u8>) {
        self.spare.push(buf);
    }

    /// The next block, or `None` at the end.
    pub fn next_block(&mut self) -> io::Result<Option<Block>> {
        let mut data = self.spare.pop().unwrap_or_default();
        // Only bytes past the buffer's old length get zeroed here; a
        // recycled buffer is nearly full already.
        data.resize(self.size.max(self.carry.len() + self.size / 2), 0);
        data[..self.carry.len()].copy_from_slice(&self.carry);
        let mut filled = self.carry.len();
        self.carry.clear();
        loop {
            if self.eof {
                data.truncate(filled);
                if data.is_empty() {
                    self.spare.push(data);
                    return Ok(None);
                }
                return Ok(Some(self.emit(data, true)));
            }
            let n = read_full(&mut self.reader, &mut data[filled..])?;
            filled += n;
            if filled < data.len() {
                self.eof = true;
                continue;
            }
            match last_boundary(&data[..filled]) {
                Some(end) => {
                    self.carry.extend_from_slice(&data[end + 1..filled]);
                    data.truncate(end + 1);
                    return Ok(Some(self.emit(data, false)));
                }
                // One row longer than a block: keep reading into it.
                None => {
                    let grown = data.len() + self.size;
                    data.resize(grown, 0);
                }
            }
        }
    }

    fn emit(&mut self, data: Vec<u8>, last: bool) -> Block {
        let first_line = self.next_line;
        self.next_line += memchr::memchr_iter(b'\n', &data).count() as u64;
        Block {
            data,
            first_line,
            last,
        }
    }
}

fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Index of the last newline that ends a row (is outside quotes).
///
/// Only quotes are visited: every newline between two quoted fields is
/// outside quotes, so the answer is the last newline of the last stretch
/// between quoted fields that has one.
pub(crate) fn last_boundary(data: &[u8]) -> Option<usize> {
    let last_in = |from: usize, to: usize| memrchr(b'\n', &data[from..to]).map(|i| from + i);
    // Start of the current stretch outside quotes.
    let mut outside = 0;
    let mut last = None;
    let mut i = 0;
    while let Some(off) = memchr(b'"', &data[i..]) {
        let at = i + off;
        let field_start = at == 0 || matches!(data[at - 1], b',' | b'\n' | b'\r');
        if !field_start {
            i = at + 1;
            continue;
        }
        match closing_quote(&data[at + 1..]) {
            Some(close) => {
                last = last_in(outside, at).or(last);
                i = at + 1 + close + 1;
                outside = i;
            }
            // Quote still open at the end of the data: the row continues
            // in the next read.
            None if data.len() - at < MAX_QUOTED => return last_in(outside, at).or(last),
            None => i = at + 1,
        }
        if i >= data.len() {
            break;
        }
    }
    last_in(outside.min(data.len()), data.len()).or(last)
}

/// Offset of the quote that closes a quoted field, skipping `""` escapes.
fn closing_quote(data: &[u8]) -> Option<usize> {
    let mut i = 0;
    loop {
        let q = i + memchr(b'"', &data[i..])?;
        if data.get(q + 1) == Some(&b'"') {
            i = q + 2;
        } else if q + 1 == data.len() {
            // A quote at the very end may be the first of a `""` pair.
            return None;
        } else {
            return Some(q);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newline_inside_quotes_is_not_a_boundary() {
        let d = b"1,\"a\nb\",x\n2,\"c";
        assert_eq!(last_boundary(d), Some(9));
        assert_eq!(last_boundary(b"1,\"a\nb"), None);
    }

    #[test]
    fn doubled_quotes_and_mid_field_quotes() {
        assert_eq!(last_boundary(b"1,\"say \"\"hi\"\"\n\",x\n"), Some(17));
        assert_eq!(last_boundary(b"1,ab\"c\n2\n"), Some(8));
    }

    #[test]
    fn blocks_cover_the_input_with_line_numbers() {
        let text = b"a,1\nb,\"x\ny\"\nc,3\nd,4".repeat(50);
        let mut s = Splitter::new(&text[..], 7, 2);
        let mut all = Vec::new();
        let mut lines = 2;
        while let Some(b) = s.next_block().unwrap() {
            assert_eq!(b.first_line, lines);
            lines += memchr::memchr_iter(b'\n', &b.data).count() as u64;
            all.extend_from_slice(&b.data);
        }
        assert_eq!(all, text);
    }
}
