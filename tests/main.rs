//! Integration tests: the real binary, against real services where users
//! meet them (LocalStack for CloudFormation and S3).

mod support;

mod analyze;
mod bees;
mod gate;
mod lifecycle;
mod lint;
mod monitor;
mod render;
mod shipping;
mod stacks;
