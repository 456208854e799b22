//! Plain-text and markdown tables of a summary.

use std::fmt::Write;

use super::summary::{LabelSummary, Summary};

const HEADERS: [&str; 11] = [
    "label", "count", "errors", "error%", "mean", "p50", "p90", "p95", "p99", "max", "rps",
];

fn cells(l: &LabelSummary) -> [String; 11] {
    [
        l.label.clone(),
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
    out
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
    out
}
