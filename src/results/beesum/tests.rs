//! Bee summaries merge to exactly what parsing every JTL gives, and a
//! broken one is refused with its reason (the caller then reads the JTL).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::*;
use crate::results::beemerge::merge_files;
use crate::results::{Summary, analyze_paths};

const HEADER: &str = "timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect\n";
const BASE_TS: i64 = 1_700_000_000_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One bee's JTL: skewed (log-normal body, a Pareto tail on some bees),
/// its own start, span and subset of labels, so bees choose different
/// series intervals and start buckets.
fn bee_jtl(bee: usize, rows: usize) -> String {
    let mut rng = Rng((bee as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let labels = ["home", "search, filtered", "checkout", "api/items", "rare"];
    let start = BASE_TS + bee as i64 * 7_321;
    // Bee 0 runs two hours (a coarse interval), the others seconds to minutes.
    let span_ms = if bee == 0 {
        7_200_000
    } else {
        5_000 + (bee as i64 % 7) * 40_000
    };
    let mut out = String::from(HEADER);
    for i in 0..rows {
        let li = if bee % 3 == 1 {
            i % 3
        } else {
            i % labels.len()
        };
        let label = labels[li];
        let median = 20.0 * (li as f64 + 1.0) * if bee.is_multiple_of(5) { 4.0 } else { 1.0 };
        let (u1, u2) = (rng.next().max(1e-12), rng.next());
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        let mut elapsed = median * (0.8 * z).exp();
        if bee % 4 == 3 && rng.next() < 0.02 {
            elapsed *= 1.0 / rng.next().max(1e-4);
        }
        let elapsed = elapsed.round() as u64;
        let ok = rng.next() > 0.03;
        let ts = start + (span_ms as f64 * i as f64 / rows as f64) as i64;
        let quoted = if label.contains(',') {
            format!("\"{label}\"")
        } else {
            label.to_string()
        };
        out.push_str(&format!(
            "{ts},{elapsed},{quoted},{},OK,t 1-1,text,{ok},,100,10,1,1,http://t/,1,0,0\n",
            if ok { 200 } else { 500 }
        ));
    }
    out
}

/// Writes each bee's JTL and its summary; returns both lists of paths.
fn bees(dir: &Path, n: usize, rows: usize) -> (Vec<PathBuf>, Vec<(String, PathBuf)>) {
    let mut jtls = Vec::new();
    let mut sums = Vec::new();
    for b in 0..n {
        let id = format!("bee-{}", b + 1);
        let jtl = dir.join(format!("{id}.jtl"));
        std::fs::write(&jtl, bee_jtl(b, rows)).unwrap();
        let a = analyze_paths(std::slice::from_ref(&jtl), 1).unwrap();
        let s = BeeSummary::of(&id, &a.aggregate, a.files[0].rows, 0, None);
        let path = dir.join(format!("{id}.summary.json"));
        std::fs::write(&path, s.to_json()).unwrap();
        jtls.push(jtl);
        sums.push((id, path));
    }
    (jtls, sums)
}

/// A summary as comparable values: labels and series by name (the label
/// order may differ), histograms decoded.
fn comparable(s: &Summary) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for l in s.labels.iter().chain(s.total.as_ref()) {
        let mut l = l.clone();
        let h = l.histogram().unwrap();
        let hist: Vec<(u64, u64)> = h
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect();
        l.histogram = format!("{hist:?}");
        l.hist = None;
        out.insert(
            format!("label {}", l.label),
            serde_json::to_string(&l).unwrap(),
        );
    }
    let series = s.series.as_ref().unwrap();
    out.insert(
        "interval".into(),
        format!("{} {}", series.interval_ms, series.start_ms),
    );
    for (name, points) in &series.labels.0 {
        out.insert(
            format!("series {name}"),
            serde_json::to_string(points).unwrap(),
        );
    }
    out.insert(
        "range".into(),
        format!("{:?} {:?} {}", s.start, s.end, s.malformed),
    );
    out
}

fn merged_equals_parsed(n: usize, rows: usize) {
    let dir = tempfile::tempdir().unwrap();
    let (jtls, sums) = bees(dir.path(), n, rows);
    let parsed = analyze_paths(&jtls, 2).unwrap();
    let want = Summary::from_aggregate(&parsed.aggregate, 0);
    for threads in [1, 2, 3] {
        let merged = merge_files(&sums, threads);
        assert!(merged.unusable.is_empty(), "{:?}", merged.unusable);
        assert_eq!(merged.merged, n);
        let got = Summary::from_aggregate(&merged.aggregate, merged.malformed);
        let (want, got) = (comparable(&want), comparable(&got));
        assert_eq!(
            want.keys().collect::<Vec<_>>(),
            got.keys().collect::<Vec<_>>()
        );
        for (k, v) in &want {
            assert_eq!(v, &got[k], "{n} bees, {threads} threads: {k} differs");
        }
    }
}

#[test]
fn one_bee_merges_to_its_own_jtl() {
    merged_equals_parsed(1, 20_000);
}

#[test]
fn two_bees_merge_to_their_jtls() {
    merged_equals_parsed(2, 20_000);
}

#[test]
fn fifty_skewed_bees_merge_to_their_jtls() {
    merged_equals_parsed(50, 3_000);
}

#[test]
fn the_merge_keeps_the_bees_label_order() {
    let dir = tempfile::tempdir().unwrap();
    let (jtls, sums) = bees(dir.path(), 4, 500);
    let parsed = analyze_paths(&jtls, 1).unwrap();
    let merged = merge_files(&sums, 2);
    let names = |a: &Aggregate| a.labels.iter().map(|(l, _)| l.clone()).collect::<Vec<_>>();
    assert_eq!(names(&merged.aggregate), names(&parsed.aggregate));
}

fn one_summary() -> (tempfile::TempDir, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let (_, sums) = bees(dir.path(), 1, 2_000);
    let bytes = std::fs::read(&sums[0].1).unwrap();
    (dir, bytes)
}

fn refused(bytes: &[u8]) -> Unusable {
    match BeeSummary::parse(bytes) {
        Ok(_) => panic!("accepted"),
        Err(e) => e,
    }
}

#[test]
fn a_truncated_summary_is_named_truncated() {
    let (_d, bytes) = one_summary();
    let cut = &bytes[..bytes.len() * 2 / 3];
    assert_eq!(refused(cut), Unusable::Truncated(cut.len()));
    assert_eq!(refused(b""), Unusable::Truncated(0));
}

#[test]
fn another_format_version_is_refused_before_reading_on() {
    let (_d, bytes) = one_summary();
    let text = String::from_utf8(bytes).unwrap();
    let v2 = text.replace("\"format_version\":1", "\"format_version\":2");
    assert_eq!(refused(v2.as_bytes()), Unusable::OtherVersion("2".into()));
    assert!(
        refused(v2.as_bytes())
            .to_string()
            .contains("format_version 2, this stampede merges 1")
    );
    let other = text.replace(FORMAT, "something-else");
    assert!(matches!(
        refused(other.as_bytes()),
        Unusable::NotBeeSummary(_)
    ));
    // summary.json is not a bee summary.
    assert!(matches!(
        refused(b"{\"labels\": []}"),
        Unusable::NotBeeSummary(_)
    ));
}

#[test]
fn a_summary_whose_parts_disagree_is_refused() {
    let (_d, bytes) = one_summary();
    let mut s: BeeSummary = serde_json::from_slice(&bytes).unwrap();
    s.labels[0].count += 1;
    s.rows += 1;
    let e = refused(&s.to_json());
    assert!(matches!(e, Unusable::Inconsistent(_)), "{e}");
    let mut s: BeeSummary = serde_json::from_slice(&bytes).unwrap();
    s.series.bins += 1;
    assert!(matches!(refused(&s.to_json()), Unusable::Inconsistent(_)));
    let mut s: BeeSummary = serde_json::from_slice(&bytes).unwrap();
    s.series.labels[0][0].3 = crate::results::series::encode_bins([(10_000, 1)].into_iter());
    assert!(matches!(refused(&s.to_json()), Unusable::Inconsistent(_)));
    let mut s: BeeSummary = serde_json::from_slice(&bytes).unwrap();
    s.series.labels[0][0].3.truncate(3);
    assert!(matches!(refused(&s.to_json()), Unusable::Inconsistent(_)));
    // Values that would overflow a merge are refused before it.
    let mut s: BeeSummary = serde_json::from_slice(&bytes).unwrap();
    s.labels[0].sum_ms = u64::MAX;
    assert!(matches!(refused(&s.to_json()), Unusable::Inconsistent(_)));
    let mut s: BeeSummary = serde_json::from_slice(&bytes).unwrap();
    s.labels[0].first_ts = i64::MIN;
    assert!(matches!(refused(&s.to_json()), Unusable::Inconsistent(_)));
    let mut s: BeeSummary = serde_json::from_slice(&bytes).unwrap();
    s.series.lo = i64::MAX - 5;
    assert!(matches!(refused(&s.to_json()), Unusable::Inconsistent(_)));
}

#[test]
fn unusable_files_are_handed_back_and_the_rest_merged() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut sums) = bees(dir.path(), 3, 1_000);
    let bytes = std::fs::read(&sums[1].1).unwrap();
    std::fs::write(&sums[1].1, &bytes[..100]).unwrap();
    sums.push(("bee-9".into(), dir.path().join("bee-9.summary.json")));
    let merged = merge_files(&sums, 2);
    assert_eq!(merged.merged, 2);
    assert_eq!(
        merged.unusable,
        [
            ("bee-2".to_string(), Unusable::Truncated(100)),
            ("bee-9".to_string(), Unusable::Missing)
        ]
    );
}
