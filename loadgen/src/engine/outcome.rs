//! What a run gives back, and what can stop it: the raw [`Outcome`] (before
//! the summary derives the figures), the [`Phases`]' timings, the CPU used, the
//! [`Progress`] Ctrl-C reaches, and [`RunError`].

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use crate::recording::cpu::CpuShare;
use crate::recording::series::Second;
use crate::recording::server_cost::ServerCost;
use crate::recording::stats::Totals;

/// Why a run could not happen at all.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The settings are unusable.
    #[error(transparent)]
    Config(#[from] crate::plan::config::ConfigError),
    /// The embedded server did not start.
    #[error("cannot start the embedded server")]
    Embed(#[source] std::io::Error),
    /// The server cannot be reached, or does not speak chat/1.
    #[error(transparent)]
    Reach(#[from] crate::engine::reach::ReachError),
    /// A source of the server's figures (`--server-pid`, `--server-metrics`) is unusable.
    #[error(transparent)]
    Probe(#[from] crate::recording::server_cost::ProbeError),
    /// The common start time passed before this shard's bots had registered.
    #[error(
        "--start-at passed {late_s:.1} s before this shard's {registered} bots had registered; \
         give the shards more time (a later --start-at)"
    )]
    StartMissed {
        /// Bots registered.
        registered: usize,
        /// How late, seconds.
        late_s: f64,
    },
    /// A `--source-addresses` address cannot be used.
    #[error(transparent)]
    Source(#[from] crate::plan::source::SourceError),
    /// A worker thread could not start.
    #[error("cannot start a worker thread")]
    Worker(#[source] std::io::Error),
    /// Too few bots registered to measure anything.
    #[error("only {registered} of {clients} bots registered (errors: {errors})")]
    Registration {
        /// Bots that registered.
        registered: usize,
        /// Bots started.
        clients: usize,
        /// Error counts, as text.
        errors: String,
    },
}

/// How long each phase took.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Phases {
    /// Connect ramp and barrier, seconds.
    pub connect_s: f64,
    /// Waiting after the barrier for `--start-at`, seconds (0 without it).
    #[serde(default)]
    pub start_wait_s: f64,
    /// Warm-up, seconds.
    pub warmup_s: f64,
    /// Measurement, seconds.
    pub measure_s: f64,
    /// Drain, seconds.
    pub drain_s: f64,
    /// Whether the drain ended with every expected delivery in.
    pub drained: bool,
    /// Whether the run was interrupted (Ctrl-C) before its end.
    pub interrupted: bool,
}

/// CPU used during the measurement.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuUse {
    /// Shares of one core.
    pub share: CpuShare,
    /// Deliveries received in the same window, warm-up messages included.
    pub deliveries: u64,
}

/// Raw results, before they are summarised.
pub struct Outcome {
    /// The server driven, as given (or the embedded server's address).
    pub server: String,
    /// The address connected to.
    pub addr: SocketAddr,
    /// Whether it was the embedded reference server.
    pub embedded: bool,
    /// Worker threads used.
    pub workers: usize,
    /// Bots that registered.
    pub registered: usize,
    /// Every worker's stats, merged.
    pub totals: Totals,
    /// The run second by second.
    pub seconds: Vec<Second>,
    /// Phase timings.
    pub phases: Phases,
    /// CPU during the measurement.
    pub cpu: Option<CpuUse>,
    /// Wall-clock time of the start of the measurement (second 0 of `seconds`).
    pub measure_start: SystemTime,
    /// What the server spent on the measured load.
    pub server_cost: ServerCost,
}

/// Shared with whoever watches the run: Ctrl-C sets `interrupted`.
#[derive(Default)]
pub struct Progress {
    /// Set by Ctrl-C: end the current phase and report what was measured.
    pub interrupted: AtomicBool,
}

impl Progress {
    /// Whether Ctrl-C came.
    pub fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }
}
