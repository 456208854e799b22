//! How a JTL is written, told from its first bytes: XML or CSV, and for
//! CSV the delimiter (`jmeter.save.saveservice.default_delimiter`: `,`,
//! `;`, TAB or `|`) and the columns, by header names or, in a header-less
//! file, in JMeter's default order.

use super::jtl::Columns;

/// The delimiters JMeter users set, in the order they are tried.
pub const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// How many bytes of a file [`detect`] looks at.
pub const HEAD_BYTES: usize = 64 * 1024;

/// Header-less rows looked at to choose a delimiter.
const SNIFF_ROWS: usize = 50;

/// JMeter 5.x's default columns, what a header-less file is read with.
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

/// A JTL's format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// `<testResults>` with `httpSample`/`sample` elements.
    Xml,
    /// Delimited rows.
    Csv(CsvLayout),
}

/// A CSV JTL's layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvLayout {
    /// The field delimiter.
    pub delimiter: u8,
    /// Where the needed columns are.
    pub cols: Columns,
    /// Column names in file order: the header's, or for a header-less file
    /// JMeter's defaults as far as they are known to hold.
    pub names: Vec<String>,
    /// Bytes of the header record, its line end included (0: none).
    pub header_len: usize,
    /// Newlines in the header record (the first row's line is this + 1).
    pub header_lines: u64,
}

/// Tells the format from `head`, the first bytes of a file (up to
/// [`HEAD_BYTES`]). `Err` names the problem of a header that lacks a
/// needed column.
pub fn detect(head: &[u8]) -> Result<Format, String> {
    let body = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = body.trim_ascii_start();
    if start.starts_with(b"<") {
        return Ok(Format::Xml);
    }
    if start.starts_with(b"{") || start.starts_with(b"[") {
        return Err("not a JTL: the file holds JSON".into());
    }
    let mut missing = None;
    // Any other delimiter a header shows: the first byte after the first
    // name that cannot be part of a name (the Jenkins plugin's rule).
    let other = body
        .iter()
        .find(|c| !(c.is_ascii_alphanumeric() || **c == b'_' || **c == b'"'))
        .filter(|c| !DELIMITERS.contains(c) && !matches!(c, b'\n' | b'\r'));
    for d in DELIMITERS.into_iter().chain(other.copied()) {
        let mut rdr = reader(head, d);
        let mut rec = csv::ByteRecord::new();
        if !rdr.read_byte_record(&mut rec).unwrap_or(false) {
            break;
        }
        match Columns::from_header(rec.iter()) {
            Some(Ok(cols)) => {
                let mut header_len = rdr.position().byte() as usize;
                // `csv` stops between the `\r` and `\n` of a CRLF.
                if head.get(header_len) == Some(&b'\n') && head[header_len - 1] == b'\r' {
                    header_len += 1;
                }
                return Ok(Format::Csv(CsvLayout {
                    delimiter: d,
                    cols,
                    names: rec
                        .iter()
                        .map(|f| String::from_utf8_lossy(f).into_owned())
                        .collect(),
                    header_len,
                    header_lines: memchr::memchr_iter(b'\n', &head[..header_len]).count() as u64,
                }));
            }
            Some(Err(m)) => missing = missing.or(Some(m)),
            None => {}
        }
    }
    if let Some(m) = missing {
        return Err(m);
    }
    Ok(Format::Csv(headerless(head)))
}

fn reader(data: &[u8], delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(data)
}

/// A header-less file: timestamp, elapsed and label first, as JMeter
/// always writes them; `success` eighth (JMeter's default columns), or,
/// when some of the four columns before it are switched off, the first of
/// the fourth to eighth fields that holds `true`/`false` in every sniffed
/// row. The delimiter is the one under which most rows read.
fn headerless(head: &[u8]) -> CsvLayout {
    // Candidates by preference: JMeter's defaults first.
    const SUCCESS_AT: [usize; 5] = [7, 3, 4, 5, 6];
    let mut best = (0usize, b',', 7usize);
    for d in DELIMITERS {
        let mut counts = [0usize; SUCCESS_AT.len()];
        for rec in reader(head, d).byte_records().take(SNIFF_ROWS).flatten() {
            for (n, &at) in counts.iter_mut().zip(&SUCCESS_AT) {
                let cols = Columns::headerless(at);
                *n += usize::from(super::jtl::parse_row(&rec, &cols).is_some());
            }
        }
        for (&n, &at) in counts.iter().zip(&SUCCESS_AT) {
            if n > best.0 {
                best = (n, d, at);
            }
        }
    }
    let (_, delimiter, at) = best;
    let names = if at == 7 {
        DEFAULT_NAMES[..8].iter().map(|s| s.to_string()).collect()
    } else {
        // Which columns before `success` were switched off is unknown:
        // only the sure ones are named.
        let mut n: Vec<String> = DEFAULT_NAMES[..3].iter().map(|s| s.to_string()).collect();
        n.resize(at, String::new());
        n.push("success".into());
        n
    };
    CsvLayout {
        delimiter,
        cols: Columns::headerless(at),
        names,
        header_len: 0,
        header_lines: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(head: &str) -> CsvLayout {
        match detect(head.as_bytes()) {
            Ok(Format::Csv(l)) => l,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn delimiters_from_the_header() {
        for d in DELIMITERS {
            let sep = char::from(d).to_string();
            let head = format!(
                "{}\r\n1,2,3\n",
                ["timeStamp", "elapsed", "label", "responseCode", "success"].join(&sep)
            );
            let l = csv(&head);
            assert_eq!(l.delimiter, d);
            assert_eq!((l.cols.label, l.cols.success), (2, Some(4)));
            assert_eq!(l.header_len, head.find('\n').unwrap() + 1);
            assert_eq!(l.header_lines, 1);
        }
        // Another delimiter JMeter allows.
        let l = csv("timeStamp!elapsed!label!success\n1!2!a,b!true\n");
        assert_eq!((l.delimiter, l.cols.success), (b'!', Some(3)));
        // Quoted names (Taurus' quote-guessing-crash.jtl).
        let l = csv("timeStamp,elapsed,label,success,\"SessionName\"\n");
        assert_eq!(l.names[4], "SessionName");
    }

    #[test]
    fn headerless_files() {
        let l = csv("1393227741256;1425;GET /x, y;200;OK;T 1-1;text;true;3478\n");
        assert_eq!((l.delimiter, l.cols.success), (b';', Some(7)));
        assert_eq!(l.header_len, 0);
        // responseMessage, threadName and dataType switched off.
        let l = csv(
            "1393227741256\t1425\tGET /x\t200\tfalse\t3478\n1393227741256\t1\tb\t500\ttrue\t1\n",
        );
        assert_eq!((l.delimiter, l.cols.success), (b'\t', Some(4)));
        assert_eq!(l.names[4], "success");
        // Nothing readable: JMeter's defaults, and the rows are malformed.
        assert_eq!(csv("garbage\n").cols, Columns::DEFAULT);
        assert_eq!(csv("").cols, Columns::DEFAULT);
    }

    #[test]
    fn xml_and_missing_columns() {
        assert_eq!(
            detect(b"\xEF\xBB\xBF\n <?xml version=\"1.0\"?>"),
            Ok(Format::Xml)
        );
        let err = detect(b"label;timeStamp;success\n").unwrap_err();
        assert!(err.contains("`elapsed`"), "{err}");
        let err = detect(b"  {\"a\": 1}").unwrap_err();
        assert!(err.contains("JSON"), "{err}");
    }
}
