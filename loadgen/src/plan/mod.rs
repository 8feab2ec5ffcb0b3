//! What a run will do, decided before the first connection.
//!
//! [`config`] holds the run (clients, rates, sizes, phases, protocol, workers); `arrival` and
//! `schedule` turn it into each bot's planned send times, the times latency is measured
//! from; `shard` is one process's part of a run spread over several; `source` the local
//! addresses bots connect from; `clock` time zero, the shared start of sending and the
//! measured window.

pub(crate) mod arrival;
pub(crate) mod clock;
pub mod config;
pub(crate) mod schedule;
pub(crate) mod shard;
pub(crate) mod source;
