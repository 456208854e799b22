//! The hot loop of `analyze`: a hand-written JTL row reader that reads the
//! same records as the `csv` crate (flexible, `"` quoting with `""`
//! escapes, `\n`, `\r` and `\r\n` terminators, blank lines skipped, any
//! one-byte delimiter), but only splits a row up to the last column it
//! needs and then skips to the row's end. As in `csv`, only a `"` at the
//! start of a field (after a delimiter or at a row's start) opens a
//! quoted field; anywhere else it is a literal byte, and so is every
//! control byte but the line ends (a TAB-indented stack trace in a
//! `failureMessage` is just text). A property test checks the reader
//! against `csv` on random texts. A row longer than
//! [`MAX_ROW`] is malformed (see [`super::split`]).
//!
//! One difference from `csv`, on purpose: in a block that is not the end of
//! the input, a quote that opens a field but never closes is read as a
//! literal byte (the splitter cut the block the same way, see
//! [`super::split`]), so one stray quote in a garbage line costs that line
//! and not the rest of the block. At the end of the input such a field runs
//! to the end, as in `csv`.

use memchr::memchr2;

use super::jtl::{Columns, Sample};
use super::split::MAX_ROW;

/// How a field ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Term {
    /// A delimiter: more fields follow.
    Delim,
    /// A record terminator.
    Record,
    /// The end of the data.
    Eof,
}

/// Where a field's value is: `data[start..end]`, or the field's scratch
/// buffer when it had to be unescaped.
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    start: usize,
    end: usize,
    scratch: bool,
}

/// A field read: its value, where the next one starts, how it ended and
/// how many newlines it held (its terminator included).
struct Field {
    span: Span,
    next: usize,
    term: Term,
    newlines: u64,
}

/// Reads rows with fixed columns; reusable across blocks.
pub(crate) struct RowReader {
    cols: Columns,
    /// The field delimiter.
    delim: u8,
    /// The fields a row is split into (the rest is skipped whole).
    fields: usize,
    /// Per field: where in a row's [`Values`] its value goes
    /// ([`DISCARD`] when not kept).
    slots: Box<[u8]>,
    /// Per field: unescaped values of odd quoted fields.
    scratch: Box<[Vec<u8>]>,
}

/// The kept values of a row, by slot: timestamp, elapsed, label, success,
/// threads, response message, and a last one that takes the skipped
/// fields.
type Values = [Span; 7];
const TIMESTAMP: usize = 0;
const ELAPSED: usize = 1;
const LABEL: usize = 2;
const SUCCESS: usize = 3;
const THREADS: usize = 4;
const MESSAGE: usize = 5;
const DISCARD: u8 = 6;

impl RowReader {
    /// A reader for rows laid out as `cols` says, fields split at `delim`.
    pub(crate) fn new(cols: &Columns, delim: u8) -> Self {
        // `allThreads` and `responseMessage` are read when present, but a
        // row may end before them.
        let fields = cols
            .min_fields
            .max(cols.all_threads.map_or(0, |i| i + 1))
            .max(cols.response_message.map_or(0, |i| i + 1))
            .max(1);
        let mut slots = vec![DISCARD; fields];
        slots[cols.timestamp] = TIMESTAMP as u8;
        slots[cols.elapsed] = ELAPSED as u8;
        slots[cols.label] = LABEL as u8;
        if let Some(i) = cols.success {
            slots[i] = SUCCESS as u8;
        }
        if let Some(i) = cols.all_threads {
            slots[i] = THREADS as u8;
        }
        if let Some(i) = cols.response_message {
            slots[i] = MESSAGE as u8;
        }
        RowReader {
            cols: cols.clone(),
            delim,
            fields,
            slots: slots.into_boxed_slice(),
            scratch: vec![Vec::new(); fields].into_boxed_slice(),
        }
    }

    /// Reads every row of `data`, which starts at a row's start. Calls
    /// `sample` for each good row and `bad` with the 0-based line (within
    /// `data`) of each malformed one. `at_eof`: `data` ends the input.
    /// Returns the number of newlines in `data`.
    pub(crate) fn read_block<S, B>(
        &mut self,
        data: &[u8],
        at_eof: bool,
        mut sample: S,
        mut bad: B,
    ) -> u64
    where
        S: FnMut(&Sample<'_>),
        B: FnMut(u64),
    {
        let len = data.len();
        let mut pos = 0;
        let mut line = 0u64;
        while pos < len {
            // Record start: terminators here are blank lines (or the `\n`
            // of a `\r\n`), which csv skips.
            match data[pos] {
                b'\n' => {
                    line += 1;
                    pos += 1;
                    continue;
                }
                b'\r' => {
                    pos += 1;
                    continue;
                }
                _ => {}
            }
            let row_line = line;
            let row_start = pos;
            let mut n = 0;
            let mut vals = Values::default();
            // Delimiters at or after `pos` in the word at `wpos`: words are
            // read at `wpos + 8k` whatever the fields, so the CPU can work
            // ahead of the field being read, and one word often ends
            // several fields. `ctrl` marks the bytes of `mask` that are
            // not delimiters (terminators, or other control bytes to skip).
            let delim = self.delim;
            let mut wpos = pos;
            let (mut mask, mut ctrl) = delims(word(data, pos), delim);
            let term = loop {
                let (span, next, term) = if data.get(pos) != Some(&b'"') {
                    let end = loop {
                        while mask == 0 {
                            wpos += 8;
                            if wpos >= len {
                                break;
                            }
                            (mask, ctrl) = delims(word(data, wpos), delim);
                        }
                        if mask == 0 {
                            break len;
                        }
                        let bit = mask & mask.wrapping_neg();
                        mask ^= bit;
                        let end = wpos + (bit.trailing_zeros() / 8) as usize;
                        if ctrl & bit == 0 || matches!(data[end], b'\n' | b'\r') {
                            break end;
                        }
                    };
                    let span = Span {
                        start: pos,
                        end,
                        scratch: false,
                    };
                    match data.get(end) {
                        Some(&c) if c == delim => (span, end + 1, Term::Delim),
                        Some(b'\n') => {
                            line += 1;
                            (span, end + 1, Term::Record)
                        }
                        Some(_) => (span, end + 1, Term::Record),
                        None => (span, end, Term::Eof),
                    }
                } else {
                    let f = self.quoted(data, pos, at_eof, n);
                    line += f.newlines;
                    wpos = f.next;
                    (mask, ctrl) = delims(word(data, wpos), delim);
                    (f.span, f.next, f.term)
                };
                vals[usize::from(self.slots[n])] = span;
                n += 1;
                pos = next;
                if term != Term::Delim || n == self.fields {
                    break term;
                }
            };
            if term == Term::Delim {
                let (next, newlines) = self.skip_rest(data, pos, at_eof);
                pos = next;
                line += newlines;
            }
            // Rows longer than the splitter lets through whole are
            // malformed wherever they sit in a block.
            if n < self.cols.min_fields.max(1) || pos - row_start > MAX_ROW {
                bad(row_line);
                continue;
            }
            match self.sample(data, &vals) {
                Some(s) => sample(&s),
                None => bad(row_line),
            }
        }
        line
    }

    #[inline(always)]
    fn value<'a>(&'a self, data: &'a [u8], vals: &Values, slot: usize, field: usize) -> &'a [u8] {
        let s = vals[slot];
        if s.scratch {
            &self.scratch[field]
        } else {
            &data[s.start..s.end]
        }
    }

    #[inline(always)]
    fn sample<'a>(&'a self, data: &'a [u8], vals: &Values) -> Option<Sample<'a>> {
        let c = &self.cols;
        Sample::parse(
            self.value(data, vals, TIMESTAMP, c.timestamp),
            self.value(data, vals, ELAPSED, c.elapsed),
            self.value(data, vals, LABEL, c.label),
            c.success.map(|i| self.value(data, vals, SUCCESS, i)),
            c.all_threads.map(|i| self.value(data, vals, THREADS, i)),
            c.response_message
                .map(|i| self.value(data, vals, MESSAGE, i)),
        )
    }

    /// Reads the quoted field opening at `data[pos]`, field number `field`
    /// of its row (`usize::MAX` past the kept ones). Kept fields whose
    /// value is not a plain slice are unescaped into their scratch buffer.
    fn quoted(&mut self, data: &[u8], pos: usize, at_eof: bool, field: usize) -> Field {
        let len = data.len();
        let mut i = pos + 1;
        let mut newlines = 0;
        let mut escaped = false;
        let close = loop {
            match find_quote_or_newline(data, i) {
                None => break None,
                Some(q) => {
                    if data[q] == b'\n' {
                        newlines += 1;
                        i = q + 1;
                    } else if data.get(q + 1) == Some(&b'"') {
                        escaped = true;
                        i = q + 2;
                    } else {
                        break Some(q);
                    }
                }
            }
        };
        let Some(q) = close else {
            if !at_eof {
                // Never closes in this block: a literal quote (see the
                // module's comment).
                return unquoted(data, pos, self.delim);
            }
            // csv: the field runs to the end of the input.
            let span = self.keep(data, field, pos + 1, len, escaped, len);
            return Field {
                span,
                next: len,
                term: Term::Eof,
                newlines,
            };
        };
        let (end, next, term) = match data.get(q + 1) {
            Some(&c) if c == self.delim => (q + 1, q + 2, Term::Delim),
            Some(b'\n') => {
                newlines += 1;
                (q + 1, q + 2, Term::Record)
            }
            Some(b'\r') => (q + 1, q + 2, Term::Record),
            None => (q + 1, q + 1, Term::Eof),
            // Bytes after the closing quote: csv keeps them, unquoted, up to
            // the next delimiter.
            Some(_) => {
                let f = unquoted(data, q + 1, self.delim);
                newlines += f.newlines;
                (f.span.end, f.next, f.term)
            }
        };
        let odd = escaped || end != q + 1;
        let span = self.keep(data, field, pos + 1, q, odd, end);
        Field {
            span,
            next,
            term,
            newlines,
        }
    }

    /// The value of a quoted field: `data[start..close]` with `""` read as
    /// `"`, then `data[close + 1..end]` as is (what followed the closing
    /// quote, if any). A plain slice when nothing needs rewriting.
    fn keep(
        &mut self,
        data: &[u8],
        field: usize,
        start: usize,
        close: usize,
        odd: bool,
        end: usize,
    ) -> Span {
        let kept = self.slots.get(field).is_some_and(|&s| s != DISCARD);
        if !odd || !kept {
            return Span {
                start,
                end: close,
                scratch: false,
            };
        }
        let buf = &mut self.scratch[field];
        buf.clear();
        let inner = &data[start..close];
        let mut i = 0;
        while i < inner.len() {
            buf.push(inner[i]);
            i += if inner[i] == b'"' { 2 } else { 1 };
        }
        if end > close {
            buf.extend_from_slice(&data[close + 1..end]);
        }
        Span {
            start: 0,
            end: 0,
            scratch: true,
        }
    }

    /// Skips the fields after the last kept one: returns where the next row
    /// starts and the newlines skipped.
    #[inline(always)]
    fn skip_rest(&mut self, data: &[u8], mut i: usize, at_eof: bool) -> (usize, u64) {
        let mut newlines = 0;
        loop {
            // Rows end soon after their last kept field: eight bytes at a
            // time beats a `memchr3` call here.
            let Some(p) = find_ctrl_or_quote(data, i) else {
                return (data.len(), newlines);
            };
            match data[p] {
                b'\n' => return (p + 1, newlines + 1),
                b'\r' => return (p + 1, newlines),
                // `i` follows a delimiter, so `p >= 1`. A quote opens a
                // field only at its start; elsewhere it is a literal byte.
                b'"' if data[p - 1] == self.delim => {
                    let f = self.quoted(data, p, at_eof, usize::MAX);
                    newlines += f.newlines;
                    if f.term != Term::Delim {
                        return (f.next, newlines);
                    }
                    i = f.next;
                }
                // A literal quote, or a control byte in a field.
                _ => i = p + 1,
            }
        }
    }
}

/// Index of the first quote or newline at or after `i`. Most quoted
/// fields are short labels: a few words first, then `memchr2`.
#[inline(always)]
fn find_quote_or_newline(data: &[u8], i: usize) -> Option<usize> {
    for k in 0..4 {
        let at = i + 8 * k;
        if at >= data.len() {
            return None;
        }
        let w = word(data, at);
        // Inexact above the first hit, which is all that is used.
        let m = zero_bytes(w ^ (LO * u64::from(b'"'))) | zero_bytes(w ^ (LO * u64::from(b'\n')));
        if m != 0 {
            return Some(at + (m.trailing_zeros() / 8) as usize);
        }
    }
    memchr2(b'"', b'\n', data.get(i + 32..)?).map(|o| i + 32 + o)
}

/// Index of the first control byte (below `\x0e`: `\n`, `\r`...) or
/// quote at or after `i`.
#[inline(always)]
fn find_ctrl_or_quote(data: &[u8], mut i: usize) -> Option<usize> {
    while i < data.len() {
        let w = word(data, i);
        let ctrl = !(((w | HI) - LO * 0x0e) | w) & HI;
        // Inexact above the first quote, which is all that is used.
        let m = ctrl | zero_bytes(w ^ (LO * u64::from(b'"')));
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    None
}

/// Reads the unquoted field starting at `data[pos]`.
#[inline(always)]
fn unquoted(data: &[u8], pos: usize, delim: u8) -> Field {
    let end = find_delim(data, pos, delim);
    let (next, term, newlines) = match data.get(end) {
        Some(&c) if c == delim => (end + 1, Term::Delim, 0),
        Some(b'\n') => (end + 1, Term::Record, 1),
        Some(_) => (end + 1, Term::Record, 0),
        None => (end, Term::Eof, 0),
    };
    Field {
        span: Span {
            start: pos,
            end,
            scratch: false,
        },
        next,
        term,
        newlines,
    }
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// High bit set in each zero byte of `x` (exact for the lowest one; bits
/// above it may be spurious, which the callers ignore).
#[inline(always)]
fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(LO) & !x & HI
}

/// The eight bytes at `at`; past the end, 0xff bytes (neither
/// delimiters, control bytes nor quotes).
#[inline(always)]
fn word(data: &[u8], at: usize) -> u64 {
    match data.get(at..at + 8) {
        Some(w) => u64::from_le_bytes(w.try_into().unwrap_or([0; 8])),
        None => {
            let mut b = [0xffu8; 8];
            let rest = data.get(at..).unwrap_or(&[]);
            b[..rest.len()].copy_from_slice(rest);
            u64::from_le_bytes(b)
        }
    }
}

/// High bit set in each byte of `w` that is `delim` or a control byte
/// below `\x0e` (which takes in `\n` and `\r`), exactly (no carries
/// between bytes, so several can be taken from one word); then the same
/// for the control bytes that are not `delim` (a TAB delimiter is one).
#[inline(always)]
fn delims(w: u64, delim: u8) -> (u64, u64) {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let x = w ^ (LO * u64::from(delim));
    // High bit set in each byte of `x` that is not zero.
    let not_delim = ((x & LOW7) + LOW7) | x;
    // High bit clear in each byte below 0x0e: its low 7 bits minus 0x0e
    // borrow, and its own high bit is clear.
    let not_ctrl = ((w | HI) - LO * 0x0e) | w;
    let ctrl = !not_ctrl & HI;
    let delim = !not_delim & HI;
    (delim | ctrl, ctrl & !delim)
}

/// Index of the first `delim`, `\n` or `\r` at or after `i`, or
/// `data.len()`. Fields are short, so eight bytes at a time beats a
/// `memchr` call.
#[inline(always)]
fn find_delim(data: &[u8], mut i: usize, delim: u8) -> usize {
    while let Some(chunk) = data.get(i..i + 8) {
        let w = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let m = zero_bytes(w ^ (LO * u64::from(delim)))
            | zero_bytes(w ^ (LO * u64::from(b'\n')))
            | zero_bytes(w ^ (LO * u64::from(b'\r')));
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < data.len() && data[i] != delim && !matches!(data[i], b'\n' | b'\r') {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests;
