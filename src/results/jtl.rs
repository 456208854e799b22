//! JMeter result (JTL) rows: the one row model that `analyze`, the live
//! view and shipping all read with. Columns are found by header name, so
//! 2.13 and 5.x files and reordered columns all read the same.

mod date;

/// Where the columns we need sit in a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    /// `timeStamp`.
    pub timestamp: usize,
    /// `elapsed`.
    pub elapsed: usize,
    /// `label`.
    pub label: usize,
    /// `success`, absent in some custom configurations.
    pub success: Option<usize>,
    /// `allThreads`, when the header has it. Not needed: a row that ends
    /// before it is still a sample, with its threads unknown.
    pub all_threads: Option<usize>,
    /// `responseMessage`, when the file has it: it tells a Transaction
    /// Controller's sample from a sampler's (see [`is_controller`]). A row
    /// that ends before it is a sampler's.
    pub response_message: Option<usize>,
    /// Fewest fields a row must have to hold every column above.
    pub min_fields: usize,
}

impl Columns {
    /// JMeter's default order, shared by 2.13 and 5.x for the first eight
    /// columns: what a header-less file is read with unless some of the
    /// columns before `success` are switched off (see
    /// [`super::layout::detect`]).
    #[cfg(test)]
    pub const DEFAULT: Columns = Columns::headerless(7);

    /// A header-less file's columns: timestamp, elapsed and label first,
    /// as JMeter always writes them, and `success` at field `success`.
    pub const fn headerless(success: usize) -> Columns {
        Columns {
            timestamp: 0,
            elapsed: 1,
            label: 2,
            success: Some(success),
            all_threads: None,
            // JMeter's default order puts it fifth; when columns before
            // `success` are switched off its place is unknown.
            response_message: if success == 7 { Some(4) } else { None },
            min_fields: success + 1,
        }
    }

    /// Reads a header line's fields. `None` when the line is not a header
    /// (the file has none), `Err` naming a missing column when it is one.
    pub fn from_header<'a, I>(fields: I) -> Option<Result<Columns, String>>
    where
        I: IntoIterator<Item = &'a [u8]>,
    {
        let names: Vec<&[u8]> = fields.into_iter().map(trim_bom).collect();
        let find = |n: &str| {
            names
                .iter()
                .position(|f| f.eq_ignore_ascii_case(n.as_bytes()))
        };
        let timestamp = find("timeStamp");
        let elapsed = find("elapsed");
        let label = find("label");
        if timestamp.is_none() && elapsed.is_none() && label.is_none() {
            return None;
        }
        let missing = [
            ("timeStamp", timestamp),
            ("elapsed", elapsed),
            ("label", label),
        ]
        .iter()
        .find(|(_, i)| i.is_none())
        .map(|(n, _)| *n);
        if let Some(name) = missing {
            return Some(Err(format!("the header has no `{name}` column")));
        }
        let (timestamp, elapsed, label) = (timestamp?, elapsed?, label?);
        let success = find("success");
        let min_fields = 1 + [timestamp, elapsed, label, success.unwrap_or(0)]
            .into_iter()
            .max()
            .unwrap_or(0);
        Some(Ok(Columns {
            timestamp,
            elapsed,
            label,
            success,
            all_threads: find("allThreads"),
            response_message: find("responseMessage"),
            min_fields,
        }))
    }
}

fn trim_bom(f: &[u8]) -> &[u8] {
    f.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(f)
}

/// One parsed sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample<'a> {
    /// Start, epoch milliseconds.
    pub timestamp: i64,
    /// Elapsed milliseconds.
    pub elapsed: u64,
    /// The sampler label.
    pub label: &'a [u8],
    /// Whether JMeter counted it a success.
    pub success: bool,
    /// Threads active in its JMeter instance (`allThreads`); 0 unknown.
    pub threads: u32,
    /// A Transaction Controller's sample (see [`is_controller`]): it keeps
    /// its own label row but is left out of the total, as in JMeter.
    pub controller: bool,
}

/// How a Transaction Controller's response message starts: JMeter's
/// `TransactionController.NUMBER_OF_SAMPLES_IN_TRANSACTION_PREFIX`, which
/// its dashboard (`Sample.isController`) and console summariser use to
/// leave such samples out of their totals.
pub const CONTROLLER_MESSAGE: &[u8] = b"Number of samples in transaction";

/// Whether a response message is a Transaction Controller's.
#[inline(always)]
pub fn is_controller(message: &[u8]) -> bool {
    message.starts_with(CONTROLLER_MESSAGE)
}

impl<'a> Sample<'a> {
    /// The sample of a row's raw values, or `None` when the row is
    /// malformed: a timestamp that is neither epoch milliseconds nor a
    /// date, an elapsed time that is not a plain decimal, or a success
    /// that is not `true`/`false` (any case). `success` is `None` when
    /// the file has no such column: every sample then counts as a success.
    #[inline(always)]
    pub fn parse(
        timestamp: &[u8],
        elapsed: &[u8],
        label: &'a [u8],
        success: Option<&[u8]>,
        threads: Option<&[u8]>,
        message: Option<&[u8]>,
    ) -> Option<Self> {
        let timestamp = parse_timestamp(timestamp)?;
        let elapsed = parse_u64(elapsed)?;
        let success = match success {
            Some(b) => parse_bool(b)?,
            None => true,
        };
        // An unreadable count is unknown, not a malformed row: the
        // column is informative.
        let threads = threads
            .and_then(parse_u64)
            .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX));
        Some(Sample {
            timestamp,
            elapsed,
            label,
            success,
            threads,
            controller: message.is_some_and(is_controller),
        })
    }
}

/// Reads one row's fields with `cols`; `None` when the row is malformed
/// (see [`Sample::parse`], or fewer fields than `cols` needs).
pub fn parse_row<'a>(row: &'a csv::ByteRecord, cols: &Columns) -> Option<Sample<'a>> {
    if row.len() < cols.min_fields {
        return None;
    }
    let success = match cols.success {
        Some(i) => Some(row.get(i)?),
        None => None,
    };
    Sample::parse(
        row.get(cols.timestamp)?,
        row.get(cols.elapsed)?,
        row.get(cols.label)?,
        success,
        cols.all_threads.and_then(|i| row.get(i)),
        cols.response_message.and_then(|i| row.get(i)),
    )
}

/// A plain decimal, as JMeter writes counts and times.
#[inline]
pub(crate) fn parse_u64(b: &[u8]) -> Option<u64> {
    // 19 digits always fit in a u64.
    if b.is_empty() || b.len() > 19 {
        return None;
    }
    let mut n: u64 = 0;
    let mut rest = b;
    // Timestamps have 13 digits: eight at a time first.
    while let Some((word, tail)) = rest.split_first_chunk::<8>() {
        let w = u64::from_le_bytes(*word);
        if !eight_digits(w) {
            return None;
        }
        n = n * 100_000_000 + parse_eight(w);
        rest = tail;
    }
    for &c in rest {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n * 10 + u64::from(d);
    }
    Some(n)
}

/// Whether all eight bytes of `w` are ASCII digits.
#[inline(always)]
fn eight_digits(w: u64) -> bool {
    const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    w & HIGH == ZEROS && w.wrapping_add(0x0606_0606_0606_0606) & HIGH == ZEROS
}

/// The value of eight ASCII digits read little-endian (the first digit
/// in the lowest byte), by pairs, then fours, then all eight.
#[inline(always)]
fn parse_eight(w: u64) -> u64 {
    const MASK: u64 = 0x0000_00FF_0000_00FF;
    const MUL1: u64 = 100 + (1_000_000 << 32);
    const MUL2: u64 = 1 + (10_000 << 32);
    let v = w - 0x3030_3030_3030_3030;
    let v = v * 10 + (v >> 8);
    ((v & MASK)
        .wrapping_mul(MUL1)
        .wrapping_add(((v >> 16) & MASK).wrapping_mul(MUL2)))
        >> 32
}

/// `true` or `false`, any case.
#[inline]
pub(crate) fn parse_bool(b: &[u8]) -> Option<bool> {
    // What JMeter writes, before any other case.
    if b == b"true" {
        Some(true)
    } else if b == b"false" {
        Some(false)
    } else if b.eq_ignore_ascii_case(b"true") {
        Some(true)
    } else if b.eq_ignore_ascii_case(b"false") {
        Some(false)
    } else {
        None
    }
}

/// Epoch milliseconds, or a date as `jmeter.save.saveservice.timestamp_format`
/// writes it (see [`date::parse`]).
#[inline]
pub fn parse_timestamp(b: &[u8]) -> Option<i64> {
    if let Some(n) = parse_u64(b) {
        return i64::try_from(n).ok();
    }
    date::parse(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(line: &str) -> Option<Result<Columns, String>> {
        Columns::from_header(line.split(',').map(str::as_bytes))
    }

    #[test]
    fn jmeter_5_header() {
        let c = header("timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect").unwrap().unwrap();
        assert_eq!(
            c,
            Columns {
                all_threads: Some(12),
                ..Columns::DEFAULT
            }
        );
    }

    #[test]
    fn reordered_header() {
        let c = header("label,success,elapsed,timeStamp").unwrap().unwrap();
        assert_eq!(
            (c.timestamp, c.elapsed, c.label, c.success, c.min_fields),
            (3, 2, 0, Some(1), 4)
        );
    }

    #[test]
    fn data_line_is_not_a_header() {
        assert!(header("1700000000000,12,home,200,OK,t 1-1,text,true").is_none());
    }

    #[test]
    fn header_missing_elapsed_names_it() {
        let err = header("timeStamp,label,success").unwrap().unwrap_err();
        assert!(err.contains("`elapsed`"), "{err}");
    }

    #[test]
    fn decimals() {
        for n in [
            0u64,
            7,
            12345678,
            123456789,
            1_700_000_000_123,
            99_999_999_999_999_999,
            9_999_999_999_999_999_999,
        ] {
            assert_eq!(parse_u64(n.to_string().as_bytes()), Some(n), "{n}");
        }
        assert_eq!(parse_u64(b"00000000000042"), Some(42));
        for bad in [
            &b""[..],
            b"12345678901234567890",
            b"1700000000:00",
            b"17000/0000000",
            b"1234567a",
            b" 1234567",
            b"-1",
            b"12345678\x00",
        ] {
            assert_eq!(parse_u64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        // Every byte value in every position of an 8-digit word.
        for pos in 0..8 {
            for b in 0..=255u8 {
                let mut w = *b"12345678";
                w[pos] = b;
                let want = b
                    .is_ascii_digit()
                    .then(|| std::str::from_utf8(&w).unwrap().parse::<u64>().unwrap());
                assert_eq!(parse_u64(&w), want, "{w:?}");
            }
        }
    }

    #[test]
    fn formatted_timestamps() {
        assert_eq!(parse_timestamp(b"1700000000123"), Some(1_700_000_000_123));
        assert_eq!(
            parse_timestamp(b"2023/11/14 22:13:20.123"),
            Some(1_700_000_000_123)
        );
        assert_eq!(
            parse_timestamp(b"2023-11-14 22:13:20,123"),
            Some(1_700_000_000_123)
        );
        assert_eq!(parse_timestamp(b"yesterday"), None);
    }
}
