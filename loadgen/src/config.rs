//! What a run does: how many bots, at what rate, against which server, for how long.

use std::net::SocketAddr;
use std::time::Duration;

/// The wire protocol the bots speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// batepapo chat/1: HELLO, name, WELCOME, MSG/PRIV lines, /quit.
    Chat1,
    /// Any line-based chat: the name is the first line, then any reply counts as registered;
    /// timestamp tokens are found anywhere in the received bytes.
    Plain,
}

/// A complete run description.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Config {
    /// The server to drive; `None` embeds the reference server on 127.0.0.1:0.
    pub server: Option<SocketAddr>,
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
}

impl Default for Config {
    fn default() -> Self {
        Config {
            server: None,
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
}

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
        Ok(())
    }

    /// Target messages per second over all bots.
    pub fn total_rate(&self) -> f64 {
        self.rate * self.clients as f64
    }
}

mod secs {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}

/// Parses `30s`, `500ms`, `2m` or a bare number of seconds, as the server's flags do.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    chat_server::config::parse_duration(s).map_err(|e| e.to_string())
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
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("fast").is_err());
    }
}
