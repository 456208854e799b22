//! Live metrics: the search-cluster client, JTL tailing and shipping, and
//! the live queries behind `run`'s metrics view.

pub mod doc;
pub mod es;
pub mod health;
pub mod live;
pub mod patience;
pub mod ship;
pub mod tail;
