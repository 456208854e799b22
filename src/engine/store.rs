//! Summaries in S3: one per build, and a pointer to the last build whose
//! gate passed, which `baseline: previous` follows.
//!
//! ```text
//! s3://BUCKET/stampede/results/JOB/BUILD/summary.json
//! s3://BUCKET/stampede/results/JOB/latest-passed.json   {"build": "...", "key": "..."}
//! ```

use serde::{Deserialize, Serialize};

use crate::aws::{AwsError, AwsErrorKind, S3};
use crate::results::Summary;

/// Where a job's summaries live.
pub struct Store<'a> {
    s3: &'a S3,
    bucket: String,
    prefix: String,
}

#[derive(Serialize, Deserialize)]
struct Pointer {
    build: String,
    key: String,
}

impl<'a> Store<'a> {
    /// The store of `job` in `bucket`.
    pub fn new(s3: &'a S3, bucket: &str, job: &str) -> Self {
        Store {
            s3,
            bucket: bucket.to_string(),
            prefix: format!("stampede/results/{}", job.trim_matches('/')),
        }
    }

    fn key(&self, build: &str) -> String {
        format!("{}/{build}/summary.json", self.prefix)
    }

    fn pointer_key(&self) -> String {
        format!("{}/latest-passed.json", self.prefix)
    }

    /// Stores a build's summary; returns its s3:// URI.
    pub async fn put(&self, build: &str, summary: &Summary) -> Result<String, AwsError> {
        let key = self.key(build);
        self.s3
            .put(&self.bucket, &key, summary.to_json().into_bytes())
            .await?;
        Ok(crate::aws::s3::uri(&self.bucket, &key))
    }

    /// Moves the `latest-passed` pointer to `build`.
    pub async fn mark_passed(&self, build: &str) -> Result<(), AwsError> {
        let body = serde_json::to_vec(&Pointer {
            build: build.to_string(),
            key: self.key(build),
        })
        .unwrap_or_default();
        self.s3.put(&self.bucket, &self.pointer_key(), body).await
    }

    /// The last passing build and its summary, or `None` before the first.
    pub async fn latest_passed(&self) -> anyhow::Result<Option<(String, Summary)>> {
        let raw = match self.s3.get(&self.bucket, &self.pointer_key()).await {
            Ok(raw) => raw,
            Err(e) if e.kind == AwsErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let uri = crate::aws::s3::uri(&self.bucket, &self.pointer_key());
        let p: Pointer = serde_json::from_slice(&raw)
            .map_err(|e| anyhow::anyhow!("{uri}: not a stampede pointer: {e}"))?;
        Ok(Some((p.build.clone(), self.get_key(&p.key).await?)))
    }

    /// A summary by key.
    pub async fn get_key(&self, key: &str) -> anyhow::Result<Summary> {
        let raw = self.s3.get(&self.bucket, key).await?;
        let uri = crate::aws::s3::uri(&self.bucket, key);
        Ok(Summary::parse(
            std::path::Path::new(&uri),
            &String::from_utf8_lossy(&raw),
        )?)
    }
}
