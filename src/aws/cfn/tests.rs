//! AWS faults through the SDK's own test doubles (aws-smithy-mocks): what
//! a user sees when AWS throttles, refuses, or finds a name taken.

use aws_config::retry::RetryConfig;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ErrorMetadata;
use aws_sdk_cloudformation::operation::create_stack::{CreateStackError, CreateStackOutput};
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::{
    DescribeStackEventsError, DescribeStackEventsOutput,
};
use aws_sdk_cloudformation::operation::describe_stacks::{
    DescribeStacksError, DescribeStacksOutput,
};
use aws_sdk_cloudformation::primitives::DateTime;
use aws_sdk_cloudformation::types::error::AlreadyExistsException;
use aws_sdk_cloudformation::types::{ResourceStatus, Stack, StackEvent, StackStatus};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};

use super::*;

pub const STACK_ID: &str = "arn:aws:cloudformation:us-east-1:1:stack/s/1";

/// A client answering from `rules`, with `attempts` tries per call.
pub fn client(rules: &[&Rule], attempts: u32) -> Cfn {
    Cfn::new(mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        rules,
        |c| c.retry_config(RetryConfig::standard().with_max_attempts(attempts))
    ))
}

/// An SDK event at second `t`.
pub fn sdk_event(
    t: i64,
    logical: &str,
    ty: &str,
    status: &str,
    reason: Option<&str>,
) -> StackEvent {
    StackEvent::builder()
        .event_id(format!("{logical}-{status}-{t}"))
        .stack_id(STACK_ID)
        .stack_name("s")
        .logical_resource_id(logical)
        .physical_resource_id(if logical == "s" {
            STACK_ID.to_string()
        } else {
            format!("{logical}-1")
        })
        .resource_type(ty)
        .timestamp(DateTime::from_secs(1_700_000_000 + t))
        .resource_status(ResourceStatus::from(status))
        .set_resource_status_reason(reason.map(String::from))
        .build()
}

fn generic<E>(code: &str, message: &str, wrap: fn(ErrorMetadata) -> E) -> E {
    wrap(ErrorMetadata::builder().code(code).message(message).build())
}

#[tokio::test]
async fn throttling_is_retried_then_succeeds() {
    let rule = mock!(Client::describe_stack_events)
        .sequence()
        .error(|| {
            generic(
                "Throttling",
                "Rate exceeded",
                DescribeStackEventsError::generic,
            )
        })
        .times(2)
        .output(|| {
            DescribeStackEventsOutput::builder()
                .stack_events(sdk_event(
                    1,
                    "s",
                    "AWS::CloudFormation::Stack",
                    "CREATE_IN_PROGRESS",
                    None,
                ))
                .build()
        })
        .build();
    let cfn = client(&[&rule], 3);
    let events = cfn.events(STACK_ID, |_| false).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test]
async fn throttling_beyond_retries_says_so() {
    let rule = mock!(Client::describe_stacks)
        .sequence()
        .error(|| generic("Throttling", "Rate exceeded", DescribeStacksError::generic))
        .repeatedly()
        .build();
    let cfn = client(&[&rule], 2);
    let err = cfn.describe("s").await.unwrap_err();
    assert_eq!(err.kind, AwsErrorKind::Throttled);
    let msg = err.to_string();
    assert!(
        msg.starts_with(
            "DescribeStacks s: Throttling: Rate exceeded (throttled even after retries"
        ),
        "{msg}"
    );
}

#[tokio::test]
async fn access_denied_on_create_names_the_call_and_stack() {
    let rule = mock!(Client::create_stack).then_error(|| {
        generic(
            "AccessDenied",
            "User: arn:aws:iam::1:user/ci is not authorized to perform: cloudformation:CreateStack",
            CreateStackError::generic,
        )
    });
    let cfn = client(&[&rule], 1);
    let err = cfn
        .create(&CreateRequest {
            token: None,
            name: "shop-1".into(),
            body: Some("{}".into()),
            ..CreateRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind, AwsErrorKind::AccessDenied);
    assert!(err.to_string().starts_with(
        "CreateStack shop-1: AccessDenied: User: arn:aws:iam::1:user/ci is not authorized"
    ));
    assert_eq!(crate::exit::Classify::exit_code(&err), crate::exit::INFRA);
}

#[tokio::test]
async fn stack_already_exists_suggests_the_way_out() {
    let rule = mock!(Client::create_stack).then_error(|| {
        CreateStackError::AlreadyExistsException(
            AlreadyExistsException::builder()
                .message("Stack [shop-1] already exists")
                .meta(
                    ErrorMetadata::builder()
                        .code("AlreadyExistsException")
                        .message("Stack [shop-1] already exists")
                        .build(),
                )
                .build(),
        )
    });
    let cfn = client(&[&rule], 1);
    let err = cfn
        .create(&CreateRequest {
            token: None,
            name: "shop-1".into(),
            body: Some("{}".into()),
            ..CreateRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind, AwsErrorKind::AlreadyExists);
    assert!(err.to_string().contains("stampede delete"), "{err}");
}

#[tokio::test]
async fn missing_stack_is_none_not_an_error() {
    let rule = mock!(Client::describe_stacks).then_error(|| {
        generic(
            "ValidationError",
            "Stack with id nope does not exist",
            DescribeStacksError::generic,
        )
    });
    let cfn = client(&[&rule], 1);
    assert_eq!(cfn.describe("nope").await.unwrap(), None);
}

#[tokio::test]
async fn create_passes_parameters_tags_and_returns_the_id() {
    let rule = mock!(Client::create_stack)
        .match_requests(|r| {
            r.parameters().len() == 1
                && r.tags().iter().any(|t| t.key() == Some("stampede:run-id"))
                && r.template_url().is_none()
        })
        .then_output(|| CreateStackOutput::builder().stack_id(STACK_ID).build());
    let cfn = client(&[&rule], 1);
    let id = cfn
        .create(&CreateRequest {
            token: None,
            name: "s".into(),
            body: Some("{}".into()),
            parameters: vec![("BeeCount".into(), "2".into())],
            tags: vec![("stampede:run-id".into(), "r".into())],
            url: None,
        })
        .await
        .unwrap();
    assert_eq!(id, STACK_ID);
}

/// Rules for a stack whose deletion fails on a non-empty bucket.
pub fn delete_failed_rules() -> Vec<Rule> {
    let events = mock!(Client::describe_stack_events).then_output(|| {
        DescribeStackEventsOutput::builder()
            .stack_events(sdk_event(
                5,
                "s",
                "AWS::CloudFormation::Stack",
                "DELETE_FAILED",
                Some("The following resource(s) failed to delete: [Logs]."),
            ))
            .stack_events(sdk_event(
                4,
                "Logs",
                "AWS::S3::Bucket",
                "DELETE_FAILED",
                Some("The bucket you tried to delete is not empty"),
            ))
            .stack_events(sdk_event(
                3,
                "Role",
                "AWS::IAM::Role",
                "DELETE_COMPLETE",
                None,
            ))
            .stack_events(sdk_event(
                2,
                "s",
                "AWS::CloudFormation::Stack",
                "DELETE_IN_PROGRESS",
                Some("User Initiated"),
            ))
            .build()
    });
    let stacks = mock!(Client::describe_stacks).then_output(|| {
        DescribeStacksOutput::builder()
            .stacks(
                Stack::builder()
                    .stack_id(STACK_ID)
                    .stack_name("s")
                    .stack_status(StackStatus::DeleteFailed)
                    .creation_time(DateTime::from_secs(1_700_000_000))
                    .build(),
            )
            .build()
    });
    let delete = mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    vec![events, stacks, delete]
}
