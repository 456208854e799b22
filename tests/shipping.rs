//! Shipping under faults: the search cluster becomes unreachable in the
//! middle of a stream and comes back; every row ends up indexed exactly
//! once. The outage is made by a TCP proxy in front of the real
//! OpenSearch (a fake for the fault only: restarting the node would wipe
//! its data).

use std::io::Write;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::*;

/// A TCP proxy that can refuse connections and cut the open ones.
pub struct Proxy {
    /// The port it listens on.
    pub port: u16,
    up: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    pub fn start(upstream: &str) -> Self {
        let upstream = upstream.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let conns = Arc::new(Mutex::new(Vec::<TcpStream>::new()));
        let (up2, conns2) = (up.clone(), conns.clone());
        std::thread::spawn(move || {
            let mut listener = Some(listener);
            loop {
                if !up2.load(Ordering::SeqCst) {
                    listener = None;
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
                let l =
                    listener.get_or_insert_with(|| TcpListener::bind(("127.0.0.1", port)).unwrap());
                l.set_nonblocking(true).unwrap();
                let Ok((client, _)) = l.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                client.set_nonblocking(false).unwrap();
                let server = TcpStream::connect(&upstream).unwrap();
                conns2
                    .lock()
                    .unwrap()
                    .extend([client.try_clone().unwrap(), server.try_clone().unwrap()]);
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(Shutdown::Both);
                    });
                }
            }
        });
        Proxy { port, up, conns }
    }

    pub fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }

    pub fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

fn rows(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| {
            format!(
                "{},{},\"label, {}\",200,OK,t 1-1,text,true,,100,50,1,1,http://x/{i},3,0,1\n",
                1_700_000_000_000u64 + i as u64,
                1 + i % 97,
                i % 5
            )
        })
        .collect()
}

#[test]
fn outage_mid_stream_loses_and_duplicates_nothing() {
    let Some(es) = opensearch() else { return };
    let proxy = Proxy::start(&es);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bee.jtl");
    let mut jtl = std::fs::File::create(&path).unwrap();
    jtl.write_all(b"timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect\n").unwrap();
    jtl.write_all(rows(0, 3000).as_bytes()).unwrap();
    let run_id = unique("faults");
    let child = stampede()
        .args([
            "ship",
            "--follow",
            "--output",
            "plain",
            "--index",
            "stampede-faults",
            "--bee",
            "b1",
            "--run-id",
            &run_id,
            "--es",
        ])
        .arg(format!("http://127.0.0.1:{}", proxy.port))
        .arg(&path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    jtl.write_all(rows(3000, 3000).as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    proxy.down();
    // Rows written while the cluster is away, the last one half-written.
    let during = rows(6000, 3000);
    jtl.write_all(&during.as_bytes()[..during.len() - 20])
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    jtl.write_all(&during.as_bytes()[during.len() - 20..])
        .unwrap();
    proxy.up();
    jtl.write_all(rows(9000, 3000).as_bytes()).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = finish(child);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("retrying"),
        "the outage was noticed: {stdout}"
    );
    assert!(stdout.contains("is back"), "{stdout}");
    assert!(stdout.contains("shipped 12000 rows"), "{stdout}");
    assert_eq!(es_count(&es, "stampede-faults", &run_id, Some("b1")), 12000);
}

/// One row model: `analyze` and `ship` count the same samples and the same
/// malformed rows in a `;`-delimited JTL with `True`, a TAB-started
/// failure message (once, the rows after it vanished), and bad rows.
#[test]
fn analyze_and_ship_agree_on_every_row() {
    let Some(es) = opensearch() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut text =
        String::from("timeStamp;elapsed;label;responseCode;success;failureMessage;bytes\n");
    for i in 0..300u64 {
        let ts = 1_700_000_000_000 + i;
        text.push_str(&match i % 6 {
            0 => format!("{ts};{};a;200;true;;10\n", 1 + i),
            1 => format!("{ts};{};b;500;False;\tat Foo.bar(Foo.java:{i});10\n", 1 + i),
            2 => format!("{ts};{};\"c;d\";200;True;;ten\n", 1 + i),
            3 => format!("{ts};;a;200;true;;10\n"),
            4 => format!("{ts};{};a;200;fork;;10\n", 1 + i),
            _ => format!(
                "2023-11-14T22:13:20.123+01:00;{};e;200;TRUE;\x0bx;10\n",
                1 + i
            ),
        });
    }
    let path = write(dir.path(), "b1.jtl", &text);
    let out = run(stampede().args(["--output", "json", "analyze"]).arg(&path));
    assert_eq!(out.code, 0, "{out:?}");
    let first = out.stdout.lines().next().unwrap();
    let summary: serde_json::Value = serde_json::from_str(first).unwrap();
    assert_eq!(
        (&summary["total"]["count"], &summary["malformed"]),
        (&200.into(), &100.into())
    );
    let run_id = unique("model");
    let out = run(stampede()
        .args([
            "--output",
            "json",
            "ship",
            "--index",
            "stampede-model",
            "--bee",
            "b1",
            "--run-id",
            &run_id,
            "--es",
            &es,
        ])
        .arg(&path));
    assert_eq!(out.code, 0, "{out:?}");
    let shipped: serde_json::Value =
        serde_json::from_str(out.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(
        (&shipped["rows"], &shipped["malformed"]),
        (&200.into(), &100.into()),
        "{out:?}"
    );
    assert_eq!(es_count(&es, "stampede-model", &run_id, Some("b1")), 200);
}

/// Sends a JSON request to the search cluster (test set-up).
pub fn es_call(method: &str, url: &str, body: serde_json::Value) -> serde_json::Value {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let c = reqwest::Client::new();
            let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            c.request(m, url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap_or(serde_json::Value::Null)
        })
}

/// An index that refuses writes: `read_only_allow_delete` is what a full
/// disk sets (429 per item), `write` is a read-only index (403 per item).
/// The index is kept between runs (a node over its disk watermark refuses
/// to create indices); [`unblock`] lifts the block again.
pub fn blocked_index(es: &str, index: &str, block: &str) {
    let exists = es_call(
        "GET",
        &format!("{es}/{index}/_settings"),
        serde_json::json!({}),
    );
    if exists.get(index).is_none() {
        let made = es_call("PUT", &format!("{es}/{index}"), serde_json::json!({}));
        assert_eq!(made["acknowledged"], true, "{made}");
    }
    unblock(es, index);
    let set = es_call(
        "PUT",
        &format!("{es}/{index}/_settings"),
        serde_json::json!({ format!("index.blocks.{block}"): true }),
    );
    assert_eq!(set["acknowledged"], true, "{set}");
}

/// Lifts the blocks [`blocked_index`] sets (one at a time: a
/// read-only-allow-delete index accepts no other settings change).
pub fn unblock(es: &str, index: &str) {
    for block in ["read_only_allow_delete", "write"] {
        es_call(
            "PUT",
            &format!("{es}/{index}/_settings"),
            serde_json::json!({ format!("index.blocks.{block}"): null }),
        );
    }
}

/// Waits for `child` at most `limit`, killing it past that.
pub fn wait_within(
    child: std::process::Child,
    limit: Duration,
) -> (std::process::Output, Duration) {
    let started = std::time::Instant::now();
    let pid = child.id();
    let done = Arc::new(AtomicBool::new(false));
    let done2 = done.clone();
    std::thread::spawn(move || {
        while started.elapsed() < limit {
            if done2.load(Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    });
    let out = finish(child);
    done.store(true, Ordering::SeqCst);
    (out, started.elapsed())
}

/// A full disk (429 for every item) or a read-only index (403): the
/// shipper stops within `--give-up-after`, exits 3 and says how many rows
/// were not shipped and why. (It used to retry 429 forever.)
#[test]
fn a_full_or_read_only_index_ends_within_the_bound_and_reports_the_loss() {
    let Some(es) = opensearch() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bee.jtl");
    std::fs::write(
        &path,
        format!("timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect\n{}", rows(0, 500)),
    )
    .unwrap();
    for (block, why) in [
        (
            "read_only_allow_delete",
            "disk usage exceeded flood-stage watermark",
        ),
        ("write", "index write"),
    ] {
        let index = format!("stampede-blocked-{}", block.replace('_', "-"));
        blocked_index(&es, &index, block);
        let child = stampede()
            .args([
                "--output",
                "json",
                "ship",
                "--give-up-after",
                "4s",
                "--index",
                &index,
                "--run-id",
                "blocked",
                "--es",
                &es,
            ])
            .arg(&path)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let (out, took) = wait_within(child, Duration::from_secs(90));
        unblock(&es, &index);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(out.status.code(), Some(3), "{block}: {stdout}\n{stderr}");
        assert!(took < Duration::from_secs(60), "{block}: took {took:?}");
        let result: serde_json::Value =
            serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
        assert_eq!(result["type"], "result");
        assert_eq!((&result["rows"], &result["lost"]), (&0.into(), &500.into()));
        assert_eq!(result["status"], "infrastructure_failed");
        assert!(
            result["lost_because"].to_string().contains(why),
            "{block}: {result}"
        );
        assert!(
            stdout.contains("500 of 500 rows not shipped"),
            "{block}: {stdout}"
        );
    }
}

/// Two runs into one index keep both sets of documents; shipping a run's
/// file again overwrites its documents instead of adding copies. (The
/// `_id` used to be bee and offset only, so the second run overwrote the
/// first.)
#[test]
fn two_runs_in_one_index_keep_both_and_a_reship_does_not_duplicate() {
    let Some(es) = opensearch() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b1.jtl");
    std::fs::write(
        &path,
        format!("timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect\n{}", rows(0, 700)),
    )
    .unwrap();
    let index = "stampede-two-runs";
    let (first, second) = (unique("first"), unique("second"));
    for run_id in [&first, &second, &first] {
        let out = run(stampede()
            .args(["ship", "--index", index, "--bee", "b1", "--run-id", run_id])
            .args(["--es", &es])
            .arg(&path));
        assert_eq!(out.code, 0, "{out:?}");
    }
    assert_eq!(es_count(&es, index, &first, Some("b1")), 700);
    assert_eq!(es_count(&es, index, &second, Some("b1")), 700);
    let all = es_call(
        "POST",
        &format!("{es}/{index}/_count"),
        serde_json::json!({"query": {"terms": {"run_id": [&first, &second]}}}),
    );
    assert_eq!(all["count"], 1400, "{all}");
}
