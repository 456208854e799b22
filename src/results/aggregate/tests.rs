//! Aggregation: merging, spilling and the HdrHistogram layout.

use super::worker::*;
use super::*;

fn sample(label: &[u8], elapsed: u64, ts: i64, success: bool) -> Sample<'_> {
    Sample {
        timestamp: ts,
        elapsed,
        label,
        success,
        threads: 0,
        controller: false,
    }
}

#[test]
fn many_labels_and_spilled_counts() {
    let mut local = LocalAggregate::default();
    let names: Vec<String> = (0..500).map(|i| format!("label {i}")).collect();
    for round in 0..3 {
        for n in &names {
            local.record(&sample(n.as_bytes(), round, 0, true));
        }
    }
    // Force a spill half-way through a label's samples.
    local.labels[0].1.unspilled = u32::MAX - 1;
    local.record(&sample(b"label 0", 7, 0, true));
    local.record(&sample(b"label 0", 7, 0, true));
    let agg = local.finish();
    assert_eq!(agg.labels.len(), 500);
    assert_eq!(agg.labels[7].0, "label 7");
    assert_eq!(agg.labels[7].1.count, 3);
    let first = &agg.labels[0].1;
    assert_eq!((first.count, first.hist.len()), (5, 5));
    assert_eq!(first.hist.count_at(7), 2);
}

#[test]
fn merged_workers_equal_one() {
    let mut one = LocalAggregate::default();
    let mut a = LocalAggregate::default();
    let mut b = LocalAggregate::default();
    for i in 0..3000u64 {
        let label: &[u8] = [&b"x"[..], b"y, z", b"w"][(i % 3) as usize];
        let s = sample(label, i * 37 % 5000, i as i64, i % 11 != 0);
        one.record(&s);
        // Blocks of 100 samples, alternately to each worker.
        let block = i / 100;
        let w = if block % 2 == 0 { &mut a } else { &mut b };
        if i % 100 == 0 {
            w.start_block(block);
        }
        w.record(&s);
    }
    assert_eq!(b.labels[0].0.as_ref(), b"y, z");
    b.labels[0].1.spill();
    // b read the earlier blocks: its labels come first.
    b.merge(&a);
    let a = b;
    let (one, a) = (one.finish(), a.finish());
    assert_eq!(one.labels.len(), a.labels.len());
    for (x, y) in one.labels.iter().zip(&a.labels) {
        assert_eq!(x.0, y.0);
        assert_eq!(
            (x.1.count, x.1.errors, x.1.sum_ms, x.1.max_ms),
            (y.1.count, y.1.errors, y.1.sum_ms, y.1.max_ms)
        );
        assert_eq!((x.1.first_ts, x.1.last_ts), (y.1.first_ts, y.1.last_ts));
        assert!(x.1.hist == y.1.hist, "{}", x.0);
    }
}

#[test]
fn layout_matches_hdrhistogram() {
    let h = new_histogram();
    assert_eq!(COUNTS_LEN, 13 * 1024);
    let mut v = 1u64;
    while v <= MAX_TRACKABLE_MS {
        let i = hdr_index(v);
        assert!(i < COUNTS_LEN, "{v}");
        let low = hdr_value(i);
        assert_eq!(low, h.lowest_equivalent(v), "{v}");
        assert_eq!(hdr_index(low), i, "{v}");
        v = v + 1 + v / 97;
    }
    assert_eq!(
        hdr_index(MAX_TRACKABLE_MS),
        hdr_index(h.highest_equivalent(MAX_TRACKABLE_MS))
    );
}

#[test]
fn local_aggregate_equals_direct_recording() {
    let mut direct = Aggregate::default();
    let mut local = LocalAggregate::default();
    let labels: [&[u8]; 8] = [
        b"a",
        b"bb, c",
        b"a much longer label than eight bytes",
        b"a much longer label than eight bytes!",
        b"",
        b"abcd",
        b"abcdefgh",
        b"abcdXefgh",
    ];
    let mut x = 12345u64;
    for i in 0..20_000u64 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let elapsed = match i % 7 {
            0 => 0,
            1 => (x >> 40) % 10,
            2 => MAX_TRACKABLE_MS - 5000 + (x >> 50) * 100,
            3 => 1 << (20 + x % 28),
            _ => (x >> 33) % 100_000,
        };
        let s = sample(
            labels[(x >> 20) as usize % labels.len()],
            elapsed,
            (x >> 30) as i64,
            i % 13 != 0,
        );
        direct.record(&s);
        local.record(&s);
    }
    let local = local.finish();
    assert_eq!(local.labels.len(), direct.labels.len());
    for ((la, a), (lb, b)) in local.labels.iter().zip(&direct.labels) {
        assert_eq!(la, lb);
        assert_eq!(
            (a.count, a.errors, a.sum_ms, a.max_ms, a.first_ts, a.last_ts),
            (b.count, b.errors, b.sum_ms, b.max_ms, b.first_ts, b.last_ts)
        );
        let counts = |h: &Histogram<u64>| -> Vec<(u64, u64)> {
            h.iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect()
        };
        let (ca, cb) = (counts(&a.hist), counts(&b.hist));
        let diff = ca.iter().zip(&cb).find(|(x, y)| x != y);
        assert!(
            ca == cb,
            "{la}: counts differ: {} vs {} entries, first {diff:?}",
            ca.len(),
            cb.len()
        );
        assert_eq!(
            (a.hist.min(), a.hist.max(), a.hist.len(), a.hist.min_nz()),
            (b.hist.min(), b.hist.max(), b.hist.len(), b.hist.min_nz()),
            "{la}"
        );
        assert!(a.hist == b.hist, "{la}: histograms differ");
        for q in [0.0, 0.5, 0.9, 0.99, 0.999, 1.0] {
            assert_eq!(a.hist.value_at_quantile(q), b.hist.value_at_quantile(q));
        }
    }
}

#[test]
fn labels_past_the_cap_share_one_row_and_totals_stay_exact() {
    let mut local = LocalAggregate::default();
    let n = MAX_LABELS + 500;
    for i in 0..n {
        let label = format!("/item/{i}");
        local.record(&sample(
            label.as_bytes(),
            10 + i as u64 % 90,
            i as i64,
            i % 7 != 0,
        ));
        local.record(&sample(label.as_bytes(), 20, i as i64, true));
    }
    let mut agg = local.finish();
    assert_eq!(agg.labels.len(), MAX_LABELS + 1);
    let (name, other) = agg.labels.last().unwrap();
    assert_eq!(name, OTHER_LABEL);
    assert_eq!(other.count, 1000);
    assert_eq!(agg.total().count, 2 * n as u64);
    assert_eq!(
        agg.total().errors,
        (0..n).filter(|i| i % 7 == 0).count() as u64
    );
    // Merging another reader's labels keeps the cap.
    let mut more = Aggregate::default();
    more.record(&sample(b"/late", 5, 0, true));
    agg.merge(&more);
    assert_eq!(agg.labels.len(), MAX_LABELS + 1);
    assert_eq!(agg.labels.last().unwrap().1.count, 1001);
    let names = agg.labels.iter().map(|(l, _)| l.as_str());
    assert!(
        capped_notice(names)
            .unwrap()
            .contains("more than 1000 distinct labels")
    );
}
