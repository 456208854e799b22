use super::*;

#[test]
fn bins_cover_every_value_in_order_within_six_percent() {
    let mut last = 0;
    for v in 0..(1u64 << TOP_BIT) {
        let b = bin(v);
        assert!(b < BINS, "{v} -> {b}");
        assert!(b >= last, "bins must not go down: {v} -> {b}");
        last = b;
        if v >= 1 {
            let mid = bin_value(b) as f64;
            assert!((mid - v as f64).abs() / v as f64 <= 0.0625, "{v} -> {mid}");
        }
    }
    assert_eq!(bin(u64::MAX), BINS - 1);
}

fn ts(s: i64) -> i64 {
    1_700_000_000_000 + s * 1000
}

#[test]
fn one_bucket_per_second_with_counts_errors_and_percentiles() {
    let mut s = Series::default();
    for sec in 0..10 {
        for i in 1..=100u64 {
            s.record(0, ts(sec) + 3, i * 10, i % 10 != 0);
        }
    }
    s.record(1, ts(4), 5, true);
    let out = s.summarise(&["a", "b"]);
    assert_eq!(out.interval_ms, 1000);
    assert_eq!(out.start_ms, ts(0));
    let names: Vec<&str> = out.labels.0.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["total", "a", "b"]);
    let a = &out.labels.0[1].1;
    assert_eq!(a.count, vec![100; 10]);
    assert_eq!(a.errors, vec![10; 10]);
    let near = |got: Option<u64>, want: f64| {
        let got = got.unwrap() as f64;
        assert!((got - want).abs() / want < 0.07, "{got} vs {want}");
    };
    near(a.p50[3], 500.0);
    near(a.p95[3], 950.0);
    near(a.p99[3], 990.0);
    let b = &out.labels.0[2].1;
    assert_eq!(b.count[4], 1);
    assert_eq!(b.p50[3], None);
    let total = &out.labels.0[0].1;
    assert_eq!(total.count[4], 101);
    assert_eq!(total.count.iter().sum::<u64>(), 1001);
}

#[test]
fn a_long_span_coarsens_to_at_most_600_points_and_keeps_every_sample() {
    let mut s = Series::default();
    // Out of order: the middle first, then the ends.
    for sec in (1800..3600).chain(0..1800).step_by(3) {
        s.record(0, ts(sec), 100, true);
    }
    let out = s.summarise(&["a"]);
    let a = &out.labels.0[1].1;
    assert!(a.count.len() <= MAX_POINTS, "{}", a.count.len());
    assert!(a.count.len() >= MAX_POINTS / 2, "{}", a.count.len());
    assert_eq!(out.interval_ms, 8000);
    assert_eq!(a.count.iter().sum::<u64>(), 1200);
    assert!(out.start_ms <= ts(0) && ts(0) < out.start_ms + out.interval_ms);
}

#[test]
fn many_labels_trade_points_for_memory() {
    let mut s = Series::default();
    for label in 0..200 {
        for sec in 0..600 {
            s.record(label, ts(sec), 10, true);
        }
    }
    assert!(
        s.labels.len() * s.len <= MAX_CELLS,
        "{} x {}",
        s.labels.len(),
        s.len
    );
    let names: Vec<String> = (0..200).map(|i| format!("l{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let out = s.summarise(&names);
    assert_eq!(out.labels.0[0].1.count.iter().sum::<u64>(), 200 * 600);
}

#[test]
fn merging_series_of_different_intervals_adds_up() {
    let mut a = Series::default();
    let mut b = Series::default();
    for sec in 0..100 {
        a.record(0, ts(sec), 10, true);
    }
    for sec in 0..2000 {
        b.record(0, ts(sec), 20, sec % 2 == 0);
    }
    a.merge_label(0, &b, 0);
    let out = a.summarise(&["x"]);
    assert_eq!(out.interval_ms, b.interval_ms());
    let x = &out.labels.0[1].1;
    assert_eq!(x.count.iter().sum::<u64>(), 2100);
    assert_eq!(x.errors.iter().sum::<u64>(), 1000);
}

#[test]
fn counts_past_u16_spill_without_loss() {
    let mut s = Series::default();
    for _ in 0..200_000 {
        s.record(0, ts(0), 7, true);
    }
    let mut t = Series::default();
    t.merge_label(0, &s, 0);
    t.merge_label(0, &s, 0);
    t.halve();
    let out = t.summarise(&["a"]);
    assert_eq!(out.labels.0[1].1.count, vec![400_000]);
    assert_eq!(out.labels.0[1].1.p99, vec![Some(7)]);
}

#[test]
fn summary_json_keeps_label_order() {
    let mut s = Series::default();
    s.record(0, ts(0), 10, true);
    s.record(1, ts(1), 10, true);
    let out = s.summarise(&["zeta", "alpha"]);
    let json = serde_json::to_string(&out).unwrap();
    assert!(
        json.find("\"zeta\"").unwrap() < json.find("\"alpha\"").unwrap(),
        "{json}"
    );
    let back: SeriesSummary = serde_json::from_str(&json).unwrap();
    assert_eq!(back, out);
}
