//! Wait-condition signals, as cfn-signal sends them: an HTTP PUT of
//! `{"Status","Reason","UniqueId","Data"}` to the handle URL. Handle URLs
//! are presigned S3 URLs, signed without a content type, so none is sent.

use std::time::Duration;

use serde_json::json;

/// SUCCESS or FAILURE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The step worked.
    Success,
    /// The step failed; the stack fails with the reason.
    Failure,
}

/// The signal body.
pub fn body(status: Status, reason: &str, unique_id: &str, data: &str) -> String {
    json!({
        "Status": match status { Status::Success => "SUCCESS", Status::Failure => "FAILURE" },
        "Reason": reason,
        "UniqueId": unique_id,
        "Data": data,
    })
    .to_string()
}

/// PUTs a signal, retrying network trouble a few times. The URL is a
/// credential: errors never include it.
pub async fn send(
    url: &str,
    status: Status,
    reason: &str,
    unique_id: &str,
    data: &str,
) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()?;
    let payload = body(status, reason, unique_id, data);
    let mut last = String::new();
    for attempt in 0..5u32 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(1 << attempt)).await;
        }
        match client.put(url).body(payload.clone()).send().await {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => last = format!("HTTP {}", r.status()),
            Err(e) => last = e.without_url().to_string(),
        }
    }
    anyhow::bail!("signalling {status:?} to the wait-condition handle failed: {last}")
}
