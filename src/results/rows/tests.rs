use super::*;
use crate::results::jtl::parse_row;

/// A sample with its label owned.
type Owned = (i64, u64, Vec<u8>, bool);

/// What a block read: good samples, malformed lines (0-based), newlines.
fn read(data: &[u8], cols: &Columns, at_eof: bool) -> (Vec<Owned>, Vec<u64>, u64) {
    read_delimited(data, cols, b',', at_eof)
}

fn read_delimited(
    data: &[u8],
    cols: &Columns,
    delim: u8,
    at_eof: bool,
) -> (Vec<Owned>, Vec<u64>, u64) {
    let mut samples = Vec::new();
    let mut bad = Vec::new();
    let newlines = RowReader::new(cols, delim).read_block(
        data,
        at_eof,
        |s| samples.push((s.timestamp, s.elapsed, s.label.to_vec(), s.success)),
        |l| bad.push(l),
    );
    (samples, bad, newlines)
}

/// The same through the csv crate, as `analyze` read rows before; bad
/// lines are those of each record's first byte.
fn reference(data: &[u8], cols: &Columns) -> (Vec<Owned>, Vec<u64>, u64) {
    reference_delimited(data, cols, b',')
}

fn reference_delimited(data: &[u8], cols: &Columns, delim: u8) -> (Vec<Owned>, Vec<u64>, u64) {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delim)
        .from_reader(data);
    let mut rec = csv::ByteRecord::new();
    let mut samples = Vec::new();
    let mut bad = Vec::new();
    while rdr.read_byte_record(&mut rec).unwrap() {
        let mut start = rec.position().unwrap().byte() as usize;
        while matches!(data.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        let line = memchr::memchr_iter(b'\n', &data[..start]).count() as u64;
        match parse_row(&rec, cols) {
            Some(s) => samples.push((s.timestamp, s.elapsed, s.label.to_vec(), s.success)),
            None => bad.push(line),
        }
    }
    let newlines = memchr::memchr_iter(b'\n', data).count() as u64;
    (samples, bad, newlines)
}

fn labels(samples: &[Owned]) -> Vec<String> {
    samples
        .iter()
        .map(|s| String::from_utf8_lossy(&s.2).into_owned())
        .collect()
}

const D: Columns = Columns::DEFAULT;

#[test]
fn plain_and_quoted_labels() {
    let data = b"1700000000000,12,home,200,OK,t 1-1,text,true,,1,2,1,1,http://x/,3,0,1\n\
        1700000000001,15,\"search, filtered\",200,OK,t 1-1,text,true,,1,2,1,1,http://x/,3,0,1\n\
        1700000000002,9,\"product \"\"quick view\"\"\",500,Err,t 1-1,text,false,\"a, \"\"b\"\"\nc\",1\n\
        1700000000003,7,home,200,OK,t,text,TRUE\n";
    let (s, bad, nl) = read(data, &D, true);
    assert_eq!(
        labels(&s),
        ["home", "search, filtered", "product \"quick view\"", "home"]
    );
    assert_eq!(s[2], (1_700_000_000_002, 9, s[2].2.clone(), false));
    assert!(s[3].3);
    assert!(bad.is_empty());
    assert_eq!(nl, 5);
    assert_eq!((s.clone(), bad, nl), reference(data, &D));
}

#[test]
fn crlf_rows_and_success_in_the_last_column() {
    let cols = Columns::from_header(
        "label,elapsed,timeStamp,success"
            .split(',')
            .map(str::as_bytes),
    )
    .unwrap()
    .unwrap();
    let data = b"a,1,100,true\r\n\"b,c\",2,200,false\r\nbroken\r\nd,4,400,true";
    let (s, bad, nl) = read(data, &cols, true);
    assert_eq!(labels(&s), ["a", "b,c", "d"]);
    assert_eq!(s[1], (200, 2, b"b,c".to_vec(), false));
    assert_eq!(bad, [2]);
    assert_eq!(nl, 3);
    assert_eq!((s, bad, nl), reference(data, &cols));
}

#[test]
fn newlines_in_quotes_keep_line_numbers_right() {
    let data = b"1,2,\"multi\nline\nlabel\",x,x,x,x,true\ngarbage line\n\n\
        3,4,ok,x,x,x,x,true,\"msg\nwith newline\"\n,,,\n5,6,ok,x,x,x,x,maybe\n";
    let (s, bad, nl) = read(data, &D, true);
    assert_eq!(labels(&s), ["multi\nline\nlabel", "ok"]);
    // Lines (0-based): 0-2 the first row, 3 garbage, 4 blank, 5-6 the
    // third row, 7 the commas, 8 a bad success.
    assert_eq!(bad, [3, 7, 8]);
    assert_eq!(nl, 9);
    assert_eq!((s, bad, nl), reference(data, &D));
}

#[test]
fn truncated_last_line() {
    let data = b"1,2,a,x,x,x,x,true\n3,4,b,x,x";
    let (s, bad, _) = read(data, &D, true);
    assert_eq!((labels(&s), bad.clone()), (vec!["a".to_string()], vec![1]));
    assert_eq!(reference(data, &D).1, bad);
    // Cut inside a quoted failure message: csv keeps what is there.
    let data = b"1,2,a,x,x,x,x,false,\"Assertion failed:\nexpected";
    let (s, bad, nl) = read(data, &D, true);
    assert_eq!((labels(&s), bad.len(), nl), (vec!["a".to_string()], 0, 1));
    assert_eq!(reference(data, &D).0, s);
}

#[test]
fn odd_quoting_matches_csv() {
    let data = b"1,2,\"ab\"cd,x,x,x,x,true\n1,2,ab\"cd\",x,x,x,x,true\n\
        1,2,\"\",x,x,x,x,true\n1,2,\"x\"\"\",x,\"q\"z,x,x,true,\"\"\"\n\",\"a\"b\"c\n\
        \"1\",\"2\",\"l\",x,x,x,x,\"true\"\n";
    let got = read(data, &D, true);
    assert_eq!(
        labels(&got.0),
        ["abcd", "ab\"cd\"", "", "x\"", "l"],
        "{got:?}"
    );
    assert_eq!(got, reference(data, &D));
}

#[test]
fn lone_carriage_returns_end_rows_as_in_csv() {
    let data = b"1,2,a,x,x,x,x,true\r3,4,b,x,x,x,x,true\r\r\n\r\n5,6,c,x\rx,x,x,true\n";
    let got = read(data, &D, true);
    assert_eq!(labels(&got.0), ["a", "b"]);
    assert_eq!(got, reference(data, &D));
}

#[test]
fn unclosed_quote_inside_a_block_is_a_literal() {
    // Not the end of the input: the stray quote costs its own line only.
    let data = b"1,2,a,x,x,x,x,true\n\"garbage,\n3,4,b,x,x,x,x,true\n";
    let (s, bad, nl) = read(data, &D, false);
    assert_eq!(
        (labels(&s), bad, nl),
        (vec!["a".into(), "b".into()], vec![1], 3)
    );
    // At the end of the input it runs to the end, as in csv.
    assert_eq!(read(data, &D, true), reference(data, &D));
}

#[test]
fn formatted_timestamps_and_reordered_columns() {
    let cols = Columns::from_header(
        "success,label,timeStamp,elapsed,extra"
            .split(',')
            .map(str::as_bytes),
    )
    .unwrap()
    .unwrap();
    let data =
        b"true,a,2023/11/14 22:13:20.123,5,zzz\nfalse,b,1700000000000,6\nfalse,b,1700000000000\n";
    let (s, bad, _) = read(data, &cols, true);
    assert_eq!(s[0], (1_700_000_000_123, 5, b"a".to_vec(), true));
    assert_eq!(s[1], (1_700_000_000_000, 6, b"b".to_vec(), false));
    assert_eq!(bad, [2]);
}

#[test]
fn find_delim_finds_the_first() {
    let d = b"abcdefghij,klmnopq\r\nxyz";
    assert_eq!(find_delim(d, 0, b','), 10);
    assert_eq!(find_delim(d, 11, b','), 18);
    assert_eq!(find_delim(d, 19, b','), 19);
    assert_eq!(find_delim(d, 20, b','), 23);
    assert_eq!(find_delim(b"ab,c\td", 0, b'\t'), 4);
    for i in 0..40 {
        let mut v = vec![b'a'; 40];
        v[i] = b'\n';
        assert_eq!(find_delim(&v, 0, b','), i);
        // Bytes next to the delimiters must not be taken for them.
        v[i] = if i % 2 == 0 { b'-' } else { b'\x0b' };
        assert_eq!(find_delim(&v, 0, b','), 40);
    }
}

#[test]
fn delims_marks_every_delimiter_exactly() {
    let mut words = vec![
        *b",-,\n\r,ab",
        *b"\x0b\x0c\x2d\x2b,,,,",
        *b"\x80\xac\x8a\x8d\x00\x01\x2c\x0a",
        *b"\x0e\x0f\x8e\x09\t\x7f\xff\x0d",
        [0u8; 8],
        [b','; 8],
    ];
    for b in 0..=255u8 {
        words.push([b, b',', b, b'\n', b, 0, b, 0x0e]);
    }
    for w in words {
        for d in crate::results::layout::DELIMITERS {
            let bits = |f: &dyn Fn(u8) -> bool| -> u64 {
                (0..8)
                    .filter(|&i| f(w[i]))
                    .map(|i| 0x80u64 << (8 * i))
                    .sum()
            };
            let (mask, ctrl) = delims(u64::from_le_bytes(w), d);
            assert_eq!(ctrl, bits(&|b| b < 0x0e && b != d), "{w:?}");
            assert_eq!(mask, bits(&|b| b < 0x0e || b == d), "{w:?}");
        }
    }
    assert_eq!(
        word(b"abc", 0),
        u64::from_le_bytes(*b"abc\xff\xff\xff\xff\xff")
    );
    assert_eq!(word(b"abc", 3), u64::MAX);
    assert_eq!(word(b"abc", 9), u64::MAX);
    assert_eq!(delims(u64::MAX, b','), (0, 0));
}

#[test]
fn quoted_fields_of_every_length_near_the_end() {
    // The scan for a closing quote reads words past short fields; none may
    // run off the data, closed or not, at the end of the input or not.
    for n in 0..80 {
        let body = "x".repeat(n);
        for tail in ["\"", "\",1\n", "", "\"\""] {
            let text = format!("1,2,\"{body}{tail}");
            for at_eof in [true, false] {
                let _ = read(text.as_bytes(), &D, at_eof);
            }
            assert_eq!(
                read(text.as_bytes(), &D, true),
                reference(text.as_bytes(), &D)
            );
        }
    }
}

/// xorshift: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a [u8]]) -> &'a [u8] {
        items[self.below(items.len())]
    }
}

/// A JTL-like text: mostly good rows with every kind of quoting, some
/// garbage made of the bytes that matter to a CSV parser.
fn random_text(rng: &mut Rng, rows: usize) -> Vec<u8> {
    let labels: &[&[u8]] = &[
        b"home",
        b"\"search, filtered\"",
        b"\"product \"\"quick view\"\"\"",
        b"\"two\nlines\"",
        b"\"\"",
        b"\"a\"b",
        b"a\"b",
    ];
    let fillers: &[&[u8]] = &[
        b"200",
        b"OK",
        b"",
        b"\"Response code was 500, expected 200\"",
        b"\"expected \"\"x\"\",\ngot \"\"y\"\"\"",
        b"\"\r\n\"",
        b"x\"y",
        b"tab\there",
        b"nul\0\x0bbytes",
    ];
    let success: &[&[u8]] = &[b"true", b"false", b"TRUE", b"\"true\"", b"maybe", b""];
    let terms: &[&[u8]] = &[b"\n", b"\n", b"\n", b"\r\n", b"\r", b"\n\n"];
    let junk: &[&[u8]] = &[
        b",", b"\"", b"\n", b"\r", b"x", b"1", b" ", b"\"\"", b"\t", b"\0",
    ];
    let mut out = Vec::new();
    for _ in 0..rows {
        if rng.below(10) == 0 {
            for _ in 0..rng.below(12) {
                out.extend_from_slice(rng.pick(junk));
            }
        } else {
            let ts = 1_700_000_000_000 + rng.below(100_000) as u64;
            out.extend_from_slice(format!("{ts},{}", rng.below(5000)).as_bytes());
            let fields = 1 + rng.below(12);
            for f in 2..fields {
                out.push(b',');
                out.extend_from_slice(match f {
                    2 => rng.pick(labels),
                    7 => rng.pick(success),
                    _ => rng.pick(fillers),
                });
            }
        }
        out.extend_from_slice(rng.pick(terms));
    }
    if rng.below(2) == 0 {
        out.truncate(out.len().saturating_sub(rng.below(30)));
    }
    out
}

#[test]
fn random_texts_read_as_csv_reads_them() {
    let reordered = Columns::from_header(
        "x,success,label,elapsed,y,timeStamp"
            .split(',')
            .map(str::as_bytes),
    )
    .unwrap()
    .unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..3000 {
        let text = random_text(&mut rng, 1 + round % 40);
        for cols in [&D, &reordered] {
            let got = read(&text, cols, true);
            let want = reference(&text, cols);
            assert_eq!(got, want, "text: {:?}", String::from_utf8_lossy(&text));
        }
    }
}

/// The worker's loop alone, one thread, on the benchmark's file:
/// `cargo test --release --bin stampede parse_speed -- --ignored --nocapture`
/// (needs bench/data/bench-2000000.jtl; see bench/analyze.sh).
#[test]
#[ignore]
fn parse_speed() {
    use crate::results::aggregate::LocalAggregate;
    use crate::results::split::Splitter;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/data/bench-2000000.jtl");
    let Ok(text) = std::fs::read(path) else {
        eprintln!("no {path}: skipped");
        return;
    };
    let mut blocks = Vec::new();
    let mut splitter = Splitter::new(&text[..], b',', 512 << 10, 1);
    let t = std::time::Instant::now();
    while let Some(b) = splitter.next_block().unwrap() {
        blocks.push(b);
    }
    eprintln!("split: {:?} ({} blocks)", t.elapsed(), blocks.len());
    let mut best = std::time::Duration::MAX;
    for _ in 0..7 {
        let t = std::time::Instant::now();
        let mut reader = RowReader::new(&Columns::DEFAULT, b',');
        let mut agg = LocalAggregate::default();
        let mut rows = 0u64;
        for b in &blocks {
            reader.read_block(
                &b.data,
                b.last,
                |s| {
                    rows += 1;
                    agg.record(s);
                },
                |_| {},
            );
        }
        let agg = agg.finish();
        best = best.min(t.elapsed());
        assert_eq!(agg.count(), rows);
    }
    eprintln!(
        "parse+aggregate: {best:?} best of 7, {:.0} MB/s",
        text.len() as f64 / best.as_secs_f64() / 1e6
    );
}

#[test]
fn a_field_starting_with_a_control_byte_keeps_the_rows_after_it() {
    // A failure message holding a Java stack trace: its first byte is a
    // TAB. Once, the reader took any byte after a comma for an opening
    // quote, and the rows after it vanished up to the next quote.
    let data = b"1,2,a,x,x,x,x,false,\tat Foo.bar(Foo.java:1)\n\
        3,4,b,x,x,x,x,true,\x0bvertical\n\
        5,6,c,x,x,x,x,true,\x00nul,\"quoted\"\n\
        7,8,d,x,x,x,x,true\n";
    let got = read(data, &D, false);
    assert_eq!(labels(&got.0), ["a", "b", "c", "d"]);
    assert_eq!(got, reference(data, &D));
}

/// Bytes that matter to a CSV reader, and pieces of good rows, for the
/// property test: control bytes, quotes, every delimiter, line ends.
const PIECES: &[&[u8]] = &[
    b"\t",
    b"\x00",
    b"\x0b",
    b"\x0c",
    b"\x01",
    b"\x1f",
    b"\"",
    b"\"\"",
    b",",
    b";",
    b"|",
    b"\n",
    b"\r",
    b"\r\n",
    b"x",
    b" ",
    b"1700000000000",
    b"12",
    b"true",
    b"FALSE",
    b"\xc3\xa9",
    b"\tat Foo.bar(Foo.java:1)",
];

/// A text of `pieces`, with a good row (in `delim`) before some of them so
/// that rows after a fault are there to be lost. The row ends in a
/// delimiter: the piece after it starts a field past the kept ones.
fn piece_text(pieces: &[(usize, bool)], delim: u8) -> Vec<u8> {
    let mut out = Vec::new();
    for &(p, row) in pieces {
        if row {
            let d = char::from(delim);
            out.extend_from_slice(
                format!("\n1700000000000{d}5{d}ok{d}x{d}x{d}x{d}x{d}true{d}").as_bytes(),
            );
        }
        out.extend_from_slice(PIECES[p % PIECES.len()]);
    }
    out
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

    /// The fast reader reads what the `csv` crate reads, whatever the text.
    #[test]
    fn reads_what_csv_reads(
        pieces in proptest::collection::vec((0usize..64, proptest::bool::weighted(0.15)), 0..120),
        delim_at in 0usize..4,
        reordered in proptest::bool::ANY,
    ) {
        let delim = crate::results::layout::DELIMITERS[delim_at];
        let text = piece_text(&pieces, delim);
        let cols = if reordered {
            Columns { timestamp: 2, elapsed: 0, label: 1, success: Some(4), all_threads: None, response_message: None, min_fields: 5 }
        } else {
            D
        };
        let got = read_delimited(&text, &cols, delim, true);
        let want = reference_delimited(&text, &cols, delim);
        proptest::prop_assert_eq!(got, want, "text {:?}", String::from_utf8_lossy(&text));
    }
}
