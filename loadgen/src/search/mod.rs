//! `loadgen search`: how much a server can take, within an SLO, on this machine.
//!
//! `plan` checks the flags; [`steps`] doubles the load until the SLO breaks, bisects, and
//! confirms, judging each step (the server's fault, or the generator's); [`run`] makes each
//! step a whole run; [`report`] writes the answer, the table and the latency-versus-throughput
//! curve.

pub(crate) mod plan;
pub mod report;
pub mod run;
pub mod steps;
