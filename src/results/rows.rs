//! The hot loop of `analyze`: a hand-written JTL row reader that reads the
//! same records as the `csv` crate (flexible, `"` quoting with `""`
//! escapes, `\n`, `\r` and `\r\n` terminators, blank lines skipped), but
//! only splits a row up to the last column it needs and then jumps to the
//! row's end with `memchr3`.
//!
//! One difference from `csv`, on purpose: in a block that is not the end of
//! the input, a quote that opens a field but never closes is read as a
//! literal byte (the splitter cut the block the same way, see
//! [`super::split`]), so one stray quote in a garbage line costs that line
//! and not the rest of the block. At the end of the input such a field runs
//! to the end, as in `csv`.

use memchr::{memchr2, memchr3};

use super::jtl::{Columns, Sample, parse_bool, parse_timestamp, parse_u64};

/// What a column is read for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Skip,
    Timestamp,
    Elapsed,
    Label,
    Success,
}

impl Role {
    /// Slot in [`Values`], for the roles that keep their value.
    fn slot(self) -> usize {
        match self {
            Role::Timestamp => 0,
            Role::Elapsed => 1,
            Role::Label => 2,
            Role::Success => 3,
            Role::Skip => 4,
        }
    }
}

/// How a field ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Term {
    /// A comma: more fields follow.
    Delim,
    /// A record terminator.
    Record,
    /// The end of the data.
    Eof,
}

/// Where a kept field's value is: `data[start..end]`, or the slot's
/// scratch buffer when it had to be unescaped.
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
    roles: Box<[Role]>,
    has_success: bool,
    /// Unescaped values of odd quoted fields, by slot.
    scratch: [Vec<u8>; 4],
}

impl RowReader {
    /// A reader for rows laid out as `cols` says.
    pub(crate) fn new(cols: &Columns) -> Self {
        let mut roles = vec![Role::Skip; cols.min_fields.max(1)];
        roles[cols.timestamp] = Role::Timestamp;
        roles[cols.elapsed] = Role::Elapsed;
        roles[cols.label] = Role::Label;
        if let Some(i) = cols.success {
            roles[i] = Role::Success;
        }
        RowReader {
            roles: roles.into_boxed_slice(),
            has_success: cols.success.is_some(),
            scratch: Default::default(),
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
            let mut vals = [Span::default(); 5];
            let mut nfields = 0;
            let mut term = Term::Delim;
            while nfields < self.roles.len() {
                let role = self.roles[nfields];
                let f = if data.get(pos) == Some(&b'"') {
                    self.quoted(data, pos, at_eof, role)
                } else {
                    unquoted(data, pos)
                };
                vals[role.slot()] = f.span;
                line += f.newlines;
                pos = f.next;
                term = f.term;
                nfields += 1;
                if term != Term::Delim {
                    break;
                }
            }
            if term == Term::Delim {
                let (next, newlines) = self.skip_rest(data, pos, at_eof);
                pos = next;
                line += newlines;
            }
            if nfields < self.roles.len() {
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

    fn value<'a>(&'a self, data: &'a [u8], vals: &[Span; 5], role: Role) -> &'a [u8] {
        let s = vals[role.slot()];
        if s.scratch {
            &self.scratch[role.slot()]
        } else {
            &data[s.start..s.end]
        }
    }

    #[inline]
    fn sample<'a>(&'a self, data: &'a [u8], vals: &[Span; 5]) -> Option<Sample<'a>> {
        let timestamp = parse_timestamp(self.value(data, vals, Role::Timestamp))?;
        let elapsed = parse_u64(self.value(data, vals, Role::Elapsed))?;
        let success = if self.has_success {
            parse_bool(self.value(data, vals, Role::Success))?
        } else {
            true
        };
        Some(Sample {
            timestamp,
            elapsed,
            label: self.value(data, vals, Role::Label),
            success,
        })
    }

    /// Reads the quoted field opening at `data[pos]`. Kept roles whose
    /// value is not a plain slice are unescaped into their scratch buffer.
    fn quoted(&mut self, data: &[u8], pos: usize, at_eof: bool, role: Role) -> Field {
        let len = data.len();
        let mut i = pos + 1;
        let mut newlines = 0;
        let mut escaped = false;
        let close = loop {
            match memchr2(b'"', b'\n', &data[i..]) {
                None => break None,
                Some(off) => {
                    let q = i + off;
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
                return unquoted(data, pos);
            }
            // csv: the field runs to the end of the input.
            let span = self.keep(data, role, pos + 1, len, escaped, len);
            return Field {
                span,
                next: len,
                term: Term::Eof,
                newlines,
            };
        };
        let (end, next, term) = match data.get(q + 1) {
            Some(b',') => (q + 1, q + 2, Term::Delim),
            Some(b'\n') => {
                newlines += 1;
                (q + 1, q + 2, Term::Record)
            }
            Some(b'\r') => (q + 1, q + 2, Term::Record),
            None => (q + 1, q + 1, Term::Eof),
            // Bytes after the closing quote: csv keeps them, unquoted, up to
            // the next delimiter.
            Some(_) => {
                let f = unquoted(data, q + 1);
                newlines += f.newlines;
                (f.span.end, f.next, f.term)
            }
        };
        let span = if end == q + 1 {
            self.keep(data, role, pos + 1, q, escaped, q)
        } else {
            self.keep(data, role, pos + 1, q, true, end)
        };
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
        role: Role,
        start: usize,
        close: usize,
        odd: bool,
        end: usize,
    ) -> Span {
        if !odd || role == Role::Skip {
            return Span {
                start,
                end: close,
                scratch: false,
            };
        }
        let buf = &mut self.scratch[role.slot()];
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
    #[inline]
    fn skip_rest(&mut self, data: &[u8], mut i: usize, at_eof: bool) -> (usize, u64) {
        let mut newlines = 0;
        loop {
            let Some(off) = memchr3(b'\n', b'\r', b'"', &data[i..]) else {
                return (data.len(), newlines);
            };
            let p = i + off;
            match data[p] {
                b'\n' => return (p + 1, newlines + 1),
                b'\r' => return (p + 1, newlines),
                // `i` follows a comma, so `p >= 1`. A quote opens a field
                // only at its start; elsewhere it is a literal byte.
                _ if data[p - 1] == b',' => {
                    let f = self.quoted(data, p, at_eof, Role::Skip);
                    newlines += f.newlines;
                    if f.term != Term::Delim {
                        return (f.next, newlines);
                    }
                    i = f.next;
                }
                _ => i = p + 1,
            }
        }
    }
}

/// Reads the unquoted field starting at `data[pos]`.
#[inline(always)]
fn unquoted(data: &[u8], pos: usize) -> Field {
    let end = find_delim(data, pos);
    let (next, term, newlines) = match data.get(end) {
        Some(b',') => (end + 1, Term::Delim, 0),
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

/// Index of the first `,`, `\n` or `\r` at or after `i`, or `data.len()`.
/// Fields are short, so eight bytes at a time beats a `memchr` call.
#[inline(always)]
fn find_delim(data: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = data.get(i..i + 8) {
        let w = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let m = zero_bytes(w ^ (LO * u64::from(b',')))
            | zero_bytes(w ^ (LO * u64::from(b'\n')))
            | zero_bytes(w ^ (LO * u64::from(b'\r')));
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < data.len() && !matches!(data[i], b',' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests;
