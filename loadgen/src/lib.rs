//! The batepapo load generator: hundreds of bots measuring broadcast latency.
//!
//! Parts and how data flows through them:
//! - [`config`]: what a run does (clients, rates, sizes, phases, protocol).
//! - [`run`]: the controller. It embeds the reference server unless given `--server`, starts
//!   one tokio task per bot, and moves them through the phases: connect ramp, barrier, warm-up,
//!   measurement, drain.
//! - [`bot`]: one bot. It registers, sends on an open-model schedule (each message planned in
//!   advance, latency measured from the planned time so a stalled server cannot hide its
//!   stalls), and a reader task records every [`token`] it finds in the received bytes.
//! - [`stats`]: per-bot histograms and counters (merged at the end, no locks on the hot path)
//!   and the shared completion table for "last recipient got it" times.
//! - [`report`]: merged figures, validity checks, a table, JSON and `.hgrm` output.
//! - [`gate`]: thresholds and baseline comparison for CI.
//! - [`cpu`]: the generator's own CPU share, to tell when it interferes with the server.
//! - [`rng`]: the seeded generator behind schedules and private targets.

pub mod bot;
pub mod config;
pub mod cpu;
pub mod gate;
pub mod hlog;
pub mod html;
pub mod recv;
pub mod report;
pub mod run;
pub mod schedule;
pub mod series;
pub mod stats;
pub mod svg;
pub mod table;
pub mod token;
pub mod worker;

pub use config::{Config, Protocol};
pub use report::Summary;
