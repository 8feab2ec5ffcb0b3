//! When each bot sends and to whom: planned in advance from the seed, so the same `--seed` gives
//! the same run and latency can be measured from the plan (coordinated-omission safe).

use std::time::Duration;

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

/// How sends are spaced in time.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Arrival {
    /// One message every 1/rate seconds; the bots' offsets spread evenly over one interval, so
    /// that the whole load is evenly spaced too.
    Fixed,
    /// Exponential gaps with mean 1/rate (a Poisson process per bot), as Tsung's default.
    Poisson,
    /// Every bot sends at the same instant, once every 1/rate seconds: a thundering herd. Each
    /// client then gets a burst of lines at once, which is where a server's write batching
    /// (or its lack) shows in its cost per delivery.
    Burst,
}

impl std::fmt::Display for Arrival {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Arrival::Fixed => "fixed",
            Arrival::Poisson => "poisson",
            Arrival::Burst => "burst",
        })
    }
}

/// One planned message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Planned {
    /// Sequence number, from 0.
    pub seq: u32,
    /// Send time, from the start of the sending phase.
    pub at: Duration,
    /// The private recipient (a bot index), or `None` for a broadcast.
    pub to: Option<u32>,
}

/// A bot's plan: an endless sequence of [`Planned`] sends.
///
/// Each bot draws from its own ChaCha8 stream (stream = bot index), so plans do not depend on
/// how bots are spread over workers or on the order they run in.
pub struct Schedule {
    rng: ChaCha8Rng,
    me: u32,
    bots: u32,
    mean_gap: f64,
    arrival: Arrival,
    private_ratio: f64,
    next_at: f64,
    seq: u32,
}

impl Schedule {
    /// The plan of bot `me` among `bots`, sending `rate` messages per second on average.
    pub fn new(
        seed: u64,
        me: u32,
        bots: u32,
        rate: f64,
        arrival: Arrival,
        private_ratio: f64,
    ) -> Schedule {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(me as u64);
        let mean_gap = 1.0 / rate;
        let first = match arrival {
            Arrival::Fixed => mean_gap * me as f64 / bots.max(1) as f64,
            Arrival::Poisson => exponential(&mut rng, mean_gap),
            Arrival::Burst => 0.0,
        };
        Schedule {
            rng,
            me,
            bots,
            mean_gap,
            arrival,
            private_ratio,
            next_at: first,
            seq: 0,
        }
    }
}

/// An exponentially distributed gap with the given mean (inverse transform sampling).
fn exponential(rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    // 1 - u is in (0, 1], so the logarithm is finite.
    -mean * (1.0 - rng.random::<f64>()).ln()
}

impl Iterator for Schedule {
    type Item = Planned;

    fn next(&mut self) -> Option<Planned> {
        let to = if self.private_ratio > 0.0 && self.rng.random_bool(self.private_ratio) {
            // Any bot but this one.
            let t = self.rng.random_range(0..self.bots - 1);
            Some(if t >= self.me { t + 1 } else { t })
        } else {
            None
        };
        let planned = Planned {
            seq: self.seq,
            at: Duration::from_secs_f64(self.next_at),
            to,
        };
        self.seq = self.seq.checked_add(1)?;
        self.next_at += match self.arrival {
            Arrival::Fixed | Arrival::Burst => self.mean_gap,
            Arrival::Poisson => exponential(&mut self.rng, self.mean_gap),
        };
        Some(planned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(seed: u64, me: u32, arrival: Arrival, n: usize) -> Vec<Planned> {
        Schedule::new(seed, me, 10, 4.0, arrival, 0.3)
            .take(n)
            .collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_plan() {
        assert_eq!(
            plan(7, 3, Arrival::Poisson, 50),
            plan(7, 3, Arrival::Poisson, 50)
        );
    }

    #[test]
    fn bots_and_seeds_get_different_plans() {
        assert_ne!(
            plan(7, 3, Arrival::Poisson, 20),
            plan(7, 4, Arrival::Poisson, 20)
        );
        assert_ne!(
            plan(7, 3, Arrival::Poisson, 20),
            plan(8, 3, Arrival::Poisson, 20)
        );
    }

    #[test]
    fn fixed_arrivals_are_one_interval_apart_and_bots_spread_evenly() {
        let p = plan(1, 5, Arrival::Fixed, 5);
        assert_eq!(
            p[0].at,
            Duration::from_millis(125),
            "bot 5 of 10: half an interval"
        );
        for w in p.windows(2) {
            let gap = w[1].at - w[0].at;
            assert!((gap.as_secs_f64() - 0.25).abs() < 1e-6, "{gap:?}");
        }
    }

    #[test]
    fn burst_arrivals_send_every_bot_at_the_same_instants() {
        for me in [0, 9] {
            let at: Vec<Duration> = plan(1, me, Arrival::Burst, 3)
                .iter()
                .map(|p| p.at)
                .collect();
            assert_eq!(at, [0, 250, 500].map(Duration::from_millis), "bot {me}");
        }
    }

    #[test]
    fn poisson_gaps_average_the_interval_and_vary() {
        let p = plan(2, 1, Arrival::Poisson, 20_000);
        let mean = p.last().unwrap().at.as_secs_f64() / p.len() as f64;
        assert!((mean - 0.25).abs() < 0.01, "mean gap {mean}");
        // An exponential's standard deviation equals its mean; fixed gaps have none.
        let gaps: Vec<f64> = p
            .windows(2)
            .map(|w| (w[1].at - w[0].at).as_secs_f64())
            .collect();
        let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
        assert!((var.sqrt() - 0.25).abs() < 0.02, "sd {}", var.sqrt());
    }

    #[test]
    fn private_targets_are_never_the_sender_and_cover_the_others() {
        let mut seen = [0u32; 10];
        for p in Schedule::new(5, 4, 10, 1.0, Arrival::Fixed, 1.0).take(5_000) {
            seen[p.to.expect("all private") as usize] += 1;
        }
        assert_eq!(seen[4], 0);
        assert!(
            seen.iter().enumerate().all(|(i, &n)| i == 4 || n > 400),
            "{seen:?}"
        );
    }

    #[test]
    fn sequence_numbers_count_from_zero() {
        let seqs: Vec<u32> = plan(1, 0, Arrival::Fixed, 4)
            .iter()
            .map(|p| p.seq)
            .collect();
        assert_eq!(seqs, [0, 1, 2, 3]);
    }
}
