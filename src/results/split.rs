//! Cuts a CSV byte stream into blocks of whole rows, so that blocks can be
//! parsed on several cores. A boundary is a newline outside quotes; quotes
//! count only at the start of a field, as the csv crate reads them.
//!
//! A row longer than [`MAX_ROW`] is not read: it ends at the first newline
//! past that length, and the block holds a one-byte stand-in (a NUL, then
//! as many newlines as the row held) that the row reader counts as a
//! malformed row at the row's line. So memory stays bounded whatever the
//! input, a 1 GiB line or a decompression bomb included.

use std::io::{self, Read};

use memchr::{memchr, memrchr};

/// Whole rows, and the file line the first of them starts on.
#[derive(Debug)]
pub struct Block {
    /// Bytes of whole rows (the last row may lack its newline at EOF).
    pub data: Vec<u8>,
    /// 1-based file line of `data[0]`; 0 when the splitter does not count
    /// lines (see [`Splitter::uncounted`], what `analyze` uses: its
    /// workers count lines while parsing, so only tests read this).
    #[cfg_attr(not(test), allow(dead_code))]
    pub first_line: u64,
    /// Position in the input: 0, 1, 2...
    pub seq: u64,
    /// Whether `data` ends the input.
    pub last: bool,
}

/// A quoted field longer than this is taken for an unterminated quote in a
/// garbage line, and the scan goes back to ordinary newlines.
const MAX_QUOTED: usize = 1 << 20;

/// The longest row read (1 MiB); a longer one is a malformed row.
pub const MAX_ROW: usize = 1 << 20;

/// Reads `r` and hands out blocks of about `size` bytes.
pub struct Splitter<R> {
    reader: R,
    delim: u8,
    size: usize,
    carry: Vec<u8>,
    spare: Vec<Vec<u8>>,
    next_line: u64,
    count_lines: bool,
    next_seq: u64,
    eof: bool,
}

impl<R: Read> Splitter<R> {
    /// A splitter of rows delimited by `delim` whose first byte is on file
    /// line `first_line`.
    pub fn new(reader: R, delim: u8, size: usize, first_line: u64) -> Self {
        Splitter {
            reader,
            delim,
            size,
            carry: Vec::new(),
            spare: Vec::new(),
            next_line: first_line,
            count_lines: true,
            next_seq: 0,
            eof: false,
        }
    }

    /// A splitter that leaves lines uncounted (`first_line` 0): for callers
    /// that count them while parsing, and place blocks by `seq`.
    pub fn uncounted(reader: R, delim: u8, size: usize) -> Self {
        Splitter {
            count_lines: false,
            ..Splitter::new(reader, delim, size, 0)
        }
    }

    /// Takes back a block's buffer, to read the next blocks into without
    /// allocating (and zeroing) fresh memory. One grown by a long row
    /// shrinks back first.
    pub fn recycle(&mut self, mut buf: Vec<u8>) {
        if buf.capacity() > 2 * self.size {
            buf = Vec::new();
        }
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
            match last_boundary(&data[..filled], self.delim) {
                Some(end) => {
                    self.carry.extend_from_slice(&data[end + 1..filled]);
                    data.truncate(end + 1);
                    return Ok(Some(self.emit(data, false)));
                }
                None if filled >= MAX_ROW => {
                    self.skip_long_row(&mut data, filled)?;
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

    /// `data[..filled]` starts a row longer than [`MAX_ROW`]: reads on to
    /// the first newline past that length (the rest goes to the carry) and
    /// puts the row's stand-in into `data`.
    fn skip_long_row(&mut self, data: &mut Vec<u8>, filled: usize) -> io::Result<()> {
        let mut newlines = memchr::memchr_iter(b'\n', &data[..MAX_ROW]).count();
        match memchr(b'\n', &data[MAX_ROW..filled]) {
            Some(i) => {
                newlines += 1;
                self.carry.extend_from_slice(&data[MAX_ROW + i + 1..filled]);
            }
            None => loop {
                let n = read_full(&mut self.reader, &mut data[..])?;
                if let Some(i) = memchr(b'\n', &data[..n]) {
                    newlines += 1;
                    self.carry.extend_from_slice(&data[i + 1..n]);
                    break;
                }
                if n < data.len() {
                    self.eof = true;
                    break;
                }
            },
        }
        data.clear();
        data.push(0);
        data.resize(1 + newlines, b'\n');
        Ok(())
    }

    fn emit(&mut self, data: Vec<u8>, last: bool) -> Block {
        let first_line = self.next_line;
        if self.count_lines {
            self.next_line += memchr::memchr_iter(b'\n', &data).count() as u64;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        Block {
            data,
            first_line,
            seq,
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
/// One pass over the quotes only, remembering the last few quoted fields;
/// then the last newline before the end (or before a quote still open
/// there) that none of them holds. Rare inputs the few do not settle go to
/// [`boundary_by_stretches`].
pub(crate) fn last_boundary(data: &[u8], delim: u8) -> Option<usize> {
    const KEPT: usize = 8;
    // The last quoted fields: opening and closing quote, newest at
    // `(closed - 1) % KEPT`.
    let mut fields = [(0usize, 0usize); KEPT];
    let mut closed = 0usize;
    let mut open = None;
    let mut quotes = memchr::memchr_iter(b'"', data);
    while let Some(q) = quotes.next() {
        match open {
            None => {
                if q == 0 || data[q - 1] == delim || matches!(data[q - 1], b'\n' | b'\r') {
                    open = Some(q);
                }
            }
            Some(o) => {
                if data.get(q + 1) == Some(&b'"') {
                    // `""`: the pair's second quote is the next one.
                    quotes.next();
                } else if q + 1 == data.len() {
                    // May be the first of a `""` pair: still open.
                    break;
                } else {
                    fields[closed % KEPT] = (o, q);
                    closed += 1;
                    open = None;
                }
            }
        }
    }
    let mut end = match open {
        // Quote still open at the end of the data: the row continues in
        // the next read.
        Some(o) if data.len() - o < MAX_QUOTED => o,
        // An unterminated quote in a garbage line: read as a literal,
        // which changes what follows; rare enough for the slow way.
        Some(_) => return boundary_by_stretches(data, delim),
        None => data.len(),
    };
    let mut newer = closed;
    loop {
        let nl = memrchr(b'\n', &data[..end])?;
        // Fields opening after the newline cannot hold it.
        while newer > 0 && closed - newer < KEPT && fields[(newer - 1) % KEPT].0 > nl {
            newer -= 1;
        }
        if newer == 0 {
            return Some(nl);
        }
        if closed - newer >= KEPT {
            // Older fields than those remembered might hold it.
            return boundary_by_stretches(data, delim);
        }
        let (o, c) = fields[(newer - 1) % KEPT];
        if nl < c {
            // Inside that field: look before it.
            end = o;
            newer -= 1;
        } else {
            return Some(nl);
        }
    }
}

/// [`last_boundary`] the plain way: every newline between two quoted
/// fields is outside quotes, so the answer is the last newline of the last
/// stretch between quoted fields that has one.
fn boundary_by_stretches(data: &[u8], delim: u8) -> Option<usize> {
    let last_in = |from: usize, to: usize| memrchr(b'\n', &data[from..to]).map(|i| from + i);
    // Start of the current stretch outside quotes.
    let mut outside = 0;
    let mut last = None;
    let mut i = 0;
    while let Some(off) = memchr(b'"', &data[i..]) {
        let at = i + off;
        let field_start = at == 0 || data[at - 1] == delim || matches!(data[at - 1], b'\n' | b'\r');
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
        assert_eq!(last_boundary(d, b','), Some(9));
        assert_eq!(last_boundary(b"1,\"a\nb", b','), None);
    }

    #[test]
    fn doubled_quotes_and_mid_field_quotes() {
        assert_eq!(last_boundary(b"1,\"say \"\"hi\"\"\n\",x\n", b','), Some(17));
        assert_eq!(last_boundary(b"1,ab\"c\n2\n", b','), Some(8));
    }

    #[test]
    fn fast_boundary_agrees_with_the_plain_way() {
        let pieces: [&[u8]; 12] = [
            b",",
            b"\"",
            b"\n",
            b"\r",
            b"x",
            b"1",
            b"\"\"",
            b"\"a,b\"",
            b"\"l\nm\"",
            b"\n\n",
            b"ab\"c",
            b"\"x\"\"y\"",
        ];
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for round in 0..20_000 {
            let mut data = Vec::new();
            for _ in 0..(round % 60) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                data.extend_from_slice(pieces[(x % pieces.len() as u64) as usize]);
            }
            assert_eq!(
                last_boundary(&data, b','),
                boundary_by_stretches(&data, b','),
                "{:?}",
                String::from_utf8_lossy(&data)
            );
        }
        // Many quoted fields after the last newline: past the remembered.
        let mut d = b"a\n".to_vec();
        d.extend_from_slice(&b"\"q\",".repeat(20));
        assert_eq!(last_boundary(&d, b','), Some(1));
        let mut d = b"\"a\nb\",".repeat(20);
        d.extend_from_slice(b"\n\"c\nd\",e");
        assert_eq!(last_boundary(&d, b','), boundary_by_stretches(&d, b','));
    }

    #[test]
    fn uncounted_blocks_are_numbered_in_order() {
        let text = b"a,1\nb,\"x\ny\"\nc,3\nd,4".repeat(50);
        let mut s = Splitter::uncounted(&text[..], b',', 7);
        let mut all = Vec::new();
        let mut seq = 0;
        while let Some(b) = s.next_block().unwrap() {
            assert_eq!((b.seq, b.first_line), (seq, 0));
            seq += 1;
            all.extend_from_slice(&b.data);
            s.recycle(b.data);
        }
        assert_eq!(all, text);
    }

    #[test]
    fn blocks_cover_the_input_with_line_numbers() {
        let text = b"a,1\nb,\"x\ny\"\nc,3\nd,4".repeat(50);
        let mut s = Splitter::new(&text[..], b',', 7, 2);
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
