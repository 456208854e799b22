//! Driving Debian's headless Chromium: open a page, read what it drew
//! (`--dump-dom`), what it logged (`--enable-logging=stderr`) and what it
//! requested (`--log-net-log`), and take screenshots.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::*;

/// Chromium: STAMPEDE_CHROMIUM (ci/chromium.sh exports it), else
/// `chromium` on PATH; `None` (and a note) when neither is there.
pub fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("STAMPEDE_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH")?)
                .map(|d| d.join("chromium"))
                .find(|p| p.is_file())
        });
    if found.is_none() {
        assert!(
            std::env::var("STAMPEDE_REQUIRE_SERVICES").is_err(),
            "Chromium is missing: run ci/chromium.sh"
        );
        eprintln!("skipped: Chromium is missing (run ci/chromium.sh)");
    }
    found
}

/// What the browser did with a page.
pub struct Visit {
    /// The DOM after the page's scripts ran.
    pub dom: String,
    /// Console messages (errors included).
    pub console: Vec<String>,
    /// URLs the page asked for (not the browser's own background traffic).
    pub requests: Vec<String>,
}

fn browser(chrome: &Path, work: &Path) -> Command {
    let mut cmd = Command::new(chrome);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--window-size=1400,2400",
        "--virtual-time-budget=5000",
    ])
    .arg(format!(
        "--user-data-dir={}",
        work.join("profile").display()
    ));
    cmd
}

/// Opens `page` and reads its DOM, console and network requests.
pub fn visit(chrome: &Path, page: &Path) -> Visit {
    let work = tempfile::tempdir().unwrap();
    let net = work.path().join("net.json");
    let out = browser(chrome, work.path())
        .args(["--enable-logging=stderr", "--v=0", "--dump-dom"])
        .arg(format!("--log-net-log={}", net.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "chromium: {out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let console = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    Visit {
        dom: String::from_utf8_lossy(&out.stdout).into_owned(),
        console,
        requests: page_requests(&net),
    }
}

/// URLs requested on behalf of a file:// page: their network isolation
/// key names the file:// site; Chromium's own update and account checks
/// carry other keys.
fn page_requests(net: &Path) -> Vec<String> {
    let log: Value = serde_json::from_slice(&std::fs::read(net).unwrap()).unwrap();
    let start = &log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"];
    log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| &e["type"] == start)
        .filter(|e| {
            e["params"]["network_isolation_key"]
                .as_str()
                .is_some_and(|k| k.starts_with("file://"))
        })
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_string))
        .filter(|u| !u.starts_with("file:") && !u.starts_with("data:"))
        .collect()
}

pub fn screenshot(chrome: &Path, page: &Path, name: &str) {
    let dir = root().join("target/report-screens");
    std::fs::create_dir_all(&dir).unwrap();
    let work = tempfile::tempdir().unwrap();
    let out = browser(chrome, work.path())
        .arg(format!("--screenshot={}", dir.join(name).display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "chromium screenshot: {out:?}");
}

/// The opening tags (up to `>`) of elements with attribute `attr`.
pub fn tags<'a>(dom: &'a str, attr: &str) -> Vec<&'a str> {
    let needle = format!(" {attr}=\"");
    dom.match_indices(&needle)
        .map(|(i, _)| {
            let start = dom[..i].rfind('<').unwrap();
            &dom[start..i + dom[i..].find('>').unwrap()]
        })
        .collect()
}

pub fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let needle = format!(" {name}=\"");
    let at = tag.find(&needle)? + needle.len();
    Some(&tag[at..at + tag[at..].find('"')?])
}

pub fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The chart named `name`: (series, points, drawn markers "ms@px").
pub fn chart(dom: &str, name: &str) -> (usize, usize, Vec<(i64, i64)>) {
    let tag = tags(dom, "data-chart")
        .into_iter()
        .find(|t| attr(t, "data-chart") == Some(name))
        .unwrap_or_else(|| panic!("no chart {name}"));
    let markers = attr(tag, "data-markers")
        .unwrap_or("")
        .split(',')
        .filter(|m| !m.is_empty())
        .map(|m| {
            let (t, px) = m.split_once('@').unwrap();
            (t.parse().unwrap(), px.parse().unwrap())
        })
        .collect();
    (
        attr(tag, "data-series").unwrap().parse().unwrap(),
        attr(tag, "data-points").unwrap().parse().unwrap(),
        markers,
    )
}
