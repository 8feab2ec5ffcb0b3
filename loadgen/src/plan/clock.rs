//! The run's clock: time zero of this process, the start of sending that every shard shares,
//! the measured window, and which bots' tokens were stamped here.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

/// The run's time zero, the start of sending, the measured window, and which bots are this
/// process's (its shard); shared read-only by every thread.
///
/// Tokens carry their planned and actual send times as offsets from the start of sending,
/// which every shard of a run puts at the same wall-clock instant (`--start-at`): so every
/// shard agrees on which messages are measured, whoever sent them. Latency is only taken on
/// the clock that stamped the token, for tokens this process's own bots sent.
pub struct Clock {
    /// Time zero of this process.
    pub base: Instant,
    /// The wall-clock time at time zero, for the files that need dates.
    pub wall: SystemTime,
    start_us: AtomicU64,
    from_us: AtomicU64,
    to_us: AtomicU64,
    shard: (u32, u32),
}

impl Clock {
    /// A clock starting now, with no measured window yet, for shard `index` of `count`.
    pub fn new(index: u32, count: u32) -> Clock {
        Clock {
            base: Instant::now(),
            wall: SystemTime::now(),
            start_us: AtomicU64::new(0),
            from_us: AtomicU64::new(u64::MAX),
            to_us: AtomicU64::new(u64::MAX),
            shard: (index, count.max(1)),
        }
    }

    /// Microseconds since time zero.
    pub fn now_us(&self) -> u64 {
        self.base.elapsed().as_micros() as u64
    }

    /// Microseconds since the start of sending (0 before it).
    pub fn since_start_us(&self) -> u64 {
        self.offset_us(self.now_us())
    }

    /// An instant of this clock (µs after time zero) as an offset from the start of sending,
    /// the scale tokens carry (0 before it).
    pub fn offset_us(&self, now_us: u64) -> u64 {
        now_us.saturating_sub(self.start_us.load(Ordering::Relaxed))
    }

    /// Sets the start of sending (µs after time zero) and the window of planned offsets from it
    /// that is measured.
    pub fn set_window(&self, start_us: u64, from_us: u64, to_us: u64) {
        self.start_us.store(start_us, Ordering::SeqCst);
        self.from_us.store(from_us, Ordering::SeqCst);
        self.to_us.store(to_us, Ordering::SeqCst);
    }

    /// Whether a message planned at offset `planned_us` is measured (not warm-up).
    pub fn measured(&self, planned_us: u64) -> bool {
        planned_us >= self.from_us.load(Ordering::Relaxed)
            && planned_us < self.to_us.load(Ordering::Relaxed)
    }

    /// Whether bot `sender` is one of this process's: its tokens were stamped on this clock.
    pub fn own(&self, sender: u32) -> bool {
        sender % self.shard.1 == self.shard.0
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new(0, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_planned_offsets_inside_the_window_are_measured() {
        let c = Clock::default();
        assert!(
            !c.measured(0),
            "nothing is measured before the window is set"
        );
        c.set_window(1_000, 500, 1_500);
        assert!(!c.measured(499));
        assert!(c.measured(500));
        assert!(c.measured(1_499));
        assert!(!c.measured(1_500));
    }

    #[test]
    fn own_bots_are_those_of_this_shard() {
        let c = Clock::new(1, 3);
        let own: Vec<u32> = (0..9).filter(|&b| c.own(b)).collect();
        assert_eq!(own, [1, 4, 7]);
        assert!((0..5).all(|b| Clock::default().own(b)));
    }
}
