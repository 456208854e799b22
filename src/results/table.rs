//! Plain-text and markdown tables of a summary.

use std::fmt::Write;

use super::summary::{LabelSummary, Summary};

const HEADERS: [&str; 11] = [
    "label", "count", "errors", "error%", "mean", "p50", "p90", "p95", "p99", "max", "rps",
];

/// The longest label a table shows in full.
const MAX_LABEL_CHARS: usize = 120;

/// A label as a table shows it: control characters (the newlines of a
/// multi-line label, TABs) written as escapes (`\n`, `\t`, `\u{1b}`), so
/// that each row stays one line.
pub fn escape_label(label: &str) -> String {
    // A table column as wide as a 64 KiB label helps nobody, and widths
    // past u16::MAX panic in the formatter; JSON keeps the whole label.
    if label.chars().nth(MAX_LABEL_CHARS).is_some() {
        let head: String = label.chars().take(MAX_LABEL_CHARS).collect();
        return format!("{}…", escape_label(&head));
    }
    if !label.chars().any(char::is_control) {
        return label.to_string();
    }
    label
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn cells(l: &LabelSummary) -> [String; 11] {
    [
        escape_label(&l.label),
        l.count.to_string(),
        l.errors.to_string(),
        format!("{:.2}", l.error_rate * 100.0),
        format!("{:.1}", l.mean),
        l.p50.to_string(),
        l.p90.to_string(),
        l.p95.to_string(),
        l.p99.to_string(),
        l.max.to_string(),
        format!("{:.1}", l.throughput),
    ]
}

fn rows(s: &Summary) -> Vec<[String; 11]> {
    s.labels.iter().chain(s.total.iter()).map(cells).collect()
}

/// An aligned text table: labels left, numbers right; times in ms.
pub fn text(s: &Summary) -> String {
    let rows = rows(s);
    let mut widths = HEADERS.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, r: &[String]| {
        for (i, (c, w)) in r.iter().zip(widths).enumerate() {
            let sep = if i == 0 { "" } else { "  " };
            if i == 0 {
                let _ = write!(out, "{c:<w$}");
            } else {
                let _ = write!(out, "{sep}{c:>w$}");
            }
        }
        out.push('\n');
    };
    line(&mut out, &HEADERS.map(String::from));
    for r in &rows {
        line(&mut out, r);
    }
    if let Some(note) = transactions_note(s) {
        out.push_str(&note);
        out.push('\n');
    }
    out
}

/// Which rows are Transaction Controllers', left out of `total` (their
/// samplers are in it), when there are any.
pub fn transactions_note(s: &Summary) -> Option<String> {
    let names: Vec<String> = s
        .labels
        .iter()
        .filter(|l| l.transaction)
        .map(|l| escape_label(&l.label))
        .collect();
    (!names.is_empty()).then(|| {
        format!(
            "transactions (not in total, as in JMeter's dashboard): {}",
            names.join(", ")
        )
    })
}

/// A markdown table.
pub fn markdown(s: &Summary) -> String {
    let mut out = format!(
        "| {} |\n|{}\n",
        HEADERS.join(" | "),
        "---|".repeat(HEADERS.len())
    );
    for r in rows(s) {
        let escaped: Vec<String> = r.iter().map(|c| c.replace('|', "\\|")).collect();
        let _ = writeln!(out, "| {} |", escaped.join(" | "));
    }
    if let Some(note) = transactions_note(s) {
        let _ = writeln!(out, "\n{note}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_line_labels_stay_on_one_row() {
        let mut s = Summary::default();
        let mut l: LabelSummary = serde_json::from_value(serde_json::json!({
            "label": "no such element\n  Session ID: 8|9\ttab", "count": 1, "errors": 1,
            "error_rate": 1.0, "mean": 118.0, "p50": 118, "p90": 118, "p95": 118,
            "p99": 118, "max": 118, "throughput": 1.0, "histogram": ""
        }))
        .unwrap();
        s.labels.push(l.clone());
        l.label = "total".into();
        s.total = Some(l);
        let text = text(&s);
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(
            text.contains("no such element\\n  Session ID: 8|9\\ttab"),
            "{text}"
        );
        let md = markdown(&s);
        assert_eq!(md.lines().count(), 4, "{md}");
        assert!(
            md.contains("| no such element\\n  Session ID: 8\\|9\\ttab |"),
            "{md}"
        );
    }

    #[test]
    fn a_64_kib_label_does_not_crash_the_table() {
        let mut s = Summary::default();
        let l: LabelSummary = serde_json::from_value(serde_json::json!({
            "label": "x".repeat(70_000), "count": 1, "errors": 0,
            "error_rate": 0.0, "mean": 1.0, "p50": 1, "p90": 1, "p95": 1,
            "p99": 1, "max": 1, "throughput": 1.0, "histogram": ""
        }))
        .unwrap();
        s.labels.push(l);
        let t = text(&s);
        assert!(
            t.contains(&format!("{}…", "x".repeat(MAX_LABEL_CHARS))),
            "{t}"
        );
        assert!(t.len() < 2000);
    }
}
