//! Server settings: defaults, the TOML config file, and durations written like `30s`.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

/// Everything the server needs to know to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where to listen (only used by the binary, which binds before calling [`crate::run`]).
    pub listen: SocketAddr,
    /// Most connections served at once, registered or not; the next gets `ERR server-full`.
    pub max_clients: usize,
    /// Longest accepted line in bytes, terminator excluded.
    pub max_line: usize,
    /// Lines that may wait for one slow recipient before it is disconnected.
    pub queue_depth: usize,
    /// How long a new connection has to send an acceptable name.
    pub name_timeout: Duration,
    /// Sets TCP_NODELAY on client sockets: each line leaves at once instead of waiting, while
    /// earlier data is unacknowledged, to be coalesced (Nagle's algorithm).
    pub nodelay: bool,
    /// Threads that write pending lines to sockets.
    pub flushers: usize,
}

/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7777";

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: DEFAULT_LISTEN.parse().expect("valid default address"),
            max_clients: 1024,
            max_line: batepapo_protocol::DEFAULT_MAX_LINE,
            queue_depth: 1024,
            name_timeout: Duration::from_secs(60),
            nodelay: true,
            flushers: default_flushers(),
        }
    }
}

/// The contents of a `--config` file; every key is optional.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    /// Same as `--listen`.
    pub listen: Option<SocketAddr>,
    /// Same as `--max-clients`.
    pub max_clients: Option<usize>,
    /// Same as `--max-line`.
    pub max_line: Option<usize>,
    /// Same as `--queue-depth`.
    pub queue_depth: Option<usize>,
    /// Same as `--name-timeout`, e.g. `"30s"` or `"500ms"`.
    pub name_timeout: Option<String>,
    /// Same as `--nodelay`.
    pub nodelay: Option<bool>,
    /// Same as `--flushers`.
    pub flushers: Option<usize>,
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
    /// A duration that is not a number with an optional `ms`, `s` or `m` unit.
    #[error("invalid duration {0:?} (examples: 30s, 500ms, 2m)")]
    Duration(String),
    /// A setting that must be at least one.
    #[error("{0} must be at least 1")]
    Zero(&'static str),
}

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
    /// Checks the limits that would make the server useless when zero.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (value, name) in [
            (self.max_clients, "max-clients"),
            (self.max_line, "max-line"),
            (self.queue_depth, "queue-depth"),
            (self.flushers, "flushers"),
        ] {
            if value == 0 {
                return Err(ConfigError::Zero(name));
            }
        }
        if self.name_timeout.is_zero() {
            return Err(ConfigError::Zero("name-timeout"));
        }
        Ok(())
    }
}

/// Parses `30s`, `500ms`, `2m`, or a bare number of seconds (`1.5`).
pub fn parse_duration(text: &str) -> Result<Duration, ConfigError> {
    let bad = || ConfigError::Duration(text.to_string());
    let t = text.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else {
        (t, 1.0)
    };
    let value: f64 = number.trim().parse().map_err(|_| bad())?;
    if !value.is_finite() || value < 0.0 {
        return Err(bad());
    }
    Duration::try_from_secs_f64(value * scale).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_with_units() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
    }

    #[test]
    fn bad_durations_are_errors() {
        for t in ["", "s", "-1s", "ten", "1h", "NaN"] {
            assert!(parse_duration(t).is_err(), "{t:?}");
        }
    }

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
            queue_depth: 0,
            ..Config::default()
        };
        assert!(matches!(
            c.validate(),
            Err(ConfigError::Zero("queue-depth"))
        ));
        assert!(Config::default().validate().is_ok());
    }
}
