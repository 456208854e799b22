//! The page: one HTML file with uPlot, the layout script and the data
//! inlined. A Content-Security-Policy forbids every request, so even a
//! bug in the script cannot reach another host.

use super::data::ReportData;

/// uPlot (pinned release; see assets/uplot/VERSION).
const UPLOT_JS: &str = include_str!("../../assets/uplot/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("../../assets/uplot/uPlot.min.css");
const REPORT_JS: &str = include_str!("../../assets/report/report.js");
const REPORT_CSS: &str = include_str!("../../assets/report/report.css");

/// Inline scripts and styles only; no fetch, image, font or frame.
const CSP: &str =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:";

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// JSON safe inside a `<script>` element: no `<` at all, so neither
/// `</script>` nor `<!--` can end or change it. `<` only occurs inside
/// JSON strings, where `\u003c` means the same.
pub(super) fn script_json(data: &ReportData) -> String {
    serde_json::to_string(data)
        .unwrap_or_else(|_| "{}".into())
        .replace('<', "\\u003c")
}

/// The whole page.
pub fn page(data: &ReportData) -> String {
    let json = script_json(data);
    let mut out = String::with_capacity(UPLOT_JS.len() + json.len() + 16 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(&format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n"
    ));
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str(&format!(
        "<title>stampede: {}</title>\n",
        escape_html(&data.title)
    ));
    out.push_str("<style>\n");
    out.push_str(UPLOT_CSS);
    out.push('\n');
    out.push_str(REPORT_CSS);
    out.push_str("</style>\n</head>\n<body>\n<main id=\"app\"><noscript>This report draws its charts with JavaScript; the data is in the page source.</noscript></main>\n");
    out.push_str("<script type=\"application/json\" id=\"report-data\">");
    out.push_str(&json);
    out.push_str("</script>\n<script>\n");
    out.push_str(UPLOT_JS);
    out.push_str("\n</script>\n<script>\n");
    out.push_str(REPORT_JS);
    out.push_str("</script>\n</body>\n</html>\n");
    out
}
