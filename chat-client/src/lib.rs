//! The batepapo terminal client.
//!
//! Parts and how data flows through them:
//! - [`connection`]: connects within a deadline (a refused connect becomes "the server is not
//!   running", RF11), reads server lines and writes client lines.
//! - [`registration`]: the name handshake, checking RF1 locally before the server does and
//!   asking again on `invalid-name` or `name-taken` when someone is at the keyboard (RF2).
//! - [`display`]: server events as readable text, with other users' text made safe to print.
//! - [`plain`]: line mode. A receiving thread reads the socket (RF4), a second thread reads
//!   stdin; both feed one event channel that the main loop prints and acts on.
//! - [`tui`]: full-screen mode on a terminal, with the same parts behind a ratatui screen.
//!
//! [`run`] ties them together and returns a [`ClientError`] whose [`ClientError::exit_code`]
//! the binary uses.

pub mod connection;
pub mod display;
pub mod plain;
pub mod registration;
pub mod tui;

use std::time::Duration;

/// The server address used when `--server` is not given.
pub const DEFAULT_SERVER: &str = "127.0.0.1:7777";

/// How long connecting may take before the client reports the server as unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long to wait for `BYE` after sending `/quit`.
pub const QUIT_TIMEOUT: Duration = Duration::from_secs(2);

/// What the client needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// `host:port` of the server.
    pub server: String,
    /// The name to register; asked for when absent.
    pub name: Option<String>,
    /// Whether a person is typing (stdin is a terminal): then a refused name is asked for
    /// again instead of ending the client.
    pub interactive: bool,
    /// Full-screen mode instead of line mode.
    pub full_screen: bool,
}

/// Why the client stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing is listening at the address (RF11).
    #[error("cannot connect to {addr}: the chat server is not running there")]
    NotRunning {
        /// The address given.
        addr: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The address could not be resolved or reached.
    #[error("cannot connect to {addr}")]
    Connect {
        /// The address given.
        addr: String,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The server refused the connection (e.g. `server-full`) or is not a chat/1 server.
    #[error("the server at {addr} refused the session: {reason}")]
    Refused {
        /// The address given.
        addr: String,
        /// The server's explanation.
        reason: String,
    },
    /// The name was refused and nobody is at the keyboard to choose another.
    #[error("the name {name:?} was refused: {reason}")]
    NameRefused {
        /// The refused name.
        name: String,
        /// Why.
        reason: String,
    },
    /// No name was given and none could be read.
    #[error("no name given: pass --name NAME, or type it when asked")]
    NoName,
    /// The connection broke without a `BYE`.
    #[error("lost the connection to the server")]
    Lost(#[source] std::io::Error),
    /// Reading the terminal or writing the screen failed.
    #[error("terminal input/output failed")]
    Terminal(#[source] std::io::Error),
}

impl ClientError {
    /// 1 when the chat itself said no (a refused name); 2 for usage and connection errors.
    pub fn exit_code(&self) -> u8 {
        match self {
            ClientError::NameRefused { .. } => 1,
            _ => 2,
        }
    }
}

/// Runs the client: full screen when asked for, otherwise line mode on stdin and stdout.
pub fn run(config: Config) -> Result<(), ClientError> {
    if config.full_screen {
        tui::run(config)
    } else {
        plain::run(config)
    }
}
