//! STS: who the credentials belong to, checked before the first paid call.

use aws_sdk_sts::Client;

use super::AwsError;

/// The STS calls stampede makes.
#[derive(Clone, Debug)]
pub struct Sts {
    client: Client,
}

impl Sts {
    /// Wraps a client.
    pub fn new(client: Client) -> Self {
        Sts { client }
    }

    /// The ARN the credentials act as; an error when they do not work.
    pub async fn caller(&self) -> Result<String, AwsError> {
        let out = self
            .client
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetCallerIdentity", "the credentials", e))?;
        Ok(out.arn().unwrap_or("unknown").to_string())
    }
}
