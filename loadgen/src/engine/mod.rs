//! The machinery that runs the plan: threads, bots and sockets.
//!
//! [`run`] is the controller, on the calling thread: it starts the `crew` of `worker`s and
//! moves them through the phases (connect ramp, barrier, warm-up, measurement, drain), passing
//! on each second as it completes. A worker is one OS thread with its own single-threaded
//! runtime, a share of the bots and one set of statistics; what its tasks share, and what the
//! controller tells them, is the `brief`. Each `bot` registers with the `handshake`,
//! sleeps on its worker's `timer` until each planned send, and reads with `reading` and
//! `recv`, which find each `token` and check its `order`. Before a run against
//! `--server`, `reach` checks that the server greets as chat/1; between the steps of a search,
//! `settle` waits for it to catch up.

pub(crate) mod bot;
pub(crate) mod brief;
pub(crate) mod crew;
pub(crate) mod handshake;
pub(crate) mod order;
pub(crate) mod reach;
pub(crate) mod reading;
pub(crate) mod recv;
pub mod run;
pub(crate) mod settle;
pub(crate) mod timer;
pub(crate) mod token;
pub(crate) mod worker;
