//! Server settings: defaults, the TOML config file, durations written like `30s` and sizes
//! written like `32MiB`.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

/// Everything the server needs to know to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where to listen (only used by the binary, which binds before calling [`crate::run`]).
    pub listen: SocketAddr,
    /// Most connections served at once, registered or not. When they are all taken, the oldest
    /// connection that has not registered makes room; only when registered users take them
    /// all does the next get `ERR server-full`.
    pub max_clients: usize,
    /// Most connections one address may hold, registered or not; the next from it gets
    /// `ERR too-many-connections`. Loopback addresses are exempt unless `limit_loopback`.
    pub max_per_address: usize,
    /// Applies `max_per_address` to loopback addresses too (127.0.0.0/8, ::1). Off by default:
    /// local tools (the load generator, the grader, tests) open hundreds of connections from
    /// one loopback address, and whoever can connect from loopback is already on this machine.
    pub limit_loopback: bool,
    /// Most connections that may wait for a name at once; `None` is half of `max_clients`
    /// (see [`Config::max_unregistered`]). Past it, the oldest of them is dropped with
    /// `ERR timeout`.
    pub max_unregistered: Option<usize>,
    /// Longest accepted line in bytes, terminator excluded.
    pub max_line: usize,
    /// A client that lines have waited for, and that took no bytes for this long, is cut off.
    pub stall_timeout: Duration,
    /// Most bytes that may wait for one client; past it the client is cut off.
    pub max_backlog: usize,
    /// Most bytes that may wait for all clients together; `None` derives it from
    /// `max_clients` (see [`Config::backlog_budget`]).
    pub backlog_budget: Option<usize>,
    /// Bytes waiting for clients that are reading past which senders are slowed; `None` is a
    /// quarter of the budget.
    pub flood_watermark: Option<usize>,
    /// How long a new connection has to send an acceptable name.
    pub name_timeout: Duration,
    /// Sets TCP_NODELAY on client sockets: each line leaves at once instead of waiting, while
    /// earlier data is unacknowledged, to be coalesced (Nagle's algorithm).
    pub nodelay: bool,
    /// Threads that write pending lines to sockets.
    pub flushers: usize,
    /// Where to serve the figures in the Prometheus text format (`GET /metrics`); `None`
    /// serves none (they are still counted, and an embedding program can read them).
    pub metrics: Option<SocketAddr>,
    /// How much one `send` may carry.
    pub write_mode: WriteMode,
}

/// How much one `send` system call may carry.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum WriteMode {
    /// Everything pending for a client in one call: under load the lines for a client pile up
    /// while a flusher serves the others, so the cost per line falls as the load rises.
    #[default]
    Batched,
    /// One call per line per recipient, the design before batching. It exists to measure what
    /// batching saves and to prove that the CI gate catches its return; never use it to serve.
    PerLine,
}

/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7777";

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: DEFAULT_LISTEN.parse().expect("valid default address"),
            max_clients: 1024,
            max_per_address: 16,
            limit_loopback: false,
            max_unregistered: None,
            max_line: batepapo_protocol::DEFAULT_MAX_LINE,
            stall_timeout: Duration::from_secs(10),
            max_backlog: 32 << 20,
            backlog_budget: None,
            flood_watermark: None,
            name_timeout: Duration::from_secs(60),
            nodelay: true,
            flushers: default_flushers(),
            metrics: None,
            write_mode: WriteMode::Batched,
        }
    }
}

/// The contents of a `--config` file; every key is optional.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    /// Same as `--listen`.
    pub listen: Option<SocketAddr>,
    /// Same as `--max-clients`.
    pub max_clients: Option<usize>,
    /// Same as `--max-per-address`.
    pub max_per_address: Option<usize>,
    /// Same as `--limit-loopback`.
    pub limit_loopback: Option<bool>,
    /// Same as `--max-unregistered`.
    pub max_unregistered: Option<usize>,
    /// Same as `--max-line`.
    pub max_line: Option<usize>,
    /// Same as `--stall-timeout`, e.g. `"10s"`.
    pub stall_timeout: Option<String>,
    /// Same as `--max-backlog`, e.g. `"32MiB"`.
    pub max_backlog: Option<String>,
    /// Same as `--backlog-budget`, e.g. `"256MiB"`.
    pub backlog_budget: Option<String>,
    /// Same as `--flood-watermark`, e.g. `"64MiB"`.
    pub flood_watermark: Option<String>,
    /// Removed: refused with an explanation.
    pub queue_depth: Option<toml::Value>,
    /// Same as `--name-timeout`, e.g. `"30s"` or `"500ms"`.
    pub name_timeout: Option<String>,
    /// Same as `--nodelay`.
    pub nodelay: Option<bool>,
    /// Same as `--flushers`.
    pub flushers: Option<usize>,
    /// Same as `--metrics`.
    pub metrics: Option<SocketAddr>,
    /// Same as `--write-mode`: `"batched"` or `"per-line"`.
    pub write_mode: Option<WriteMode>,
}

/// Why a config could not be loaded or is not usable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}")]
    Read {
        /// The file named by `--config`.
        path: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML for this config.
    #[error("invalid config file {path}")]
    Parse {
        /// The file named by `--config`.
        path: String,
        /// What the TOML parser said.
        #[source]
        source: toml::de::Error,
    },
    /// A duration or size that cannot be read.
    #[error(transparent)]
    Unit(#[from] batepapo_units::UnitError),
    /// A setting that must be at least one.
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    /// Two settings that do not fit together.
    #[error("{0}")]
    Inconsistent(String),
    /// A setting that no longer exists.
    #[error("{0} was removed: {1}")]
    Removed(&'static str, &'static str),
}

/// Why `queue-depth` went, for the error that names it.
pub const QUEUE_DEPTH_GONE: &str = "backlogs are now bounded in bytes and time, not lines; \
     use --max-backlog (bytes per client) and --stall-timeout (how long a client may take nothing)";

impl FileConfig {
    /// Reads and parses a TOML config file.
    pub fn load(path: &Path) -> Result<FileConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.display().to_string(),
            source,
        })
    }
}

/// Half the cores (at least one): the other half reads clients and runs everything else.
pub fn default_flushers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get().div_ceil(2))
        .unwrap_or(1)
        .clamp(1, 8)
}

impl Config {
    /// The total budget for backlogs: the configured one, or 256 KiB per client the server
    /// admits, and at least room for four clients at the per-client cap.
    pub fn backlog_budget(&self) -> usize {
        self.backlog_budget.unwrap_or_else(|| {
            self.max_clients
                .saturating_mul(256 << 10)
                .max(self.max_backlog.saturating_mul(4))
        })
    }

    /// Most connections that may wait for a name at once: the configured number, or half of
    /// `max_clients` (at least one).
    pub fn max_unregistered(&self) -> usize {
        self.max_unregistered
            .unwrap_or_else(|| (self.max_clients / 2).max(1))
    }

    /// Whether `max_per_address` applies to connections from `ip` (loopback only with
    /// `limit_loopback`).
    pub fn limits_address(&self, ip: std::net::IpAddr) -> bool {
        self.limit_loopback || !ip.to_canonical().is_loopback()
    }

    /// The registration deadline while connections waiting for a name take more than half
    /// their share: a sixth of the usual one, at least 2 s (10 s for the default 60 s).
    pub fn pressured_name_timeout(&self) -> Duration {
        (self.name_timeout / 6)
            .max(Duration::from_secs(2))
            .min(self.name_timeout)
    }

    /// The flood watermark: the configured one, or a quarter of the budget.
    pub fn flood_watermark(&self) -> usize {
        self.flood_watermark
            .unwrap_or_else(|| self.backlog_budget() / 4)
    }

    /// Checks the limits that would make the server useless when zero, or contradict each other.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (value, name) in [
            (self.max_clients, "max-clients"),
            (self.max_per_address, "max-per-address"),
            (self.max_unregistered(), "max-unregistered"),
            (self.max_line, "max-line"),
            (self.flushers, "flushers"),
            (self.flood_watermark(), "flood-watermark"),
        ] {
            if value == 0 {
                return Err(ConfigError::Zero(name));
            }
        }
        for (value, name) in [
            (self.name_timeout, "name-timeout"),
            (self.stall_timeout, "stall-timeout"),
        ] {
            if value.is_zero() {
                return Err(ConfigError::Zero(name));
            }
        }
        let inconsistent = |text: String| Err(ConfigError::Inconsistent(text));
        if self.max_unregistered() > self.max_clients {
            return inconsistent(format!(
                "max-unregistered ({}) must not exceed max-clients ({})",
                self.max_unregistered(),
                self.max_clients
            ));
        }
        // A server line is at most the line limit plus its tag and the sender's name.
        let longest = self.max_line + 64;
        if self.max_backlog < longest {
            return inconsistent(format!(
                "max-backlog ({} bytes) must hold at least one line ({longest} bytes)",
                self.max_backlog
            ));
        }
        if self.backlog_budget() < self.max_backlog {
            return inconsistent(format!(
                "backlog-budget ({} bytes) must be at least max-backlog ({} bytes)",
                self.backlog_budget(),
                self.max_backlog
            ));
        }
        if self.flood_watermark() > self.backlog_budget() {
            return inconsistent(format!(
                "flood-watermark ({} bytes) must not exceed backlog-budget ({} bytes)",
                self.flood_watermark(),
                self.backlog_budget()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_config_reads_kebab_case_keys() {
        let f: FileConfig =
            toml::from_str("listen = \"127.0.0.1:9000\"\nmax-clients = 3\nname-timeout = \"2s\"")
                .unwrap();
        assert_eq!(f.listen, Some("127.0.0.1:9000".parse().unwrap()));
        assert_eq!(f.max_clients, Some(3));
        assert_eq!(f.name_timeout.as_deref(), Some("2s"));
    }

    #[test]
    fn file_config_refuses_unknown_keys() {
        assert!(toml::from_str::<FileConfig>("max_client = 3").is_err());
    }

    #[test]
    fn zero_limits_are_refused() {
        let c = Config {
            stall_timeout: Duration::ZERO,
            ..Config::default()
        };
        assert!(matches!(
            c.validate(),
            Err(ConfigError::Zero("stall-timeout"))
        ));
        assert!(Config::default().validate().is_ok());
    }

    #[test]
    fn the_budget_defaults_to_a_share_per_client_and_room_for_four_capped_clients() {
        let c = Config::default();
        assert_eq!(c.backlog_budget(), 1024 * (256 << 10));
        assert_eq!(c.flood_watermark(), c.backlog_budget() / 4);
        let small = Config {
            max_clients: 10,
            ..Config::default()
        };
        assert_eq!(small.backlog_budget(), 4 * (32 << 20));
    }

    #[test]
    fn limits_that_contradict_each_other_are_refused() {
        let tiny_cap = Config {
            max_backlog: 100,
            ..Config::default()
        };
        assert!(matches!(
            tiny_cap.validate(),
            Err(ConfigError::Inconsistent(_))
        ));
        let budget_below_cap = Config {
            backlog_budget: Some(1 << 20),
            ..Config::default()
        };
        assert!(matches!(
            budget_below_cap.validate(),
            Err(ConfigError::Inconsistent(_))
        ));
        let watermark_above_budget = Config {
            flood_watermark: Some(usize::MAX),
            ..Config::default()
        };
        assert!(matches!(
            watermark_above_budget.validate(),
            Err(ConfigError::Inconsistent(_))
        ));
    }
}
