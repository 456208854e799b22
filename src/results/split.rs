//! Cuts a CSV byte stream into blocks of whole rows, so that blocks can be
//! parsed on several cores. A boundary is a newline outside quotes; quotes
//! count only at the start of a field, as the csv crate reads them.

use std::io::{self, Read};

use memchr::{memchr, memchr2};

/// Whole rows, and the file line the first of them starts on.
#[derive(Debug)]
pub struct Block {
    /// Bytes of whole rows (the last row may lack its newline at EOF).
    pub data: Vec<u8>,
    /// 1-based file line of `data[0]`.
    pub first_line: u64,
}

/// A quoted field longer than this is taken for an unterminated quote in a
/// garbage line, and the scan goes back to ordinary newlines.
const MAX_QUOTED: usize = 1 << 20;

/// Reads `r` and hands out blocks of about `size` bytes.
pub struct Splitter<R> {
    reader: R,
    size: usize,
    carry: Vec<u8>,
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
            next_line: first_line,
            eof: false,
        }
    }

    /// The next block, or `None` at the end.
    pub fn next_block(&mut self) -> io::Result<Option<Block>> {
        loop {
            if self.eof {
                if self.carry.is_empty() {
                    return Ok(None);
                }
                let data = std::mem::take(&mut self.carry);
                return Ok(Some(self.emit(data)));
            }
            let mut data = std::mem::take(&mut self.carry);
            let start = data.len();
            data.resize(start + self.size, 0);
            let n = read_full(&mut self.reader, &mut data[start..])?;
            data.truncate(start + n);
            if n == 0 {
                self.eof = true;
                self.carry = data;
                continue;
            }
            match last_boundary(&data) {
                Some(end) => {
                    self.carry = data.split_off(end + 1);
                    return Ok(Some(self.emit(data)));
                }
                // One row longer than a block: keep reading into it.
                None => self.carry = data,
            }
        }
    }

    fn emit(&mut self, data: Vec<u8>) -> Block {
        let first_line = self.next_line;
        self.next_line += memchr::memchr_iter(b'\n', &data).count() as u64;
        Block { data, first_line }
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
pub(crate) fn last_boundary(data: &[u8]) -> Option<usize> {
    let mut last = None;
    let mut i = 0;
    while let Some(off) = memchr2(b'"', b'\n', &data[i..]) {
        let at = i + off;
        if data[at] == b'\n' {
            last = Some(at);
            i = at + 1;
            continue;
        }
        let field_start = at == 0 || matches!(data[at - 1], b',' | b'\n');
        if !field_start {
            i = at + 1;
            continue;
        }
        match closing_quote(&data[at + 1..]) {
            Some(close) => i = at + 1 + close + 1,
            // Quote still open at the end of the data: the row continues
            // in the next read.
            None if data.len() - at < MAX_QUOTED => return last,
            None => i = at + 1,
        }
        if i >= data.len() {
            break;
        }
    }
    last
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
