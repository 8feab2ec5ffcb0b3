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

use crate::engine::outcome::Phases;
use crate::plan::config::{Config, Shard};
use crate::recording::histograms::Histograms;
use crate::recording::series::Second;
use crate::recording::server_cost::ServerCost;
use crate::recording::stats::{histogram, SenderCount};
use crate::summary::builder::{CpuFigures, Parts};
use crate::summary::report::{Counts, Latency, Summary};

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
    let (first, base) = one_run(parts, files)?;
    let (tally, per_sender, errors) = counts(parts, base.clients);
    let mut hist = Histograms::new();
    for p in parts {
        hist.add(&p.histograms.decode());
    }
    let (inherited_generator_notes, inherited_invalid) = inherited(parts);
    let mut config = base.clone();
    config.shard = Shard::default();
    config.workers = None;
    Ok(Summary::build(Parts {
        server: first.server.clone(),
        addr: first.addr.clone(),
        embedded: false,
        registered: parts.iter().map(|p| p.registered).sum(),
        config,
        phases: phases(parts, &tally),
        hist,
        tally,
        errors,
        cpu: cpu(parts),
        inherited_generator_notes,
        inherited_invalid,
        seconds: merge_seconds(parts),
        measure_start_unix: parts
            .iter()
            .map(|p| p.measure_start_unix)
            .fold(f64::INFINITY, f64::min),
        server_cost: ServerCost::merged(
            &parts
                .iter()
                .map(|p| p.server_cost.clone())
                .collect::<Vec<_>>(),
        ),
        per_sender,
        shards: base.shard.count,
    }))
}

/// Checks that `parts` are the shards of one run, each once: the first report and its settings.
fn one_run<'a>(
    parts: &'a [Summary],
    files: &[String],
) -> Result<(&'a Summary, &'a Config), MergeError> {
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
    Ok((first, base))
}

/// The counts, per sender and in all, and the errors by kind: sums over the shards.
fn counts(parts: &[Summary], clients: usize) -> (Counts, Vec<SenderCount>, BTreeMap<String, u64>) {
    let sum = |f: fn(&Counts) -> u64| parts.iter().map(|p| f(&p.counts)).sum::<u64>();
    let tally = Counts {
        sent: sum(|c| c.sent),
        expected: sum(|c| c.expected),
        delivered: sum(|c| c.delivered),
        lost: 0,
        duplicated: sum(|c| c.duplicated),
        out_of_order: sum(|c| c.out_of_order),
        incomplete: sum(|c| c.incomplete),
    };
    let mut per_sender = vec![SenderCount::default(); clients];
    let mut errors = BTreeMap::new();
    for p in parts {
        for (mine, theirs) in per_sender.iter_mut().zip(&p.per_sender) {
            mine.add(theirs);
        }
        for (k, v) in &p.errors {
            *errors.entry(k.clone()).or_insert(0) += v;
        }
    }
    (tally, per_sender, errors)
}

/// Each phase as long as the longest shard's.
fn phases(parts: &[Summary], tally: &Counts) -> Phases {
    let max = |f: fn(&Summary) -> f64| parts.iter().map(f).fold(0.0, f64::max);
    Phases {
        connect_s: max(|p| p.phases.connect_s),
        start_wait_s: max(|p| p.phases.start_wait_s),
        warmup_s: max(|p| p.phases.warmup_s),
        measure_s: max(|p| p.phases.measure_s),
        drain_s: max(|p| p.phases.drain_s),
        drained: tally.expected <= tally.delivered,
        interrupted: parts.iter().any(|p| p.phases.interrupted),
    }
}

/// The generator's own cost per delivery, weighted by each shard's deliveries.
fn cpu(parts: &[Summary]) -> CpuFigures {
    let weighted: Vec<(f64, f64)> = parts
        .iter()
        .filter_map(|p| {
            p.self_check
                .loadgen_us_per_delivery
                .map(|us| (us, p.counts.delivered as f64))
        })
        .collect();
    let weight: f64 = weighted.iter().map(|w| w.1).sum();
    CpuFigures {
        workers: parts.iter().map(|p| p.self_check.workers).sum(),
        // Shares of different machines' cores do not add up to anything.
        loadgen_cpu_pct: None,
        server_cpu_pct: None,
        loadgen_us_per_delivery: (weight > 0.0)
            .then(|| weighted.iter().map(|(us, n)| us * n).sum::<f64>() / weight),
        server_us_per_delivery: None,
    }
}

/// Each shard's generator notes and reasons the run is invalid, named by shard.
fn inherited(parts: &[Summary]) -> (Vec<String>, Vec<String>) {
    let shard_of = |p: &Summary| p.config.as_ref().map(|c| c.shard).unwrap_or_default();
    let notes = parts
        .iter()
        .filter_map(|p| {
            let n = p.self_check.generator_note.as_ref()?;
            Some(format!("shard {}: {n}", shard_of(p)))
        })
        .collect();
    let invalid = parts
        .iter()
        .flat_map(|p| {
            let shard = shard_of(p);
            p.invalid_reasons
                .iter()
                .map(move |r| format!("shard {shard}: {r}"))
        })
        .collect();
    (notes, invalid)
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
            s.encoded = crate::recording::series::encode(&h);
            s
        })
        .collect()
}
