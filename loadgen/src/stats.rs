//! Recording: per-bot histograms and counters (merged at the end), and the few shared atomics
//! that tell the controller when every expected delivery has arrived.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

use hdrhistogram::Histogram;

use crate::token::Token;

/// Latencies are recorded in microseconds, up to a minute, to 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

fn record(h: &mut Histogram<u64>, us: u64) {
    h.saturating_record(us.max(1));
}

/// State every bot shares: the clock, the measurement window, and per-message completion.
pub struct Shared {
    /// Time zero of the run; tokens carry microseconds since this.
    pub base: Instant,
    measure_from_us: AtomicU64,
    measure_to_us: AtomicU64,
    /// Deliveries still missing for measured messages: sent recipients minus deliveries.
    pub expected: AtomicU64,
    /// Deliveries of measured messages.
    pub delivered: AtomicU64,
    /// Per sender, per sequence number: recipients expected (set at send).
    recipients: Vec<Vec<AtomicU32>>,
    /// Per sender, per sequence number: deliveries so far.
    arrived: Vec<Vec<AtomicU32>>,
    /// Per sender, per sequence number: the latest delivery's latency from planned, µs.
    slowest: Vec<Vec<AtomicU64>>,
}

impl Shared {
    /// Room for `per_sender` messages from each of `senders` bots.
    pub fn new(senders: usize, per_sender: usize) -> Shared {
        let grid32 = || {
            (0..senders)
                .map(|_| (0..per_sender).map(|_| AtomicU32::new(0)).collect())
                .collect()
        };
        Shared {
            base: Instant::now(),
            measure_from_us: AtomicU64::new(u64::MAX),
            measure_to_us: AtomicU64::new(u64::MAX),
            expected: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            recipients: grid32(),
            arrived: grid32(),
            slowest: (0..senders)
                .map(|_| (0..per_sender).map(|_| AtomicU64::new(0)).collect())
                .collect(),
        }
    }

    /// Microseconds since the run's time zero.
    pub fn now_us(&self) -> u64 {
        self.base.elapsed().as_micros() as u64
    }

    /// Sets the measured window of planned send times.
    pub fn set_window(&self, from_us: u64, to_us: u64) {
        self.measure_from_us.store(from_us, Ordering::SeqCst);
        self.measure_to_us.store(to_us, Ordering::SeqCst);
    }

    /// Whether a message planned at `planned_us` is measured (not warm-up).
    pub fn measured(&self, planned_us: u64) -> bool {
        planned_us >= self.measure_from_us.load(Ordering::Relaxed)
            && planned_us < self.measure_to_us.load(Ordering::Relaxed)
    }

    /// Whether the sequence number fits the completion table.
    pub fn tracks(&self, sender: u32, seq: u32) -> bool {
        self.recipients
            .get(sender as usize)
            .is_some_and(|v| (seq as usize) < v.len())
    }

    /// A sender announces a measured message and how many should receive it.
    pub fn sent(&self, sender: u32, seq: u32, recipients: u32) {
        if self.tracks(sender, seq) {
            self.recipients[sender as usize][seq as usize].store(recipients, Ordering::Relaxed);
        }
        self.expected.fetch_add(recipients as u64, Ordering::SeqCst);
    }

    /// Adds deliveries counted by a bot; bots report once per read, not per token, to keep
    /// this shared counter off the hot path.
    pub fn add_delivered(&self, n: u64) {
        if n > 0 {
            self.delivered.fetch_add(n, Ordering::SeqCst);
        }
    }

    fn arrived(&self, t: &Token, latency_us: u64) {
        if self.tracks(t.sender, t.seq) {
            let (s, q) = (t.sender as usize, t.seq as usize);
            self.arrived[s][q].fetch_add(1, Ordering::Relaxed);
            self.slowest[s][q].fetch_max(latency_us, Ordering::Relaxed);
        }
    }

    /// Whether every expected delivery has arrived.
    pub fn all_delivered(&self) -> bool {
        self.delivered.load(Ordering::SeqCst) >= self.expected.load(Ordering::SeqCst)
    }

    /// Broadcast completion: per measured message that reached all its recipients, the time
    /// until the last one had it. Also returns how many messages were incomplete.
    pub fn completion(&self) -> (Histogram<u64>, u64) {
        let mut h = histogram();
        let mut incomplete = 0;
        for s in 0..self.recipients.len() {
            for q in 0..self.recipients[s].len() {
                let want = self.recipients[s][q].load(Ordering::Relaxed);
                if want == 0 {
                    continue;
                }
                if self.arrived[s][q].load(Ordering::Relaxed) >= want {
                    record(&mut h, self.slowest[s][q].load(Ordering::Relaxed));
                } else {
                    incomplete += 1;
                }
            }
        }
        (h, incomplete)
    }
}

/// What one bot's receiving side saw.
pub struct RecvStats {
    /// Latency from the planned send time (coordinated-omission safe), µs.
    pub from_planned: Histogram<u64>,
    /// Latency from the actual send time, µs.
    pub from_sent: Histogram<u64>,
    /// Measured deliveries.
    pub delivered: u64,
    /// Tokens seen more than once.
    pub duplicated: u64,
    /// Tokens that arrived after a later one from the same sender.
    pub out_of_order: u64,
    /// Errors by kind (e.g. `err:line-too-long`, `echo`, `read`).
    pub errors: BTreeMap<String, u64>,
    highest: Vec<Option<u32>>,
    seen: Vec<Vec<u64>>,
    me: u32,
    unreported: u64,
}

impl RecvStats {
    /// Empty stats for bot `me` among `senders` bots.
    pub fn new(me: u32, senders: usize) -> RecvStats {
        RecvStats {
            from_planned: histogram(),
            from_sent: histogram(),
            delivered: 0,
            duplicated: 0,
            out_of_order: 0,
            errors: BTreeMap::new(),
            highest: vec![None; senders],
            seen: vec![Vec::new(); senders],
            me,
            unreported: 0,
        }
    }

    /// Counts one error of `kind`.
    pub fn error(&mut self, kind: &str) {
        *self.errors.entry(kind.to_string()).or_default() += 1;
    }

    /// Publishes the deliveries recorded since the last call to the shared counter.
    pub fn report(&mut self, shared: &Shared) {
        shared.add_delivered(std::mem::take(&mut self.unreported));
    }

    /// Records a received token at `now_us`.
    pub fn token(&mut self, t: Token, now_us: u64, shared: &Shared) {
        let s = t.sender as usize;
        if s >= self.seen.len() {
            self.error("unknown-sender");
            return;
        }
        if t.sender == self.me {
            self.error("echoed-to-sender");
            return;
        }
        let (word, bit) = (t.seq as usize / 64, t.seq % 64);
        let bits = &mut self.seen[s];
        if bits.len() <= word {
            bits.resize(word + 1, 0);
        }
        if bits[word] & (1 << bit) != 0 {
            self.duplicated += 1;
            return;
        }
        bits[word] |= 1 << bit;
        match self.highest[s] {
            Some(h) if t.seq < h => self.out_of_order += 1,
            _ => self.highest[s] = Some(t.seq),
        }
        if shared.measured(t.planned_us) {
            let latency = now_us.saturating_sub(t.planned_us);
            record(&mut self.from_planned, latency);
            record(&mut self.from_sent, now_us.saturating_sub(t.sent_us));
            self.delivered += 1;
            self.unreported += 1;
            shared.arrived(&t, latency);
        }
    }
}

/// What one bot's sending side did.
pub struct SendStats {
    /// Measured messages sent.
    pub sent: u64,
    /// All messages sent, warm-up included.
    pub sent_total: u64,
    /// How late each send was against its plan, µs (the generator's own lag).
    pub lag: Histogram<u64>,
    /// Connect plus registration time, µs, if the bot registered.
    pub connect_us: Option<u64>,
    /// Errors by kind.
    pub errors: BTreeMap<String, u64>,
}

impl SendStats {
    /// Empty stats.
    pub fn new() -> SendStats {
        SendStats {
            sent: 0,
            sent_total: 0,
            lag: histogram(),
            connect_us: None,
            errors: BTreeMap::new(),
        }
    }

    /// Records a send `lag_us` behind plan.
    pub fn lag(&mut self, lag_us: u64) {
        record(&mut self.lag, lag_us);
    }

    /// Counts one error of `kind`.
    pub fn error(&mut self, kind: &str) {
        *self.errors.entry(kind.to_string()).or_default() += 1;
    }
}

impl Default for SendStats {
    fn default() -> Self {
        SendStats::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(sender: u32, seq: u32, planned_us: u64) -> Token {
        Token {
            sender,
            seq,
            planned_us,
            sent_us: planned_us,
        }
    }

    fn shared() -> Shared {
        let s = Shared::new(3, 16);
        s.set_window(100, 1_000);
        s
    }

    #[test]
    fn warmup_messages_are_not_measured() {
        let sh = shared();
        let mut r = RecvStats::new(0, 3);
        r.token(tok(1, 0, 50), 60, &sh);
        assert_eq!(r.delivered, 0);
        r.token(tok(1, 1, 150), 170, &sh);
        assert_eq!(r.delivered, 1);
        assert_eq!(r.from_planned.max(), 20);
    }

    #[test]
    fn duplicates_and_reordering_are_counted() {
        let sh = shared();
        let mut r = RecvStats::new(0, 3);
        r.token(tok(1, 2, 200), 210, &sh);
        r.token(tok(1, 2, 200), 220, &sh);
        r.token(tok(1, 1, 150), 230, &sh);
        assert_eq!((r.delivered, r.duplicated, r.out_of_order), (2, 1, 1));
    }

    #[test]
    fn own_tokens_are_echo_errors() {
        let sh = shared();
        let mut r = RecvStats::new(2, 3);
        r.token(tok(2, 0, 200), 210, &sh);
        assert_eq!(r.errors.get("echoed-to-sender"), Some(&1));
        assert_eq!(r.delivered, 0);
    }

    #[test]
    fn completion_is_the_slowest_recipient() {
        let sh = shared();
        sh.sent(1, 3, 2);
        let mut a = RecvStats::new(0, 3);
        let mut b = RecvStats::new(2, 3);
        a.token(tok(1, 3, 200), 210, &sh);
        a.report(&sh);
        assert!(!sh.all_delivered());
        b.token(tok(1, 3, 200), 290, &sh);
        assert!(!sh.all_delivered(), "not yet reported");
        b.report(&sh);
        assert!(sh.all_delivered());
        let (h, incomplete) = sh.completion();
        assert_eq!(incomplete, 0);
        assert_eq!(h.max(), 90);
    }

    #[test]
    fn incomplete_broadcasts_are_counted() {
        let sh = shared();
        sh.sent(1, 0, 2);
        let mut a = RecvStats::new(0, 3);
        a.token(tok(1, 0, 200), 210, &sh);
        assert_eq!(sh.completion().1, 1);
    }
}
