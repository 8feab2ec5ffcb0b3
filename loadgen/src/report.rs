//! Turning raw results into figures: merged histograms, counts, rates, validity; and rendering
//! them as a table, JSON, or an `.hgrm` percentile distribution.

use std::collections::BTreeMap;
use std::fmt::Write;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::config::Config;
use crate::cpu::CpuShare;
use crate::run::{Outcome, Phases};
use crate::stats::histogram;

/// Percentiles of one latency distribution, in milliseconds.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
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
    fn of(h: &Histogram<u64>) -> Latency {
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

/// The generator's own behaviour: how late it sent, how much CPU it used.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct SelfCheck {
    /// Send lag behind plan, ms.
    pub send_lag: Latency,
    /// CPU of the generator's threads, % of one core.
    pub loadgen_cpu_pct: Option<f64>,
    /// CPU of the embedded server's threads, % of one core.
    pub server_cpu_pct: Option<f64>,
}

/// Histograms, HdrHistogram V2-deflate serialized and base64 encoded (µs values).
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Serialized {
    /// Latency from planned send.
    pub from_planned: String,
    /// Latency from actual send.
    pub from_sent: String,
    /// Broadcast completion.
    pub completion: String,
    /// Connect and register.
    pub connect: String,
}

/// Everything a run measured.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Summary {
    /// The server driven.
    pub server: String,
    /// Whether it was the embedded reference server.
    pub embedded: bool,
    /// Bots that registered.
    pub registered: usize,
    /// Run settings.
    #[serde(skip_deserializing)]
    pub config: Option<Config>,
    /// Phase durations.
    #[serde(skip_deserializing)]
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
    /// The distributions themselves.
    #[serde(skip_deserializing)]
    pub histograms: Serialized,
    #[serde(skip)]
    planned_hist: Option<Histogram<u64>>,
}

impl Summary {
    /// Merges every bot's recordings and derives the figures.
    pub fn from_outcome(config: &Config, o: &Outcome) -> Summary {
        let mut from_planned = histogram();
        let mut from_sent = histogram();
        let mut lag = histogram();
        let mut connect = histogram();
        let mut counts = Counts::default();
        let mut errors: BTreeMap<String, u64> = BTreeMap::new();
        for b in &o.bots {
            let _ = lag.add(&b.send.lag);
            if let Some(us) = b.send.connect_us {
                connect.saturating_record(us.max(1));
            }
            counts.sent += b.send.sent;
            for (k, v) in &b.send.errors {
                *errors.entry(k.clone()).or_default() += v;
            }
            if let Some(r) = &b.recv {
                let _ = from_planned.add(&r.from_planned);
                let _ = from_sent.add(&r.from_sent);
                counts.delivered += r.delivered;
                counts.duplicated += r.duplicated;
                counts.out_of_order += r.out_of_order;
                for (k, v) in &r.errors {
                    *errors.entry(k.clone()).or_default() += v;
                }
            }
        }
        let (completion, incomplete) = o.shared.completion();
        counts.expected = o.shared.expected.load(std::sync::atomic::Ordering::SeqCst);
        counts.lost = counts.expected.saturating_sub(counts.delivered);
        counts.incomplete = incomplete;
        let measure = o.phases.measure_s.max(1e-9);
        let target = if o.phases.measure_s > 0.0 {
            config.total_rate()
        } else {
            0.0
        };
        let rates = Rates {
            target_msgs_per_s: target,
            achieved_msgs_per_s: counts.sent as f64 / measure,
            achieved_pct: if target > 0.0 {
                100.0 * counts.sent as f64 / (target * config.duration.as_secs_f64())
            } else {
                0.0
            },
            deliveries_per_s: counts.delivered as f64 / measure,
        };
        let self_check = SelfCheck {
            send_lag: Latency::of(&lag),
            loadgen_cpu_pct: o.cpu.map(|c: CpuShare| c.loadgen_pct),
            server_cpu_pct: o.cpu.filter(|_| o.embedded).map(|c| c.other_pct),
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
        let interval_ms = 1000.0 / config.rate;
        let lag_limit = (interval_ms / 2.0).clamp(5.0, 100.0);
        if self_check.send_lag.p99 > lag_limit {
            invalid.push(format!(
                "the generator itself fell behind: send lag p99 {:.1} ms > {lag_limit:.0} ms",
                self_check.send_lag.p99
            ));
        }
        let enc = |h: &Histogram<u64>| serialize(h);
        Summary {
            server: o.addr.to_string(),
            embedded: o.embedded,
            registered: o.registered,
            config: Some(config.clone()),
            phases: o.phases.clone(),
            connect: Latency::of(&connect),
            latency: Latency::of(&from_planned),
            latency_from_sent: Latency::of(&from_sent),
            completion: Latency::of(&completion),
            counts,
            errors,
            rates,
            self_check,
            valid: invalid.is_empty(),
            invalid_reasons: invalid,
            histograms: Serialized {
                from_planned: enc(&from_planned),
                from_sent: enc(&from_sent),
                completion: enc(&completion),
                connect: enc(&connect),
            },
            planned_hist: Some(from_planned),
        }
    }

    /// A readable table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        if let Some(c) = &self.config {
            writeln!(
                out,
                "loadgen: {} clients x {:.2} msg/s = {:.0} msg/s, {} B, {:.0}% private, seed {}, {:?} at {}{}",
                c.clients,
                c.rate,
                c.total_rate(),
                c.size,
                c.private_ratio * 100.0,
                c.seed,
                c.protocol,
                self.server,
                if self.embedded { " (embedded reference server)" } else { "" }
            )
            .unwrap();
        }
        let p = &self.phases;
        writeln!(
            out,
            "phases: connect {:.2} s ({} registered; p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms), warm-up {:.1} s, measure {:.1} s, drain {:.2} s{}",
            p.connect_s, self.registered, self.connect.p50, self.connect.p99, self.connect.max,
            p.warmup_s, p.measure_s, p.drain_s,
            if p.drained { "" } else { " (deliveries still missing at the drain timeout)" }
        )
        .unwrap();
        writeln!(
            out,
            "\n{:<24} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "latency (ms)", "p50", "p90", "p99", "p99.9", "max", "mean"
        )
        .unwrap();
        for (name, l) in [
            ("per delivery, planned", &self.latency),
            ("per delivery, sent", &self.latency_from_sent),
            ("broadcast completion", &self.completion),
            ("generator send lag", &self.self_check.send_lag),
        ] {
            writeln!(
                out,
                "{name:<24} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
                l.p50, l.p90, l.p99, l.p999, l.max, l.mean
            )
            .unwrap();
        }
        let c = &self.counts;
        let r = &self.rates;
        writeln!(
            out,
            "\nmessages: sent {} ({:.1}/s, {:.1}% of target {:.1}/s)\ndeliveries: expected {}, delivered {} ({:.0}/s), lost {}, duplicated {}, out of order {}, incomplete broadcasts {}",
            c.sent, r.achieved_msgs_per_s, r.achieved_pct, r.target_msgs_per_s,
            c.expected, c.delivered, r.deliveries_per_s, c.lost, c.duplicated, c.out_of_order, c.incomplete
        )
        .unwrap();
        if self.errors.is_empty() {
            writeln!(out, "errors: none").unwrap();
        } else {
            let list: Vec<String> = self
                .errors
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            writeln!(out, "errors: {}", list.join(", ")).unwrap();
        }
        let pct = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.0}%"));
        writeln!(
            out,
            "cpu (of one core) during measurement: loadgen {}, embedded server {}",
            pct(self.self_check.loadgen_cpu_pct),
            pct(self.self_check.server_cpu_pct)
        )
        .unwrap();
        if self.valid {
            writeln!(out, "run: valid").unwrap();
        } else {
            writeln!(out, "run: INVALID: {}", self.invalid_reasons.join("; ")).unwrap();
        }
        out
    }

    /// The per-delivery latency distribution in the `.hgrm` format wrk2 and the HdrHistogram
    /// plotter read (values in milliseconds).
    pub fn hgrm(&self) -> String {
        self.planned_hist.as_ref().map(hgrm).unwrap_or_default()
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

fn serialize(h: &Histogram<u64>) -> String {
    use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};
    let mut bytes = Vec::new();
    if V2DeflateSerializer::new().serialize(h, &mut bytes).is_err() {
        return String::new();
    }
    base64(&bytes)
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
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
