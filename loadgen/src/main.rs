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
use loadgen::config::{Config, Protocol};
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
///
/// Exit codes: 0 pass, 1 a gate failed (loss, errors, a threshold, a regression), 2 invalid or
/// generator-bound run, usage or connection error.
#[derive(Debug, Parser)]
#[command(
    name = "loadgen",
    version,
    about,
    long_about,
    verbatim_doc_comment,
    max_term_width = 100
)]
struct Args {
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

fn main() -> ExitCode {
    let args = Args::parse();
    match run_main(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("loadgen: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run_main(args: Args) -> anyhow::Result<ExitCode> {
    let user_thresholds: Vec<Threshold> = args
        .threshold
        .iter()
        .map(|t| Threshold::parse(t))
        .collect::<Result<_, _>>()?;
    let tolerances = Tolerances {
        latency: gate::parse_regress(&args.max_regress)?,
        counted: gate::parse_regress(&args.max_cost_regress)?,
        cpu: gate::parse_regress(&args.max_cpu_regress)?,
    };
    let baseline: Option<Summary> =
        match &args.baseline {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read baseline {}", path.display()))?;
                Some(serde_json::from_str(&text).with_context(|| {
                    format!("{} is not a loadgen --json report", path.display())
                })?)
            }
            None => None,
        };
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
        ..Config::default()
    };
    config.validate()?;
    if let Some(old) = baseline.as_ref().and_then(|b| b.config.as_ref()) {
        baseline::same_load(&config, old).with_context(|| {
            format!(
                "cannot compare with {}",
                args.baseline.as_deref().unwrap_or(Path::new("")).display()
            )
        })?;
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
    print!("{}", loadgen::table::render(&summary));
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&summary)?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.hgrm {
        std::fs::write(path, summary.hgrm())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.hlog {
        std::fs::write(path, summary.hlog()?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let gated = !user_thresholds.is_empty() || baseline.is_some();
    let mut checks = gate::check_thresholds(&summary, &gate::with_defaults(&user_thresholds));
    if let Some(b) = &baseline {
        checks.extend(baseline::check(&summary, b, tolerances));
    }
    for c in &checks {
        println!("{c}");
    }
    let (verdict, code) = loadgen::verdict::judge(&summary, &checks, gated);
    if let Some(path) = &args.html {
        std::fs::write(path, loadgen::html::render(&summary, &checks, &verdict))
            .with_context(|| format!("cannot write {}", path.display()))?;
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
