//! The flags of one run ([`RunFlags`]), shared by a plain run and `loadgen search` (whose steps
//! are runs), and the run's [`Config`] they make.

use std::time::Duration;

use batepapo_units::parse_duration;

use crate::plan::config::{parse_start_at, Config, Protocol, Shard};
use crate::plan::schedule::Arrival;

/// The flags of one run, shared by a plain run and `loadgen search` (whose steps are runs).
#[derive(Debug, clap::Args)]
pub struct RunFlags {
    /// Server to drive, HOST:PORT (a name or an address); default: an embedded reference
    /// server.
    #[arg(long, value_name = "HOST:PORT")]
    pub server: Option<String>,

    /// Local addresses the bots connect from, in turn: a range (127.0.0.2-127.0.0.20), a
    /// comma-separated list, or both. For a server that limits connections per address
    /// (chat-server --limit-loopback true), and past ~28,000 connections from one address;
    /// every address of 127.0.0.0/8 is loopback on Linux [default: the system's choice].
    #[arg(long, value_name = "LIST", value_parser = crate::plan::source::parse_flag)]
    pub source_addresses: Option<crate::plan::source::Sources>,

    /// Worker threads, each with its own event loop and histograms; default: half the cores
    /// when the server is on this machine (embedded or loopback), all of them otherwise.
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,

    /// How sends are spaced: fixed (every 1/rate s, bots spread evenly), poisson (exponential
    /// gaps, mean 1/rate) or burst (every bot at the same instant, every 1/rate s).
    #[arg(long, value_enum, default_value = "fixed")]
    pub arrival: Arrival,

    /// Bots.
    #[arg(long, default_value_t = 100)]
    pub clients: usize,

    /// Messages per second per bot.
    #[arg(
        long,
        value_name = "PER_S",
        default_value_t = 1.0,
        conflicts_with = "total_rate"
    )]
    pub rate: f64,

    /// Messages per second over all bots (sets --rate to this divided by --clients).
    #[arg(long, value_name = "PER_S")]
    pub total_rate: Option<f64>,

    /// New connections per second during the connect ramp.
    #[arg(long, value_name = "PER_S", default_value_t = 500.0)]
    pub connect_rate: f64,

    /// Bytes of text per message (timestamp token plus padding).
    #[arg(long, value_name = "BYTES", default_value_t = 64)]
    pub size: usize,

    /// Fraction of messages sent as private messages to a random other bot (chat1 only).
    #[arg(long, value_name = "0..1", default_value_t = 0.0)]
    pub private_ratio: f64,

    /// Seed for schedules and private targets.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Sending before measurement, excluded from the figures.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
    pub warmup: Duration,

    /// The measured phase.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,

    /// How long to wait for late deliveries after sending stops.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub drain: Duration,

    /// Protocol spoken: chat/1 (batepapo) or plain (any line-based chat).
    #[arg(long, value_enum, default_value = "chat/1")]
    pub protocol: Protocol,

    /// TCP_NODELAY on the embedded server's sockets (true or false), for experiments.
    #[arg(long, value_name = "BOOL")]
    pub embed_nodelay: Option<bool>,

    /// How the embedded server writes: batched, or per-line (one send per line per recipient,
    /// the design before batching), to measure what batching saves.
    #[arg(long, value_name = "MODE", value_enum, default_value = "batched")]
    pub embed_write_mode: chat_server::config::WriteMode,

    /// The server's process on this machine, read from /proc for its CPU time, threads and
    /// memory; default: the process listening on a loopback --server port, when visible.
    #[arg(long, value_name = "PID")]
    pub server_pid: Option<u32>,

    /// The server's Prometheus endpoint (the reference server's --metrics), HOST:PORT, for its
    /// socket sends and bytes written (and CPU, threads, memory when no process is visible).
    #[arg(long, value_name = "HOST:PORT")]
    pub server_metrics: Option<String>,

    /// This process's part of a run spread over several processes (or machines): I/N, from
    /// 0/N to N-1/N. Shard I runs the bots whose index modulo N is I, on the schedule and with
    /// the names of the whole run; every shard needs the same flags, --server and --start-at.
    /// Merge the shards' --json reports with `loadgen merge`.
    #[arg(long, value_name = "I/N", value_parser = Shard::parse)]
    pub shard: Option<Shard>,

    /// When sending starts, on the wall clock: seconds since the Unix epoch (e.g.
    /// "$(( $(date +%s) + 30 ))") or UTC as 2026-11-24T15:00:00Z. Required with --shard; bots
    /// connect before it, and a shard not registered by then fails.
    #[arg(long, value_name = "TIME", value_parser = parse_start_at)]
    pub start_at: Option<f64>,

    /// For testing loadgen itself: block each worker's thread this long after every send, a
    /// generator known to be the limit.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, hide = true)]
    pub hold_back: Option<Duration>,
}

impl RunFlags {
    /// The run these flags ask for (not yet validated).
    pub fn config(&self) -> Config {
        let rate = match self.total_rate {
            Some(total) => total / self.clients.max(1) as f64,
            None => self.rate,
        };
        Config {
            server: self.server.clone(),
            source_addresses: self.source_addresses.clone().map_or_else(Vec::new, |s| s.0),
            workers: self.workers,
            arrival: self.arrival,
            clients: self.clients,
            connect_rate: self.connect_rate,
            rate,
            size: self.size,
            private_ratio: self.private_ratio,
            seed: self.seed,
            warmup: self.warmup,
            duration: self.duration,
            drain: self.drain,
            protocol: self.protocol,
            embed_nodelay: self
                .embed_nodelay
                .unwrap_or(chat_server::Config::default().nodelay),
            embed_write_mode: self.embed_write_mode,
            server_pid: self.server_pid,
            server_metrics: self.server_metrics.clone(),
            shard: self.shard.unwrap_or_default(),
            start_at: self.start_at,
            hold_back_us: self.hold_back.map_or(0, |d| d.as_micros() as u64),
            ..Config::default()
        }
    }
}
