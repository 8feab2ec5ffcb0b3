//! What a run does: how many bots, at what rate, against which server, for how long.

use std::fmt;
use std::time::Duration;

use chat_server::config::WriteMode;

use crate::plan::schedule::Arrival;
pub use crate::plan::shard::{parse_start_at, Shard};

/// The wire protocol the bots speak.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
pub enum Protocol {
    /// batepapo chat/1: HELLO, name, WELCOME, MSG/PRIV lines, /quit.
    #[value(name = "chat/1", alias = "chat1")]
    #[serde(rename = "chat/1")]
    Chat1,
    /// Any line-based chat: the name is the first line, then any reply counts as registered;
    /// timestamp tokens are found anywhere in the received bytes.
    #[serde(rename = "plain")]
    Plain,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Chat1 => "chat/1",
            Protocol::Plain => "plain",
        })
    }
}

/// A complete run description.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Config {
    /// The server to drive, as `HOST:PORT`; `None` embeds the reference server on 127.0.0.1:0.
    pub server: Option<String>,
    /// Local addresses the bots connect from, in turn (`--source-addresses`); empty lets the
    /// system choose.
    pub source_addresses: Vec<std::net::IpAddr>,
    /// Worker threads; `None` picks by the machine's cores and where the server runs.
    pub workers: Option<usize>,
    /// How sends are spaced in time.
    pub arrival: Arrival,
    /// Bots.
    pub clients: usize,
    /// New connections per second during the connect ramp.
    pub connect_rate: f64,
    /// Messages per second per bot.
    pub rate: f64,
    /// Bytes of text per message (the token plus padding).
    pub size: usize,
    /// Fraction of messages sent privately to one random other bot.
    pub private_ratio: f64,
    /// Seed for schedules and private targets.
    pub seed: u64,
    /// Sending before the measurement, excluded from the figures.
    #[serde(with = "secs")]
    pub warmup: Duration,
    /// The measured sending phase.
    #[serde(with = "secs")]
    pub duration: Duration,
    /// How long to wait for late deliveries after sending stops.
    #[serde(with = "secs")]
    pub drain: Duration,
    /// Time allowed to connect and register one bot.
    #[serde(with = "secs")]
    pub connect_timeout: Duration,
    /// The protocol spoken.
    pub protocol: Protocol,
    /// TCP_NODELAY on the embedded server's sockets.
    pub embed_nodelay: bool,
    /// How the embedded server writes: batched, or one send per line (to measure the cost).
    pub embed_write_mode: WriteMode,
    /// The server's process on this machine, for its CPU, threads and memory; `None` looks
    /// for the process listening on a loopback `--server` port.
    pub server_pid: Option<u32>,
    /// The server's Prometheus endpoint, `HOST:PORT`, for its socket sends and bytes written.
    pub server_metrics: Option<String>,
    /// Which part of a run spread over several processes this one is.
    pub shard: Shard,
    /// When sending starts, seconds since the Unix epoch (wall clock); `None` starts as soon as
    /// every bot has registered. Every shard of a run needs the same one.
    pub start_at: Option<f64>,
    /// Holds the generator back on purpose: each worker's thread blocks this many µs after
    /// every send, so that the generator-bound checks can be tested against a generator known
    /// to be the limit. 0 (always, outside such tests).
    #[serde(default)]
    pub hold_back_us: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            server: None,
            source_addresses: Vec::new(),
            workers: None,
            arrival: Arrival::Fixed,
            clients: 100,
            connect_rate: 500.0,
            rate: 1.0,
            size: 64,
            private_ratio: 0.0,
            seed: 1,
            warmup: Duration::from_secs(2),
            duration: Duration::from_secs(10),
            drain: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(10),
            protocol: Protocol::Chat1,
            embed_nodelay: chat_server::Config::default().nodelay,
            embed_write_mode: WriteMode::Batched,
            server_pid: None,
            server_metrics: None,
            shard: Shard::default(),
            start_at: None,
            hold_back_us: 0,
        }
    }
}

/// A setting that cannot work.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    /// Fewer than two bots: nobody would receive anything.
    #[error("--clients must be at least 2")]
    TooFewClients,
    /// A rate that is not a positive number.
    #[error("{0} must be a positive number")]
    Rate(&'static str),
    /// A ratio outside [0, 1].
    #[error("--private-ratio must be between 0 and 1")]
    Ratio,
    /// Private messages need chat/1.
    #[error("--private-ratio needs --protocol chat1: plain servers have no private messages")]
    PrivatePlain,
    /// The message cannot hold its token.
    #[error("--size must be at least {0} bytes to hold the timestamp token")]
    Size(usize),
    /// No measurement.
    #[error("--duration must be more than zero")]
    Duration,
    /// Messages the embedded server would refuse, every one of them.
    #[error(
        "--size {size} does not fit the embedded server's line limit: a message line may hold \
         {limit} bytes{private}, so every message would be refused with ERR line-too-long"
    )]
    SizeOverLimit {
        /// The size asked for.
        size: usize,
        /// The most that fits.
        limit: usize,
        /// Explains the room taken by the private prefix, when there is one.
        private: &'static str,
    },
    /// No workers.
    #[error("--workers must be at least 1")]
    Workers,
    /// Shards need a common start and a server they all reach.
    #[error(
        "--shard {0} needs --start-at (the same wall-clock time for every shard) and --server \
         (the one server every shard drives)"
    )]
    ShardAlone(Shard),
    /// More shards than bots.
    #[error("--shard {0}: more shards than --clients")]
    ShardTooMany(Shard),
}

/// Room a private message's `@name ` prefix takes: `@`, a bot name (`lg` + 4 hex digits + `_` +
/// up to 7 digits of index) and a space.
pub const PRIVATE_PREFIX: usize = 1 + 14 + 1;

/// The smallest `--size` that always holds a token.
pub const MIN_SIZE: usize = 48;

impl Config {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.clients < 2 {
            return Err(ConfigError::TooFewClients);
        }
        for (v, name) in [(self.rate, "--rate"), (self.connect_rate, "--connect-rate")] {
            if !(v.is_finite() && v > 0.0) {
                return Err(ConfigError::Rate(name));
            }
        }
        if !(0.0..=1.0).contains(&self.private_ratio) {
            return Err(ConfigError::Ratio);
        }
        if self.private_ratio > 0.0 && self.protocol == Protocol::Plain {
            return Err(ConfigError::PrivatePlain);
        }
        if self.size < MIN_SIZE {
            return Err(ConfigError::Size(MIN_SIZE));
        }
        if self.duration.is_zero() {
            return Err(ConfigError::Duration);
        }
        if self.workers == Some(0) {
            return Err(ConfigError::Workers);
        }
        if self.shard.is_sharded() && (self.start_at.is_none() || self.server.is_none()) {
            return Err(ConfigError::ShardAlone(self.shard));
        }
        if self.shard.count as usize > self.clients {
            return Err(ConfigError::ShardTooMany(self.shard));
        }
        if self.server.is_none() {
            let (limit, private) = if self.private_ratio > 0.0 {
                (
                    self.embedded_server().max_line - PRIVATE_PREFIX,
                    " after the private message's @name prefix",
                )
            } else {
                (self.embedded_server().max_line, "")
            };
            if self.size > limit {
                return Err(ConfigError::SizeOverLimit {
                    size: self.size,
                    limit,
                    private,
                });
            }
        }
        Ok(())
    }

    /// The embedded reference server's settings for this run.
    pub fn embedded_server(&self) -> chat_server::Config {
        chat_server::Config {
            listen: "127.0.0.1:0".parse().expect("valid address"),
            max_clients: self.clients + 64,
            nodelay: self.embed_nodelay,
            write_mode: self.embed_write_mode,
            ..chat_server::Config::default()
        }
    }

    /// Worker threads: as asked, or by default half the cores when the server shares this
    /// machine (embedded, or a loopback address) so that it keeps the rest, and every core
    /// otherwise.
    pub fn workers_for(&self, server_is_local: bool) -> usize {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        self.workers
            .unwrap_or(if server_is_local { cores / 2 } else { cores })
            .clamp(1, self.shard.bot_count(self.clients).max(1))
    }

    /// Target messages per second over all bots.
    pub fn total_rate(&self) -> f64 {
        self.rate * self.clients as f64
    }
}

mod secs {
    use serde::Deserialize;

    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<std::time::Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        std::time::Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(Config::default().validate(), Ok(()));
    }

    #[test]
    fn private_messages_need_chat1() {
        let c = Config {
            private_ratio: 0.5,
            protocol: Protocol::Plain,
            ..Config::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::PrivatePlain));
    }

    #[test]
    fn tiny_messages_are_refused() {
        let c = Config {
            size: 10,
            ..Config::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::Size(MIN_SIZE)));
    }

    #[test]
    fn sizes_the_embedded_server_refuses_are_refused_before_the_run() {
        let limit = Config::default().embedded_server().max_line;
        let fits = Config {
            size: limit,
            ..Config::default()
        };
        assert_eq!(fits.validate(), Ok(()));
        let big = Config {
            size: limit + 1,
            ..Config::default()
        };
        assert!(matches!(
            big.validate(),
            Err(ConfigError::SizeOverLimit { .. })
        ));
        let private = Config {
            size: limit,
            private_ratio: 0.1,
            ..Config::default()
        };
        assert!(matches!(
            private.validate(),
            Err(ConfigError::SizeOverLimit { .. })
        ));
        let elsewhere = Config {
            server: Some("127.0.0.1:1".into()),
            ..big
        };
        assert_eq!(
            elsewhere.validate(),
            Ok(()),
            "another server's limit is unknown"
        );
    }

    #[test]
    fn a_shard_needs_a_common_start() {
        let s = Shard { index: 1, count: 3 };
        let alone = Config {
            shard: s,
            ..Config::default()
        };
        assert_eq!(alone.validate(), Err(ConfigError::ShardAlone(s)));
    }

    #[test]
    fn protocol_is_shown_as_users_write_it() {
        assert_eq!(Protocol::Chat1.to_string(), "chat/1");
        assert_eq!(
            serde_json::to_string(&Protocol::Chat1).unwrap(),
            "\"chat/1\""
        );
    }

    #[test]
    fn workers_default_to_half_the_cores_for_a_local_server() {
        let c = Config::default();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(c.workers_for(true), (cores / 2).max(1));
        assert_eq!(c.workers_for(false), cores.min(c.clients));
        let asked = Config {
            workers: Some(3),
            ..Config::default()
        };
        assert_eq!(asked.workers_for(true), 3);
    }
}
