//! The command line: [`cli`] declares every flag (a run, `loadgen search`, `loadgen merge`,
//! gates, output files), `run_flags` turns a run's flags into a checked [`crate::Config`],
//! and [`search`] holds `loadgen search`'s.

pub mod cli;
pub(crate) mod run_flags;
pub mod search;
