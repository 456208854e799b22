//! Live metrics: the search-cluster client, JTL tailing and shipping, and
//! the live queries behind `run`'s metrics view.

pub mod batch;
pub mod doc;
pub mod es;
pub mod health;
pub mod live;
pub mod loghist;
pub mod patience;
pub mod rollup;
pub mod rollup_live;
pub mod ship;
pub mod source;
pub mod tail;
