//! What the cases run against: the server's address and settings, and how patient to be.

use std::path::PathBuf;
use std::time::Duration;

/// Where and how to run the cases.
#[derive(Debug, Clone)]
pub struct Target {
    /// The server under test.
    pub addr: std::net::SocketAddr,
    /// The chat-client binary for client-side cases; those are skipped without it.
    pub client_bin: Option<PathBuf>,
    /// Multiplies every timeout, for slow servers or machines.
    pub timeout_scale: f64,
    /// The server's registration timeout; the timeout case waits this long, plus margin.
    pub name_timeout: Duration,
    /// The server's line limit in bytes.
    pub max_line: usize,
    /// The server's stall deadline: a client that takes no bytes for this long while lines
    /// wait for it is cut off.
    pub stall_timeout: Duration,
    /// How many connections the server-full case opens at most before giving up.
    pub max_connections: usize,
    /// For `--protocol plain`: how the server frames input, and how a user leaves.
    pub plain: crate::plain::settings::Settings,
    /// What happened to the server, when the grader watches it (a server it started).
    pub watch: Option<std::sync::Arc<crate::watch::Watch>>,
    /// The network namespace the server lives in (a pid inside it), when it has its own.
    pub ns: Option<u32>,
    /// For grading a client instead of a server: how to run it, on which display.
    pub gui: Option<std::sync::Arc<crate::gui::GuiTarget>>,
}

/// Connections the server-full case may open, unless told otherwise.
pub const DEFAULT_MAX_CONNECTIONS: usize = 2000;

impl Target {
    /// A target at `addr` with the defaults the grader's flags have: no client binary, timeouts
    /// as given, a server with the reference server's defaults, chat/1.
    pub fn new(addr: std::net::SocketAddr) -> Target {
        Target {
            addr,
            client_bin: None,
            timeout_scale: 1.0,
            name_timeout: Duration::from_secs(60),
            max_line: 4096,
            stall_timeout: Duration::from_secs(10),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            plain: Default::default(),
            watch: None,
            ns: None,
            gui: None,
        }
    }

    /// The time allowed for one expected line.
    pub fn read_timeout(&self) -> Duration {
        Duration::from_secs_f64(5.0 * self.timeout_scale)
    }

    /// How the server broke, if the grader knows it did.
    pub fn broke(&self) -> Option<crate::watch::Broke> {
        self.watch.as_ref()?.broke().map(|(b, _)| b)
    }

    /// Scales a duration by the timeout scale.
    pub fn scaled(&self, d: Duration) -> Duration {
        d.mul_f64(self.timeout_scale)
    }
}
