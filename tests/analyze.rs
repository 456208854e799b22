//! `stampede analyze` on JTL files.

use crate::support::*;

#[test]
fn real_jmeter_5_file_is_summarised() {
    let out = run(stampede()
        .args(["analyze"])
        .arg(fixture("jtl/jmeter-5.6.3.jtl")));
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("label"), "{out:?}");
    let total = lines.iter().find(|l| l.starts_with("total")).unwrap();
    let cols: Vec<&str> = total.split_whitespace().collect();
    assert_eq!(cols[1], "92", "{out:?}");
    assert_eq!(cols[2], "0");
}

/// JMeter 2.13's columns (no failureMessage, sentBytes, URL), CRLF line
/// ends, a formatted timestamp format, quoted labels with commas and
/// doubled quotes, garbage lines and a truncated last line (a JTL still
/// being written).
const EDGE_CASES: &str = "timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,bytes,grpThreads,allThreads,Latency\r\n\
2023/11/14 22:13:20.000,100,\"search, filtered\",200,OK,T 1-1,text,true,10,1,1,90\r\n\
2023/11/14 22:13:21.000,300,\"say \"\"hi\"\"\",500,Error,T 1-1,text,false,10,1,1,90\r\n\
this is not a row\r\n\
2023/11/14 22:13:22.000,200,\"search, filtered\",200,OK,T 1-1,text,true,10,1,1,90\r\n\
2023/11/14 22:13:23.000,fast,home,200,OK,T 1-1,text,true,10,1,1,90\r\n\
2023/11/14 22:13:24.000,50,home,200,OK,T 1-1,text,true,10,1,1,90\r\n\
2023/11/14 22:13:25.000,70,hom";

#[test]
fn jmeter_2_13_crlf_quotes_garbage_and_a_truncated_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "edge.jtl", EDGE_CASES);
    let json = dir.path().join("s.json");
    let out = run(stampede()
        .arg("analyze")
        .arg(&path)
        .arg("--json")
        .arg(&json));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr
            .contains("3 malformed row(s) skipped, first at line(s) 4, 6, 8"),
        "{out:?}"
    );
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let label = |name: &str| {
        s["labels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["label"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(label("search, filtered")["count"], 2);
    assert_eq!(label("search, filtered")["mean"], 150.0);
    assert_eq!(label("say \"hi\"")["errors"], 1);
    assert_eq!(label("home")["count"], 1);
    assert_eq!(s["total"]["count"], 4);
    assert_eq!(s["total"]["errors"], 1);
    assert_eq!(s["start"], "2023-11-14T22:13:20.000Z");
    assert_eq!(s["malformed"], 3);
}

#[test]
fn reordered_columns_and_gzip_read_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let plain = write(
        dir.path(),
        "a.jtl",
        "success,label,elapsed,timeStamp\ntrue,a,10,1700000000000\nfalse,a,30,1700000001000\n",
    );
    let gz = dir.path().join("a.jtl.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    std::io::Write::write_all(&mut enc, &std::fs::read(&plain).unwrap()).unwrap();
    enc.finish().unwrap();
    let a = run(stampede().args(["analyze", "--output", "json"]).arg(&plain));
    let b = run(stampede().args(["analyze", "--output", "json"]).arg(&gz));
    assert_eq!(a.code, 0, "{a:?}");
    assert_eq!(a.stdout, b.stdout);
    // NDJSON: the summary, then the result object.
    let s: serde_json::Value = serde_json::from_str(a.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(
        (
            s["total"]["count"].as_u64(),
            s["total"]["errors"].as_u64(),
            s["total"]["max"].as_u64()
        ),
        (Some(2), Some(1), Some(30))
    );
}

#[test]
fn a_file_without_valid_rows_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "bad.jtl",
        "timeStamp,elapsed,label,success\nnope\nstill nope\n",
    );
    let out = run(stampede().arg("analyze").arg(&path));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("bad.jtl: no valid rows (2 malformed)"),
        "{out:?}"
    );
    let header = write(dir.path(), "h.jtl", "timeStamp,label,success\n1,a,true\n");
    let out = run(stampede().arg("analyze").arg(&header));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("h.jtl:1: the header has no `elapsed` column"),
        "{out:?}"
    );
}

/// `analyze --bee-summary` writes the form `run` merges, named by its bee;
/// a file not named `<bee id>.summary.json` is refused with exit 2.
#[test]
fn a_bee_summary_is_written_from_a_jtl() {
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("bee-9.summary.json");
    let out = run(stampede()
        .arg("analyze")
        .arg(fixture("jtl/jmeter-5.6.3.jtl"))
        .arg("--bee-summary")
        .arg(&to));
    assert_eq!(out.code, 0, "{out:?}");
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&to).unwrap()).unwrap();
    assert_eq!(s["format"], "stampede-bee-summary");
    assert_eq!(
        (s["bee"].as_str(), s["rows"].as_u64()),
        (Some("bee-9"), Some(92))
    );
    let bad = dir.path().join("bee-9.json");
    let out = run(stampede()
        .arg("analyze")
        .arg(fixture("jtl/jmeter-5.6.3.jtl"))
        .arg("--bee-summary")
        .arg(&bad));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("<bee id>.summary.json"), "{out:?}");
    assert!(!bad.exists());
}
