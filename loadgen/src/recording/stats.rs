//! Recording. Each worker thread owns one [`WorkerStats`] that all its bots record into with no
//! lock and no atomic per delivery; the controller merges the workers' stats at the end
//! ([`Totals`]). The only cross-thread state is the read-only [`Clock`] and a few per-worker
//! counters ([`Live`]) published once per read, for the drain and the live line.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use hdrhistogram::Histogram;

pub use crate::plan::clock::Clock;
use crate::recording::order::Seen;
use crate::recording::token::Token;

/// Latencies are recorded in microseconds, up to a minute, to 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// Records `us`, clamped into the histogram's range.
pub fn record(h: &mut Histogram<u64>, us: u64) {
    h.saturating_record(us.max(1));
}

/// Counters one worker publishes for the controller (drain, live line). Written by that worker
/// only, once per read or send, so they never bounce between cores on the hot path.
#[derive(Default)]
pub struct Live {
    /// Deliveries the server owes for measured messages.
    pub expected: AtomicU64,
    /// Measured deliveries received.
    pub delivered: AtomicU64,
    /// All deliveries received, warm-up included (for CPU per delivery).
    pub received: AtomicU64,
    /// Bots whose sending is over (finished, failed, or never registered).
    pub senders_done: AtomicU64,
}

impl Live {
    fn add(counter: &AtomicU64, n: u64) {
        if n > 0 {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    }
}

/// "Last recipient got it" bookkeeping per measured message, indexed by sender and sequence
/// number. Each worker keeps its own part; the parts add up (counts) and take the maximum
/// (latency) when merged.
#[derive(Debug, Clone, Default)]
pub struct Completion {
    per_sender: usize,
    /// Recipients owed, set by the sender's worker.
    recipients: Vec<u32>,
    /// Deliveries seen by this worker's bots.
    arrived: Vec<u32>,
    /// The slowest of those deliveries, µs from planned.
    slowest: Vec<u32>,
}

impl Completion {
    /// Room for `per_sender` messages from each of `senders` bots.
    pub fn new(senders: usize, per_sender: usize) -> Completion {
        let n = senders * per_sender;
        Completion {
            per_sender,
            recipients: vec![0; n],
            arrived: vec![0; n],
            slowest: vec![0; n],
        }
    }

    fn slot(&self, sender: u32, seq: u32) -> Option<usize> {
        let seq = seq as usize;
        (seq < self.per_sender)
            .then(|| sender as usize * self.per_sender + seq)
            .filter(|&i| i < self.recipients.len())
    }

    fn sent(&mut self, sender: u32, seq: u32, recipients: u32) {
        if let Some(i) = self.slot(sender, seq) {
            self.recipients[i] = recipients;
        }
    }

    fn arrived(&mut self, sender: u32, seq: u32, latency_us: u64) {
        if let Some(i) = self.slot(sender, seq) {
            self.arrived[i] += 1;
            let l = latency_us.min(u32::MAX as u64) as u32;
            self.slowest[i] = self.slowest[i].max(l);
        }
    }

    /// Adds another worker's part.
    pub fn merge(&mut self, other: &Completion) {
        if self.recipients.is_empty() {
            *self = other.clone();
            return;
        }
        for i in 0..self.recipients.len().min(other.recipients.len()) {
            self.recipients[i] = self.recipients[i].max(other.recipients[i]);
            self.arrived[i] += other.arrived[i];
            self.slowest[i] = self.slowest[i].max(other.slowest[i]);
        }
    }

    /// Per measured message that reached all its recipients, the time until the last one had
    /// it; and how many messages were incomplete.
    pub fn histogram(&self) -> (Histogram<u64>, u64) {
        let mut h = histogram();
        let mut incomplete = 0;
        for i in 0..self.recipients.len() {
            let want = self.recipients[i];
            if want == 0 {
                continue;
            }
            if self.arrived[i] >= want {
                record(&mut h, self.slowest[i] as u64);
            } else {
                incomplete += 1;
            }
        }
        (h, incomplete)
    }
}

/// One sender's measured messages: deliveries they owe (counted by the sender's shard) and
/// deliveries that arrived (counted by the recipients' shards). Added over shards, the
/// difference is that sender's loss.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SenderCount {
    /// Deliveries owed for its measured messages.
    pub expected: u64,
    /// Deliveries of its measured messages that arrived.
    pub delivered: u64,
}

impl SenderCount {
    /// Adds another count.
    pub fn add(&mut self, o: &SenderCount) {
        self.expected += o.expected;
        self.delivered += o.delivered;
    }
}

/// Message counts.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tally {
    /// Measured messages sent.
    pub sent: u64,
    /// All messages sent, warm-up included.
    pub sent_all: u64,
    /// Deliveries the server owes for measured messages.
    pub expected: u64,
    /// Measured deliveries.
    pub delivered: u64,
    /// All deliveries, warm-up included.
    pub delivered_all: u64,
    /// Tokens seen more than once by the same bot.
    pub duplicated: u64,
    /// Tokens that arrived after a later one from the same sender.
    pub out_of_order: u64,
}

impl Tally {
    /// Adds another tally.
    pub fn add(&mut self, o: &Tally) {
        self.sent += o.sent;
        self.sent_all += o.sent_all;
        self.expected += o.expected;
        self.delivered += o.delivered;
        self.delivered_all += o.delivered_all;
        self.duplicated += o.duplicated;
        self.out_of_order += o.out_of_order;
    }
}

/// Everything one worker records; also what the controller merges the workers into.
pub struct WorkerStats {
    /// Per-delivery latency from the planned send time (coordinated-omission safe), µs.
    pub from_planned: Histogram<u64>,
    /// Per-delivery latency from the actual send time, µs.
    pub from_sent: Histogram<u64>,
    /// How late each send was against its plan, µs.
    pub send_lag: Histogram<u64>,
    /// How late the worker's event loop woke for a timer, µs: how long a ready socket may
    /// wait before the generator reads it.
    pub loop_lag: Histogram<u64>,
    /// How much later the worker read what had arrived than it counted it received, µs (per
    /// read, in the measured window): its own reading, kept out of the latency.
    pub read_lag: Histogram<u64>,
    /// The generator's own part of when a read's deliveries count from, µs (per stamped read,
    /// in the measured window): how long after the read's last byte arrived (the kernel's
    /// stamp) the worker's loop noticed the socket, or, when bytes came after the notice, how
    /// much later than noticed the read's earlier deliveries count. In the latency.
    pub notice_lag: Histogram<u64>,
    /// Connect plus registration per bot, µs.
    pub connect: Histogram<u64>,
    /// Counts.
    pub tally: Tally,
    /// Errors by kind (`err:<code>` for the server's ERR lines).
    pub errors: BTreeMap<String, u64>,
    /// Broadcast completion.
    pub completion: Completion,
    /// Measured deliveries of the current second, from planned, µs.
    pub interval: Histogram<u64>,
    /// Counts of the current second.
    pub interval_tally: Tally,
    /// Measured deliveries owed and arrived, by sender (every bot of the run, all shards).
    pub per_sender: Vec<SenderCount>,
}

impl WorkerStats {
    /// Empty stats for a run of `senders` bots sending up to `per_sender` measured messages.
    pub fn new(senders: usize, per_sender: usize) -> WorkerStats {
        WorkerStats {
            from_planned: histogram(),
            from_sent: histogram(),
            send_lag: histogram(),
            loop_lag: histogram(),
            read_lag: histogram(),
            notice_lag: histogram(),
            connect: histogram(),
            tally: Tally::default(),
            errors: BTreeMap::new(),
            completion: Completion::new(senders, per_sender),
            interval: histogram(),
            interval_tally: Tally::default(),
            per_sender: vec![SenderCount::default(); senders],
        }
    }

    /// Counts one error of `kind`.
    pub fn error(&mut self, kind: &str) {
        match self.errors.get_mut(kind) {
            Some(n) => *n += 1,
            None => {
                self.errors.insert(kind.to_string(), 1);
            }
        }
    }

    /// A bot sent a message planned at `planned_us`, owed to `recipients` bots (`own_recipients`
    /// of them this shard's), `lag_us` late.
    pub fn sent(
        &mut self,
        clock: &Clock,
        live: &Live,
        t: &Token,
        (recipients, own_recipients): (u32, u32),
        lag_us: u64,
    ) {
        record(&mut self.send_lag, lag_us);
        self.tally.sent_all += 1;
        self.interval_tally.sent_all += 1;
        if clock.measured(t.planned_us) {
            self.tally.sent += 1;
            self.tally.expected += recipients as u64;
            self.interval_tally.sent += 1;
            if let Some(p) = self.per_sender.get_mut(t.sender as usize) {
                p.expected += recipients as u64;
            }
            // Completion is timed on this clock, so it waits for this shard's recipients only.
            self.completion.sent(t.sender, t.seq, own_recipients);
            Live::add(&live.expected, recipients as u64);
        }
    }

    /// A bot received a token at `now_us` that its order check found new (`fresh`) or not.
    pub fn delivered(&mut self, clock: &Clock, t: &Token, now_us: u64, seen: Seen) {
        match seen {
            Seen::Duplicate => {
                self.tally.duplicated += 1;
                return;
            }
            Seen::Late => self.tally.out_of_order += 1,
            Seen::New => {}
        }
        self.tally.delivered_all += 1;
        self.interval_tally.delivered_all += 1;
        if clock.measured(t.planned_us) {
            self.tally.delivered += 1;
            self.interval_tally.delivered += 1;
            if let Some(p) = self.per_sender.get_mut(t.sender as usize) {
                p.delivered += 1;
            }
            if clock.own(t.sender) {
                // `now_us` is on this clock; so is the token.
                let since_start = clock.offset_us(now_us);
                let latency = since_start.saturating_sub(t.planned_us);
                record(&mut self.from_planned, latency);
                record(&mut self.interval, latency);
                record(&mut self.from_sent, since_start.saturating_sub(t.sent_us));
                self.completion.arrived(t.sender, t.seq, latency);
            }
        }
    }

    /// Publishes deliveries since `before` (the tally then) to the controller.
    pub fn publish(&self, live: &Live, before: Tally) {
        Live::add(&live.delivered, self.tally.delivered - before.delivered);
        Live::add(
            &live.received,
            self.tally.delivered_all - before.delivered_all,
        );
    }

    /// Takes the current second's figures, leaving empty ones.
    pub fn take_interval(&mut self) -> (Histogram<u64>, Tally) {
        let mut fresh = Histogram::new_from(&self.interval);
        std::mem::swap(&mut fresh, &mut self.interval);
        (fresh, std::mem::take(&mut self.interval_tally))
    }

    /// Adds another worker's stats.
    pub fn merge(&mut self, o: &WorkerStats) {
        for (mine, theirs) in [
            (&mut self.from_planned, &o.from_planned),
            (&mut self.from_sent, &o.from_sent),
            (&mut self.send_lag, &o.send_lag),
            (&mut self.loop_lag, &o.loop_lag),
            (&mut self.read_lag, &o.read_lag),
            (&mut self.notice_lag, &o.notice_lag),
            (&mut self.connect, &o.connect),
        ] {
            mine.add(theirs).expect("histograms share their bounds");
        }
        self.tally.add(&o.tally);
        if self.per_sender.len() < o.per_sender.len() {
            self.per_sender
                .resize(o.per_sender.len(), SenderCount::default());
        }
        for (mine, theirs) in self.per_sender.iter_mut().zip(&o.per_sender) {
            mine.add(theirs);
        }
        for (k, v) in &o.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
        self.completion.merge(&o.completion);
    }
}

/// The merged result of every worker.
pub type Totals = WorkerStats;

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

    fn clock() -> Clock {
        let c = Clock::default();
        c.set_window(0, 100, 1_000);
        c
    }

    #[test]
    fn warmup_messages_are_not_measured() {
        let c = clock();
        let mut s = WorkerStats::new(3, 16);
        s.delivered(&c, &tok(1, 0, 50), 60, Seen::New);
        assert_eq!((s.tally.delivered, s.tally.delivered_all), (0, 1));
        s.delivered(&c, &tok(1, 1, 150), 170, Seen::New);
        assert_eq!(s.tally.delivered, 1);
        assert_eq!(s.from_planned.max(), 20);
    }

    #[test]
    fn completion_is_the_slowest_recipient_across_workers() {
        let c = clock();
        let live = Live::default();
        let mut w1 = WorkerStats::new(3, 16);
        let mut w2 = WorkerStats::new(3, 16);
        w1.sent(&c, &live, &tok(1, 3, 200), (2, 2), 0);
        w1.delivered(&c, &tok(1, 3, 200), 210, Seen::New);
        w2.delivered(&c, &tok(1, 3, 200), 290, Seen::New);
        assert_eq!(
            w1.completion.histogram().1,
            1,
            "one worker alone sees it incomplete"
        );
        w1.merge(&w2);
        let (h, incomplete) = w1.completion.histogram();
        assert_eq!(incomplete, 0);
        assert_eq!(h.max(), 90);
        assert_eq!((w1.tally.expected, w1.tally.delivered), (2, 2));
        assert_eq!(live.expected.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn another_shards_tokens_count_but_are_not_timed() {
        // Shard 0 of 2: bot 1's tokens were stamped on another clock.
        let c = Clock::new(0, 2);
        c.set_window(0, 100, 1_000);
        let live = Live::default();
        let mut s = WorkerStats::new(4, 16);
        s.delivered(&c, &tok(1, 0, 150), 170, Seen::New);
        s.delivered(&c, &tok(2, 0, 150), 180, Seen::New);
        assert_eq!(s.tally.delivered, 2);
        assert_eq!(s.from_planned.len(), 1, "only bot 2's token is timed");
        assert_eq!(s.from_planned.max(), 30);
        s.sent(&c, &live, &tok(2, 1, 200), (3, 1), 0);
        assert_eq!(
            s.per_sender[2],
            SenderCount {
                expected: 3,
                delivered: 1
            }
        );
        assert_eq!(
            s.per_sender[1],
            SenderCount {
                expected: 0,
                delivered: 1
            }
        );
        assert_eq!(
            s.completion.histogram().1,
            1,
            "waits for its one own recipient"
        );
    }

    #[test]
    fn intervals_are_taken_and_restart_empty() {
        let c = clock();
        let mut s = WorkerStats::new(2, 4);
        s.delivered(&c, &tok(1, 0, 200), 250, Seen::New);
        let (h, t) = s.take_interval();
        assert_eq!((h.len(), t.delivered), (1, 1));
        let (h, t) = s.take_interval();
        assert_eq!((h.len(), t.delivered), (0, 0));
        assert_eq!(
            s.from_planned.len(),
            1,
            "the whole-run histogram keeps everything"
        );
    }
}
