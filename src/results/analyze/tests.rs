use std::io::Write;

use super::*;

const HEADER: &str = "timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,failureMessage,bytes\n";

/// Rows of every shape the parser must survive, none with an unclosed
/// quote; `i` picks the shape.
fn row(i: usize) -> String {
    let ts = 1_700_000_000_000u64 + (i as u64 * 7919) % 100_000;
    let el = (i * 31) % 4000 + 1;
    match i % 11 {
        0 => format!("{ts},{el},home,200,OK,t 1-1,text,true,,10\n"),
        1 => format!("{ts},{el},\"search, filtered\",200,OK,t 1-1,text,true,,10\r\n"),
        2 => format!("{ts},{el},\"product \"\"quick view\"\"\",200,OK,t,text,true,,10\n"),
        3 => format!(
            "{ts},{el},home,500,Err,t,text,false,\"expected \"\"a\"\",\ngot \"\"b\"\"\",10\n"
        ),
        4 => "garbage, not a row\n".to_string(),
        5 => format!("{ts},{el},\"multi\nline\",200,OK,t,text,true\n\n"),
        6 => format!("{ts},{el},\"cart, add\",500,Err,t,text,FALSE,\"a,b\",10\n"),
        7 => format!("{ts},x{el},home,200,OK,t,text,true\n"),
        8 => format!("{ts},{el},home,200,OK\n"),
        9 => format!("{ts},{el},say\"hi\",200,OK,t,text,true\n"),
        _ => format!("{ts},{el},\"home\",200,OK,t,text,true,\"\"\"\",10\n"),
    }
}

fn text(rows: usize) -> Vec<u8> {
    let mut t = HEADER.as_bytes().to_vec();
    for i in 0..rows {
        t.extend_from_slice(row(i).as_bytes());
    }
    t
}

/// Per label: count, errors, sum, max, first and last timestamps.
fn digest(agg: &Aggregate) -> Vec<(String, u64, u64, u64, u64, i64, i64)> {
    let mut v: Vec<_> = agg
        .labels
        .iter()
        .map(|(l, s)| {
            (
                l.clone(),
                s.count,
                s.errors,
                s.sum_ms,
                s.max_ms,
                s.first_ts,
                s.last_ts,
            )
        })
        .collect();
    v.sort();
    v
}

fn analyze(data: Vec<u8>, workers: usize, block: usize) -> (Aggregate, FileReport) {
    let path = Path::new("t.jtl");
    let mut first = Vec::new();
    let mut cursor = Cursor::new(data);
    cursor.read_until(b'\n', &mut first).unwrap();
    let cols = match Columns::from_header(
        String::from_utf8(first.clone())
            .unwrap()
            .trim_end()
            .split(',')
            .map(str::as_bytes),
    ) {
        Some(Ok(c)) => c,
        _ => panic!("test texts have a header"),
    };
    run_blocks(path, cursor, 2, &cols, b',', workers, block).unwrap()
}

#[test]
fn any_block_size_and_worker_count_reads_the_same() {
    let data = text(2000);
    let (want, want_report) = analyze(data.clone(), 1, 1 << 20);
    assert_eq!(want.count(), want_report.rows);
    let series = want.series.summarise(&[]);
    assert_eq!(series.labels.0[0].1.count.len(), 100);
    assert_eq!(series.labels.0[0].1.count.iter().sum::<u64>(), want.count());
    // 11 shapes: 3 malformed (garbage, bad elapsed, too few fields).
    assert_eq!(want_report.malformed.count, 3 * 2000 / 11 + 1);
    // Header, then rows 0..3 take lines 2..6: garbage (row 4) is line 7.
    assert_eq!(want_report.malformed.first_lines[0], 7);
    let order =
        |a: &Aggregate| -> Vec<String> { a.labels.iter().map(|(l, _)| l.clone()).collect() };
    for (workers, block) in [(1, 7), (2, 13), (3, 64), (2, 1000), (4, 4096)] {
        let (got, report) = analyze(data.clone(), workers, block);
        assert_eq!(
            digest(&got),
            digest(&want),
            "workers {workers}, block {block}"
        );
        assert_eq!(order(&got), order(&want), "first-seen order");
        let names = order(&want);
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_eq!(
            got.series.summarise(&names),
            want.series.summarise(&names),
            "per-interval series, workers {workers}, block {block}"
        );
        assert_eq!(report.rows, want_report.rows);
        assert_eq!(report.malformed, want_report.malformed);
    }
}

#[test]
fn labels_are_unquoted_and_errors_counted() {
    let (agg, report) = analyze(text(11), 2, 1 << 20);
    let names: Vec<&str> = agg.labels.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        names,
        [
            "home",
            "search, filtered",
            "product \"quick view\"",
            "multi\nline",
            "cart, add",
            "say\"hi\""
        ]
    );
    assert_eq!(agg.total().errors, 2);
    assert_eq!(report.rows, 8);
    // Lines: 1 header, 2-4 rows 0-2, 5-6 row 3, 7 garbage, 8-9 row 5 and
    // 10 its blank line, 11 row 6, 12 row 7, 13 row 8.
    assert_eq!(report.malformed.first_lines, [7, 12, 13]);
}

#[test]
fn gzip_and_header_less_files() {
    let data = text(500);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&data).unwrap();
    let gz = gz.finish().unwrap();
    let path = Path::new("t.jtl.gz");
    let (a, ra) = analyze_reader(path, Cursor::new(gz), 2).unwrap();
    let (b, rb) = analyze_reader(path, Cursor::new(data.clone()), 2).unwrap();
    assert_eq!(digest(&a), digest(&b));
    assert_eq!(
        (ra.rows, ra.malformed.clone()),
        (rb.rows, rb.malformed.clone())
    );
    // Without its header the file reads the same, a line earlier.
    let (c, rc) = analyze_reader(path, Cursor::new(data[HEADER.len()..].to_vec()), 2).unwrap();
    assert_eq!(digest(&c), digest(&b));
    let earlier: Vec<u64> = rb.malformed.first_lines.iter().map(|l| l - 1).collect();
    assert_eq!(rc.malformed.first_lines, earlier);
}

#[test]
fn truncated_last_line_and_missing_final_newline() {
    let mut data = text(3);
    data.extend_from_slice(b"1700000000000,5,tail");
    let (agg, report) = analyze(data, 2, 16);
    assert_eq!(agg.count(), 3);
    assert_eq!(report.malformed.first_lines, [5]);
    let mut data = text(3);
    data.extend_from_slice(b"1700000000000,5,tail,200,OK,t,text,false,\"cut in a quote");
    let (agg, report) = analyze(data, 2, 16);
    assert_eq!(agg.count(), 4);
    assert_eq!(agg.total().errors, 1);
    assert_eq!(report.malformed.count, 0);
}

#[test]
fn header_without_a_needed_column_fails() {
    let data = b"timeStamp,label,success\n1,a,true\n".to_vec();
    let err = analyze_reader(Path::new("t.jtl"), Cursor::new(data), 2).unwrap_err();
    assert!(err.to_string().contains("`elapsed`"), "{err}");
}

#[test]
fn a_row_longer_than_the_limit_is_one_malformed_row_at_its_line() {
    use crate::results::split::MAX_ROW;
    let mut data = text(2);
    // Line 4: a 1 MiB + 10 label; a quoted newline in it on top.
    data.extend_from_slice(b"1700000000000,5,\"a\nb");
    data.extend(std::iter::repeat_n(b'x', MAX_ROW + 10));
    data.extend_from_slice(b"\",200,OK,t,text,true,,10\n");
    data.extend_from_slice(row(0).as_bytes());
    for (workers, block) in [(1, 1 << 20), (2, 4096)] {
        let (agg, report) = analyze(data.clone(), workers, block);
        assert_eq!(agg.count(), 3, "workers {workers}, block {block}");
        assert_eq!(report.malformed.first_lines, [4]);
        assert_eq!(report.malformed.count, 1);
    }
    // A line without end (a 1 GiB line, scaled down): one malformed row,
    // read through without holding it.
    let line = std::io::repeat(b'7').take(64 << 20);
    let stream = Cursor::new(text(2)).chain(line);
    let (agg, report) = analyze_reader(Path::new("t.jtl"), stream, 2).unwrap();
    assert_eq!(
        (agg.count(), report.malformed.first_lines.clone()),
        (2, vec![4])
    );
}

#[test]
fn a_gzip_bomb_is_refused() {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(HEADER.as_bytes()).unwrap();
    let zeros = vec![b'0'; 1 << 20];
    for _ in 0..200 {
        enc.write_all(&zeros).unwrap();
    }
    let bomb = enc.finish().unwrap();
    let err = analyze_reader(Path::new("bomb.jtl.gz"), Cursor::new(bomb), 2).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("bomb.jtl.gz: cannot read: the gzip stream expands more than"),
        "{msg}"
    );
}

/// Samples of `data` read in one piece, as the row reader reads a whole
/// file that is one block.
fn whole(data: &[u8], cols: &Columns, delim: u8) -> (Vec<LabelDigest>, u64, Vec<u64>) {
    let mut agg = Aggregate::default();
    let mut bad = Malformed::default();
    RowReader::new(cols, delim).read_block(data, true, |s| agg.record(s), |l| bad.add(l + 1));
    (summary(&agg), bad.count, bad.first_lines)
}

/// A label's count, errors, first and last timestamps.
type LabelDigest = (String, u64, u64, i64, i64);

fn summary(agg: &Aggregate) -> Vec<LabelDigest> {
    let mut v: Vec<_> = agg
        .labels
        .iter()
        .map(|(l, s)| (l.clone(), s.count, s.errors, s.first_ts, s.last_ts))
        .collect();
    v.sort();
    v
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    /// Cut into blocks and read on several workers, a text reads as it
    /// does in one piece (which reads as the `csv` crate does: see the
    /// row reader's property test), whatever its quotes, control bytes,
    /// delimiters and line ends.
    #[test]
    fn blocks_read_as_one_piece(
        pieces in proptest::collection::vec(0usize..16, 0..400),
        delim_at in 0usize..4,
        block in 1usize..200,
        workers in 1usize..4,
    ) {
        const P: &[&[u8]] = &[
            b"\"", b"\n", b"\r\n", b"\t", b"\x00", b"x", b"\"\"", b"\r",
            b"\n1700000000000D5DaDxDxDxDxDtrueD", b"\n1700000000001D7D\"q\nD\"DxDxDxDxDfalse",
            b"D", b"D\"", b"\tat x", b"1", b",", b";",
        ];
        let delim = crate::results::layout::DELIMITERS[delim_at];
        let text: Vec<u8> = pieces
            .iter()
            .flat_map(|&p| P[p].iter().map(|&b| if b == b'D' { delim } else { b }))
            .collect();
        let want = whole(&text, &Columns::DEFAULT, delim);
        let (agg, report) = run_blocks(
            Path::new("t.jtl"), Cursor::new(text.clone()), 1, &Columns::DEFAULT, delim, workers, block,
        )
        .unwrap();
        proptest::prop_assert_eq!(
            (summary(&agg), report.malformed.count, report.malformed.first_lines),
            want,
            "text {:?}", String::from_utf8_lossy(&text)
        );
    }
}

#[test]
fn active_threads_are_the_most_per_file_and_add_up_across_files() {
    let dir = tempfile::tempdir().unwrap();
    let head = "timeStamp,elapsed,label,responseCode,success,allThreads\n";
    // Bee 1 ramps 2 -> 4 threads over two seconds; bee 2 runs 3; a row cut
    // before allThreads is still a sample, its threads unknown.
    let one = format!(
        "{head}1700000000000,5,a,200,true,2\n1700000000400,5,a,200,true,3\n1700000001000,5,a,200,true,4\n1700000001500,5,a,200,true\n"
    );
    let two = format!("{head}1700000000100,5,a,200,true,3\n1700000001100,5,b,200,true,3\n");
    let (p1, p2) = (dir.path().join("1.jtl"), dir.path().join("2.jtl"));
    std::fs::write(&p1, one).unwrap();
    std::fs::write(&p2, two).unwrap();
    for workers in [1, 3] {
        let a = analyze_paths(&[p1.clone(), p2.clone()], workers).unwrap();
        assert_eq!(a.aggregate.total().count, 6);
        let summary = crate::results::Summary::from_aggregate(&a.aggregate, 0);
        let series = summary.series.expect("a series");
        assert_eq!(
            series.threads,
            Some(vec![Some(6), Some(7)]),
            "{workers} workers"
        );
    }
}
