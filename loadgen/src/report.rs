//! Turning raw results into figures: merged histograms, counts, rates, validity; and rendering
//! them as a table, JSON, or an `.hgrm` percentile distribution.

use std::collections::BTreeMap;
use std::fmt::Write;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::config::Config;
use crate::run::{CpuUse, Outcome, Phases};
use crate::series::Second;
use crate::server_cost::ServerCost;
use crate::stats::SenderCount;

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
    /// Whether the generator's own delay is a material part of the latency reported.
    pub generator_bound: bool,
    /// Why, in one line, when it is.
    pub generator_note: Option<String>,
}

/// The generator's own delay (send lag or event-loop lag, p99) may be at most this share of the
/// latency p99 it reports...
pub const GENERATOR_SHARE: f64 = 0.25;
/// ...unless it is under this many milliseconds. tokio's timers (and the probes that use them)
/// wake on whole milliseconds, so an idle generator already sends 0-2 ms late, and its timer
/// samples read up to about 3 ms at p99 when other work shares the machine (measured on the
/// 2-core reference machine); a lag within that says nothing about the load it generates.
pub const GENERATOR_FLOOR_MS: f64 = 5.0;

/// Decides whether the generator's own delay is a material part of what it reports.
pub fn generator_bound(latency_p99: f64, send_lag_p99: f64, loop_lag_p99: f64) -> Option<String> {
    let (what, own) = if send_lag_p99 >= loop_lag_p99 {
        ("send lag", send_lag_p99)
    } else {
        ("event-loop lag", loop_lag_p99)
    };
    let allowed = (GENERATOR_SHARE * latency_p99).max(GENERATOR_FLOOR_MS);
    (own > allowed).then(|| {
        format!(
            "generator-bound: loadgen's own {what} p99 is {own:.2} ms, more than {:.0}% of the \
             {latency_p99:.2} ms p99 it reports; the figures measure loadgen as much as the server \
             (give it more cores or --workers, or lower the load)",
            GENERATOR_SHARE * 100.0
        )
    })
}

/// Histograms, HdrHistogram V2-deflate serialized and base64 encoded (µs values).
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Serialized {
    /// Latency from planned send.
    pub from_planned: String,
    /// Latency from actual send.
    pub from_sent: String,
    /// Broadcast completion.
    pub completion: String,
    /// Connect and register.
    pub connect: String,
    /// The generator's send lag.
    pub send_lag: String,
    /// The generator's event-loop lag.
    pub loop_lag: String,
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
    /// Derives the figures from a run's merged recordings.
    pub fn from_outcome(config: &Config, o: &Outcome) -> Summary {
        let t = &o.totals;
        let (completion, incomplete) = t.completion.histogram();
        let counts = Counts {
            sent: t.tally.sent,
            expected: t.tally.expected,
            delivered: t.tally.delivered,
            // A shard's own expected (what its senders are owed) and delivered (what its bots
            // received) count different deliveries: loss is judged on the merged report.
            lost: if config.shard.is_sharded() {
                0
            } else {
                t.tally.expected.saturating_sub(t.tally.delivered)
            },
            duplicated: t.tally.duplicated,
            out_of_order: t.tally.out_of_order,
            incomplete,
        };
        let measure = o.phases.measure_s.max(1e-9);
        let target = if o.phases.measure_s > 0.0 {
            // A shard is held to its own bots' share of the plan.
            config.rate * config.shard.bot_count(config.clients) as f64
        } else {
            0.0
        };
        let rates = Rates {
            target_msgs_per_s: target,
            achieved_msgs_per_s: counts.sent as f64 / measure,
            achieved_pct: if target > 0.0 {
                // A run cut short by Ctrl-C is judged on the time it measured.
                let planned_s = if o.phases.interrupted {
                    o.phases.measure_s
                } else {
                    config.duration.as_secs_f64()
                };
                100.0 * counts.sent as f64 / (target * planned_s)
            } else {
                0.0
            },
            deliveries_per_s: counts.delivered as f64 / measure,
        };
        let latency = Latency::of(&t.from_planned);
        let send_lag = Latency::of(&t.send_lag);
        let loop_lag = Latency::of(&t.loop_lag);
        let per_delivery = |pct: f64, cpu: &CpuUse| {
            (cpu.deliveries > 0)
                .then(|| pct / 100.0 * o.phases.measure_s * 1e6 / cpu.deliveries as f64)
        };
        let generator_note = (o.phases.measure_s > 0.0)
            .then(|| generator_bound(latency.p99, send_lag.p99, loop_lag.p99))
            .flatten();
        let self_check = SelfCheck {
            send_lag,
            loop_lag,
            workers: o.workers,
            loadgen_cpu_pct: o.cpu.map(|c| c.share.loadgen_pct),
            server_cpu_pct: o.cpu.filter(|_| o.embedded).map(|c| c.share.other_pct),
            loadgen_us_per_delivery: o.cpu.and_then(|c| per_delivery(c.share.loadgen_pct, &c)),
            server_us_per_delivery: o
                .cpu
                .filter(|_| o.embedded)
                .and_then(|c| per_delivery(c.share.other_pct, &c)),
            generator_bound: generator_note.is_some(),
            generator_note,
        };
        let mut invalid = Vec::new();
        if o.phases.interrupted {
            invalid.push("interrupted before the end".to_string());
        }
        if o.phases.measure_s > 0.0 && rates.achieved_pct < 95.0 {
            invalid.push(format!(
                "sent only {:.1}% of the planned messages",
                rates.achieved_pct
            ));
        }
        Summary {
            server: o.server.clone(),
            addr: o.addr.to_string(),
            embedded: o.embedded,
            registered: o.registered,
            config: Some(config.clone()),
            phases: o.phases.clone(),
            connect: Latency::of(&t.connect),
            latency,
            latency_from_sent: Latency::of(&t.from_sent),
            completion: Latency::of(&completion),
            counts,
            errors: t.errors.clone(),
            rates,
            self_check,
            valid: invalid.is_empty(),
            invalid_reasons: invalid,
            seconds: o.seconds.clone(),
            measure_start_unix: o
                .measure_start
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs_f64(),
            histograms: Serialized {
                from_planned: serialize(&t.from_planned),
                from_sent: serialize(&t.from_sent),
                completion: serialize(&completion),
                connect: serialize(&t.connect),
                send_lag: serialize(&t.send_lag),
                loop_lag: serialize(&t.loop_lag),
            },
            server_cost: o.server_cost.clone(),
            per_sender: t.per_sender.clone(),
            shards: 0,
        }
    }

    /// One of the serialized distributions (`from_planned`, `from_sent`, `completion`,
    /// `connect`), decoded; `None` when absent or unreadable.
    pub fn histogram(&self, which: &str) -> Option<Histogram<u64>> {
        use base64::prelude::*;
        use hdrhistogram::serialization::Deserializer;
        let h = &self.histograms;
        let text = match which {
            "from_planned" => &h.from_planned,
            "from_sent" => &h.from_sent,
            "completion" => &h.completion,
            "connect" => &h.connect,
            "send_lag" => &h.send_lag,
            "loop_lag" => &h.loop_lag,
            _ => return None,
        };
        let bytes = BASE64_STANDARD.decode(text).ok()?;
        Deserializer::new().deserialize(&mut &bytes[..]).ok()
    }

    /// A summary holding only the given distributions, for tests of what renders them.
    #[cfg(test)]
    pub(crate) fn with_histograms(
        from_planned: &Histogram<u64>,
        connect: &Histogram<u64>,
    ) -> Summary {
        Summary {
            histograms: Serialized {
                from_planned: serialize(from_planned),
                connect: serialize(connect),
                ..Serialized::default()
            },
            ..Summary::default()
        }
    }

    /// Errors the server itself reported (its `ERR` lines) or caused (closed connections).
    pub fn server_errors(&self) -> u64 {
        self.errors.values().sum()
    }

    /// The interval log of the run (`--hlog`).
    pub fn hlog(&self) -> std::io::Result<Vec<u8>> {
        let start =
            std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(self.measure_start_unix);
        crate::hlog::render(&self.seconds, start)
    }

    /// The per-delivery latency distribution in the `.hgrm` format wrk2 and the HdrHistogram
    /// plotter read (values in milliseconds).
    pub fn hgrm(&self) -> String {
        self.histogram("from_planned")
            .map(|h| hgrm(&h))
            .unwrap_or_default()
    }
}

/// Renders a histogram of µs values as an `.hgrm` percentile distribution in ms.
pub fn hgrm(h: &Histogram<u64>) -> String {
    let mut out = String::from("       Value     Percentile TotalCount 1/(1-Percentile)\n\n");
    for v in h.iter_quantiles(5) {
        let q = v.quantile_iterated_to();
        let inv = if q < 1.0 {
            format!("{:14.2}", 1.0 / (1.0 - q))
        } else {
            format!("{:>14}", "inf")
        };
        writeln!(
            out,
            "{:12.3} {:14.12} {:10} {inv}",
            v.value_iterated_to() as f64 / 1000.0,
            q,
            v.count_since_last_iteration()
        )
        .unwrap();
    }
    writeln!(
        out,
        "#[Mean    = {:12.3}, StdDeviation   = {:12.3}]\n#[Max     = {:12.3}, Total count    = {:12}]\n#[Buckets = {:12}, SubBuckets     = {:12}]",
        h.mean() / 1000.0,
        h.stdev() / 1000.0,
        h.max() as f64 / 1000.0,
        h.len(),
        h.buckets(),
        h.distinct_values()
    )
    .unwrap();
    out
}

/// A histogram as the JSON report holds it: V2-deflate, base64.
pub(crate) fn serialize(h: &Histogram<u64>) -> String {
    use base64::prelude::*;
    use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};
    let mut bytes = Vec::new();
    if V2DeflateSerializer::new().serialize(h, &mut bytes).is_err() {
        return String::new();
    }
    BASE64_STANDARD.encode(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::histogram;

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
    fn a_generator_delay_under_a_quarter_of_the_p99_is_not_material() {
        assert_eq!(generator_bound(20.0, 4.9, 1.0), None);
        let note = generator_bound(20.0, 5.1, 1.0).expect("a quarter of 20 ms is 5 ms");
        assert!(
            note.starts_with("generator-bound: loadgen's own send lag p99 is 5.10 ms"),
            "{note}"
        );
        let note = generator_bound(20.0, 1.0, 8.0).expect("the receive side counts too");
        assert!(note.contains("event-loop lag p99 is 8.00 ms"), "{note}");
    }

    #[test]
    fn timer_granularity_alone_is_not_generator_bound() {
        // A light run on a busy machine: 3 ms of timer lag in a 4.4 ms p99.
        assert_eq!(generator_bound(4.4, 1.8, 3.1), None);
        assert!(generator_bound(4.4, 5.5, 1.9).is_some());
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

    #[test]
    fn hgrm_has_header_rows_and_footer() {
        let mut h = histogram();
        for us in 1..=1000 {
            h.record(us * 10).unwrap();
        }
        let text = hgrm(&h);
        assert!(text.starts_with("       Value     Percentile TotalCount 1/(1-Percentile)"));
        assert!(text.contains("#[Max     ="));
        assert!(text.lines().count() > 20);
    }
}
