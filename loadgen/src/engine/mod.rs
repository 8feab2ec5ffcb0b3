//! The machinery that runs the plan: threads, bots and sockets.
//!
//! [`run`] is the controller, on the calling thread: it starts the `crew` of `worker`s and
//! moves them through the phases (connect ramp, barrier, warm-up, measurement, drain), passing
//! on each second as it completes. A worker is one OS thread with its own single-threaded
//! runtime, a share of the bots and one set of statistics; what its tasks share, and what the
//! controller tells them, is the `brief`. Each `bot` registers with the `handshake`,
//! sleeps on its worker's `timer` until each planned send, and reads with `reading` and
//! `recv`, which find each token and check its order (with [`crate::recording`]'s). `target`
//! embeds the reference server or finds `--server`, and `reach` checks that it greets as
//! chat/1; between the steps of a search, `settle` waits for it to catch up. `outcome` is what
//! a run gives back: the raw counts and histograms, its phases' timings, the CPU used, and
//! what can stop it.

pub(crate) mod bot;
pub(crate) mod brief;
pub(crate) mod crew;
pub(crate) mod handshake;
pub(crate) mod outcome;
pub(crate) mod reach;
pub(crate) mod reading;
pub(crate) mod recv;
pub mod run;
pub(crate) mod settle;
pub(crate) mod target;
pub(crate) mod timer;
pub(crate) mod worker;
