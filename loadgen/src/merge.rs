//! `loadgen merge`: the shards of one run, each a `--json` report, made into the report of the
//! whole run, as if one process had driven every bot.
//!
//! Histograms add exactly (HdrHistogram), so percentiles of the merge are the percentiles of
//! every delivery timed by any shard. Counts add: every shard counts what its bots sent
//! (deliveries owed) and what its bots received (from every sender), so the sums are the run's
//! owed and delivered deliveries and their difference is the run's loss, which no shard alone
//! can know. Latency was only ever taken on the clock that stamped it (a shard's own tokens), so
//! merging never mixes clocks.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::config::Shard;
use crate::report::{serialize, Counts, Latency, Rates, Serialized, Summary};
use crate::series::Second;
use crate::server_cost::ServerCost;
use crate::stats::{histogram, SenderCount};
use crate::verdict::generator_bound;

/// Reports that do not make one run.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("no reports to merge")]
    Empty,
    /// A report without its settings (from an older loadgen).
    #[error("{0} has no settings (\"config\"); it was not written by loadgen --json")]
    NoSettings(String),
    /// Reports of different runs.
    #[error("{file} is not a shard of the same run as {first}: its {what} differ")]
    OtherRun {
        /// The odd report.
        file: String,
        /// The first report.
        first: String,
        /// What differs.
        what: &'static str,
    },
    /// A shard missing or given twice.
    #[error("shard {shard} of {count} is {problem}")]
    Shards {
        /// The shard.
        shard: u32,
        /// Shards in the run.
        count: u32,
        /// "missing" or "given twice".
        problem: &'static str,
    },
}

/// Merges shard reports (named by `files`, for messages) into one.
pub fn merge(parts: &[Summary], files: &[String]) -> Result<Summary, MergeError> {
    let first = parts.first().ok_or(MergeError::Empty)?;
    let name = |i: usize| {
        files
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("report {i}"))
    };
    let base = first
        .config
        .as_ref()
        .ok_or_else(|| MergeError::NoSettings(name(0)))?;
    let count = base.shard.count;
    let mut seen = vec![false; count as usize];
    for (i, p) in parts.iter().enumerate() {
        let c = p
            .config
            .as_ref()
            .ok_or_else(|| MergeError::NoSettings(name(i)))?;
        let differs = |what| MergeError::OtherRun {
            file: name(i),
            first: name(0),
            what,
        };
        if c.shard.count != count {
            return Err(differs("shard counts"));
        }
        if c.start_at != base.start_at || c.seed != base.seed {
            return Err(differs("start times or seeds"));
        }
        if (c.clients, c.size, c.arrival, c.protocol)
            != (base.clients, base.size, base.arrival, base.protocol)
            || c.rate != base.rate
            || c.private_ratio != base.private_ratio
            || (c.warmup, c.duration) != (base.warmup, base.duration)
        {
            return Err(differs("loads (clients, rate, arrival, size, phases)"));
        }
        let slot = &mut seen[c.shard.index as usize];
        if *slot {
            return Err(MergeError::Shards {
                shard: c.shard.index,
                count,
                problem: "given twice",
            });
        }
        *slot = true;
    }
    if let Some(missing) = seen.iter().position(|s| !s) {
        return Err(MergeError::Shards {
            shard: missing as u32,
            count,
            problem: "missing",
        });
    }

    let add = |which: &str| {
        let mut h = histogram();
        for p in parts {
            if let Some(part) = p.histogram(which) {
                h.add(&part).expect("histograms share their bounds");
            }
        }
        h
    };
    let hist: BTreeMap<&str, Histogram<u64>> = [
        "from_planned",
        "from_sent",
        "completion",
        "connect",
        "send_lag",
        "loop_lag",
    ]
    .into_iter()
    .map(|w| (w, add(w)))
    .collect();

    let sum = |f: fn(&Counts) -> u64| parts.iter().map(|p| f(&p.counts)).sum::<u64>();
    let (expected, delivered) = (sum(|c| c.expected), sum(|c| c.delivered));
    let counts = Counts {
        sent: sum(|c| c.sent),
        expected,
        delivered,
        lost: expected.saturating_sub(delivered),
        duplicated: sum(|c| c.duplicated),
        out_of_order: sum(|c| c.out_of_order),
        incomplete: sum(|c| c.incomplete),
    };
    let mut per_sender = vec![SenderCount::default(); base.clients];
    for p in parts {
        for (mine, theirs) in per_sender.iter_mut().zip(&p.per_sender) {
            mine.add(theirs);
        }
    }
    let mut errors = BTreeMap::new();
    for p in parts {
        for (k, v) in &p.errors {
            *errors.entry(k.clone()).or_insert(0) += v;
        }
    }

    let max = |f: fn(&Summary) -> f64| parts.iter().map(f).fold(0.0, f64::max);
    let mut phases = first.phases.clone();
    phases.connect_s = max(|p| p.phases.connect_s);
    phases.start_wait_s = max(|p| p.phases.start_wait_s);
    phases.warmup_s = max(|p| p.phases.warmup_s);
    phases.measure_s = max(|p| p.phases.measure_s);
    phases.drain_s = max(|p| p.phases.drain_s);
    phases.interrupted = parts.iter().any(|p| p.phases.interrupted);
    phases.drained = counts.lost == 0;
    let measure = phases.measure_s.max(1e-9);
    let target = base.total_rate();
    let rates = Rates {
        target_msgs_per_s: target,
        achieved_msgs_per_s: counts.sent as f64 / measure,
        achieved_pct: 100.0 * counts.sent as f64 / (target * base.duration.as_secs_f64()).max(1e-9),
        deliveries_per_s: counts.delivered as f64 / measure,
    };

    let latency = Latency::of(&hist["from_planned"]);
    let mut self_check = first.self_check.clone();
    self_check.send_lag = Latency::of(&hist["send_lag"]);
    self_check.loop_lag = Latency::of(&hist["loop_lag"]);
    self_check.workers = parts.iter().map(|p| p.self_check.workers).sum();
    // Shares of different machines' cores do not add up to anything.
    self_check.loadgen_cpu_pct = None;
    self_check.server_cpu_pct = None;
    self_check.server_us_per_delivery = None;
    let weighted: Vec<(f64, f64)> = parts
        .iter()
        .filter_map(|p| {
            p.self_check
                .loadgen_us_per_delivery
                .map(|us| (us, p.counts.delivered as f64))
        })
        .collect();
    let weight: f64 = weighted.iter().map(|w| w.1).sum();
    self_check.loadgen_us_per_delivery =
        (weight > 0.0).then(|| weighted.iter().map(|(us, n)| us * n).sum::<f64>() / weight);
    // A shard whose generator was the bottleneck spoils its own samples, which the merged
    // percentiles could dilute: the merge is generator-bound when any shard was.
    let bound: Vec<String> = parts
        .iter()
        .filter_map(|p| {
            let c = p.config.as_ref()?;
            p.self_check
                .generator_note
                .as_ref()
                .map(|n| format!("shard {}: {n}", c.shard))
        })
        .collect();
    self_check.generator_note = if bound.is_empty() {
        generator_bound(
            latency.p99,
            self_check.send_lag.p99,
            self_check.loop_lag.p99,
        )
    } else {
        Some(bound.join("; "))
    };
    self_check.generator_bound = self_check.generator_note.is_some();

    let mut invalid: Vec<String> = parts
        .iter()
        .flat_map(|p| {
            let shard = p.config.as_ref().map(|c| c.shard).unwrap_or_default();
            p.invalid_reasons
                .iter()
                .map(move |r| format!("shard {shard}: {r}"))
        })
        .collect();
    if !phases.interrupted && rates.achieved_pct < 95.0 {
        invalid.push(format!(
            "sent only {:.1}% of the planned messages",
            rates.achieved_pct
        ));
    }

    let mut config = base.clone();
    config.shard = Shard::default();
    config.workers = None;
    Ok(Summary {
        server: first.server.clone(),
        addr: first.addr.clone(),
        embedded: false,
        registered: parts.iter().map(|p| p.registered).sum(),
        config: Some(config),
        phases,
        connect: Latency::of(&hist["connect"]),
        latency,
        latency_from_sent: Latency::of(&hist["from_sent"]),
        completion: Latency::of(&hist["completion"]),
        counts,
        errors,
        rates,
        self_check,
        valid: invalid.is_empty(),
        invalid_reasons: invalid,
        seconds: merge_seconds(parts),
        measure_start_unix: parts
            .iter()
            .map(|p| p.measure_start_unix)
            .fold(f64::INFINITY, f64::min),
        histograms: Serialized {
            from_planned: serialize(&hist["from_planned"]),
            from_sent: serialize(&hist["from_sent"]),
            completion: serialize(&hist["completion"]),
            connect: serialize(&hist["connect"]),
            send_lag: serialize(&hist["send_lag"]),
            loop_lag: serialize(&hist["loop_lag"]),
        },
        server_cost: ServerCost::merged(
            &parts
                .iter()
                .map(|p| p.server_cost.clone())
                .collect::<Vec<_>>(),
        ),
        per_sender,
        shards: count,
    })
}

/// Adds the shards' seconds by their number; each second's latency from its merged histogram.
fn merge_seconds(parts: &[Summary]) -> Vec<Second> {
    let mut by: BTreeMap<i64, (Second, Histogram<u64>)> = BTreeMap::new();
    for s in parts.iter().flat_map(|p| &p.seconds) {
        let (m, h) = by.entry(s.second).or_insert_with(|| {
            (
                Second {
                    second: s.second,
                    ..Second::default()
                },
                histogram(),
            )
        });
        m.sent += s.sent;
        m.delivered += s.delivered;
        m.measured += s.measured;
        let _ = h.add(s.histogram());
    }
    by.into_values()
        .map(|(mut s, h)| {
            let l = Latency::of(&h);
            (s.p50, s.p99, s.max) = (l.p50, l.p99, l.max);
            s.encoded = crate::series::encode(&h);
            s
        })
        .collect()
}
