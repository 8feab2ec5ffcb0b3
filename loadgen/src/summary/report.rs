//! Turning raw results into figures: merged histograms, counts, rates, validity, the JSON report.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::engine::outcome::Phases;
use crate::plan::config::Config;
use crate::recording::histograms::Serialized;
use crate::recording::series::Second;
use crate::recording::server_cost::ServerCost;
use crate::recording::stats::SenderCount;

/// Percentiles of one latency distribution, in milliseconds.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Latency {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

impl Latency {
    /// The percentiles of a µs histogram, in ms.
    pub fn of(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Latency {
            count: h.len(),
            p50: ms(h.value_at_quantile(0.5)),
            p90: ms(h.value_at_quantile(0.9)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
            mean: h.mean() / 1000.0,
        }
    }
}

/// Message and delivery counts of the measured window.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Counts {
    /// Messages sent.
    pub sent: u64,
    /// Deliveries the server owed.
    pub expected: u64,
    /// Deliveries that arrived.
    pub delivered: u64,
    /// Expected but missing at the end of the drain.
    pub lost: u64,
    /// Delivered more than once.
    pub duplicated: u64,
    /// Delivered after a later message from the same sender.
    pub out_of_order: u64,
    /// Broadcasts not complete at the end.
    pub incomplete: u64,
}

/// Rates over the measured window.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Rates {
    /// Planned messages per second.
    pub target_msgs_per_s: f64,
    /// Messages actually sent per second.
    pub achieved_msgs_per_s: f64,
    /// Achieved as a percentage of the target.
    pub achieved_pct: f64,
    /// Deliveries per second.
    pub deliveries_per_s: f64,
}

/// The generator's own behaviour: how late it sent and read, how much CPU it used.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SelfCheck {
    /// Send lag behind plan, ms.
    pub send_lag: Latency,
    /// Lateness of the workers' event loops, ms: how long a ready socket could wait to be read.
    pub loop_lag: Latency,
    /// How much later the workers read each delivery than it counted as received, ms: their
    /// own reading, which the latency leaves out.
    pub read_lag: Latency,
    /// How long after each read's bytes arrived the workers' loops noticed them (or, when
    /// bytes came after the notice, how much later than noticed its earlier deliveries
    /// count), ms: the receive side of their own delay, which is in the latency (stamped
    /// workers only).
    pub notice_lag: Latency,
    /// Worker threads.
    pub workers: usize,
    /// CPU of the generator's threads, % of one core.
    pub loadgen_cpu_pct: Option<f64>,
    /// CPU of the embedded server's threads, % of one core.
    pub server_cpu_pct: Option<f64>,
    /// The generator's CPU time per delivery received, µs.
    pub loadgen_us_per_delivery: Option<f64>,
    /// The embedded server's CPU time per delivery, µs.
    pub server_us_per_delivery: Option<f64>,
    /// The generator's own delay at p99, ms: the larger of its send and receive sides. The
    /// server's own latency is at least the headline less this.
    pub own_delay_ms: f64,
    /// Whether the generator's own delay is a material part of the latency reported.
    pub generator_bound: bool,
    /// Why, in one line, when it is.
    pub generator_note: Option<String>,
}

/// Everything a run measured.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Summary {
    /// The server driven, as given.
    pub server: String,
    /// The address connected to.
    #[serde(default)]
    pub addr: String,
    /// Whether it was the embedded reference server.
    pub embedded: bool,
    /// Bots that registered.
    pub registered: usize,
    /// Run settings.
    pub config: Option<Config>,
    /// Phase durations.
    #[serde(default)]
    pub phases: Phases,
    /// Connect plus register time per bot.
    pub connect: Latency,
    /// Per-delivery latency from the planned send time (coordinated-omission safe).
    pub latency: Latency,
    /// Per-delivery latency from the actual send time.
    pub latency_from_sent: Latency,
    /// Time until the last recipient had a broadcast.
    pub completion: Latency,
    /// Counts.
    pub counts: Counts,
    /// Errors by kind.
    pub errors: BTreeMap<String, u64>,
    /// Rates.
    pub rates: Rates,
    /// The generator's own lag and CPU.
    #[serde(rename = "self")]
    pub self_check: SelfCheck,
    /// Whether the figures can be trusted.
    pub valid: bool,
    /// Why not, when not.
    pub invalid_reasons: Vec<String>,
    /// The run second by second (seconds from the start of the measurement).
    #[serde(default)]
    pub seconds: Vec<Second>,
    /// Wall-clock start of the measurement, seconds since the Unix epoch.
    #[serde(default)]
    pub measure_start_unix: f64,
    /// The distributions themselves.
    #[serde(default)]
    pub histograms: Serialized,
    /// What the server spent on the load, per delivery and per client.
    #[serde(default)]
    pub server_cost: ServerCost,
    /// Measured deliveries owed and arrived, by sender (bot index), for merging shards.
    #[serde(default)]
    pub per_sender: Vec<SenderCount>,
    /// How many shard reports `loadgen merge` made this from (0 for a single run).
    #[serde(default)]
    pub shards: u32,
}

impl Summary {
    /// One of the serialized distributions (a name of `Histograms::NAMES`), decoded; `None`
    /// when absent or unreadable.
    pub fn histogram(&self, which: &str) -> Option<Histogram<u64>> {
        crate::recording::histograms::decode(self.histograms.get(which)?)
    }

    /// A summary holding only the given distributions, for tests of what renders them.
    #[cfg(test)]
    pub(crate) fn with_histograms(
        from_planned: &Histogram<u64>,
        connect: &Histogram<u64>,
    ) -> Summary {
        Summary {
            histograms: crate::recording::histograms::Histograms {
                from_planned: from_planned.clone(),
                connect: connect.clone(),
                ..crate::recording::histograms::Histograms::new()
            }
            .serialize(),
            ..Summary::default()
        }
    }

    /// Errors the server itself reported (its `ERR` lines) or caused (closed connections).
    pub fn server_errors(&self) -> u64 {
        self.errors.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::stats::histogram;

    #[test]
    fn a_report_from_an_older_version_still_reads_as_a_baseline() {
        let old = r#"{"server":"127.0.0.1:1","embedded":true,"registered":2,
            "latency":{"count":1,"p50":1.0,"p90":1.0,"p99":2.0,"p999":2.0,"max":2.0,"mean":1.0},
            "counts":{"sent":1,"expected":1,"delivered":1,"lost":0,"duplicated":0,"out_of_order":0,"incomplete":0},
            "rates":{"deliveries_per_s":10.0},"self":{"send_lag":{"p99":0.5}},"valid":true}"#;
        let s: Summary = serde_json::from_str(old).expect("older reports stay readable");
        assert_eq!((s.latency.p99, s.rates.deliveries_per_s), (2.0, 10.0));
        assert!(!s.self_check.generator_bound);
    }

    #[test]
    fn latency_is_in_milliseconds() {
        let mut h = histogram();
        for us in [1_000, 2_000, 3_000] {
            h.record(us).unwrap();
        }
        let l = Latency::of(&h);
        assert_eq!(l.count, 3);
        assert!((l.max - 3.0).abs() < 0.01, "{l:?}");
        assert!((l.p50 - 2.0).abs() < 0.01, "{l:?}");
    }
}
