//! A small Elasticsearch / OpenSearch client: `_bulk`, `_search` and an
//! index template; plain HTTP, basic auth (from the URL), or SigV4 for
//! Amazon OpenSearch Service domains. Credentials never reach logs: URLs
//! are shown without their password.

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::ProvideCredentials;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use url::Url;

/// A `_bulk` answer, reduced to what retries need.
#[derive(Debug, serde::Deserialize)]
pub struct BulkAnswer {
    /// Whether any item failed.
    pub errors: bool,
    /// Per item, in request order.
    #[serde(default)]
    pub items: Vec<BulkItem>,
}

/// One item of a `_bulk` answer.
#[derive(Debug, serde::Deserialize)]
pub struct BulkItem {
    /// The `index` action's outcome.
    #[serde(default)]
    pub index: Option<ItemStatus>,
}

/// An item's HTTP status.
#[derive(Debug, serde::Deserialize)]
pub struct ItemStatus {
    /// 2xx indexed; 429 and 5xx worth retrying; other 4xx rejected.
    pub status: u16,
    /// Why the item failed, when it did.
    #[serde(default)]
    pub error: Option<ItemError>,
}

/// The cluster's reason for refusing one item.
#[derive(Debug, serde::Deserialize)]
pub struct ItemError {
    /// The exception type, such as `cluster_block_exception`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The cluster's message.
    #[serde(default)]
    pub reason: String,
}

impl ItemStatus {
    /// The status and the cluster's reason, for messages.
    pub fn describe(&self) -> String {
        match &self.error {
            Some(e) => format!(
                "{} {}: {}",
                self.status,
                e.kind,
                e.reason
                    .trim_end_matches(';')
                    .chars()
                    .take(300)
                    .collect::<String>()
            ),
            None => format!("status {}", self.status),
        }
    }
}

/// What can go wrong talking to the search cluster.
#[derive(Debug, thiserror::Error)]
pub enum EsError {
    /// Connection failed, timed out, or the cluster is overloaded or down
    /// (5xx, 429): worth retrying.
    #[error("{0}")]
    Unavailable(String),
    /// The cluster refused the request (4xx): retrying will not help.
    #[error("{0}")]
    Rejected(String),
}

impl EsError {
    /// Whether retrying may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, EsError::Unavailable(_))
    }

    /// Whether the cluster answered that the index does not exist (yet:
    /// the first document creates it).
    pub fn is_index_missing(&self) -> bool {
        matches!(self, EsError::Rejected(m) if m.contains("index_not_found_exception"))
    }
}

enum Auth {
    None,
    Basic(String, Option<String>),
    SigV4 {
        region: String,
        service: &'static str,
        credentials: aws_credential_types::provider::SharedCredentialsProvider,
    },
}

/// A client for one cluster.
pub struct Es {
    http: reqwest::Client,
    base: Url,
    shown: String,
    auth: Auth,
}

/// Whether a URL is an Amazon OpenSearch Service domain (SigV4 signed).
fn aws_service(host: &str) -> Option<(&'static str, String)> {
    let service = if host.ends_with(".aoss.amazonaws.com") {
        "aoss"
    } else if host.ends_with(".es.amazonaws.com") {
        "es"
    } else {
        return None;
    };
    // <domain>.<region>.es.amazonaws.com
    let parts: Vec<&str> = host.split('.').collect();
    let region = parts.get(parts.len().saturating_sub(4))?.to_string();
    Some((service, region))
}

impl Es {
    /// A client for `url`; user:password in the URL means basic auth, an
    /// AWS domain means SigV4 with the standard credential chain.
    pub async fn connect(url: &str) -> Result<Self, EsError> {
        let mut base =
            Url::parse(url).map_err(|e| EsError::Rejected(format!("metrics URL {url:?}: {e}")))?;
        let auth = if !base.username().is_empty() {
            let user = percent(base.username());
            let pass = base.password().map(percent);
            let _ = base.set_username("");
            let _ = base.set_password(None);
            Auth::Basic(user, pass)
        } else if let Some((service, region)) = base.host_str().and_then(aws_service) {
            let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            let credentials = conf.credentials_provider().ok_or_else(|| {
                EsError::Rejected("no AWS credentials to sign OpenSearch requests".into())
            })?;
            Auth::SigV4 {
                region,
                service,
                credentials,
            }
        } else {
            Auth::None
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| EsError::Rejected(e.to_string()))?;
        Ok(Es {
            http,
            shown: base.as_str().trim_end_matches('/').to_string(),
            base,
            auth,
        })
    }

    /// The URL, without credentials, for messages.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: bytes::Bytes,
        content_type: &str,
    ) -> Result<(StatusCode, Vec<u8>), EsError> {
        let url = self
            .base
            .join(path)
            .map_err(|e| EsError::Rejected(format!("{path}: {e}")))?;
        let mut req = self
            .http
            .request(method.clone(), url.clone())
            .header("content-type", content_type);
        match &self.auth {
            Auth::None => {}
            Auth::Basic(u, p) => req = req.basic_auth(u, p.as_ref()),
            Auth::SigV4 {
                region,
                service,
                credentials,
            } => {
                for (k, v) in sign(
                    credentials,
                    region,
                    service,
                    &method,
                    &url,
                    &body,
                    content_type,
                )
                .await?
                {
                    req = req.header(k, v);
                }
            }
        }
        let what = format!("{method} {}/{path}", self.shown);
        let (sent, started) = (body.len(), std::time::Instant::now());
        let resp = req.body(body).send().await.map_err(|e| {
            let e = EsError::Unavailable(format!("{what}: {}", describe(&e)));
            tracing::debug!(target: "stampede::es", "{e}");
            e
        })?;
        let status = resp.status();
        // -v: the search-cluster boundary, names and numbers only.
        tracing::debug!(
            target: "stampede::es",
            "{what}: {status}, {sent} bytes sent, {} ms",
            started.elapsed().as_millis()
        );
        let bytes = resp.bytes().await.map_err(|e| {
            EsError::Unavailable(format!("{what}: reading the answer: {}", e.without_url()))
        })?;
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(EsError::Unavailable(format!("{what}: {status}")));
        }
        if !status.is_success() {
            let text = String::from_utf8_lossy(&bytes);
            return Err(EsError::Rejected(format!(
                "{what}: {status}: {}",
                text.chars().take(300).collect::<String>()
            )));
        }
        Ok((status, bytes.to_vec()))
    }

    /// Sends an NDJSON `_bulk` body (which must end with a newline). The
    /// answer is filtered down to what retries need: the error flag and
    /// each item's status.
    pub async fn bulk(&self, body: bytes::Bytes) -> Result<BulkAnswer, EsError> {
        let path =
            "_bulk?filter_path=errors,items.*.status,items.*.error.type,items.*.error.reason";
        let (_, bytes) = self
            .send(Method::POST, path, body, "application/x-ndjson")
            .await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| EsError::Unavailable(format!("_bulk answer is not JSON: {e}")))
    }

    /// Whether the cluster answers at all, within `within`: a `GET /`
    /// that fails to connect, times out or gets a 5xx is an error.
    pub async fn probe(&self, within: Duration) -> Result<(), EsError> {
        match tokio::time::timeout(
            within,
            self.send(Method::GET, "", bytes::Bytes::new(), "application/json"),
        )
        .await
        {
            Ok(r) => r.map(|_| ()),
            Err(_) => Err(EsError::Unavailable(format!(
                "GET {}: no answer within {}s",
                self.shown,
                within.as_secs()
            ))),
        }
    }

    /// Runs a search (aggregations) on `index`.
    pub async fn search(&self, index: &str, query: &Value) -> Result<Value, EsError> {
        let body = serde_json::to_vec(query).unwrap_or_default();
        let (_, bytes) = self
            .send(
                Method::POST,
                &format!("{index}/_search"),
                body.into(),
                "application/json",
            )
            .await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| EsError::Unavailable(format!("_search answer is not JSON: {e}")))
    }

    /// PUTs a JSON document at `path`.
    pub async fn put(&self, path: &str, doc: &Value) -> Result<(), EsError> {
        let body = serde_json::to_vec(doc).unwrap_or_default();
        self.send(Method::PUT, path, body.into(), "application/json")
            .await
            .map(|_| ())
    }
}

/// A request error with its causes ("connection refused"), without the
/// URL (which may hold a password).
fn describe(e: &reqwest::Error) -> String {
    let mut out = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "cannot connect".to_string()
    } else {
        "request failed".to_string()
    };
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out = format!("{out}: {text}");
        }
        cause = c.source();
    }
    out
}

fn percent(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map_or_else(|| s.to_string(), |(_, v)| v.into_owned())
}

async fn sign(
    credentials: &aws_credential_types::provider::SharedCredentialsProvider,
    region: &str,
    service: &str,
    method: &Method,
    url: &Url,
    body: &[u8],
    content_type: &str,
) -> Result<Vec<(String, String)>, EsError> {
    use aws_sigv4::http_request::{
        PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign,
    };
    let creds = credentials
        .provide_credentials()
        .await
        .map_err(|e| EsError::Rejected(format!("AWS credentials for OpenSearch: {e}")))?;
    let identity = creds.into();
    let mut settings = SigningSettings::default();
    if service == "aoss" {
        // OpenSearch Serverless wants the payload hash as a header too.
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .map_err(|e| EsError::Rejected(format!("signing: {e}")))?
        .into();
    let headers = [("content-type", content_type)];
    let signable = SignableRequest::new(
        method.as_str(),
        url.as_str(),
        headers.into_iter(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| EsError::Rejected(format!("signing: {e}")))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| EsError::Rejected(format!("signing: {e}")))?
        .into_parts();
    let (headers, _) = instructions.into_parts();
    Ok(headers
        .into_iter()
        .map(|h| (h.name().to_string(), h.value().to_string()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn aws_domains_get_sigv4_headers() {
        let creds =
            aws_credential_types::Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
        let provider = aws_credential_types::provider::SharedCredentialsProvider::new(creds);
        let url = Url::parse("https://search-x.eu-west-1.es.amazonaws.com/_bulk").unwrap();
        let headers = sign(
            &provider,
            "eu-west-1",
            "es",
            &Method::POST,
            &url,
            b"{}\n",
            "application/x-ndjson",
        )
        .await
        .unwrap();
        let auth = &headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .unwrap()
            .1;
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
            "{auth}"
        );
        assert!(auth.contains("/eu-west-1/es/aws4_request"), "{auth}");
        assert!(headers.iter().any(|(k, _)| k == "x-amz-date"));
        let aoss = sign(
            &provider,
            "us-east-1",
            "aoss",
            &Method::POST,
            &url,
            b"{}\n",
            "application/json",
        )
        .await
        .unwrap();
        assert!(
            aoss.iter().any(|(k, _)| k == "x-amz-content-sha256"),
            "{aoss:?}"
        );
    }

    #[tokio::test]
    async fn credentials_in_the_url_become_basic_auth_and_are_not_shown() {
        let es = Es::connect("http://admin:s3cr%40t@127.0.0.1:9200")
            .await
            .unwrap();
        assert_eq!(es.shown(), "http://127.0.0.1:9200");
        assert!(matches!(&es.auth, Auth::Basic(u, Some(p)) if u == "admin" && p == "s3cr@t"));
    }

    #[test]
    fn recognises_aws_domains() {
        assert_eq!(
            aws_service("search-x-abc.eu-west-1.es.amazonaws.com"),
            Some(("es", "eu-west-1".into()))
        );
        assert_eq!(
            aws_service("abc.us-east-1.aoss.amazonaws.com"),
            Some(("aoss", "us-east-1".into()))
        );
        assert_eq!(aws_service("localhost"), None);
    }
}
