//! Command-line flags, merged over the `--config` file and the defaults (flags win).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

use crate::config::{parse_duration, Config, ConfigError, FileConfig};

/// The batepapo reference chat server (protocol chat/1).
///
/// One thread per client. Clients connect with TCP, send their name, then chat: a plain line
/// goes to everyone, "@name text" to one user, "/users" lists who is here, "/quit" leaves.
/// Try it with `nc 127.0.0.1 7777`.
///
/// The first line on stdout is `listening on ADDR`; the console log (joins, leaves, who is
/// connected) goes to stderr, with its level set by RUST_LOG (default: info).
#[derive(Debug, Parser)]
#[command(name = "chat-server", version, about, long_about, max_term_width = 100)]
pub struct Args {
    /// Address to listen on; port 0 picks a free port and prints it.
    #[arg(long, value_name = "ADDR", help = format!("Address to listen on [default: {}]; port 0 picks a free port", crate::config::DEFAULT_LISTEN))]
    pub listen: Option<SocketAddr>,

    /// Most connections at once; the next one gets `ERR server-full` [default: 1024].
    #[arg(long, value_name = "N")]
    pub max_clients: Option<usize>,

    /// Longest accepted line in bytes; longer ones get `ERR line-too-long` [default: 4096].
    #[arg(long, value_name = "BYTES")]
    pub max_line: Option<usize>,

    /// Lines queued for a client that reads slowly before it is disconnected [default: 1024].
    #[arg(long, value_name = "LINES")]
    pub queue_depth: Option<usize>,

    /// Time a new connection has to send a name, e.g. 30s or 500ms [default: 60s].
    #[arg(long, value_name = "DURATION")]
    pub name_timeout: Option<String>,

    /// TCP_NODELAY on client sockets: send each line at once (true) or let Nagle's algorithm
    /// coalesce small writes (false) [default: true].
    #[arg(long, value_name = "BOOL")]
    pub nodelay: Option<bool>,

    /// Threads writing to sockets in batches [default: half the cores].
    #[arg(long, value_name = "N")]
    pub flushers: Option<usize>,

    /// TOML file with any of the keys listen, max-clients, max-line, queue-depth, name-timeout,
    /// nodelay, flushers.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl Args {
    /// Builds the config: defaults, then the file, then the flags.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        let file = match &self.config {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };
        let defaults = Config::default();
        let name_timeout = match self.name_timeout.or(file.name_timeout) {
            Some(text) => parse_duration(&text)?,
            None => defaults.name_timeout,
        };
        let config = Config {
            listen: self.listen.or(file.listen).unwrap_or(defaults.listen),
            max_clients: self
                .max_clients
                .or(file.max_clients)
                .unwrap_or(defaults.max_clients),
            max_line: self.max_line.or(file.max_line).unwrap_or(defaults.max_line),
            queue_depth: self
                .queue_depth
                .or(file.queue_depth)
                .unwrap_or(defaults.queue_depth),
            name_timeout,
            nodelay: self.nodelay.or(file.nodelay).unwrap_or(defaults.nodelay),
            flushers: self.flushers.or(file.flushers).unwrap_or(defaults.flushers),
        };
        config.validate()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn parse(args: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("chat-server").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn no_flags_gives_defaults() {
        assert_eq!(parse(&[]).into_config().unwrap(), Config::default());
    }

    #[test]
    fn flags_override_the_file() {
        let dir = std::env::temp_dir().join(format!("batepapo-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("server.toml");
        std::fs::write(
            &file,
            "max-clients = 5\nqueue-depth = 7\nname-timeout = \"3s\"\n",
        )
        .unwrap();
        let config = parse(&["--config", file.to_str().unwrap(), "--max-clients", "9"])
            .into_config()
            .unwrap();
        assert_eq!(config.max_clients, 9);
        assert_eq!(config.queue_depth, 7);
        assert_eq!(config.name_timeout, Duration::from_secs(3));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_config_file_is_an_error() {
        let err = parse(&["--config", "/nonexistent/batepapo.toml"])
            .into_config()
            .unwrap_err();
        assert!(matches!(err, ConfigError::Read { .. }));
    }

    #[test]
    fn bad_duration_flag_is_an_error() {
        assert!(parse(&["--name-timeout", "soon"]).into_config().is_err());
    }
}
