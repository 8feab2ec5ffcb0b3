//! A worker: one OS thread with its own single-threaded tokio runtime, driving a share of the
//! bots (bot `i` goes to worker `i % workers`), as wrk2 does with its threads. The worker's bots
//! share its stats and its read buffer through plain `RefCell`s: nothing per delivery crosses
//! threads. Besides the bots, two small tasks run on each worker: a ticker that hands the
//! controller each second's figures, and the timer's driver, whose expiries also sample how late
//! the event loop runs what is due (a worker too busy to be stamped samples it every 2 ms instead).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use crate::engine::bot;
use crate::engine::brief::{Brief, Links, Phase, Worker};
use crate::engine::timer::Timer;
use crate::plan::arrival::Arrivals;
use crate::recording::series::Interval;
use crate::recording::stats::{self, WorkerStats};

/// Starts worker `id` of `workers` on its own thread; joining it gives its stats.
pub fn spawn(
    id: usize,
    workers: usize,
    plan: Arc<Brief>,
    links: Links,
) -> std::io::Result<std::thread::JoinHandle<WorkerStats>> {
    std::thread::Builder::new()
        .name(format!("loadgen-w{id}"))
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a current-thread runtime starts");
            let local = tokio::task::LocalSet::new();
            // The timer's fd registers with this runtime's reactor.
            let entered = runtime.enter();
            let timer = Timer::new().expect("a timerfd (Linux)");
            // This worker's share of the plan's bots (bot i goes to worker i % workers).
            let mine: Vec<usize> = (id..plan.own.len()).step_by(workers).collect();
            timer.set_load(mine.len() as f64 * plan.config.rate);
            // What the busiest worker's bots will read (each hears every other bot of the run):
            // every worker decides alike, so the run's receive-side figures are all of a kind.
            let busiest = plan.own.len().div_ceil(workers);
            let deliveries = busiest as f64 * plan.names.len() as f64 * plan.config.rate;
            drop(entered);
            let w = Rc::new(Worker {
                stats: RefCell::new(WorkerStats::new(plan.names.len(), plan.per_sender)),
                // The longest unfinished line a bot may keep, then room for one read.
                buf: RefCell::new(vec![0u8; crate::engine::recv::MAX_TAIL + 64 * 1024]),
                live: links.live,
                phase: links.phase,
                ready: links.ready,
                timer,
                arrivals: RefCell::new(Arrivals::for_load(deliveries)),
                plan,
            });
            local.block_on(&runtime, async {
                // The event loop's lag: a stamped worker's is sampled from the expiries its
                // sends need anyway (its receive side is the notice lag); an unstamped one, whose
                // loop lag stands for its receive side, wakes every 2 ms to sample it, so that a
                // burst's reading is sampled too (see sample_loop_lag).
                let stamped = w.arrivals.borrow().stamped();
                let driving = tokio::task::spawn_local({
                    let w = w.clone();
                    async move {
                        w.timer
                            .drive(|late| {
                                if stamped {
                                    record_loop_lag(&w, late)
                                }
                            })
                            .await
                    }
                });
                let ticking = tokio::task::spawn_local(tick(w.clone(), links.seconds));
                let sampling =
                    (!stamped).then(|| tokio::task::spawn_local(sample_loop_lag(w.clone())));
                let bots: Vec<_> = mine
                    .into_iter()
                    .map(|nth| {
                        let index = w.plan.own[nth];
                        tokio::task::spawn_local(bot::run(index, nth, w.clone()))
                    })
                    .collect();
                for b in bots {
                    let _ = b.await;
                }
                if let Some(sampling) = sampling {
                    let _ = sampling.await;
                }
                let _ = ticking.await;
                driving.abort();
            });
            drop(local);
            w.stats.replace(WorkerStats::new(0, 0))
        })
}

/// Waits for the sending phase; `None` if the run stops first.
async fn sending(w: &Worker) -> Option<(Duration, Duration)> {
    let mut phase = w.phase.clone();
    let now = *phase.wait_for(|p| *p != Phase::Connecting).await.ok()?;
    match now {
        Phase::Sending { start, end } => Some((start, end)),
        _ => None,
    }
}

/// Hands the controller each second's figures. Seconds are counted from the start of the
/// measurement so that every worker cuts them at the same instants.
async fn tick(w: Rc<Worker>, seconds: mpsc::Sender<Interval>) {
    let Some((start, _)) = sending(&w).await else {
        return;
    };
    let warmup = w.plan.config.warmup;
    let measure_from = start + warmup;
    let mut second = -(warmup.as_secs_f64().ceil() as i64);
    let mut phase = w.phase.clone();
    loop {
        let end_us = measure_from.as_micros() as i64 + (second + 1) * 1_000_000;
        let boundary = w.plan.clock.base + Duration::from_micros(end_us.max(0) as u64);
        let stopped = tokio::select! {
            // On the sends' timer: a tick a millisecond late would count the first measured
            // deliveries in the last warm-up second.
            _ = w.timer.sleep_until(boundary) => false,
            _ = phase.wait_for(|p| *p == Phase::Stop) => true,
        };
        let (latency, tally) = w.stats.borrow_mut().take_interval();
        if seconds
            .send(Interval {
                second,
                latency,
                tally,
            })
            .is_err()
            || stopped
        {
            return;
        }
        second += 1;
    }
}

/// Records how late a stamped worker ran one of its timer's expiries, when that falls in the
/// measurement: the time a due send can wait for this worker. Sampled from the sends' own
/// wake-ups rather than from a timer of its own: a light worker waking every few milliseconds
/// just to look keeps the machine's cores from idling, and so makes the server (and the worker)
/// answer faster than they do for a client that sleeps between events.
fn record_loop_lag(w: &Worker, late: Duration) {
    let clock = &w.plan.clock;
    if clock.measured(clock.since_start_us()) {
        stats::record(&mut w.stats.borrow_mut().loop_lag, late.as_micros() as u64);
    }
}

/// An unstamped worker's loop lag: sleeps in 2 ms steps during the measurement and records how
/// late each wake-up is, the time a ready socket or a due send can wait for this worker. Such a
/// worker expects over 100,000 deliveries a second and is busy anyway; in a burst run it idles
/// between bursts, and the reading after each burst is what its loop lag must catch.
async fn sample_loop_lag(w: Rc<Worker>) {
    let Some((start, end)) = sending(&w).await else {
        return;
    };
    let clock = &w.plan.clock;
    let from = clock.base + start + w.plan.config.warmup;
    let to = clock.base + end;
    w.timer.wake_at(from).await;
    // On the same timer as the bots' sends, so the figure is the loop's own lag, not the
    // timer's granularity; without a light worker's early firing and spin, so that it
    // includes waking up, as a socket's readiness does.
    let step = Duration::from_millis(2);
    let mut due = std::time::Instant::now() + step;
    let mut phase = w.phase.clone();
    while due < to {
        tokio::select! {
            _ = w.timer.wake_at(due) => {}
            _ = phase.wait_for(Phase::sending_over) => return,
        }
        let now = std::time::Instant::now();
        stats::record(
            &mut w.stats.borrow_mut().loop_lag,
            now.saturating_duration_since(due).as_micros() as u64,
        );
        due = now + step;
    }
}
