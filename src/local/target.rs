//! The built-in HTTP target of the quickstart: answers every request with
//! a small page after an optional delay, so a laptop run has something
//! real to load without any setup.

use std::net::SocketAddr;

use super::http::{self, Request};

/// Starts the target on 127.0.0.1:`port`.
pub async fn start(port: u16) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    http::serve(port, |req: Request| async move {
        // /slow/N pauses N ms: lets a quickstart show latency.
        let delay = req
            .path
            .strip_prefix("/slow/")
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
            .min(10_000);
        if delay > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
        }
        let body = format!("{{\"path\":{},\"ok\":true}}", serde_json::json!(req.path));
        (200, "application/json", body.into_bytes())
    })
    .await
}
