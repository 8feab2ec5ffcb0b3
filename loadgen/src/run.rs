//! The controller, on the calling thread: finds (or embeds) the server, checks it answers,
//! starts the workers, moves them through the phases (connect ramp, barrier, warm-up,
//! measurement, drain), collects each second's figures as they come, and merges the workers'
//! stats at the end.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;

use crate::config::Config;
use crate::cpu::{CpuShare, CpuWindow};
use crate::crew::{Interval, Links, Phase, Plan};
use crate::series::{Second, Series};
use crate::server_cost::{self, Probe, Sample, ServerCost};
use crate::stats::{Clock, Live, Totals, WorkerStats};
use crate::worker;

/// Why a run could not happen at all.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The settings are unusable.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The embedded server did not start.
    #[error("cannot start the embedded server")]
    Embed(#[source] std::io::Error),
    /// The server cannot be reached, or does not speak chat/1.
    #[error(transparent)]
    Reach(#[from] crate::reach::ReachError),
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
    seconds: mpsc::Receiver<Interval>,
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

/// The server a run drives: the embedded reference server or `--server`, and where its figures
/// come from.
pub struct Server {
    /// The address connected to.
    pub addr: SocketAddr,
    /// The server as given (or the embedded server's address).
    pub label: String,
    embedded: Option<chat_server::RunningServer>,
    probe: Probe,
}

impl Server {
    /// Embeds the reference server, or finds `--server` and checks it answers; then checks the
    /// bots' source addresses and the sources of the server's figures.
    pub fn open(config: &Config) -> Result<Server, RunError> {
        let (addr, embedded, label) = match &config.server {
            Some(text) => (crate::reach::find_server(text, config)?, None, text.clone()),
            None => {
                let server = chat_server::RunningServer::start(config.embedded_server())
                    .map_err(RunError::Embed)?;
                let addr = server.addr();
                (addr, Some(server), addr.to_string())
            }
        };
        crate::source::check(&config.source_addresses, addr)?;
        let probe = probe_for(config, addr);
        probe.check()?;
        Ok(Server {
            addr,
            label,
            embedded,
            probe,
        })
    }

    /// The server's counters now.
    fn sample(&self) -> Sample {
        let embedded = self.embedded.as_ref().map(|s| {
            let cpu = crate::cpu::sample().map_or(0.0, |c| c.other);
            (s.metrics(), cpu)
        });
        self.probe
            .sample(embedded.as_ref().map(|(m, cpu)| (m, *cpu)))
    }
}

/// A run under way: its workers started, the controller listening to them.
struct Crew<'a> {
    config: Config,
    plan: Arc<Plan>,
    phase: watch::Sender<Phase>,
    ready: mpsc::Receiver<bool>,
    handles: Vec<std::thread::JoinHandle<WorkerStats>>,
    listen: Listen<'a>,
    workers: usize,
}

/// What the measurement found besides the workers' recordings.
struct Measured {
    cpu: Option<CpuUse>,
    server_cost: ServerCost,
    measure_start: SystemTime,
}

impl<'a> Crew<'a> {
    /// Plans the run and starts its workers, each with its share of the bots connecting.
    fn start(
        config: Config,
        server: &Server,
        progress: &'a Progress,
        on_second: &'a mut dyn FnMut(&Second),
    ) -> Result<Crew<'a>, RunError> {
        let addr = server.addr;
        let workers = config.workers_for(server.embedded.is_some() || addr.ip().is_loopback());
        let per_sender = (config.rate * (config.warmup + config.duration).as_secs_f64() * 1.5)
            .ceil() as usize
            + 16;
        let shard = config.shard;
        let own = shard.bots(config.clients);
        let clock = Clock::new(shard.index, shard.count);
        // A per-run tag keeps names unique when several runs share a server; the shards of one
        // run derive the same one from their common start, so that each knows the others' names.
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
            own_bots: own.len() as u32,
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
        Ok(Crew {
            config,
            plan,
            phase: phase_tx,
            ready: ready_rx,
            handles,
            listen: Listen {
                seconds: seconds_rx,
                series: Series::new(workers),
                on_second,
                live,
                progress,
            },
            workers,
        })
    }

    /// This process's bots.
    fn own_count(&self) -> usize {
        self.plan.own.len()
    }

    /// The connect ramp: waits until every bot has registered or given up (or Ctrl-C); the
    /// number registered.
    fn connect(&mut self) -> usize {
        let (mut registered, mut answered) = (0, 0);
        while answered < self.own_count() && !self.listen.progress.interrupted() {
            match self.ready.recv_timeout(Duration::from_millis(50)) {
                Ok(ok) => {
                    answered += 1;
                    registered += ok as usize;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        registered
    }

    /// When sending starts, from time zero: shortly after the barrier, or at `--start-at`,
    /// which must still be ahead.
    fn start_time(&self, registered: usize) -> Result<Duration, RunError> {
        let clock = &self.plan.clock;
        let Some(at) = self.config.start_at else {
            return Ok(clock.base.elapsed() + Duration::from_millis(50));
        };
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs_f64(at);
        let from_zero = at.duration_since(clock.wall).unwrap_or_default();
        if from_zero <= clock.base.elapsed() {
            return Err(RunError::StartMissed {
                registered,
                late_s: clock.base.elapsed().as_secs_f64() - from_zero.as_secs_f64(),
            });
        }
        Ok(from_zero)
    }

    /// Warm-up and measurement: sends from `start`, samples the server's counters and the CPU
    /// over the measured window.
    fn measure(
        &mut self,
        start: Duration,
        server: &Server,
        idle: &Sample,
        registered: usize,
        phases: &mut Phases,
    ) -> Measured {
        let config = &self.config;
        let clock = &self.plan.clock;
        let measure_from = start + config.warmup;
        let end = measure_from + config.duration;
        clock.set_window(
            start.as_micros() as u64,
            config.warmup.as_micros() as u64,
            (config.warmup + config.duration).as_micros() as u64,
        );
        let _ = self.phase.send(Phase::Sending { start, end });
        phases.start_wait_s = start.saturating_sub(clock.base.elapsed()).as_secs_f64();
        let listen = &mut self.listen;
        let t = Instant::now();
        listen.wait(clock.base + measure_from, true, |_| false);
        phases.warmup_s = (t.elapsed().as_secs_f64() - phases.start_wait_s).max(0.0);
        let t = Instant::now();
        let window = CpuWindow::start();
        let received_before = listen.sum(|l| &l.received);
        let (cost_from, cost_to) = cost_window(config, measure_from, end);
        // Sampling the server takes time (a scrape, /proc): the deliveries received meanwhile
        // are split evenly between before and after, so a slow sample does not tilt the ratio.
        let sample_at = |listen: &Listen<'_>| {
            let before = listen.sum(|l| &l.received);
            let sample = server.sample();
            (sample, (before + listen.sum(|l| &l.received)) / 2)
        };
        listen.wait(clock.base + cost_from, true, |_| false);
        let (first, first_received) = sample_at(listen);
        listen.wait(clock.base + cost_to, true, |_| false);
        let (last, last_received) = sample_at(listen);
        let cost_deliveries = last_received.saturating_sub(first_received);
        listen.wait(clock.base + end, true, |_| false);
        let deliveries = listen.sum(|l| &l.received) - received_before;
        let mut server_cost = server_cost::cost(idle, &first, &last, cost_deliveries, registered);
        if config.shard.is_sharded() {
            // The server served every shard's bots, this shard saw only its own deliveries:
            // per-delivery figures come from `loadgen merge`; per-client ones are not taken.
            server_cost = server_cost.for_merge();
        }
        server_cost.sources = server.probe.sources(server.embedded.is_some());
        phases.measure_s = t.elapsed().as_secs_f64();
        Measured {
            cpu: window.finish().map(|share| CpuUse { share, deliveries }),
            server_cost,
            measure_start: clock.wall + measure_from,
        }
    }

    /// Ends the sends and waits for what they are owed, up to `--drain`.
    fn drain(&mut self, phases: &mut Phases) {
        // Ends the senders now if Ctrl-C cut the measurement short; a no-op otherwise.
        let _ = self.phase.send(Phase::Draining);
        let t = Instant::now();
        let clients = self.own_count() as u64;
        // After Ctrl-C the drain is short but still happens, so that what was in flight is
        // counted as delivered rather than lost.
        let drain = if self.listen.progress.interrupted() {
            self.config.drain.min(Duration::from_secs(1))
        } else {
            self.config.drain
        };
        // A shard cannot tell when everything owed to its bots has come (other shards' senders'
        // counts are theirs), so it waits the whole drain.
        let sharded = self.config.shard.is_sharded();
        self.listen.wait(Instant::now() + drain, false, |l| {
            !sharded && l.drained(clients)
        });
        phases.drain_s = t.elapsed().as_secs_f64();
        phases.drained = sharded || self.listen.drained(clients);
    }

    /// Stops the workers and merges what they recorded; the run second by second.
    fn finish(mut self) -> (Totals, Vec<Second>) {
        let _ = self.phase.send(Phase::Stop);
        let mut totals = WorkerStats::new(0, 0);
        for h in self.handles.drain(..) {
            if let Ok(stats) = h.join() {
                totals.merge(&stats);
            }
        }
        // The workers' last partial seconds.
        while let Ok(i) = self.listen.seconds.try_recv() {
            if let Some(s) = self.listen.series.add(i) {
                (self.listen.on_second)(s);
            }
        }
        (totals, self.listen.series.finish())
    }
}

/// Runs the whole load test on worker threads, calling `on_second` as each second completes:
/// the server found or embedded, the workers started, then the phases in turn.
pub fn run(
    config: Config,
    progress: &Progress,
    on_second: &mut dyn FnMut(&Second),
) -> Result<Outcome, RunError> {
    config.validate()?;
    let server = Server::open(&config)?;
    let idle = server_cost::settled(|| server.sample());
    let mut crew = Crew::start(config.clone(), &server, progress, on_second)?;
    let own_count = crew.own_count();
    let workers = crew.workers;

    let connect_started = Instant::now();
    let registered = crew.connect();
    let mut phases = Phases {
        connect_s: connect_started.elapsed().as_secs_f64(),
        ..Phases::default()
    };
    let mut measured = Measured {
        cpu: None,
        server_cost: ServerCost::default(),
        measure_start: SystemTime::now(),
    };
    if registered == own_count && !progress.interrupted() {
        // Barrier passed: everyone is registered, so everyone receives every broadcast.
        let start = match crew.start_time(registered) {
            Ok(start) => start,
            Err(e) => {
                let _ = crew.phase.send(Phase::Stop);
                return Err(e);
            }
        };
        measured = crew.measure(start, &server, &idle, registered, &mut phases);
        crew.drain(&mut phases);
    }
    phases.interrupted = progress.interrupted();
    let (totals, seconds) = crew.finish();
    if registered < own_count && !phases.interrupted {
        return Err(RunError::Registration {
            registered,
            clients: own_count,
            errors: format!("{:?}", totals.errors),
        });
    }
    let embedded = server.embedded.is_some();
    Ok(Outcome {
        server: server.label.clone(),
        addr: server.addr,
        embedded,
        workers,
        registered,
        totals,
        seconds,
        phases,
        cpu: measured.cpu,
        measure_start: measured.measure_start,
        server_cost: measured.server_cost,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::Arrival;

    fn config(arrival: Arrival, rate: f64) -> Config {
        Config {
            arrival,
            rate,
            ..Config::default()
        }
    }

    #[test]
    fn bursts_are_sampled_in_the_quiet_gaps() {
        let (from, to) = (Duration::from_secs(2), Duration::from_secs(7));
        let (a, b) = cost_window(&config(Arrival::Burst, 5.0), from, to);
        assert_eq!(
            (a, b),
            (
                from + Duration::from_millis(100),
                to - Duration::from_millis(100)
            )
        );
    }

    #[test]
    fn steady_loads_are_sampled_at_the_measurement_edges() {
        let (from, to) = (Duration::from_secs(2), Duration::from_secs(7));
        assert_eq!(
            cost_window(&config(Arrival::Fixed, 5.0), from, to),
            (from, to)
        );
        // A burst interval longer than the measurement leaves no gap to aim for.
        assert_eq!(
            cost_window(&config(Arrival::Burst, 0.1), from, to),
            (from, to)
        );
    }
}
