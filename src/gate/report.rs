//! The gate's result as a text table, JUnit XML and markdown.

use std::fmt::Write;

use super::Metric;
use super::judge::{Check, Outcome, Verdict};

fn change(c: &Check) -> String {
    c.change.map_or("-".into(), |x| c.metric.format_change(x))
}

fn value(metric: Metric, v: Option<f64>) -> String {
    v.map_or("-".into(), |v| metric.format(v))
}

fn rows(o: &Outcome) -> Vec<[String; 7]> {
    o.checks
        .iter()
        .map(|c| {
            [
                c.criterion.clone(),
                crate::results::table::escape_label(&c.label),
                value(c.metric, c.baseline),
                value(c.metric, c.current),
                change(c),
                c.verdict.name().to_string(),
                c.note.clone(),
            ]
        })
        .collect()
}

const HEADERS: [&str; 7] = [
    "criterion",
    "label",
    "baseline",
    "current",
    "change",
    "verdict",
    "note",
];

/// An aligned text table, then the overall verdict.
pub fn text(o: &Outcome) -> String {
    let rows = rows(o);
    let mut widths = HEADERS.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in std::iter::once(HEADERS.map(String::from)).chain(rows) {
        let cells: Vec<String> = r
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i == 6 {
                    c.clone()
                } else {
                    format!("{c:<w$}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    let _ = writeln!(out, "gate: {}", o.verdict.name());
    out
}

/// Markdown table and verdict.
pub fn markdown(o: &Outcome) -> String {
    let mut out = format!(
        "**Gate: {}**\n\n| {} |\n|{}\n",
        o.verdict.name(),
        HEADERS.join(" | "),
        "---|".repeat(7)
    );
    for r in rows(o) {
        let cells: Vec<String> = r.iter().map(|c| c.replace('|', "\\|")).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            // Kept through attribute-value normalisation.
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            // Not allowed in XML 1.0, not even as references: written as
            // an escape, so the file stays well-formed.
            '\u{0}'..='\u{8}'
            | '\u{b}'
            | '\u{c}'
            | '\u{e}'..='\u{1f}'
            | '\u{fffe}'
            | '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: one testcase per criterion and label. Failed checks are
/// `<failure type="fail">`, unstable ones `<failure type="unstable">`, so
/// Jenkins lists both (and marks the build unstable).
pub fn junit(o: &Outcome, suite: &str) -> String {
    let failures = o
        .checks
        .iter()
        .filter(|c| c.verdict != Verdict::Pass)
        .count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">\n",
        xml(suite),
        o.checks.len()
    );
    for c in &o.checks {
        let _ = write!(
            out,
            "    <testcase classname=\"{}.{}\" name=\"{}\"",
            xml(suite),
            xml(&c.label),
            xml(&format!("{} [{}]", c.criterion, c.label))
        );
        let detail = format!(
            "baseline {}, current {}, change {}: {}",
            value(c.metric, c.baseline),
            value(c.metric, c.current),
            change(c),
            c.note
        );
        match c.verdict {
            Verdict::Pass => {
                let _ = writeln!(
                    out,
                    ">\n      <system-out>{}</system-out>\n    </testcase>",
                    xml(&detail)
                );
            }
            v => {
                let kind = if v == Verdict::Fail {
                    "fail"
                } else {
                    "unstable"
                };
                let _ = writeln!(
                    out,
                    ">\n      <failure type=\"{kind}\" message=\"{}: {}\">{}</failure>\n    </testcase>",
                    v.name(),
                    xml(&c.note),
                    xml(&detail)
                );
            }
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}
