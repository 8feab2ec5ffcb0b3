//! The controller: embeds or finds the server, starts the bots, moves them through the phases
//! (connect ramp, barrier, warm-up, measurement, drain) and gathers their results.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use crate::bot::{self, BotResult, BotSpec, Phase};
use crate::config::Config;
use crate::cpu::{CpuShare, CpuWindow};
use crate::rng::Rng;
use crate::stats::Shared;

/// Why a run could not happen at all.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The settings are unusable.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The embedded server did not start.
    #[error("cannot start the embedded server")]
    Embed(#[source] std::io::Error),
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
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Phases {
    /// Connect ramp and barrier, seconds.
    pub connect_s: f64,
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

/// Raw results, before they are summarised.
pub struct Outcome {
    /// The server driven.
    pub addr: SocketAddr,
    /// Whether it was the embedded reference server.
    pub embedded: bool,
    /// Bots that registered.
    pub registered: usize,
    /// Every bot's result.
    pub bots: Vec<BotResult>,
    /// Shared completion table.
    pub shared: Arc<Shared>,
    /// Phase timings.
    pub phases: Phases,
    /// CPU during the measurement.
    pub cpu: Option<CpuShare>,
}

/// Live counters for a progress display.
pub struct Progress {
    /// Current phase name.
    pub phase: std::sync::Mutex<&'static str>,
    /// Set by Ctrl-C: end the current phase and report what was measured.
    pub interrupted: AtomicBool,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            phase: std::sync::Mutex::new("starting"),
            interrupted: AtomicBool::new(false),
        }
    }
}

impl Progress {
    fn set(&self, phase: &'static str) {
        *self.phase.lock().unwrap_or_else(|e| e.into_inner()) = phase;
    }

    fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }
}

/// Waits until `deadline`, returning early (false) if the run is interrupted.
async fn wait_until(deadline: Instant, progress: &Progress) -> bool {
    while Instant::now() < deadline {
        if progress.interrupted() {
            return false;
        }
        let step = deadline
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(50));
        tokio::time::sleep(step).await;
    }
    true
}

/// Runs the whole load test.
pub async fn run(config: Config, progress: Arc<Progress>) -> Result<Outcome, RunError> {
    config.validate()?;
    let (addr, server) = match config.server {
        Some(addr) => (addr, None),
        None => {
            let server = chat_server::RunningServer::start(chat_server::Config {
                listen: "127.0.0.1:0".parse().expect("valid address"),
                max_clients: config.clients + 64,
                nodelay: config.embed_nodelay,
                ..chat_server::Config::default()
            })
            .map_err(RunError::Embed)?;
            (server.addr(), Some(server))
        }
    };
    let embedded = server.is_some();
    let cfg = Arc::new(config);
    let per_sender = (cfg.rate * (cfg.warmup + cfg.duration).as_secs_f64()).ceil() as usize + 16;
    let shared = Arc::new(Shared::new(cfg.clients, per_sender));
    let tag = Rng::new(cfg.seed ^ std::process::id() as u64, shared.now_us()).next_u64() % 0xffff;
    let names: Arc<Vec<String>> =
        Arc::new((0..cfg.clients).map(|i| format!("lg{tag:x}_{i}")).collect());
    let (phase_tx, phase_rx) = watch::channel(Phase::Connecting);
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();

    progress.set("connect");
    let connect_started = Instant::now();
    let handles: Vec<_> = (0..cfg.clients)
        .map(|i| {
            tokio::spawn(bot::run(BotSpec {
                index: i as u32,
                names: names.clone(),
                addr,
                config: cfg.clone(),
                shared: shared.clone(),
                phase: phase_rx.clone(),
                ready: ready_tx.clone(),
            }))
        })
        .collect();
    drop(ready_tx);
    let mut registered = 0;
    let mut answered = 0;
    while answered < cfg.clients && !progress.interrupted() {
        match tokio::time::timeout(Duration::from_millis(100), ready_rx.recv()).await {
            Ok(Some(ok)) => {
                answered += 1;
                registered += ok as usize;
            }
            Ok(None) => break,
            Err(_) => {}
        }
    }
    let mut phases = Phases {
        connect_s: connect_started.elapsed().as_secs_f64(),
        ..Phases::default()
    };
    let mut cpu = None;
    if registered == cfg.clients && !progress.interrupted() {
        // Barrier passed: everyone is registered, so everyone receives every broadcast.
        let start = shared.base.elapsed() + Duration::from_millis(50);
        let measure_from = start + cfg.warmup;
        let end = measure_from + cfg.duration;
        shared.set_window(measure_from.as_micros() as u64, end.as_micros() as u64);
        let _ = phase_tx.send(Phase::Sending { start, end });
        progress.set("warm-up");
        let t = Instant::now();
        wait_until(shared.base + measure_from, &progress).await;
        phases.warmup_s = t.elapsed().as_secs_f64();
        progress.set("measure");
        let t = Instant::now();
        let window = CpuWindow::start();
        wait_until(shared.base + end, &progress).await;
        cpu = window.finish();
        phases.measure_s = t.elapsed().as_secs_f64();
        progress.set("drain");
        let t = Instant::now();
        let drain_end = Instant::now() + cfg.drain;
        while !shared.all_delivered() && Instant::now() < drain_end && !progress.interrupted() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        phases.drain_s = t.elapsed().as_secs_f64();
        phases.drained = shared.all_delivered();
    }
    phases.interrupted = progress.interrupted();
    progress.set("stopping");
    let _ = phase_tx.send(Phase::Stop);
    let mut bots = Vec::with_capacity(handles.len());
    for h in handles {
        if let Ok(r) = h.await {
            bots.push(r);
        }
    }
    if registered < cfg.clients && !phases.interrupted {
        let mut errors = std::collections::BTreeMap::<String, u64>::new();
        for b in &bots {
            for (k, v) in &b.send.errors {
                *errors.entry(k.clone()).or_default() += v;
            }
        }
        return Err(RunError::Registration {
            registered,
            clients: cfg.clients,
            errors: format!("{errors:?}"),
        });
    }
    drop(server);
    Ok(Outcome {
        addr,
        embedded,
        registered,
        bots,
        shared,
        phases,
        cpu,
    })
}
