//! Correlation with the system under test: what to watch ([`spec`]), how
//! tags and stacks become CloudWatch dimensions ([`discover`]), and how
//! data points are fetched and stored ([`collect`]).

pub mod spec;

pub use spec::Spec;
pub mod collect;
pub mod discover;
pub mod gate;
pub mod live;
pub mod pass;
pub mod query;
pub mod resolve;
pub mod store;
pub mod summary;
pub mod watcher;
