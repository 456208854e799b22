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
