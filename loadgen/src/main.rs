//! `loadgen`: parse flags, run the bots, print the report, write the files, apply the gates,
//! exit 0/1/2.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use batepapo_units::parse_duration;
use clap::Parser;
use loadgen::baseline::{self, Tolerances};
use loadgen::config::{parse_start_at, Config, Protocol, Shard};
use loadgen::gate::{self, Threshold};
use loadgen::run::{self, Progress};
use loadgen::schedule::Arrival;
use loadgen::series::Second;
use loadgen::Summary;

/// Many bots measuring broadcast latency against a chat server.
///
/// Without --server it embeds the reference server on 127.0.0.1:0. Each bot sends on a schedule
/// planned in advance (open model); latency is measured from the planned send time, so a server
/// that stalls cannot hide it (coordinated omission), and from the actual send time for
/// comparison. Phases: connect ramp, barrier, warm-up (not measured), measurement, drain (late
/// deliveries still count; what is missing at the end is lost).
///
/// Bots run on --workers threads, each with its own event loop and its own histograms. When
/// loadgen's own delay (its send lag or event-loop lag) is a material part of the latency it
/// reports, the run says "generator-bound"; with gates that is exit 2, never a pass.
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
///
/// Exit codes: 0 pass, 1 a gate failed (loss, errors, a threshold, a regression), 2 invalid or
/// generator-bound run, usage or connection error.
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
struct Args {
    #[command(subcommand)]
    command: Option<Command>,

    /// Server to drive, HOST:PORT (a name or an address); default: an embedded reference
    /// server.
    #[arg(long, value_name = "HOST:PORT")]
    server: Option<String>,

    /// Worker threads, each with its own event loop and histograms; default: half the cores
    /// when the server is on this machine (embedded or loopback), all of them otherwise.
    #[arg(long, value_name = "N")]
    workers: Option<usize>,

    /// How sends are spaced: fixed (every 1/rate s, bots spread evenly), poisson (exponential
    /// gaps, mean 1/rate) or burst (every bot at the same instant, every 1/rate s).
    #[arg(long, value_enum, default_value = "fixed")]
    arrival: Arrival,

    /// Bots.
    #[arg(long, default_value_t = 100)]
    clients: usize,

    /// Messages per second per bot.
    #[arg(
        long,
        value_name = "PER_S",
        default_value_t = 1.0,
        conflicts_with = "total_rate"
    )]
    rate: f64,

    /// Messages per second over all bots (sets --rate to this divided by --clients).
    #[arg(long, value_name = "PER_S")]
    total_rate: Option<f64>,

    /// New connections per second during the connect ramp.
    #[arg(long, value_name = "PER_S", default_value_t = 500.0)]
    connect_rate: f64,

    /// Bytes of text per message (timestamp token plus padding).
    #[arg(long, value_name = "BYTES", default_value_t = 64)]
    size: usize,

    /// Fraction of messages sent as private messages to a random other bot (chat1 only).
    #[arg(long, value_name = "0..1", default_value_t = 0.0)]
    private_ratio: f64,

    /// Seed for schedules and private targets.
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// Sending before measurement, excluded from the figures.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,

    /// The measured phase.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    duration: Duration,

    /// How long to wait for late deliveries after sending stops.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    drain: Duration,

    /// Protocol spoken: chat/1 (batepapo) or plain (any line-based chat).
    #[arg(long, value_enum, default_value = "chat/1")]
    protocol: Protocol,

    /// TCP_NODELAY on the embedded server's sockets (true or false), for experiments.
    #[arg(long, value_name = "BOOL")]
    embed_nodelay: Option<bool>,

    /// How the embedded server writes: batched, or per-line (one send per line per recipient,
    /// the design before batching), to measure what batching saves.
    #[arg(long, value_name = "MODE", value_enum, default_value = "batched")]
    embed_write_mode: chat_server::config::WriteMode,

    /// The server's process on this machine, read from /proc for its CPU time, threads and
    /// memory; default: the process listening on a loopback --server port, when visible.
    #[arg(long, value_name = "PID")]
    server_pid: Option<u32>,

    /// The server's Prometheus endpoint (the reference server's --metrics), HOST:PORT, for its
    /// socket sends and bytes written (and CPU, threads, memory when no process is visible).
    #[arg(long, value_name = "HOST:PORT")]
    server_metrics: Option<String>,

    /// This process's part of a run spread over several processes (or machines): I/N, from
    /// 0/N to N-1/N. Shard I runs the bots whose index modulo N is I, on the schedule and with
    /// the names of the whole run; every shard needs the same flags, --server and --start-at.
    /// Merge the shards' --json reports with `loadgen merge`.
    #[arg(long, value_name = "I/N", value_parser = Shard::parse)]
    shard: Option<Shard>,

    /// When sending starts, on the wall clock: seconds since the Unix epoch (e.g.
    /// "$(( $(date +%s) + 30 ))") or UTC as 2026-11-24T15:00:00Z. Required with --shard; bots
    /// connect before it, and a shard not registered by then fails.
    #[arg(long, value_name = "TIME", value_parser = parse_start_at)]
    start_at: Option<f64>,

    #[command(flatten)]
    gates: Gates,

    #[command(flatten)]
    outputs: Outputs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.command {
        Some(Command::Merge(ref m)) => merge_main(m),
        None => run_main(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("loadgen: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The gates as given on the command line, checked before any work.
struct Judge {
    thresholds: Vec<Threshold>,
    tolerances: Tolerances,
    baseline: Option<(PathBuf, Summary)>,
}

impl Judge {
    fn from(g: &Gates) -> anyhow::Result<Judge> {
        let thresholds = g
            .threshold
            .iter()
            .map(|t| Threshold::parse(t))
            .collect::<Result<_, _>>()?;
        let tolerances = Tolerances {
            latency: gate::parse_regress(&g.max_regress)?,
            counted: gate::parse_regress(&g.max_cost_regress)?,
            cpu: gate::parse_regress(&g.max_cpu_regress)?,
        };
        let baseline = match &g.baseline {
            Some(path) => Some((path.clone(), read_report(path)?)),
            None => None,
        };
        Ok(Judge {
            thresholds,
            tolerances,
            baseline,
        })
    }

    /// Refuses a baseline made under another load before the run.
    fn check_load(&self, config: &Config) -> anyhow::Result<()> {
        if let Some((path, old)) = &self.baseline {
            if let Some(old) = &old.config {
                baseline::same_load(config, old)
                    .with_context(|| format!("cannot compare with {}", path.display()))?;
            }
        }
        Ok(())
    }
}

fn read_report(path: &Path) -> anyhow::Result<Summary> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a loadgen --json report", path.display()))
}

fn run_main(args: &Args) -> anyhow::Result<ExitCode> {
    let judge = Judge::from(&args.gates)?;
    let rate = match args.total_rate {
        Some(total) => total / args.clients.max(1) as f64,
        None => args.rate,
    };
    let config = Config {
        server: args.server.clone(),
        workers: args.workers,
        arrival: args.arrival,
        clients: args.clients,
        connect_rate: args.connect_rate,
        rate,
        size: args.size,
        private_ratio: args.private_ratio,
        seed: args.seed,
        warmup: args.warmup,
        duration: args.duration,
        drain: args.drain,
        protocol: args.protocol,
        embed_nodelay: args
            .embed_nodelay
            .unwrap_or(chat_server::Config::default().nodelay),
        embed_write_mode: args.embed_write_mode,
        server_pid: args.server_pid,
        server_metrics: args.server_metrics.clone(),
        shard: args.shard.unwrap_or_default(),
        start_at: args.start_at,
        ..Config::default()
    };
    config.validate()?;
    judge.check_load(&config)?;
    if config.shard.is_sharded() {
        if let Some(t) = judge
            .thresholds
            .iter()
            .find(|t| matches!(t.metric_name(), "lost" | "lost_pct"))
        {
            anyhow::bail!(
                "--threshold {:?} on a shard: a shard cannot know the run's loss (other shards \
                 count what their bots were owed); gate loss on `loadgen merge`",
                t.metric_name()
            );
        }
    }

    let progress = Arc::new(Progress::default());
    let on_ctrl_c = progress.clone();
    ctrlc::set_handler(move || {
        if !on_ctrl_c.interrupted.swap(true, Ordering::SeqCst) {
            eprintln!("\ninterrupted: finishing with a partial report");
        }
    })
    .context("cannot handle Ctrl-C")?;
    let live = std::io::stderr().is_terminal();
    if live {
        eprintln!(
            "loadgen: {} bots on {}, {} ...",
            config.clients,
            config.server.as_deref().unwrap_or("the embedded server"),
            config.protocol
        );
    }
    let mut on_second = |s: &Second| {
        if live {
            eprintln!("{}", live_line(s));
        }
    };
    let outcome = run::run(config.clone(), &progress, &mut on_second)?;

    let summary = Summary::from_outcome(&config, &outcome);
    finish(&summary, &args.outputs, &judge)
}

fn merge_main(m: &MergeArgs) -> anyhow::Result<ExitCode> {
    let judge = Judge::from(&m.gates)?;
    let parts = m
        .files
        .iter()
        .map(|p| read_report(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let names: Vec<String> = m.files.iter().map(|p| p.display().to_string()).collect();
    let summary = loadgen::merge::merge(&parts, &names)?;
    if let Some(c) = &summary.config {
        judge.check_load(c)?;
    }
    finish(&summary, &m.outputs, &judge)
}

/// Prints the table, writes the files, applies the gates and says the verdict: the same for a
/// run and for a merge.
fn finish(summary: &Summary, outputs: &Outputs, judge: &Judge) -> anyhow::Result<ExitCode> {
    print!("{}", loadgen::table::render(summary));
    let write = |path: &Path, text: Vec<u8>| {
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
    };
    if let Some(path) = &outputs.json {
        write(
            path,
            (serde_json::to_string_pretty(summary)? + "\n").into_bytes(),
        )?;
    }
    if let Some(path) = &outputs.hgrm {
        write(path, summary.hgrm().into_bytes())?;
    }
    if let Some(path) = &outputs.hlog {
        write(path, summary.hlog()?)?;
    }
    let sharded = summary
        .config
        .as_ref()
        .is_some_and(|c| c.shard.is_sharded());
    let gated = !judge.thresholds.is_empty() || judge.baseline.is_some();
    let mut gates = gate::with_defaults(&judge.thresholds);
    if sharded {
        // Loss is the merge's to judge; a shard's own counts are halves of it.
        gates.retain(|t| !matches!(t.metric_name(), "lost" | "lost_pct"));
    }
    let mut checks = gate::check_thresholds(summary, &gates);
    if let Some((_, b)) = &judge.baseline {
        checks.extend(baseline::check(summary, b, judge.tolerances));
    }
    for c in &checks {
        println!("{c}");
    }
    let (verdict, code) = loadgen::verdict::judge(summary, &checks, gated);
    if let Some(path) = &outputs.html {
        write(
            path,
            loadgen::html::render(summary, &checks, &verdict).into_bytes(),
        )?;
    }
    if code == 2 {
        eprintln!("loadgen: {verdict}");
    }
    println!("verdict: {verdict}");
    Ok(ExitCode::from(code))
}

/// One line per second on a terminal: what was sent and delivered, and the last second's p99.
fn live_line(s: &Second) -> String {
    let latency = if s.measured > 0 {
        format!(
            "p50 {:7.2} ms  p99 {:7.2} ms  max {:7.2} ms",
            s.p50, s.p99, s.max
        )
    } else {
        String::from("(warm-up or drain: not measured)")
    };
    format!(
        "{:>5} s  sent {:>8}/s  delivered {:>10}/s  {latency}",
        s.second, s.sent, s.delivered
    )
}

/// Subcommands; without one, loadgen runs the load.
#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Merge the --json reports of a run's shards (--shard I/N) into the report of the whole
    /// run: histograms added exactly, loss from the merged counts, the same table, files,
    /// gates and exit codes as a single run.
    Merge(MergeArgs),
}

/// `loadgen merge`.
#[derive(Debug, clap::Args)]
struct MergeArgs {
    /// The shards' --json reports, one per shard, in any order.
    #[arg(required = true, value_name = "SHARD.json")]
    files: Vec<PathBuf>,

    #[command(flatten)]
    gates: Gates,

    #[command(flatten)]
    outputs: Outputs,
}

/// Pass/fail gates, for a run and for a merge.
#[derive(Debug, clap::Args)]
struct Gates {
    /// Gate: METRIC OP VALUE, e.g. 'p99<50ms', 'lost_pct<0.1' (repeatable). Metrics: p50, p90,
    /// p99, p999, max, mean, sent_p99, completion_p50, completion_p99, completion_max,
    /// connect_p99, send_lag_p99, loop_lag_p99, lost, lost_pct, duplicated, out_of_order,
    /// errors, delivered, deliveries_per_s, achieved_pct, cpu_us_per_delivery (loadgen's),
    /// server_cpu_us_per_delivery, server_sends_per_delivery, server_bytes_per_delivery,
    /// server_threads_per_client, server_rss_kib_per_client. A threshold on a figure the run
    /// could not measure fails.
    #[arg(long, value_name = "EXPR")]
    threshold: Vec<String>,

    /// A previous --json report to compare with.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,

    /// Allowed regression of latency and delivery rate against --baseline.
    #[arg(long, value_name = "PCT", default_value = "20%")]
    max_regress: String,

    /// Allowed regression of the server's counted costs against --baseline: socket sends and
    /// bytes written per delivery, threads and memory per client.
    #[arg(long, value_name = "PCT", default_value = "50%")]
    max_cost_regress: String,

    /// Allowed regression of the server's CPU time per delivery against --baseline.
    #[arg(long, value_name = "PCT", default_value = "75%")]
    max_cpu_regress: String,
}

/// Files to write, for a run and for a merge.
#[derive(Debug, clap::Args)]
struct Outputs {
    /// Write the full report (config, phases, figures, serialized histograms) as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,

    /// Write the latency distribution as an .hgrm percentile file.
    #[arg(long, value_name = "FILE")]
    hgrm: Option<PathBuf>,

    /// Write the latency of each second as an HdrHistogram interval log (.hlog).
    #[arg(long, value_name = "FILE")]
    hlog: Option<PathBuf>,

    /// Write a self-contained HTML page with charts of the run.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
}
