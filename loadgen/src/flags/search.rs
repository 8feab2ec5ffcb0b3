//! `loadgen search`'s flags: the run each step makes ([`RunFlags`]), and what the search varies
//! and holds. The search checks them (`search::plan`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::flags::run_flags::RunFlags;

/// What a search varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vary {
    /// Messages per second per bot, at a fixed number of bots.
    Rate,
    /// The number of bots, at a fixed rate per bot.
    Clients,
}

/// `loadgen search`.
#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    #[command(flatten)]
    pub run: RunFlags,

    /// The objective every step must hold, as a threshold: 'p99<50ms' (repeatable: all must
    /// hold). A step passes only when, besides, nothing is lost, duplicated, out of order or
    /// in error, the run is valid and at least 95% of its planned messages went out.
    #[arg(long, value_name = "EXPR", required = true)]
    pub slo: Vec<String>,

    /// What varies: rate (messages per second per bot, at --clients) or clients (bots, at
    /// --rate).
    #[arg(long, value_enum, default_value = "rate")]
    pub vary: Vary,

    /// The first load tried [default: --rate, or --clients].
    #[arg(long, value_name = "LOAD")]
    pub from: Option<f64>,

    /// The highest load tried [default: 1024 times --from].
    #[arg(long, value_name = "LOAD")]
    pub to: Option<f64>,

    /// Stop bisecting once the failing load is within this much of the best passing one.
    #[arg(long, value_name = "PCT", default_value = "5%")]
    pub precision: String,

    /// The most steps to run, confirmations included.
    #[arg(long, value_name = "N", default_value_t = 24)]
    pub max_steps: usize,

    /// Gate on the answer: 'capacity>=N', the highest sustainable deliveries per second
    /// (repeatable). Exit 1 when one fails.
    #[arg(long, value_name = "EXPR")]
    pub threshold: Vec<String>,

    /// Write the answer and every step (each with its whole report) as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Write a page with the latency-versus-throughput curve and every step.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}
