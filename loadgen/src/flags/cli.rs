//! The command line: a run (its flags are [`RunFlags`]), `loadgen search`, `loadgen merge`,
//! the gates and the files to write.

use std::path::PathBuf;

use clap::Parser;

pub use crate::flags::run_flags::RunFlags;

/// Many bots measuring broadcast latency against a chat server.
///
/// Without --server it embeds the reference server on 127.0.0.1:0. Each bot sends on a schedule
/// planned in advance (open model); latency is measured from the planned send time, so a server
/// that stalls cannot hide it (coordinated omission), and from the actual send time for
/// comparison. Phases: connect ramp, barrier, warm-up (not measured), measurement, drain (late
/// deliveries still count; what is missing at the end is lost).
///
/// A delivery counts from when the worker's event loop learned its socket was readable (on a
/// light run, never before the kernel had its last byte), not from when its turn to be read
/// came; the notice lag and the read lag say how much the worker added and how much it kept
/// out.
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

/// Subcommands; without one, loadgen runs the load.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Find the highest load that holds an SLO: steps up by doubling, then bisects, each step a
    /// full run (connect, warm-up, measure, drain); the best passing step is run again to
    /// confirm it.
    ///
    /// It varies the rate per bot at a fixed --clients (--vary rate) or the number of bots at a
    /// fixed --rate (--vary clients), from --from up to --to, until the lowest failing load is
    /// within --precision of the best passing one. A step passes when every --slo holds with
    /// at least 95% of its planned messages sent, and nothing is lost, duplicated, out of
    /// order or in error: latency counts from the planned send, so loadgen's own delay only
    /// ever adds to it. The search stops, with "at least" the last pass, at a step whose
    /// generator could not send its plan, or whose failure loadgen's own delay may explain
    /// (the SLO would hold without it). On a --server, each step starts once the server
    /// relays a fresh line (the previous step's backlog is gone); the embedded server is a
    /// fresh one per step.
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
    /// capacity gate failed, 2 the search could not answer (generator-bound, out of steps, a
    /// step that could not run, Ctrl-C; 0 instead when capacity gates were given and already
    /// hold on what it found) or a usage or connection error.
    #[command(verbatim_doc_comment)]
    Search(crate::flags::search::SearchArgs),
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
    /// connect_p99, send_lag_p99, loop_lag_p99, notice_lag_p99 and read_lag_p99 (light runs
    /// only), lost, lost_pct, duplicated, out_of_order,
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
