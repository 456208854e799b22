//! Stack lifecycle: events, phases, following and cleanup.

pub mod cleanup;
pub mod event;
pub mod follow;
pub mod phase;
pub mod roll_call;
pub mod status;

pub use follow::{Follower, Stop, Until};
