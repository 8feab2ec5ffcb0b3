//! The controller, on the calling thread: finds (or embeds) the server, checks it answers,
//! starts the workers, moves them through the phases (connect ramp, barrier, warm-up,
//! measurement, drain), collects each second's figures as they come, and merges the workers'
//! stats at the end.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;

use crate::bot::Phase;
use crate::config::Config;
use crate::cpu::{CpuShare, CpuWindow};
use crate::series::{Second, Series};
use crate::server_cost::{self, Probe, Sample, ServerCost};
use crate::stats::{Clock, Live, Totals, WorkerStats};
use crate::worker::{self, Links, Plan};

/// Why a run could not happen at all.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The settings are unusable.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The embedded server did not start.
    #[error("cannot start the embedded server")]
    Embed(#[source] std::io::Error),
    /// The server's name does not resolve.
    #[error("cannot resolve --server {0:?} (expected HOST:PORT)")]
    Resolve(String, #[source] std::io::Error),
    /// No address of the server accepts connections.
    #[error("cannot connect to {0}")]
    Connect(String, #[source] std::io::Error),
    /// The server does not greet as a chat/1 server does.
    #[error(
        "{server} does not speak chat/1: it should greet with a line starting \"HELLO \", but \
         {got}. Use --protocol plain for a server with another line protocol."
    )]
    NotChat1 {
        /// The server.
        server: String,
        /// What came instead.
        got: String,
    },
    /// A source of the server's figures (`--server-pid`, `--server-metrics`) is unusable.
    #[error(transparent)]
    Probe(#[from] crate::server_cost::ProbeError),
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
    Source(#[from] crate::source::SourceError),
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
    fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }
}

/// What the controller hears from the workers.
struct Listen<'a> {
    seconds: mpsc::Receiver<worker::Interval>,
    series: Series,
    on_second: &'a mut dyn FnMut(&Second),
    live: Vec<Arc<Live>>,
    progress: &'a Progress,
}

impl Listen<'_> {
    /// Passes on each second as it completes until `deadline`, or until `done` holds, or
    /// (when `interruptible`) until Ctrl-C.
    fn wait(&mut self, deadline: Instant, interruptible: bool, done: impl Fn(&Self) -> bool) {
        loop {
            let now = Instant::now();
            if (interruptible && self.progress.interrupted()) || now >= deadline || done(self) {
                return;
            }
            let step = (deadline - now).min(Duration::from_millis(10));
            if let Ok(i) = self.seconds.recv_timeout(step) {
                if let Some(s) = self.series.add(i) {
                    (self.on_second)(s);
                }
            }
        }
    }

    /// Every sender is done and every delivery it owed has arrived.
    fn drained(&self, clients: u64) -> bool {
        self.sum(|l| &l.senders_done) >= clients
            && self.sum(|l| &l.delivered) >= self.sum(|l| &l.expected)
    }

    fn sum(&self, f: impl Fn(&Live) -> &std::sync::atomic::AtomicU64) -> u64 {
        self.live.iter().map(|l| f(l).load(Ordering::Relaxed)).sum()
    }
}

/// Runs the whole load test on worker threads, calling `on_second` as each second completes.
pub fn run(
    config: Config,
    progress: &Progress,
    on_second: &mut dyn FnMut(&Second),
) -> Result<Outcome, RunError> {
    config.validate()?;
    let (addr, server, label) = match &config.server {
        Some(text) => (
            crate::reach::find_server(text, &config)?,
            None,
            text.clone(),
        ),
        None => {
            let server = chat_server::RunningServer::start(config.embedded_server())
                .map_err(RunError::Embed)?;
            let addr = server.addr();
            (addr, Some(server), addr.to_string())
        }
    };
    crate::source::check(&config.source_addresses, addr)?;
    let probe = probe_for(&config, addr);
    probe.check()?;
    let sample = |server: &Option<chat_server::RunningServer>| -> Sample {
        let embedded = server.as_ref().map(|s| {
            let cpu = crate::cpu::sample().map_or(0.0, |c| c.other);
            (s.metrics(), cpu)
        });
        probe.sample(embedded.as_ref().map(|(m, cpu)| (m, *cpu)))
    };
    let idle = server_cost::settled(|| sample(&server));
    let workers = config.workers_for(server.is_some() || addr.ip().is_loopback());
    let per_sender =
        (config.rate * (config.warmup + config.duration).as_secs_f64() * 1.5).ceil() as usize + 16;
    let shard = config.shard;
    let own = shard.bots(config.clients);
    let own_count = own.len();
    let clock = Clock::new(shard.index, shard.count);
    // A per-run tag keeps names unique when several runs share a server; the shards of one run
    // derive the same one from their common start, so that each knows the others' names.
    let tag = match config.start_at {
        Some(at) => ((at * 1000.0) as u64 ^ config.seed.rotate_left(17)) % 0xffff,
        None => {
            (clock.base.elapsed().as_nanos() as u64 ^ std::process::id() as u64 ^ config.seed)
                % 0xffff
        }
    };
    let names = (0..config.clients)
        .map(|i| format!("lg{tag:x}_{i}"))
        .collect();
    let plan = Arc::new(Plan {
        config: config.clone(),
        addr,
        names,
        clock,
        per_sender,
        own_bots: own_count as u32,
        own,
    });
    let (phase_tx, phase_rx) = watch::channel(Phase::Connecting);
    let (ready_tx, ready_rx) = mpsc::channel();
    let (seconds_tx, seconds_rx) = mpsc::channel();
    let mut live = Vec::new();
    let mut handles = Vec::new();
    for id in 0..workers {
        let l = Arc::new(Live::default());
        live.push(l.clone());
        let links = Links {
            phase: phase_rx.clone(),
            ready: ready_tx.clone(),
            seconds: seconds_tx.clone(),
            live: l,
        };
        match worker::spawn(id, workers, plan.clone(), links) {
            Ok(h) => handles.push(h),
            Err(e) => {
                let _ = phase_tx.send(Phase::Stop);
                return Err(RunError::Worker(e));
            }
        }
    }
    drop((ready_tx, seconds_tx));
    let mut listen = Listen {
        seconds: seconds_rx,
        series: Series::new(workers),
        on_second,
        live,
        progress,
    };

    let connect_started = Instant::now();
    let mut registered = 0;
    let mut answered = 0;
    while answered < own_count && !progress.interrupted() {
        match ready_rx.recv_timeout(Duration::from_millis(50)) {
            Ok(ok) => {
                answered += 1;
                registered += ok as usize;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let mut phases = Phases {
        connect_s: connect_started.elapsed().as_secs_f64(),
        ..Phases::default()
    };
    let mut cpu = None;
    let mut server_cost = ServerCost::default();
    let mut measure_start = SystemTime::now();
    if registered == own_count && !progress.interrupted() {
        // Barrier passed: everyone is registered, so everyone receives every broadcast. Shards
        // start at the common time instead, which must still be ahead.
        let clock = &plan.clock;
        let start = match config.start_at {
            Some(at) => {
                let at = SystemTime::UNIX_EPOCH + Duration::from_secs_f64(at);
                let from_zero = at.duration_since(clock.wall).unwrap_or_default();
                if from_zero <= clock.base.elapsed() {
                    let _ = phase_tx.send(Phase::Stop);
                    return Err(RunError::StartMissed {
                        registered,
                        late_s: clock.base.elapsed().as_secs_f64() - from_zero.as_secs_f64(),
                    });
                }
                from_zero
            }
            None => clock.base.elapsed() + Duration::from_millis(50),
        };
        let measure_from = start + config.warmup;
        let end = measure_from + config.duration;
        clock.set_window(
            start.as_micros() as u64,
            config.warmup.as_micros() as u64,
            (config.warmup + config.duration).as_micros() as u64,
        );
        measure_start = clock.wall + measure_from;
        let _ = phase_tx.send(Phase::Sending { start, end });
        phases.start_wait_s = start.saturating_sub(clock.base.elapsed()).as_secs_f64();
        let t = Instant::now();
        listen.wait(clock.base + measure_from, true, |_| false);
        phases.warmup_s = (t.elapsed().as_secs_f64() - phases.start_wait_s).max(0.0);
        let t = Instant::now();
        let window = CpuWindow::start();
        let received_before = listen.sum(|l| &l.received);
        let (cost_from, cost_to) = cost_window(&config, measure_from, end);
        listen.wait(clock.base + cost_from, true, |_| false);
        let first = sample(&server);
        let first_received = listen.sum(|l| &l.received);
        listen.wait(clock.base + cost_to, true, |_| false);
        let last = sample(&server);
        let cost_deliveries = listen.sum(|l| &l.received) - first_received;
        listen.wait(clock.base + end, true, |_| false);
        let deliveries = listen.sum(|l| &l.received) - received_before;
        cpu = window.finish().map(|share| CpuUse { share, deliveries });
        server_cost = server_cost::cost(&idle, &first, &last, cost_deliveries, registered);
        if shard.is_sharded() {
            // The server served every shard's bots, this shard saw only its own deliveries:
            // per-delivery figures come from `loadgen merge`; per-client ones are not taken.
            server_cost = server_cost.for_merge();
        }
        server_cost.sources = probe.sources(server.is_some());
        phases.measure_s = t.elapsed().as_secs_f64();
        // Ends the senders now if Ctrl-C cut the measurement short; a no-op otherwise.
        let _ = phase_tx.send(Phase::Draining);
        let t = Instant::now();
        let clients = own_count as u64;
        // After Ctrl-C the drain is short but still happens, so that what was in flight is
        // counted as delivered rather than lost.
        let drain = if progress.interrupted() {
            config.drain.min(Duration::from_secs(1))
        } else {
            config.drain
        };
        // A shard cannot tell when everything owed to its bots has come (other shards' senders'
        // counts are theirs), so it waits the whole drain.
        let sharded = shard.is_sharded();
        listen.wait(Instant::now() + drain, false, |l| {
            !sharded && l.drained(clients)
        });
        phases.drain_s = t.elapsed().as_secs_f64();
        phases.drained = sharded || listen.drained(clients);
    }
    phases.interrupted = progress.interrupted();
    let _ = phase_tx.send(Phase::Stop);
    let mut totals = WorkerStats::new(0, 0);
    for h in handles {
        if let Ok(stats) = h.join() {
            totals.merge(&stats);
        }
    }
    // The workers' last partial seconds.
    while let Ok(i) = listen.seconds.try_recv() {
        if let Some(s) = listen.series.add(i) {
            (listen.on_second)(s);
        }
    }
    if registered < own_count && !phases.interrupted {
        return Err(RunError::Registration {
            registered,
            clients: own_count,
            errors: format!("{:?}", totals.errors),
        });
    }
    drop(server);
    Ok(Outcome {
        server: label,
        addr,
        embedded: config.server.is_none(),
        workers,
        registered,
        totals,
        seconds: listen.series.finish(),
        phases,
        cpu,
        measure_start,
        server_cost,
    })
}

/// When to sample the server's figures, from the run's clock. The server's counters and the
/// deliveries received must be read at the same instant with little in flight between them:
/// with bursts, an instant on a burst holds a whole burst in flight, so the samples are taken in
/// the middle of the quiet gaps (half an interval after the first measured burst and before the
/// end). Otherwise what is in flight is a few milliseconds of traffic, and the measurement's own
/// edges serve.
fn cost_window(config: &Config, from: Duration, to: Duration) -> (Duration, Duration) {
    let half_gap = Duration::from_secs_f64(0.5 / config.rate);
    if config.arrival == crate::schedule::Arrival::Burst && to - from > 2 * half_gap {
        (from + half_gap, to - half_gap)
    } else {
        (from, to)
    }
}

/// Where the server's figures come from: `--server-pid`, or the process listening on a
/// loopback `--server` port; and `--server-metrics`.
fn probe_for(config: &Config, addr: SocketAddr) -> Probe {
    let (pid, pid_from) = match (config.server_pid, &config.server) {
        (Some(pid), _) => (Some(pid), Some("--server-pid".to_string())),
        (None, Some(_)) if addr.ip().is_loopback() => {
            let pid = server_cost::find_listener(addr);
            (pid, pid.map(|_| format!("listening on {addr}")))
        }
        _ => (None, None),
    };
    Probe {
        pid,
        pid_from,
        metrics: config.server_metrics.clone(),
    }
}
