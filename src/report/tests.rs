use super::*;
use crate::results::aggregate::Aggregate;
use crate::results::jtl::Sample;

fn summary() -> crate::results::Summary {
    let mut agg = Aggregate::default();
    for i in 0..5000i64 {
        let label: &[u8] = if i % 3 == 0 {
            b"</script><b>x"
        } else {
            b"home"
        };
        agg.record(&Sample {
            timestamp: 1_700_000_000_000 + i * 20,
            elapsed: (i % 200) as u64 + 1,
            label,
            success: i % 50 != 0,
            threads: 0,
            controller: false,
        });
    }
    crate::results::Summary::from_aggregate(&agg, 0)
}

#[test]
fn labels_cannot_close_the_data_script() {
    let html = render(&Inputs {
        summary: summary(),
        ..Inputs::default()
    });
    // One closing tag per script element: the data, uPlot, the layout.
    assert_eq!(html.matches("</script>").count(), 3);
    assert!(html.contains("\\u003c/script>\\u003cb>x"));
    let start = html.find("id=\"report-data\">").unwrap() + "id=\"report-data\">".len();
    let end = start + html[start..].find("</script>").unwrap();
    let data: serde_json::Value = serde_json::from_str(&html[start..end]).unwrap();
    assert_eq!(data["labels"][1]["cur"]["label"], "</script><b>x");
}

#[test]
fn the_page_depends_only_on_its_inputs() {
    let a = render(&Inputs {
        summary: summary(),
        ..Inputs::default()
    });
    let b = render(&Inputs {
        summary: summary(),
        ..Inputs::default()
    });
    assert_eq!(a, b);
    assert!(
        !a.contains("http://") && !a.contains("https://github.com/leeoniya/uPlot\""),
        "no links to fetch"
    );
}

#[test]
fn bad_summaries_name_the_file_and_problem() {
    let p = std::path::Path::new("s.json");
    let cut = input::parse_summary(p, "{\"labels\": [")
        .unwrap_err()
        .to_string();
    assert!(
        cut.starts_with("s.json:1:") && cut.contains("truncated"),
        "{cut}"
    );
    let foreign = input::parse_summary(p, "{\"name\": \"left-pad\"}")
        .unwrap_err()
        .to_string();
    assert!(
        foreign.contains("not a stampede summary") && foreign.contains("labels"),
        "{foreign}"
    );
    let v = input::parse_summary(p, "{\"format_version\": 3, \"labels\": []}")
        .unwrap_err()
        .to_string();
    assert!(v.contains("format_version 3"), "{v}");
    assert!(input::parse_summary(p, "{\"format_version\": 2, \"labels\": [], \"start\": null, \"end\": null, \"total\": null}").is_ok());
}

#[test]
fn a_failed_stack_fails_with_its_root_cause_first() {
    use crate::results::summary::StackEventRecord;
    let ev = |time: &str, id: &str, status: &str, root_cause: bool| StackEventRecord {
        time: time.into(),
        stack_name: "s".into(),
        logical_id: id.into(),
        resource_type: "AWS::EC2::Instance".into(),
        status: status.into(),
        reason: None,
        root_cause,
    };
    let summary = crate::results::Summary {
        stack_events: vec![
            ev("2026-01-01T00:00:00Z", "Bees", "CREATE_IN_PROGRESS", false),
            ev("2026-01-01T00:00:05Z", "Bees", "CREATE_FAILED", true),
            ev("2026-01-01T00:00:06Z", "Other", "CREATE_FAILED", false),
        ],
        ..Default::default()
    };
    let d = data::build(&summary, &data::Extras::default(), None, None);
    assert_eq!(d.verdict.as_deref(), Some("fail"));
    assert!(d.stack_events[0].root_cause);
    assert_eq!(d.stack_events[1].status, "CREATE_IN_PROGRESS");
    assert!(d.curve.is_none() && d.series.is_none());
}

#[test]
fn monitor_series_of_one_metric_share_a_chart_on_aligned_times() {
    let extras: data::Extras = serde_json::from_value(serde_json::json!({
        "monitor": {"series": [
            {"namespace": "AWS/RDS", "metric": "CPUUtilization", "stat": "Average", "period": 60,
             "dimensions": {"DBInstanceIdentifier": "a"}, "points": [[1000, 1.0], [2000, 2.0]]},
            {"namespace": "AWS/RDS", "metric": "CPUUtilization", "stat": "Average", "period": 60,
             "dimensions": {"DBInstanceIdentifier": "b"}, "points": [[2000, 5.0], [3000, 6.0]]},
            {"namespace": "Shop", "metric": "Orders", "stat": "Sum", "points": [[1000, 9.0]]}
        ]},
        "events": [{"@timestamp": "2026-01-01T00:00:00Z", "text": "deploy", "source": "annotation"}]
    }))
    .unwrap();
    let d = data::build(&crate::results::Summary::default(), &extras, None, None);
    assert_eq!(d.monitor.len(), 2);
    let rds = &d.monitor[0];
    assert_eq!(rds.t, [1000, 2000, 3000]);
    assert_eq!(rds.values[0], [Some(1.0), Some(2.0), None]);
    assert_eq!(rds.values[1], [None, Some(5.0), Some(6.0)]);
    assert_eq!(
        rds.names,
        ["DBInstanceIdentifier=a", "DBInstanceIdentifier=b"]
    );
    assert_eq!(d.markers.len(), 1);
    assert_eq!(d.markers[0].kind, "annotation");
}

#[test]
fn a_run_without_a_gate_leaves_no_stale_gate_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("summary.json"), summary().to_json()).unwrap();
    std::fs::write(
        dir.path().join(input::GATE_FILE),
        "{\"verdict\":\"fail\",\"checks\":[]}",
    )
    .unwrap();
    std::fs::write(dir.path().join(input::BASELINE_FILE), summary().to_json()).unwrap();
    let page = run::write(dir.path(), None, None).unwrap();
    assert!(!dir.path().join(input::GATE_FILE).exists());
    assert!(!dir.path().join(input::BASELINE_FILE).exists());
    let html = std::fs::read_to_string(page).unwrap();
    assert!(
        html.contains("\"verdict\":null"),
        "no verdict without a gate"
    );
}
