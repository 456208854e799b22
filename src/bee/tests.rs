//! The bee against a real local coordinator: a late start and the log it
//! leaves behind.

use super::*;
use crate::local::coordinator;

fn config(dir: &Path, url: &str, id: &str, late_start_s: u64) -> BeeConfig {
    std::fs::write(dir.join("plan.jmx"), "<jmeterTestPlan/>").unwrap();
    serde_json::from_value(serde_json::json!({
        "run_id": "r1",
        "testcase": dir.join("plan.jmx").display().to_string(),
        "results": dir.join("results").display().to_string(),
        "coordinator": { "kind": "local", "url": url },
        "bee_id": id,
        "late_start_s": late_start_s,
        // Never started: a late bee skips before it gets here.
        "jmeter": "/nonexistent/jmeter",
        "workdir": dir.join(id).display().to_string(),
    }))
    .unwrap()
}

#[test]
fn a_start_past_the_bound_is_late() {
    let t0 = chrono::Utc::now();
    let late = late_start(t0, t0 + chrono::Duration::seconds(301), 120).unwrap();
    assert_eq!(
        late,
        "it came up 301 s after the test started (the bound is 120 s)"
    );
    assert_eq!(
        late_start(t0, t0 + chrono::Duration::seconds(120), 120),
        None
    );
    assert_eq!(late_start(t0, t0, u64::MAX), None);
}

#[tokio::test]
async fn a_bee_that_comes_up_after_the_start_skips_its_load_says_so_and_leaves_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let c = coordinator::start(1).await.unwrap();
    // The fleet's one bee made Ready complete a while ago.
    signal::send(
        &format!("{}/ready", c.url),
        Status::Success,
        "ready",
        "bee-0",
        "",
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let cfg = config(dir.path(), &c.url, "bee-late", 0);
    let err = run(&cfg, &CancellationToken::new(), &|_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("skipped the load: it came up 1 s after the test started"),
        "{err}"
    );
    let done = c.signals.borrow().done["bee-late"].clone();
    assert_eq!(done.status, "SUCCESS");
    assert!(done.data.contains("\"skipped\""), "{done:?}");
    let log = std::fs::read_to_string(dir.path().join("results/bee-late.log")).unwrap();
    assert!(log.contains("bee bee-late: skipping the load"), "{log}");
    assert!(
        log.contains("stopped: bee bee-late: skipped the load"),
        "{log}"
    );
}
