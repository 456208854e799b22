//! Laptop mode: the bees as local processes, a local coordinator in place
//! of wait conditions, and an optional built-in target.

pub mod coordinator;
pub mod http;
pub mod target;
