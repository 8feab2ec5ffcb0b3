//! Whether a run passes: [`gate`] holds the default and the user's thresholds, and which of
//! them stand on a generator-bound run; [`verdict`] is the run's verdict and exit code;
//! [`baseline`] compares with an earlier report, loose on latency and tight on the server's
//! counted costs.

pub mod baseline;
pub mod gate;
pub mod verdict;
