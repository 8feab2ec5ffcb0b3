//! A run's figures, once: `builder` makes the one [`report::Summary`] from a run, a merge or
//! a search step, with `generator`'s check of whether loadgen itself held up (at any scale);
//! [`report`] is its JSON form; [`merge`] makes the shards of one run, each a JSON report,
//! into one.

pub(crate) mod builder;
pub(crate) mod generator;
pub mod merge;
pub mod report;
