//! The server-wide account of backlog: bytes queued for clients and not yet taken by the kernel.
//!
//! Every outbox adds what it queues and subtracts what it writes or discards, so the total is
//! exact at any moment. The account drives three things:
//! - the total budget: past [`Budget::limit`], the monitor cuts off clients that have stopped
//!   taking bytes, the ones stopped longest first, and senders wait until it is back under;
//!   a client that is reading is never cut for the budget;
//! - flood control: while the bytes waiting for clients that *are* reading pass the watermark,
//!   sessions wait before reading more input ([`Budget::wait_for_room`]), so TCP slows the
//!   senders and nobody's lines are dropped. Bytes held for clients that stopped reading
//!   ([`Budget::add_stuck`]) do not count: a stopped reader must not slow anyone down;
//! - figures for tests and operators ([`BacklogStats`]).
//!
//! Counting is atomic and takes no lock, so outboxes count under their own lock and the total
//! is exact. Waking the senders that wait for room takes `gate`, so it is done apart
//! ([`Budget::wake_waiters`], [`Budget::release_waiters`]), never under an outbox's lock (an
//! outbox wakes once its lock is released); a level-1 lock (the registry, the connection
//! table) may be held, as the lock order in [`crate::sync`] allows. `gate` is a leaf, and the waiting room's protocol is an
//! event count: every change that may end a wait bumps `epoch` and then takes `gate` to notify,
//! and a waiter only sleeps if `epoch` has not moved since it last looked, so no wake-up is
//! lost and no wait depends on its timeout (checked with loom in `tests/handshake_model.rs`).

use std::fmt;
use std::time::Duration;

use crate::sync::atomic::{
    fence, AtomicBool, AtomicIsize, AtomicU64, AtomicUsize, Ordering::SeqCst,
};
use crate::sync::{Condvar, Mutex};

/// Why the server cut a client off for its backlog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutReason {
    /// Lines waited for it and it took no bytes for this long (the stall deadline).
    Stalled(Duration),
    /// Its backlog passed the per-client cap, in bytes.
    BacklogCap(usize),
    /// The server's total budget, in bytes, was exceeded, and it was the client that had gone
    /// longest without taking bytes.
    TotalBudget(usize),
}

impl fmt::Display for CutReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CutReason::Stalled(d) => write!(
                f,
                "stalled: lines waited and it took no bytes for {:.1} s",
                d.as_secs_f64()
            ),
            CutReason::BacklogCap(cap) => {
                write!(f, "backlog cap: more than {} waited for it", Bytes(*cap))
            }
            CutReason::TotalBudget(limit) => write!(
                f,
                "total budget: the server's backlog passed {} and it had gone longest without reading",
                Bytes(*limit)
            ),
        }
    }
}

/// A byte count written the way people read it: `32 MiB`, `512 KiB`, `100 B`.
#[derive(Debug, Clone, Copy)]
pub struct Bytes(pub usize);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(&str, usize); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
        for (unit, size) in UNITS {
            if self.0 >= size && self.0.is_multiple_of(size) {
                return write!(f, "{} {unit}", self.0 / size);
            }
            if self.0 >= size {
                return write!(f, "{:.1} {unit}", self.0 as f64 / size as f64);
            }
        }
        write!(f, "{} B", self.0)
    }
}

/// Figures about backlogs since the server started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BacklogStats {
    /// Bytes waiting for clients right now.
    pub bytes: usize,
    /// The most that ever waited at once.
    pub peak_bytes: usize,
    /// Clients cut off for stalling.
    pub cut_stalled: u64,
    /// Clients cut off for passing the per-client cap.
    pub cut_backlog_cap: u64,
    /// Clients cut off to bring the total back under the budget.
    pub cut_total_budget: u64,
    /// Times a session held back its client's input because of flood control.
    pub flood_waits: u64,
}

/// The account; see the module docs.
pub struct Budget {
    limit: usize,
    watermark: usize,
    total: AtomicIsize,
    peak: AtomicIsize,
    stuck: AtomicIsize,
    cuts: [AtomicU64; 3],
    flood_waits: AtomicU64,
    gate: Mutex<()>,
    room: Condvar,
    waiters: AtomicUsize,
    /// Bumped by every wake-up; see the module docs.
    epoch: AtomicU64,
    alarmed: AtomicBool,
    alarm: Mutex<bool>,
    alarm_rung: Condvar,
}

/// How often a waiting session looks again even without being woken: a safety net only.
const RECHECK: Duration = Duration::from_millis(50);

impl Budget {
    /// An empty account with a total `limit` and a flood `watermark`, both in bytes.
    pub fn new(limit: usize, watermark: usize) -> Budget {
        Budget {
            limit,
            watermark,
            total: AtomicIsize::new(0),
            peak: AtomicIsize::new(0),
            stuck: AtomicIsize::new(0),
            cuts: Default::default(),
            flood_waits: AtomicU64::new(0),
            gate: Mutex::new(()),
            room: Condvar::new(),
            waiters: AtomicUsize::new(0),
            epoch: AtomicU64::new(0),
            alarmed: AtomicBool::new(false),
            alarm: Mutex::new(false),
            alarm_rung: Condvar::new(),
        }
    }

    /// The total budget in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Counts bytes just queued. Past the limit it wakes the monitor to cut someone off.
    pub fn add(&self, n: usize) {
        if n == 0 {
            return;
        }
        // Signed: a flusher may subtract bytes of a batch before its pusher has added them.
        let now = self.total.fetch_add(n as isize, SeqCst) + n as isize;
        self.peak.fetch_max(now, SeqCst);
        if now > self.limit as isize && !self.alarmed.swap(true, SeqCst) {
            *self.alarm.lock() = true;
            self.alarm_rung.notify_one();
        }
    }

    /// Counts bytes that left (written to the kernel or discarded with a cut-off client) and
    /// wakes the senders waiting for room if that relieved the pressure. For callers that hold
    /// no lock; under a lock, [`Budget::count_out`] now and [`Budget::wake_waiters`] after.
    pub fn sub(&self, n: usize) {
        self.count_out(n);
        self.wake_waiters();
    }

    /// Counts bytes that left, without waking anyone: takes no lock.
    pub fn count_out(&self, n: usize) {
        if n != 0 {
            self.total.fetch_sub(n as isize, SeqCst);
        }
    }

    /// Bytes waiting right now.
    pub fn total(&self) -> usize {
        self.total.load(SeqCst).max(0) as usize
    }

    /// Whether the total is past the budget.
    pub fn over_limit(&self) -> bool {
        self.total() > self.limit
    }

    /// Changes how many of the waiting bytes belong to clients that have stopped taking any.
    /// Each outbox adds what it holds when the monitor finds it stuck and takes its share back
    /// the moment it makes progress or closes, so the figure is never stale. Takes no lock:
    /// the caller calls [`Budget::wake_waiters`] once it holds none.
    pub fn add_stuck(&self, delta: isize) {
        if delta != 0 {
            self.stuck.fetch_add(delta, SeqCst);
        }
    }

    /// Bytes currently marked stuck.
    pub fn stuck(&self) -> usize {
        self.stuck.load(SeqCst).max(0) as usize
    }

    /// Whether senders must wait: the bytes waiting for clients that are still reading pass
    /// the watermark, or all bytes together pass the budget (until the monitor has cut off
    /// enough stuck clients, or the readers have caught up).
    pub fn pressured(&self) -> bool {
        let total = self.total.load(SeqCst);
        let moving = total - self.stuck.load(SeqCst);
        moving > self.watermark as isize || total > self.limit as isize
    }

    /// Flood control: returns at once unless the server is under pressure; then waits until it
    /// is not, or `stop()` says to give up. Returns whether it waited.
    ///
    /// `stop` is asked with no lock held, so it may take locks of its own (an outbox's); a
    /// change that makes it true must be followed by [`Budget::release_waiters`].
    pub fn wait_for_room(&self, stop: impl Fn() -> bool) -> bool {
        if !self.pressured() {
            return false;
        }
        self.flood_waits.fetch_add(1, SeqCst);
        // Counted before the first look, so a wake-up that comes after it sees a waiter. The
        // fence pairs with the one in the wakers: either they see this waiter, or this look
        // sees their change (without it, both sides could read the other's old value).
        self.waiters.fetch_add(1, SeqCst);
        fence(SeqCst);
        loop {
            let seen = self.epoch.load(SeqCst);
            if !self.pressured() || stop() {
                break;
            }
            let gate = self.gate.lock();
            if self.epoch.load(SeqCst) == seen {
                // Nothing changed since the look above, and whatever changes next bumps the
                // epoch and then needs `gate`, which this wait releases: it will find us here.
                drop(self.room.wait_timeout(gate, RECHECK));
            }
        }
        self.waiters.fetch_sub(1, SeqCst);
        true
    }

    /// Wakes the senders waiting for room if there is room now. Takes `gate`, a leaf: never
    /// call it under an outbox's lock.
    pub fn wake_waiters(&self) {
        // See `wait_for_room`: the change just counted is ordered before the look at waiters.
        fence(SeqCst);
        if self.waiters.load(SeqCst) > 0 && !self.pressured() {
            self.notify_waiters();
        }
    }

    /// Wakes every sender waiting for room so that each asks its `stop` again (a connection
    /// closed, or the server is shutting down). Takes `gate`, a leaf: never call it under an
    /// outbox's lock.
    pub fn release_waiters(&self) {
        fence(SeqCst);
        if self.waiters.load(SeqCst) > 0 {
            self.notify_waiters();
        }
    }

    fn notify_waiters(&self) {
        self.epoch.fetch_add(1, SeqCst);
        let _gate = self.gate.lock();
        self.room.notify_all();
    }

    /// For the monitor: waits until [`Budget::add`] passed the limit, or `timeout`.
    pub(crate) fn wait_alarm(&self, timeout: Duration) {
        let mut rung = self.alarm.lock();
        if !*rung {
            rung = self.alarm_rung.wait_timeout(rung, timeout);
        }
        *rung = false;
        self.alarmed.store(false, SeqCst);
    }

    /// Wakes the monitor at once (at shutdown).
    pub(crate) fn ring_alarm(&self) {
        *self.alarm.lock() = true;
        self.alarm_rung.notify_one();
    }

    /// Counts a cut-off.
    pub fn record_cut(&self, reason: CutReason) {
        let i = match reason {
            CutReason::Stalled(_) => 0,
            CutReason::BacklogCap(_) => 1,
            CutReason::TotalBudget(_) => 2,
        };
        self.cuts[i].fetch_add(1, SeqCst);
    }

    /// The figures so far.
    pub fn stats(&self) -> BacklogStats {
        BacklogStats {
            bytes: self.total(),
            peak_bytes: self.peak.load(SeqCst).max(0) as usize,
            cut_stalled: self.cuts[0].load(SeqCst),
            cut_backlog_cap: self.cuts[1].load(SeqCst),
            cut_total_budget: self.cuts[2].load(SeqCst),
            flood_waits: self.flood_waits.load(SeqCst),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Instant;

    #[test]
    fn add_and_sub_keep_an_exact_total_and_its_peak() {
        let b = Budget::new(1000, 500);
        b.add(300);
        b.add(200);
        b.sub(400);
        assert_eq!(b.total(), 100);
        assert_eq!(b.stats().peak_bytes, 500);
    }

    #[test]
    fn a_sub_before_its_add_never_wraps_around() {
        let b = Budget::new(1000, 500);
        b.sub(10);
        assert_eq!(b.total(), 0);
        b.add(10);
        assert_eq!(b.total(), 0);
    }

    #[test]
    fn pressure_ignores_bytes_held_by_stuck_clients() {
        let b = Budget::new(1000, 500);
        b.add(600);
        assert!(b.pressured());
        b.add_stuck(200);
        assert!(!b.pressured());
        b.add(101);
        assert!(b.pressured());
    }

    #[test]
    fn passing_the_budget_is_pressure_even_when_the_bytes_are_stuck() {
        let b = Budget::new(1000, 500);
        b.add(1000);
        b.add_stuck(1000);
        assert!(!b.pressured());
        b.add(1);
        assert!(b.pressured());
    }

    #[test]
    fn over_limit_is_strictly_past_the_limit() {
        let b = Budget::new(1000, 500);
        b.add(1000);
        assert!(!b.over_limit());
        b.add(1);
        assert!(b.over_limit());
    }

    #[test]
    fn wait_for_room_returns_at_once_without_pressure() {
        let b = Budget::new(1000, 500);
        b.add(500);
        assert!(!b.wait_for_room(|| false));
        assert_eq!(b.stats().flood_waits, 0);
    }

    #[test]
    fn wait_for_room_waits_until_bytes_leave() {
        let b = Arc::new(Budget::new(1000, 500));
        b.add(800);
        let drainer = {
            let b = b.clone();
            std::thread::spawn(move || {
                // Released only once the waiter is parked, so the wait is real.
                while b.waiters.load(SeqCst) == 0 {
                    std::thread::yield_now();
                }
                b.sub(400);
            })
        };
        assert!(b.wait_for_room(|| false));
        assert!(!b.pressured());
        drainer.join().unwrap();
        assert_eq!(b.stats().flood_waits, 1);
    }

    #[test]
    fn wait_for_room_gives_up_when_told_to_stop() {
        let b = Budget::new(1000, 500);
        b.add(800);
        let started = Instant::now();
        assert!(b.wait_for_room(|| true));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn passing_the_limit_rings_the_alarm() {
        let b = Budget::new(100, 50);
        b.add(101);
        let started = Instant::now();
        b.wait_alarm(Duration::from_secs(30));
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn cuts_are_counted_by_reason() {
        let b = Budget::new(100, 50);
        b.record_cut(CutReason::Stalled(Duration::from_secs(10)));
        b.record_cut(CutReason::BacklogCap(10));
        b.record_cut(CutReason::BacklogCap(10));
        b.record_cut(CutReason::TotalBudget(100));
        let s = b.stats();
        assert_eq!(
            (s.cut_stalled, s.cut_backlog_cap, s.cut_total_budget),
            (1, 2, 1)
        );
    }

    #[test]
    fn cut_reasons_read_well() {
        assert_eq!(
            CutReason::BacklogCap(32 << 20).to_string(),
            "backlog cap: more than 32 MiB waited for it"
        );
        assert!(CutReason::Stalled(Duration::from_secs(10))
            .to_string()
            .contains("10.0 s"));
        assert_eq!(Bytes(1536).to_string(), "1.5 KiB");
        assert_eq!(Bytes(100).to_string(), "100 B");
    }
}
