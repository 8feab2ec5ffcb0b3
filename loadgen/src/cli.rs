//! The command line: flags for a run, `loadgen merge`, the gates and the files to write, and
//! the run's [`Config`] they make.

use std::path::PathBuf;
use std::time::Duration;

use batepapo_units::parse_duration;
use clap::Parser;

use crate::config::{parse_start_at, Config, Protocol, Shard};
use crate::schedule::Arrival;

/// Many bots measuring broadcast latency against a chat server.
///
/// Without --server it embeds the reference server on 127.0.0.1:0. Each bot sends on a schedule
/// planned in advance (open model); latency is measured from the planned send time, so a server
/// that stalls cannot hide it (coordinated omission), and from the actual send time for
/// comparison. Phases: connect ramp, barrier, warm-up (not measured), measurement, drain (late
/// deliveries still count; what is missing at the end is lost).
///
/// Bots run on --workers threads, each with its own event loop and its own histograms. When
/// loadgen's own delay (its sending or its event loop) is more than a quarter of the latency it
/// reports, at any scale, the run says "generator-bound". Its gates are then judged only where
/// the verdict holds whatever the generator did (a latency under its bound, a rate over it,
/// the server's counted costs, duplicates, errors, no loss); any other gate makes it exit 2,
/// never a pass.
///
/// `loadgen search --slo 'p99<50ms'` finds the highest load that holds an SLO: doubling, then
/// bisecting, each step a full run, the best one confirmed (see `loadgen search --help`).
///
/// A run that loses deliveries or gets errors (ERR lines, closed connections) fails: the gates
/// 'lost==0' and 'errors==0' apply unless a threshold on lost, lost_pct or errors replaces them
/// (e.g. --threshold 'lost_pct<0.1').
///
/// Examples:
///   loadgen --clients 500
///   loadgen --clients 200 --duration 5s --threshold 'p99<50ms' --html run.html
///   loadgen --server chat.example.org:7777 --total-rate 1000 --json run.json --hlog run.hlog
///   loadgen --clients 500 --rate 2 --arrival poisson --seed 7
///   loadgen --baseline old.json --max-regress 20%
///   loadgen --server 127.0.0.1:8080 --protocol plain      # e.g. tokio's chat example
///   loadgen --server HOST:7777 --clients 2000 --shard 0/4 --start-at 1795000000 --json s0.json
///   loadgen merge s0.json s1.json s2.json s3.json --html run.html
///   loadgen search --slo 'p99<50ms' --clients 200 --html search.html
///
/// Exit codes: 0 pass, 1 a gate failed (loss, errors, a threshold, a regression), 2 invalid or
/// generator-bound run that cannot be judged, usage or connection error.
#[derive(Debug, Parser)]
#[command(
    name = "loadgen",
    args_conflicts_with_subcommands = true,
    version,
    about,
    long_about,
    verbatim_doc_comment,
    max_term_width = 100
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub run: RunFlags,

    #[command(flatten)]
    pub gates: Gates,

    #[command(flatten)]
    pub outputs: Outputs,
}

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
    #[arg(long, value_name = "LIST", value_parser = crate::source::parse_flag)]
    pub source_addresses: Option<crate::source::Sources>,

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

/// Subcommands; without one, loadgen runs the load.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Find the highest load that holds an SLO: steps up by doubling, then bisects, each step a
    /// full run (connect, warm-up, measure, drain); the best passing step is run again to
    /// confirm it.
    ///
    /// It varies the rate per bot at a fixed --clients (--vary rate) or the number of bots at a
    /// fixed --rate (--vary clients), from --from up to --to, until the lowest failing load is
    /// within --precision of the best passing one. A step passes when every --slo holds and
    /// nothing is lost, duplicated, out of order or in error, the run is valid and not
    /// generator-bound. A generator-bound step ends the search: past it, loadgen would be
    /// measuring itself. On a --server, each step starts once the server relays a fresh line
    /// (the previous step's backlog is gone); the embedded server is a fresh one per step.
    ///
    /// Examples:
    ///   loadgen search --slo 'p99<50ms'
    ///   loadgen search --server HOST:7777 --clients 200 --slo 'p99<50ms' --html search.html
    ///   loadgen search --vary clients --rate 2 --from 50 --to 5000 --slo 'p99<20ms'
    ///   loadgen search --server HOST:7777 --slo 'p99<50ms' --threshold 'capacity>=20000'
    ///
    /// Prints the answer in one line, a table of every step and why the search stopped; --json
    /// writes every step with its report, --html the latency-versus-throughput curve.
    /// Exit codes: 0 an answer (and every capacity gate holds), 1 nothing held the SLO or a
    /// capacity gate failed, 2 the search could not answer (generator-bound, out of steps,
    /// Ctrl-C) or a usage or connection error.
    #[command(verbatim_doc_comment)]
    Search(crate::search::SearchArgs),
    /// Merge the --json reports of a run's shards (--shard I/N) into the report of the whole
    /// run: histograms added exactly, loss from the merged counts, the same table, files,
    /// gates and exit codes as a single run.
    Merge(MergeArgs),
}

/// `loadgen merge`.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The shards' --json reports, one per shard, in any order.
    #[arg(required = true, value_name = "SHARD.json")]
    pub files: Vec<PathBuf>,

    #[command(flatten)]
    pub gates: Gates,

    #[command(flatten)]
    pub outputs: Outputs,
}

/// Pass/fail gates, for a run and for a merge.
#[derive(Debug, clap::Args)]
pub struct Gates {
    /// Gate: METRIC OP VALUE, e.g. 'p99<50ms', 'lost_pct<0.1' (repeatable). Metrics: p50, p90,
    /// p99, p999, max, mean, sent_p99, completion_p50, completion_p99, completion_max,
    /// connect_p99, send_lag_p99, loop_lag_p99, lost, lost_pct, duplicated, out_of_order,
    /// errors, delivered, deliveries_per_s, achieved_pct, cpu_us_per_delivery (loadgen's),
    /// server_cpu_us_per_delivery, server_sends_per_delivery, server_bytes_per_delivery,
    /// server_threads_per_client, server_rss_kib_per_client. A threshold on a figure the run
    /// could not measure fails.
    #[arg(long, value_name = "EXPR")]
    pub threshold: Vec<String>,

    /// A previous --json report to compare with.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Allowed regression of latency and delivery rate against --baseline.
    #[arg(long, value_name = "PCT", default_value = "20%")]
    pub max_regress: String,

    /// Allowed regression of the server's counted costs against --baseline: socket sends and
    /// bytes written per delivery, threads and memory per client.
    #[arg(long, value_name = "PCT", default_value = "50%")]
    pub max_cost_regress: String,

    /// Allowed regression of the server's CPU time per delivery against --baseline.
    #[arg(long, value_name = "PCT", default_value = "75%")]
    pub max_cpu_regress: String,
}

/// Files to write, for a run and for a merge.
#[derive(Debug, clap::Args)]
pub struct Outputs {
    /// Write the full report (config, phases, figures, serialized histograms) as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Write the latency distribution as an .hgrm percentile file.
    #[arg(long, value_name = "FILE")]
    pub hgrm: Option<PathBuf>,

    /// Write the latency of each second as an HdrHistogram interval log (.hlog).
    #[arg(long, value_name = "FILE")]
    pub hlog: Option<PathBuf>,

    /// Write a self-contained HTML page with charts of the run.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}
