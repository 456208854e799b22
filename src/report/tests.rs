use super::*;
use crate::results::aggregate::Aggregate;
use crate::results::jtl::Sample;

fn summary() -> crate::results::Summary {
    let mut agg = Aggregate::default();
    for i in 0..5000i64 {
        let label: &[u8] = if i % 3 == 0 { b"</script><b>x" } else { b"home" };
        agg.record(&Sample {
            timestamp: 1_700_000_000_000 + i * 20,
            elapsed: (i % 200) as u64 + 1,
            label,
            success: i % 50 != 0,
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
    assert!(!a.contains("http://") && !a.contains("https://github.com/leeoniya/uPlot\"") , "no links to fetch");
}

#[test]
fn bad_summaries_name_the_file_and_problem() {
    let p = std::path::Path::new("s.json");
    let cut = input::parse_summary(p, "{\"labels\": [").unwrap_err().to_string();
    assert!(cut.starts_with("s.json:1:") && cut.contains("truncated"), "{cut}");
    let foreign = input::parse_summary(p, "{\"name\": \"left-pad\"}").unwrap_err().to_string();
    assert!(foreign.contains("not a stampede summary") && foreign.contains("labels"), "{foreign}");
    let v = input::parse_summary(p, "{\"format_version\": 3, \"labels\": []}").unwrap_err().to_string();
    assert!(v.contains("format_version 3"), "{v}");
    assert!(input::parse_summary(p, "{\"format_version\": 2, \"labels\": [], \"start\": null, \"end\": null, \"total\": null}").is_ok());
}
