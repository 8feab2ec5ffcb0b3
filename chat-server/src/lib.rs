//! The batepapo reference chat server: one thread per client on `std::net`.
//!
//! Parts and how data flows through them:
//! - [`server`]: the accept loop and the shutdown sequence; [`RunningServer`] embeds it.
//! - `admission`: who gets a slot: per-address limits, a share for connections that have not
//!   registered (the oldest dropped first), refusals answered without a thread.
//! - `connection`: a connection's life: admitted or turned away, served by its session thread,
//!   then closed the one way its ending calls for (BYE and linger, close now, or at shutdown
//!   the shutdown sequence's BYE and a linger of its own). `linger`: closing without a reset,
//!   so that a peer still sending does not lose its last line.
//! - `session`: one client's thread. It reads lines (framed by the protocol crate's
//!   `LineDecoder`), registers the name, then turns each command into lines for others, and
//!   returns how it ended.
//! - [`registry`]: who is connected. Joins and leaves are decided under its lock together with
//!   the lines that announce them; broadcasts take a cheap snapshot and deliver outside it.
//! - [`outbox`]: a recipient's buffer. A broadcast only appends to it; the [`flusher`] pool
//!   writes with non-blocking sends, batching under load; a full socket is parked with the
//!   [`poller`] until it has room. No connection has a writer thread of its own.
//! - [`budget`] and `monitor`: the backlog policy. Every byte waiting is counted; a client that
//!   takes nothing for the stall deadline, passes the per-client cap, or is the longest-stalled
//!   when the total passes the budget is cut off; floods make sessions read input later.
//! - [`delivery`]: what all outboxes share (flushers, poller, budget); [`line`]: an encoded line
//!   and the non-blocking send, a leaf everything writes through.
//! - [`metrics`]: what the server counts (system calls, lines, bytes, connections, threads),
//!   always on; `exporter` serves it over HTTP for `--metrics`.
//! - `shared`: the state every thread shares; [`shutdown`]: the handle that stops the loop.
//! - `sync`: the server's locks and **the one order they are taken in**; test builds check
//!   that order on every acquisition and abort on an inversion.
//! - [`config`] and [`cli`]: settings from defaults, a TOML file and flags.
//!
//! Embed it with [`RunningServer::start`], or call [`run`] with a bound listener.

pub mod admission;
pub mod budget;
pub mod cli;
pub mod config;
mod connection;
pub mod delivery;
mod exporter;
pub mod flusher;
pub mod line;
mod linger;
pub mod metrics;
mod monitor;
pub mod outbox;
pub mod poller;
pub mod registry;
pub mod server;
mod session;
mod shared;
pub mod shutdown;
mod sync;

pub use budget::BacklogStats;
pub use config::{Config, ConfigError};
pub use metrics::Snapshot;
pub use server::{bind, run, run_with, RunningServer, ServerError};
pub use shutdown::Shutdown;
