//! The command line: [`cli`] declares every flag (a run, `loadgen search`, `loadgen merge`,
//! gates, output files) and `run_flags` turns a run's flags into a checked
//! [`crate::Config`].

pub mod cli;
pub(crate) mod run_flags;
