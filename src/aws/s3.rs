//! S3: uploads of run files and downloads of results.

use std::path::Path;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;

use super::AwsError;

/// An S3 client that also knows how to spell object URLs for
/// CloudFormation's TemplateURL.
#[derive(Clone, Debug)]
pub struct S3 {
    client: Client,
    endpoint: Option<String>,
    region: String,
}

/// `s3://bucket/key`, for messages.
pub fn uri(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

/// Splits `s3://bucket/key` into its parts.
pub fn parse_uri(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("s3://")?;
    let (bucket, key) = rest.split_once('/')?;
    (!bucket.is_empty()).then_some((bucket, key))
}

impl S3 {
    /// Wraps a client; `endpoint` is the emulator's URL, if any.
    pub fn new(client: Client, endpoint: Option<String>, region: String) -> Self {
        S3 {
            client,
            endpoint,
            region,
        }
    }

    /// Uploads bytes.
    pub async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), AwsError> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("PutObject", uri(bucket, key), e))?;
        Ok(())
    }

    /// Uploads a file, streaming it.
    pub async fn put_file(&self, bucket: &str, key: &str, path: &Path) -> Result<(), AwsError> {
        let body = ByteStream::from_path(path).await.map_err(|e| AwsError {
            op: "PutObject",
            target: uri(bucket, key),
            kind: super::AwsErrorKind::Other,
            message: format!("cannot read {}: {e}", path.display()),
        })?;
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(body)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("PutObject", uri(bucket, key), e))?;
        Ok(())
    }

    /// The size of the object at `key`, or `None` when there is none.
    pub async fn size(&self, bucket: &str, key: &str) -> Result<Option<i64>, AwsError> {
        match self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(head) => Ok(Some(head.content_length().unwrap_or_default())),
            Err(e) => {
                let e = AwsError::from_sdk("HeadObject", uri(bucket, key), e);
                if e.kind == super::AwsErrorKind::NotFound {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Whether any object exists under `prefix`; also proves that the
    /// bucket is reachable with these credentials.
    pub async fn any(&self, bucket: &str, prefix: &str) -> Result<bool, AwsError> {
        let page = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .max_keys(1)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ListObjectsV2", uri(bucket, prefix), e))?;
        Ok(!page.contents().is_empty())
    }

    /// Deletes one object.
    pub async fn delete(&self, bucket: &str, key: &str) -> Result<(), AwsError> {
        self.client
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DeleteObject", uri(bucket, key), e))?;
        Ok(())
    }

    /// Keys and sizes under a prefix.
    pub async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<(String, i64)>, AwsError> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ListObjectsV2", uri(bucket, prefix), e))?;
            out.extend(page.contents().iter().map(|o| {
                (
                    o.key().unwrap_or_default().to_string(),
                    o.size().unwrap_or(0),
                )
            }));
            token = page.next_continuation_token().map(String::from);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    /// Downloads an object into memory.
    pub async fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, AwsError> {
        let out = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetObject", uri(bucket, key), e))?;
        let bytes = out.body.collect().await.map_err(|e| AwsError {
            op: "GetObject",
            target: uri(bucket, key),
            kind: super::AwsErrorKind::Other,
            message: e.to_string(),
        })?;
        Ok(bytes.into_bytes().to_vec())
    }

    /// Downloads an object to a file, streaming it.
    pub async fn get_to_file(&self, bucket: &str, key: &str, path: &Path) -> Result<(), AwsError> {
        let fail = |message: String| AwsError {
            op: "GetObject",
            target: uri(bucket, key),
            kind: super::AwsErrorKind::Other,
            message,
        };
        let out = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetObject", uri(bucket, key), e))?;
        let mut file = tokio::fs::File::create(path)
            .await
            .map_err(|e| fail(format!("cannot create {}: {e}", path.display())))?;
        let mut body = out.body.into_async_read();
        tokio::io::copy(&mut body, &mut file)
            .await
            .map_err(|e| fail(format!("cannot write {}: {e}", path.display())))?;
        Ok(())
    }

    /// The HTTPS URL CloudFormation reads a template from.
    pub fn object_url(&self, bucket: &str, key: &str) -> String {
        match &self.endpoint {
            Some(e) => format!("{}/{bucket}/{key}", e.trim_end_matches('/')),
            None => format!("https://{bucket}.s3.{}.amazonaws.com/{key}", self.region),
        }
    }
}
