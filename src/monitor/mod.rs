//! Correlation with the system under test: what to watch ([`spec`]), how
//! tags and stacks become CloudWatch dimensions ([`discover`]), and how
//! data points are fetched and stored ([`collect`]).

pub mod spec;

pub use spec::Spec;
pub mod collect;
pub mod discover;
pub mod query;
pub mod resolve;
pub mod store;
pub mod pass;
pub mod summary;
pub mod watcher;
pub mod live;
pub mod gate;
