//! The run second by second: each worker hands in its figures for every second; once all have,
//! they are merged into one [`Second`] for the live line, the HTML page and the interval log.

use std::collections::BTreeMap;

use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::recording::stats::{histogram, Tally};

/// One second of one worker.
pub struct Interval {
    /// Seconds from the start of the measurement (negative during warm-up).
    pub second: i64,
    /// Measured deliveries received in that second, latency from planned, µs.
    pub latency: Histogram<u64>,
    /// Counts of that second.
    pub tally: Tally,
}

/// One second of the whole run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Second {
    /// Seconds from the start of the measurement; negative during warm-up.
    pub second: i64,
    /// Messages sent (warm-up included).
    pub sent: u64,
    /// Deliveries received (warm-up included).
    pub delivered: u64,
    /// Deliveries of measured messages received.
    pub measured: u64,
    /// Of the measured deliveries: median latency from planned, ms.
    pub p50: f64,
    /// 99th percentile, ms.
    pub p99: f64,
    /// Largest, ms.
    pub max: f64,
    /// The measured deliveries' latency histogram, V2-deflate serialized (µs); base64 in JSON,
    /// so that shards' seconds merge exactly.
    #[serde(default, with = "base64_bytes")]
    pub encoded: Vec<u8>,
}

impl Second {
    /// The latency histogram of this second.
    pub fn histogram(&self) -> Histogram<u64> {
        if self.encoded.is_empty() {
            return histogram();
        }
        Deserializer::new()
            .deserialize(&mut &self.encoded[..])
            .unwrap_or_else(|_| histogram())
    }
}

struct Partial {
    reported: usize,
    latency: Histogram<u64>,
    tally: Tally,
}

/// Collects workers' intervals into seconds.
pub struct Series {
    workers: usize,
    open: BTreeMap<i64, Partial>,
    done: Vec<Second>,
}

impl Series {
    /// A series fed by `workers` workers.
    pub fn new(workers: usize) -> Series {
        Series {
            workers,
            open: BTreeMap::new(),
            done: Vec::new(),
        }
    }

    /// Adds one worker's interval; returns the second it completed, if any.
    pub fn add(&mut self, i: Interval) -> Option<&Second> {
        let p = self.open.entry(i.second).or_insert_with(|| Partial {
            reported: 0,
            latency: histogram(),
            tally: Tally::default(),
        });
        p.reported += 1;
        let _ = p.latency.add(&i.latency);
        p.tally.add(&i.tally);
        if p.reported < self.workers {
            return None;
        }
        let p = self.open.remove(&i.second)?;
        self.done.push(finish(i.second, p));
        self.done.last()
    }

    /// Every second, in order, including those some worker never finished (a worker that
    /// stopped early).
    pub fn finish(mut self) -> Vec<Second> {
        for (second, p) in std::mem::take(&mut self.open) {
            self.done.push(finish(second, p));
        }
        self.done.sort_by_key(|s| s.second);
        self.done
    }
}

/// A second's histogram as [`Second::encoded`] holds it (empty if it cannot be serialized).
pub fn encode(h: &Histogram<u64>) -> Vec<u8> {
    let mut encoded = Vec::new();
    if V2DeflateSerializer::new()
        .serialize(h, &mut encoded)
        .is_err()
    {
        encoded.clear();
    }
    encoded
}

fn finish(second: i64, p: Partial) -> Second {
    let ms = |us: u64| us as f64 / 1000.0;
    let encoded = encode(&p.latency);
    let empty = p.latency.is_empty();
    Second {
        second,
        sent: p.tally.sent_all,
        delivered: p.tally.delivered_all,
        measured: p.tally.delivered,
        p50: if empty {
            0.0
        } else {
            ms(p.latency.value_at_quantile(0.5))
        },
        p99: if empty {
            0.0
        } else {
            ms(p.latency.value_at_quantile(0.99))
        },
        max: if empty { 0.0 } else { ms(p.latency.max()) },
        encoded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interval(second: i64, latencies: &[u64]) -> Interval {
        let mut latency = histogram();
        for &l in latencies {
            latency.record(l).unwrap();
        }
        Interval {
            second,
            latency,
            tally: Tally {
                sent_all: 1,
                delivered_all: latencies.len() as u64,
                delivered: latencies.len() as u64,
                ..Tally::default()
            },
        }
    }

    #[test]
    fn a_second_is_done_when_every_worker_reported_it() {
        let mut s = Series::new(2);
        assert!(s.add(interval(0, &[1_000])).is_none());
        assert!(s.add(interval(1, &[5_000])).is_none());
        let done = s
            .add(interval(0, &[3_000]))
            .expect("both workers reported second 0");
        assert_eq!((done.second, done.sent, done.delivered), (0, 2, 2));
        assert!((done.max - 3.0).abs() < 0.01);
        assert_eq!(done.histogram().len(), 2);
        let all = s.finish();
        assert_eq!(all.iter().map(|s| s.second).collect::<Vec<_>>(), [0, 1]);
    }

    #[test]
    fn an_empty_second_has_zero_latency_figures() {
        let mut s = Series::new(1);
        let done = s.add(interval(-1, &[])).unwrap();
        assert_eq!((done.p50, done.p99, done.max), (0.0, 0.0, 0.0));
        assert!(done.histogram().is_empty());
    }
}

mod base64_bytes {
    use base64::prelude::*;
    use serde::Deserialize;

    pub fn serialize<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&BASE64_STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        BASE64_STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }
}
