//! What a run measures while it runs, per worker, merged exactly at the end.
//!
//! Each message carries a `token` (its sender, sequence number and planned send time) and each
//! receiver checks their `order`; `stats` holds each worker's histograms, counts and
//! completion table and their merge; [`series`] the run second by second (each worker's
//! `Interval`s); `histograms` the distributions, named once; `cpu` the generator's and the
//! embedded server's CPU time; `server_cost` the server's CPU, sends and bytes per delivery,
//! and its threads and memory per client.

pub(crate) mod cpu;
pub(crate) mod histograms;
pub(crate) mod order;
pub mod series;
pub(crate) mod server_cost;
pub(crate) mod stats;
pub(crate) mod token;
