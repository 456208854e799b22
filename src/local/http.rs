//! Just enough HTTP/1.1 for laptop mode: the coordinator the bees signal,
//! and the built-in target the quickstart loads. Keep-alive, bodies by
//! Content-Length, nothing else.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A parsed request.
#[derive(Debug)]
pub struct Request {
    /// GET, PUT, ...
    pub method: String,
    /// Path and query.
    pub path: String,
    /// The body.
    pub body: Vec<u8>,
}

/// A response: status, content type, body.
pub type Response = (u16, &'static str, Vec<u8>);

/// Largest body accepted; signals and test requests are small.
const MAX_BODY: usize = 1 << 20;

/// Serves `handler` on 127.0.0.1:`port` (0: any free port) until the
/// returned task is aborted.
pub async fn serve<F, Fut>(
    port: u16,
    handler: F,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)>
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send,
{
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let handler = Arc::new(handler);
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let handler = handler.clone();
            tokio::spawn(async move {
                let _ = connection(stream, handler.as_ref()).await;
            });
        }
    });
    Ok((addr, task))
}

async fn connection<F, Fut>(stream: TcpStream, handler: &F) -> std::io::Result<()>
where
    F: Fn(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
            return Ok(());
        };
        let (method, path) = (method.to_string(), path.to_string());
        let mut length = 0usize;
        let mut close = false;
        loop {
            line.clear();
            if reader.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((k, v)) = header.split_once(':') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
                if k == "content-length" {
                    length = v.parse().unwrap_or(0).min(MAX_BODY);
                } else if k == "connection" && v.eq_ignore_ascii_case("close") {
                    close = true;
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await?;
        let (status, content_type, payload) = handler(Request { method, path, body }).await;
        let head = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
            if status < 400 { "OK" } else { "Error" },
            payload.len()
        );
        write.write_all(head.as_bytes()).await?;
        write.write_all(&payload).await?;
        if close {
            return Ok(());
        }
    }
}
