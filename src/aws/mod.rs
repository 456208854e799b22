//! Thin wrappers over the AWS SDK: one per service, exposing only the
//! calls stampede makes, returning stampede's own types. Endpoints come
//! from the SDK chain, so `AWS_ENDPOINT_URL[_<SERVICE>]` points them at an
//! emulator.

pub mod cfn;
pub mod s3;
pub mod shapes;
pub mod stack_event;
pub mod sts;
pub mod trace;
pub mod watch;

use aws_config::BehaviorVersion;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_cloudformation::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

pub use cfn::Cfn;
pub use s3::S3;
pub use sts::Sts;

/// What kind of refusal an AWS error is; callers branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsErrorKind {
    /// Still throttled after the SDK's retries.
    Throttled,
    /// Credentials lack a permission, or are invalid or expired.
    AccessDenied,
    /// The stack (or bucket) already exists.
    AlreadyExists,
    /// The stack, bucket or key does not exist.
    NotFound,
    /// Anything else.
    Other,
}

/// An AWS call that failed, naming the call and what it was on.
#[derive(Debug, thiserror::Error)]
#[error("{op} {target}: {message}{}", hint(*kind))]
pub struct AwsError {
    /// The API operation, e.g. `CreateStack`.
    pub op: &'static str,
    /// What it was called on: a stack name, an s3:// URI.
    pub target: String,
    /// The kind of failure.
    pub kind: AwsErrorKind,
    /// AWS's message, or the SDK's error chain.
    pub message: String,
}

fn hint(kind: AwsErrorKind) -> &'static str {
    match kind {
        AwsErrorKind::Throttled => {
            " (throttled even after retries: try again later or raise the account's API limits)"
        }
        AwsErrorKind::AccessDenied => {
            " (access denied: check the credentials and their IAM permissions)"
        }
        AwsErrorKind::AlreadyExists => {
            " (already exists: delete it with `stampede delete` or pick another stack name)"
        }
        AwsErrorKind::NotFound | AwsErrorKind::Other => "",
    }
}

impl crate::exit::Classify for AwsError {
    fn exit_code(&self) -> u8 {
        crate::exit::INFRA
    }
}

impl AwsError {
    /// Classifies an SDK error from operation `op` on `target`.
    pub fn from_sdk<E, R>(op: &'static str, target: impl Into<String>, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let code = err.code().unwrap_or_default().to_string();
        let message = match err.message() {
            Some(m) if !code.is_empty() => format!("{code}: {m}"),
            Some(m) => m.to_string(),
            None => DisplayErrorContext(&err).to_string(),
        };
        AwsError {
            op,
            target: target.into(),
            kind: classify(&code, &message),
            message,
        }
    }
}

fn classify(code: &str, message: &str) -> AwsErrorKind {
    match code {
        "Throttling"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "SlowDown"
        | "TooManyRequestsException" => AwsErrorKind::Throttled,
        "AccessDenied"
        | "AccessDeniedException"
        | "UnauthorizedOperation"
        | "InvalidClientTokenId"
        | "ExpiredToken"
        | "SignatureDoesNotMatch"
        | "InvalidAccessKeyId" => AwsErrorKind::AccessDenied,
        "AlreadyExistsException" | "BucketAlreadyExists" => AwsErrorKind::AlreadyExists,
        "NoSuchBucket" | "NoSuchKey" | "NotFound" => AwsErrorKind::NotFound,
        "ValidationError" if message.contains("does not exist") => AwsErrorKind::NotFound,
        _ => AwsErrorKind::Other,
    }
}

/// The clients a command needs.
pub struct Clients {
    /// CloudFormation.
    pub cfn: Cfn,
    /// S3.
    pub s3: S3,
    /// STS, to check the credentials before anything is paid for.
    pub sts: Sts,
    /// Auto Scaling and the other watching calls: the bees' scaling
    /// activities explain a fleet that did not start.
    pub watch: watch::Watch,
}

/// Every call gives up in time: a silent network path must not hang a run
/// past its own deadline. Uploads of the bee binary get longer.
pub(crate) fn timeouts(operation: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(60))
        .operation_attempt_timeout(operation)
        .operation_timeout(operation * 3)
        .build()
}

/// Loads the SDK configuration (environment, profile, emulator endpoints)
/// and builds the clients.
pub async fn connect(region: Option<&str>, profile: Option<&str>) -> anyhow::Result<Clients> {
    let sdk = load_config(region, profile).await?;
    // Adaptive retries: the event poller is the one caller that can run
    // into CloudFormation's request rate limits.
    let cfn_conf = aws_sdk_cloudformation::config::Builder::from(&sdk)
        .retry_config(RetryConfig::adaptive().with_max_attempts(8))
        .interceptor(trace::CallTrace)
        .build();
    let emulated =
        sdk.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    // Emulators answer on localhost, where virtual-host style buckets
    // (bucket.localhost) do not resolve.
    let s3_conf = aws_sdk_s3::config::Builder::from(&sdk)
        .force_path_style(emulated)
        .timeout_config(timeouts(Duration::from_secs(600)))
        .interceptor(trace::CallTrace)
        .build();
    let endpoint = std::env::var("AWS_ENDPOINT_URL_S3")
        .ok()
        .or_else(|| sdk.endpoint_url().map(str::to_string));
    let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
    Ok(Clients {
        cfn: Cfn::new(aws_sdk_cloudformation::Client::from_conf(cfn_conf)),
        s3: S3::new(aws_sdk_s3::Client::from_conf(s3_conf), endpoint, region),
        sts: Sts::new(aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(&sdk)
                .interceptor(trace::CallTrace)
                .build(),
        )),
        watch: watch::Watch::new(&sdk),
    })
}

/// Loads the SDK configuration: region, profile, credentials and the
/// `AWS_ENDPOINT_URL[_<SERVICE>]` endpoints.
pub async fn load_config(
    region: Option<&str>,
    profile: Option<&str>,
) -> anyhow::Result<aws_config::SdkConfig> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(r) = region {
        loader = loader.region(aws_config::Region::new(r.to_string()));
    }
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    let sdk = loader
        .timeout_config(timeouts(Duration::from_secs(60)))
        .load()
        .await;
    if sdk.region().is_none() {
        return Err(crate::exit::InputError(
            "no AWS region: set `region` in the blueprint, pass --region, or set AWS_REGION".into(),
        )
        .into());
    }
    Ok(sdk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_codes_users_meet() {
        assert_eq!(
            classify("Throttling", "Rate exceeded"),
            AwsErrorKind::Throttled
        );
        assert_eq!(classify("AccessDenied", "x"), AwsErrorKind::AccessDenied);
        assert_eq!(
            classify("AlreadyExistsException", "x"),
            AwsErrorKind::AlreadyExists
        );
        assert_eq!(
            classify("ValidationError", "Stack with id x does not exist"),
            AwsErrorKind::NotFound
        );
        assert_eq!(
            classify("ValidationError", "Template format error"),
            AwsErrorKind::Other
        );
    }
}
