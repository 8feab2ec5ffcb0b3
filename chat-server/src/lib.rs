//! The batepapo reference chat server: one thread per client on `std::net`.
//!
//! Parts and how data flows through them:
//! - [`server`]: the accept loop. Each connection gets an [`outbox::Outbox`] and a session
//!   thread; the loop also turns clients away when full and runs the shutdown sequence.
//! - [`session`]: one client's thread. It reads lines (framed by the protocol crate's
//!   `LineDecoder`), registers the name, then turns each command into lines for others.
//! - [`registry`]: who is connected. Joins and leaves are decided under its lock together with
//!   the lines that announce them; broadcasts take a cheap snapshot and deliver outside it.
//! - [`outbox`]: a recipient's bounded buffer. A broadcast only appends to it; the
//!   [`flusher`] pool writes whole buffers with non-blocking sends, batching under load. When a
//!   socket is full the connection's own writer thread drains the backlog, and a recipient that
//!   stops reading is cut off instead of slowing anyone down.
//! - [`shutdown`]: the handle that stops the accept loop.
//! - [`config`] and [`cli`]: settings from defaults, a TOML file and flags.
//!
//! Embed it with [`RunningServer::start`], or call [`run`] with a bound listener.

pub mod cli;
pub mod config;
pub mod flusher;
pub mod outbox;
pub mod registry;
pub mod server;
mod session;
pub mod shutdown;

pub use config::{Config, ConfigError};
pub use server::{bind, run, RunningServer, ServerError};
pub use shutdown::Shutdown;
