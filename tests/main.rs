//! Integration tests: the real binary, against real services where users
//! meet them (LocalStack for CloudFormation and S3).

mod support;

mod analyze;
mod bee_binary;
mod bees;
mod beesum;
mod ending;
mod external_jtl;
mod gate;
mod laptop;
mod lifecycle;
mod lint;
mod monitor;
mod plans;
mod render;
mod report;
mod rollup;
mod shipping;
mod stacks;
mod transactions;
mod trust;
mod userdata;
