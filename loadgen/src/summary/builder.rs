//! The one place a [`Summary`]'s figures are derived, for a run, a merge of shards and a
//! search step alike: what it is built from ([`Parts`]), then loss, rates, percentiles, whether
//! the generator held up, and whether the figures can be trusted ([`Summary::build`]).

use std::collections::BTreeMap;

use crate::engine::outcome::{CpuUse, Outcome, Phases};
use crate::plan::config::Config;
use crate::recording::histograms::Histograms;
use crate::recording::series::Second;
use crate::recording::server_cost::ServerCost;
use crate::recording::stats::SenderCount;
use crate::summary::generator::{generator_bound, own_delay_ms, OwnDelay};
use crate::summary::report::{Counts, Latency, Rates, SelfCheck, Summary};

/// Why a run cut short by Ctrl-C cannot be trusted.
const INTERRUPTED: &str = "interrupted before the end";

/// The generator's thread count and CPU, as the part that measured them found them.
#[derive(Debug, Clone, Default)]
pub struct CpuFigures {
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
}

/// What a [`Summary`] is built from, whatever produced it: one run's recordings, the shards of
/// a merge, a step of a search. Every field is given: nothing is copied from a first part.
pub struct Parts {
    /// The server driven, as given.
    pub server: String,
    /// The address connected to.
    pub addr: String,
    /// Whether it was the embedded reference server.
    pub embedded: bool,
    /// Bots that registered.
    pub registered: usize,
    /// The run's settings.
    pub config: Config,
    /// Phase durations.
    pub phases: Phases,
    /// The distributions.
    pub hist: Histograms,
    /// Counts as recorded; `lost` is derived.
    pub tally: Counts,
    /// Errors by kind.
    pub errors: BTreeMap<String, u64>,
    /// The generator's threads and CPU.
    pub cpu: CpuFigures,
    /// Parts' own generator-bound notes (a merge's shards), each naming its part.
    pub inherited_generator_notes: Vec<String>,
    /// Parts' own reasons not to trust them, each naming its part.
    pub inherited_invalid: Vec<String>,
    /// The run second by second.
    pub seconds: Vec<Second>,
    /// Wall-clock start of the measurement, seconds since the Unix epoch.
    pub measure_start_unix: f64,
    /// What the server spent.
    pub server_cost: ServerCost,
    /// Measured deliveries by sender.
    pub per_sender: Vec<SenderCount>,
    /// Shard reports merged (0 for a single run).
    pub shards: u32,
}

impl Summary {
    /// Derives the figures from a run's merged recordings (taken, not copied).
    pub fn from_outcome(config: &Config, o: Outcome) -> Summary {
        let t = o.totals;
        let (completion, incomplete) = t.completion.histogram();
        let hist = Histograms {
            from_planned: t.from_planned,
            from_sent: t.from_sent,
            completion,
            connect: t.connect,
            send_lag: t.send_lag,
            loop_lag: t.loop_lag,
            read_lag: t.read_lag,
            notice_lag: t.notice_lag,
        };
        let measure_s = o.phases.measure_s;
        let per_delivery = |pct: f64, cpu: &CpuUse| {
            (cpu.deliveries > 0).then(|| pct / 100.0 * measure_s * 1e6 / cpu.deliveries as f64)
        };
        let server_cpu = o.cpu.filter(|_| o.embedded);
        Summary::build(Parts {
            server: o.server,
            addr: o.addr.to_string(),
            embedded: o.embedded,
            registered: o.registered,
            config: config.clone(),
            phases: o.phases,
            hist,
            tally: Counts {
                sent: t.tally.sent,
                expected: t.tally.expected,
                delivered: t.tally.delivered,
                duplicated: t.tally.duplicated,
                out_of_order: t.tally.out_of_order,
                incomplete,
                lost: 0,
            },
            errors: t.errors,
            cpu: CpuFigures {
                workers: o.workers,
                loadgen_cpu_pct: o.cpu.map(|c| c.share.loadgen_pct),
                server_cpu_pct: server_cpu.map(|c| c.share.other_pct),
                loadgen_us_per_delivery: o.cpu.and_then(|c| per_delivery(c.share.loadgen_pct, &c)),
                server_us_per_delivery: server_cpu
                    .and_then(|c| per_delivery(c.share.other_pct, &c)),
            },
            inherited_generator_notes: Vec::new(),
            inherited_invalid: Vec::new(),
            seconds: o.seconds,
            measure_start_unix: o
                .measure_start
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs_f64(),
            server_cost: o.server_cost,
            per_sender: t.per_sender,
            shards: 0,
        })
    }

    /// The one place figures are derived, for a run, a merge of shards and a search step alike:
    /// loss, rates, percentiles, whether the generator held up, and whether the figures can be
    /// trusted.
    pub fn build(p: Parts) -> Summary {
        let sharded = p.config.shard.is_sharded();
        let measured = p.phases.measure_s > 0.0;
        let mut counts = p.tally;
        // A shard's own expected (what its senders are owed) and delivered (what its bots
        // received) count different deliveries: loss is judged on the merged report.
        counts.lost = if sharded {
            0
        } else {
            counts.expected.saturating_sub(counts.delivered)
        };
        let measure = p.phases.measure_s.max(1e-9);
        // A shard is held to its own bots' share of the plan.
        let target = if measured {
            p.config.rate * p.config.shard.bot_count(p.config.clients) as f64
        } else {
            0.0
        };
        // A run cut short by Ctrl-C is judged on the time it measured.
        let planned_s = if p.phases.interrupted {
            p.phases.measure_s
        } else {
            p.config.duration.as_secs_f64()
        };
        let rates = Rates {
            target_msgs_per_s: target,
            achieved_msgs_per_s: counts.sent as f64 / measure,
            achieved_pct: if target > 0.0 {
                100.0 * counts.sent as f64 / (target * planned_s).max(1e-9)
            } else {
                0.0
            },
            deliveries_per_s: counts.delivered as f64 / measure,
        };
        let latency = Latency::of(&p.hist.from_planned);
        let send_lag = Latency::of(&p.hist.send_lag);
        let loop_lag = Latency::of(&p.hist.loop_lag);
        let read_lag = Latency::of(&p.hist.read_lag);
        let notice_lag = Latency::of(&p.hist.notice_lag);
        let latency_from_sent = Latency::of(&p.hist.from_sent);
        // A part whose generator was the bottleneck spoils its own samples, which merged
        // percentiles could dilute: the whole is generator-bound when any part was.
        let own = OwnDelay {
            latency_p99: latency.p99,
            sent_p99: latency_from_sent.p99,
            send_lag_p99: send_lag.p99,
            loop_lag_p99: loop_lag.p99,
            notice_lag_p99: (notice_lag.count > 0).then_some(notice_lag.p99),
            burst_gap: (p.config.arrival == crate::plan::schedule::Arrival::Burst)
                .then(|| 1000.0 / p.config.rate),
        };
        let own_delay_ms = if measured { own_delay_ms(own) } else { 0.0 };
        let generator_note = if p.inherited_generator_notes.is_empty() {
            measured.then(|| generator_bound(own)).flatten()
        } else {
            Some(p.inherited_generator_notes.join("; "))
        };
        let mut invalid = p.inherited_invalid;
        if p.phases.interrupted && !invalid.iter().any(|r| r.ends_with(INTERRUPTED)) {
            invalid.push(INTERRUPTED.to_string());
        }
        if measured && rates.achieved_pct < 95.0 {
            invalid.push(format!(
                "sent only {:.1}% of the planned messages",
                rates.achieved_pct
            ));
        }
        Summary {
            server: p.server,
            addr: p.addr,
            embedded: p.embedded,
            registered: p.registered,
            config: Some(p.config),
            phases: p.phases,
            connect: Latency::of(&p.hist.connect),
            latency,
            latency_from_sent,
            completion: Latency::of(&p.hist.completion),
            counts,
            errors: p.errors,
            rates,
            self_check: SelfCheck {
                send_lag,
                loop_lag,
                read_lag,
                notice_lag,
                workers: p.cpu.workers,
                loadgen_cpu_pct: p.cpu.loadgen_cpu_pct,
                server_cpu_pct: p.cpu.server_cpu_pct,
                loadgen_us_per_delivery: p.cpu.loadgen_us_per_delivery,
                server_us_per_delivery: p.cpu.server_us_per_delivery,
                own_delay_ms,
                generator_bound: generator_note.is_some(),
                generator_note,
            },
            valid: invalid.is_empty(),
            invalid_reasons: invalid,
            seconds: p.seconds,
            measure_start_unix: p.measure_start_unix,
            histograms: p.hist.serialize(),
            server_cost: p.server_cost,
            per_sender: p.per_sender,
            shards: p.shards,
        }
    }
}
