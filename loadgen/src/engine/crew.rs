//! The phases of one run, driven from the controller's thread: the workers started with the
//! plan ([`Crew::start`]), the connect ramp and barrier ([`Crew::connect`]), warm-up and
//! measurement with the server's counters sampled ([`Crew::measure`]), the drain
//! ([`Crew::drain`]), and the workers' stats merged ([`Crew::finish`]). [`crate::engine::run::run`]
//! calls them in turn; the controller hears each second as it completes.

use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;

use crate::engine::brief::{Brief, Links, Phase};
use crate::engine::outcome::{CpuUse, Phases, Progress, RunError};
use crate::engine::target::Server;
use crate::engine::worker;
use crate::plan::config::Config;
use crate::recording::cpu::CpuWindow;
use crate::recording::series::Interval;
use crate::recording::series::{Second, Series};
use crate::recording::server_cost::{self, Sample, ServerCost};
use crate::recording::stats::{Clock, Live, Totals, WorkerStats};

/// What the controller hears from the workers.
pub(crate) struct Listen<'a> {
    seconds: mpsc::Receiver<Interval>,
    series: Series,
    on_second: &'a mut dyn FnMut(&Second),
    live: Vec<Arc<Live>>,
    progress: &'a Progress,
}

impl Listen<'_> {
    /// Passes on each second as it completes until `deadline`, or until `done` (when given)
    /// holds, or (when `interruptible`) until Ctrl-C.
    fn wait(
        &mut self,
        deadline: Instant,
        interruptible: bool,
        done: Option<&dyn Fn(&Self) -> bool>,
    ) {
        // How often to look at `done` and Ctrl-C between seconds. Only a drain waits for a
        // condition, and it ends the run: looked at often. Otherwise rarely, because a process
        // that wakes a hundred times a second keeps the machine's cores from idling, and the
        // server then answers faster than it does for the clients it is measured for.
        let look = if done.is_some() {
            Duration::from_millis(10)
        } else {
            Duration::from_millis(100)
        };
        loop {
            let now = Instant::now();
            if (interruptible && self.progress.interrupted())
                || now >= deadline
                || done.is_some_and(|done| done(self))
            {
                return;
            }
            let step = (deadline - now).min(look);
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

/// A run under way: its workers started, the controller listening to them.
pub struct Crew<'a> {
    plan: Arc<Brief>,
    phase: watch::Sender<Phase>,
    ready: mpsc::Receiver<bool>,
    handles: Vec<std::thread::JoinHandle<WorkerStats>>,
    listen: Listen<'a>,
    /// Worker threads.
    pub workers: usize,
}

/// What the measurement found besides the workers' recordings.
pub struct Measured {
    /// CPU during the measurement.
    pub cpu: Option<CpuUse>,
    /// What the server spent on the measured load.
    pub server_cost: ServerCost,
    /// Wall-clock start of the measurement.
    pub measure_start: SystemTime,
}

impl<'a> Crew<'a> {
    /// Plans the run and starts its workers, each with its share of the bots connecting.
    pub fn start(
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
        let plan = Arc::new(Brief {
            config,
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

    /// Stops the workers at once (a run that cannot go on).
    pub fn stop(&self) {
        let _ = self.phase.send(Phase::Stop);
    }

    /// This process's bots.
    pub fn own_count(&self) -> usize {
        self.plan.own.len()
    }

    /// The connect ramp: waits until every bot has registered or given up (or Ctrl-C); the
    /// number registered.
    pub fn connect(&mut self) -> usize {
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
    pub fn start_time(&self, registered: usize) -> Result<Duration, RunError> {
        let clock = &self.plan.clock;
        let Some(at) = self.plan.config.start_at else {
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
    pub fn measure(
        &mut self,
        start: Duration,
        server: &Server,
        idle: &Sample,
        registered: usize,
        phases: &mut Phases,
    ) -> Measured {
        let config = &self.plan.config;
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
        listen.wait(clock.base + measure_from, true, None);
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
        listen.wait(clock.base + cost_from, true, None);
        let (first, first_received) = sample_at(listen);
        listen.wait(clock.base + cost_to, true, None);
        let (last, last_received) = sample_at(listen);
        let cost_deliveries = last_received.saturating_sub(first_received);
        listen.wait(clock.base + end, true, None);
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
    pub fn drain(&mut self, phases: &mut Phases) {
        // Ctrl-C ends the senders now. Otherwise a send planned before the end is still owed
        // however late its worker is: dropping it would hide the generator's own lateness
        // (and count one message fewer than the plan).
        if self.listen.progress.interrupted() {
            let _ = self.phase.send(Phase::Draining);
        }
        let t = Instant::now();
        let clients = self.own_count() as u64;
        // After Ctrl-C the drain is short but still happens, so that what was in flight is
        // counted as delivered rather than lost.
        let drain = if self.listen.progress.interrupted() {
            self.plan.config.drain.min(Duration::from_secs(1))
        } else {
            self.plan.config.drain
        };
        // A shard cannot tell when everything owed to its bots has come (other shards' senders'
        // counts are theirs), so it waits the whole drain.
        let sharded = self.plan.config.shard.is_sharded();
        let drained = |l: &Listen| l.drained(clients);
        self.listen.wait(
            Instant::now() + drain,
            false,
            (!sharded).then_some(&drained),
        );
        phases.drain_s = t.elapsed().as_secs_f64();
        phases.drained = sharded || self.listen.drained(clients);
    }

    /// Stops the workers and merges what they recorded; the run second by second.
    pub fn finish(mut self) -> (Totals, Vec<Second>) {
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

/// When to sample the server's figures, from the run's clock. The server's counters and the
/// deliveries received must be read at the same instant with little in flight between them:
/// with bursts, an instant on a burst holds a whole burst in flight, so the samples are taken in
/// the middle of the quiet gaps (half an interval after the first measured burst and before the
/// end). Otherwise what is in flight is a few milliseconds of traffic, and the measurement's own
/// edges serve.
fn cost_window(config: &Config, from: Duration, to: Duration) -> (Duration, Duration) {
    let half_gap = Duration::from_secs_f64(0.5 / config.rate);
    if config.arrival == crate::plan::schedule::Arrival::Burst && to - from > 2 * half_gap {
        (from + half_gap, to - half_gap)
    } else {
        (from, to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::schedule::Arrival;

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
