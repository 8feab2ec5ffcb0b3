//! `loadgen`: parse flags, run the bots, print the report, apply the gates, exit 0/1/2.

use std::io::IsTerminal;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use loadgen::config::{parse_duration, Config, Protocol};
use loadgen::gate::{self, Threshold};
use loadgen::run::{self, Progress};
use loadgen::Summary;

/// Many bots measuring broadcast latency against a chat server.
///
/// Without --server it embeds the reference server on 127.0.0.1:0. Each bot sends on a planned
/// schedule (open model); latency is measured from the planned send time, so a server that
/// stalls cannot hide it (coordinated omission), and from the actual send time for comparison.
/// Phases: connect ramp, barrier, warm-up (not measured), measurement, drain (late deliveries
/// still count; what is missing at the end is lost).
///
/// Examples:
///   loadgen --clients 500
///   loadgen --clients 200 --duration 5s --threshold 'p99<50ms' --threshold 'lost==0'
///   loadgen --server 127.0.0.1:7777 --total-rate 1000 --json run.json --hgrm run.hgrm
///   loadgen --baseline old.json --max-regress 20%
///   loadgen --server 127.0.0.1:8080 --protocol plain      # e.g. tokio's chat example
///
/// Exit codes: 0 pass, 1 a threshold or regression failed, 2 invalid run or usage error.
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
    /// Server to drive (loopback only); default: an embedded reference server.
    #[arg(long, value_name = "ADDR")]
    server: Option<String>,

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

    /// Protocol spoken: chat1 (batepapo) or plain (any line-based chat).
    #[arg(long, value_enum, default_value = "chat1")]
    protocol: Protocol,

    /// TCP_NODELAY on the embedded server's sockets (true or false), for experiments.
    #[arg(long, value_name = "BOOL")]
    embed_nodelay: Option<bool>,

    /// Gate: METRIC OP VALUE, e.g. 'p99<50ms', 'lost==0' (repeatable). Metrics: p50, p90, p99,
    /// p999, max, mean, sent_p99, completion_p50, completion_p99, completion_max, connect_p99,
    /// lost, duplicated, out_of_order, errors, delivered, deliveries_per_s, achieved_pct.
    #[arg(long, value_name = "EXPR")]
    threshold: Vec<String>,

    /// A previous --json report to compare with.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,

    /// Allowed regression against --baseline.
    #[arg(long, value_name = "PCT", default_value = "20%")]
    max_regress: String,

    /// Write the full report (config, phases, figures, serialized histograms) as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,

    /// Write the latency distribution as an .hgrm percentile file.
    #[arg(long, value_name = "FILE")]
    hgrm: Option<PathBuf>,
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

fn loopback(text: &str) -> anyhow::Result<SocketAddr> {
    let addr = text
        .to_socket_addrs()
        .with_context(|| format!("bad --server {text:?}"))?
        .next()
        .with_context(|| format!("{text} resolves to no address"))?;
    if !addr.ip().is_loopback() {
        bail!("--server must be a loopback address (127.0.0.0/8 or ::1), not {addr}");
    }
    Ok(addr)
}

fn run_main(args: Args) -> anyhow::Result<ExitCode> {
    let thresholds: Vec<Threshold> = args
        .threshold
        .iter()
        .map(|t| Threshold::parse(t))
        .collect::<Result<_, _>>()?;
    let max_regress = gate::parse_regress(&args.max_regress)?;
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
    let server = args.server.as_deref().map(loopback).transpose()?;
    let rate = match args.total_rate {
        Some(total) => total / args.clients.max(1) as f64,
        None => args.rate,
    };
    let config = Config {
        server,
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
        ..Config::default()
    };
    config.validate()?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("loadgen-worker")
        .build()
        .context("cannot start the async runtime")?;
    let progress = Arc::new(Progress::default());
    let outcome = runtime.block_on(async {
        let on_ctrl_c = progress.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\ninterrupted: finishing with a partial report");
                on_ctrl_c.interrupted.store(true, Ordering::SeqCst);
            }
        });
        let bar = show_progress(progress.clone());
        let result = run::run(config.clone(), progress.clone()).await;
        if let Some(bar) = bar {
            bar.abort();
        }
        result
    })?;
    runtime.shutdown_timeout(Duration::from_secs(1));

    let summary = Summary::from_outcome(&config, &outcome);
    print!("{}", summary.table());
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&summary)?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.hgrm {
        std::fs::write(path, summary.hgrm())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let mut checks = gate::check_thresholds(&summary, &thresholds);
    if let Some(b) = &baseline {
        checks.extend(gate::check_baseline(&summary, b, max_regress));
    }
    for c in &checks {
        println!("{c}");
    }
    if !summary.valid {
        eprintln!(
            "loadgen: the run is invalid: {}",
            summary.invalid_reasons.join("; ")
        );
        return Ok(ExitCode::from(2));
    }
    if checks.iter().any(|c| !c.pass) {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// A live progress line on a terminal; nothing when stderr is not one.
fn show_progress(progress: Arc<Progress>) -> Option<tokio::task::JoinHandle<()>> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    Some(tokio::spawn(async move {
        let started = std::time::Instant::now();
        loop {
            let phase = *progress.phase.lock().unwrap_or_else(|e| e.into_inner());
            bar.set_message(format!(
                "{phase} ({:.0} s)",
                started.elapsed().as_secs_f64()
            ));
            bar.tick();
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }))
}
