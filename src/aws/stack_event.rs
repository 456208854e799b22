//! A CloudFormation stack event as stampede's own type: what the SDK
//! wrapper returns, and what the stack lifecycle and the run's event feed
//! carry.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// One CloudFormation stack event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackEvent {
    /// CloudFormation's event id.
    pub id: String,
    /// The stack the event belongs to (an ARN).
    pub stack_id: String,
    /// That stack's name.
    pub stack_name: String,
    /// When it happened.
    pub time: DateTime<Utc>,
    /// Logical id of the resource (the stack's own name for stack events).
    pub logical_id: String,
    /// Physical id; may be a presigned URL, so never printed as is.
    #[serde(skip)]
    pub physical_id: String,
    /// Resource type, e.g. `AWS::EC2::Instance`.
    pub resource_type: String,
    /// Status, e.g. `CREATE_COMPLETE`.
    pub status: String,
    /// Reason, when CloudFormation gives one.
    pub reason: Option<String>,
}

/// The resource type of stacks, nested or not.
pub const STACK_TYPE: &str = "AWS::CloudFormation::Stack";

impl StackEvent {
    /// Whether this event is about a stack itself (not one of its
    /// resources).
    pub fn is_stack_event(&self) -> bool {
        self.resource_type == STACK_TYPE && self.physical_id == self.stack_id
    }

    /// A nested stack this event reveals: a stack resource whose physical
    /// id is another stack's ARN.
    pub fn nested_stack(&self) -> Option<&str> {
        (self.resource_type == STACK_TYPE
            && self.physical_id != self.stack_id
            && self.physical_id.starts_with("arn:"))
        .then_some(self.physical_id.as_str())
    }
}
