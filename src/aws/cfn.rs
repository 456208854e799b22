//! CloudFormation: the calls stampede makes, in stampede's types.

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{Capability, OnFailure, Parameter, Tag};
use chrono::{DateTime, Utc};

use super::stack_event::StackEvent;
use super::{AwsError, AwsErrorKind};

/// What CreateStack needs.
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    /// Stack name.
    pub name: String,
    /// Template body, when small enough.
    pub body: Option<String>,
    /// Template URL in S3, when the body is too large.
    pub url: Option<String>,
    /// Parameters.
    pub parameters: Vec<(String, String)>,
    /// Tags.
    pub tags: Vec<(String, String)>,
    /// CloudFormation's idempotency token: the SDK retries a CreateStack
    /// whose answer was lost with the same token, so the retry finds the
    /// stack the first attempt made instead of leaving it orphaned.
    pub token: Option<String>,
}

/// A ClientRequestToken for a run: letters, digits and hyphens, at most
/// 128 characters, the same for every attempt of one run.
pub fn request_token(run_id: &str) -> String {
    let mut t: String = run_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(119)
        .collect();
    t.insert_str(0, "stampede-");
    t
}

/// A stack's current state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackInfo {
    /// Stack id (ARN).
    pub id: String,
    /// Stack name.
    pub name: String,
    /// Status, e.g. `CREATE_COMPLETE`.
    pub status: String,
    /// Status reason.
    pub reason: Option<String>,
    /// Tags.
    pub tags: Vec<(String, String)>,
    /// Outputs.
    pub outputs: Vec<(String, String)>,
}

/// A CloudFormation client.
#[derive(Clone, Debug)]
pub struct Cfn {
    client: Client,
}

fn time(t: Option<&aws_sdk_cloudformation::primitives::DateTime>) -> DateTime<Utc> {
    t.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
        .unwrap_or_default()
}

impl Cfn {
    /// Wraps a client.
    pub fn new(client: Client) -> Self {
        Cfn { client }
    }

    /// Creates a stack and returns its id. Failed resources are not rolled
    /// back: stampede reads why they failed, then deletes the stack itself.
    pub async fn create(&self, req: &CreateRequest) -> Result<String, AwsError> {
        let out = self
            .client
            .create_stack()
            .stack_name(&req.name)
            .set_template_body(req.body.clone())
            .set_template_url(req.url.clone())
            .set_parameters(Some(
                req.parameters
                    .iter()
                    .map(|(k, v)| {
                        Parameter::builder()
                            .parameter_key(k)
                            .parameter_value(v)
                            .build()
                    })
                    .collect(),
            ))
            .set_tags(Some(
                req.tags
                    .iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect(),
            ))
            .capabilities(Capability::CapabilityIam)
            .capabilities(Capability::CapabilityNamedIam)
            .capabilities(Capability::CapabilityAutoExpand)
            .on_failure(OnFailure::DoNothing)
            .set_client_request_token(req.token.clone())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("CreateStack", &req.name, e))?;
        Ok(out.stack_id().unwrap_or(&req.name).to_string())
    }

    /// The stack's state, or `None` when it does not exist.
    pub async fn describe(&self, stack: &str) -> Result<Option<StackInfo>, AwsError> {
        let out = match self.client.describe_stacks().stack_name(stack).send().await {
            Ok(out) => out,
            Err(e) => {
                let err = AwsError::from_sdk("DescribeStacks", stack, e);
                return match err.kind {
                    AwsErrorKind::NotFound => Ok(None),
                    _ => Err(err),
                };
            }
        };
        Ok(out.stacks().first().map(info))
    }

    /// Every stack in the region that is not deleted.
    pub async fn list(&self) -> Result<Vec<StackInfo>, AwsError> {
        let mut all = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .client
                .describe_stacks()
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("DescribeStacks", "(all stacks)", e))?;
            all.extend(out.stacks().iter().map(info));
            token = out.next_token().map(String::from);
            if token.is_none() {
                return Ok(all);
            }
        }
    }

    /// Events newer than the first one for which `seen` is true, newest
    /// first. Pages come newest first, so paging stops at a seen event.
    pub async fn events(
        &self,
        stack: &str,
        seen: impl Fn(&str) -> bool,
    ) -> Result<Vec<StackEvent>, AwsError> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .describe_stack_events()
                .stack_name(stack)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("DescribeStackEvents", stack, e))?;
            for e in page.stack_events() {
                let id = e.event_id().unwrap_or_default();
                if seen(id) {
                    return Ok(out);
                }
                out.push(StackEvent {
                    id: id.to_string(),
                    stack_id: e.stack_id().unwrap_or_default().to_string(),
                    stack_name: e.stack_name().unwrap_or_default().to_string(),
                    time: time(e.timestamp()),
                    logical_id: e.logical_resource_id().unwrap_or_default().to_string(),
                    physical_id: e.physical_resource_id().unwrap_or_default().to_string(),
                    resource_type: e.resource_type().unwrap_or_default().to_string(),
                    status: e
                        .resource_status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    reason: e.resource_status_reason().map(String::from),
                });
            }
            token = page.next_token().map(String::from);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    /// Starts deleting a stack.
    pub async fn delete(&self, stack: &str) -> Result<(), AwsError> {
        self.client
            .delete_stack()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DeleteStack", stack, e))?;
        Ok(())
    }

    /// Status of one resource, or `None` when it does not exist yet.
    pub async fn resource_status(
        &self,
        stack: &str,
        logical: &str,
    ) -> Result<Option<(String, Option<chrono::DateTime<chrono::Utc>>)>, AwsError> {
        match self
            .client
            .describe_stack_resource()
            .stack_name(stack)
            .logical_resource_id(logical)
            .send()
            .await
        {
            Ok(out) => Ok(out.stack_resource_detail().and_then(|d| {
                let at = d
                    .last_updated_timestamp()
                    .and_then(|t| chrono::DateTime::from_timestamp_millis(t.to_millis().ok()?));
                Some((d.resource_status()?.as_str().to_string(), at))
            })),
            Err(e) => {
                let err =
                    AwsError::from_sdk("DescribeStackResource", format!("{stack}/{logical}"), e);
                match err.kind {
                    AwsErrorKind::NotFound => Ok(None),
                    _ => Err(err),
                }
            }
        }
    }
}

fn info(s: &aws_sdk_cloudformation::types::Stack) -> StackInfo {
    StackInfo {
        id: s.stack_id().unwrap_or_default().to_string(),
        name: s.stack_name().unwrap_or_default().to_string(),
        status: s
            .stack_status()
            .map(|x| x.as_str().to_string())
            .unwrap_or_default(),
        reason: s.stack_status_reason().map(String::from),
        tags: s
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect(),
        outputs: s
            .outputs()
            .iter()
            .map(|o| {
                (
                    o.output_key().unwrap_or_default().to_string(),
                    o.output_value().unwrap_or_default().to_string(),
                )
            })
            .collect(),
    }
}

#[cfg(test)]
pub(crate) mod tests;
