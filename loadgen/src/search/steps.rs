//! `loadgen search`: the highest load a server takes while holding an SLO.
//!
//! The driver varies one thing (the rate per bot at fixed `--clients`, or the number of bots at
//! a fixed `--rate`). It steps up by doubling from `--from` until a step fails (or `--to`), then
//! bisects between the best passing load and the lowest failing one until they are within
//! `--precision` of each other, then runs the best passing load again to confirm it; a failed
//! confirmation makes it the failing end and the search goes on below it.
//!
//! Each step is a whole [`crate::engine::run::run`] (connect, warm-up, measure, drain) judged by
//! [`judge`]. On a `--server`, the next step starts only once the server has caught up
//! (`engine::settle`); the embedded server is a fresh one per step.
//!
//! Latency counts from the planned send, so loadgen's own delay only ever adds to it: a step
//! that holds the SLO with its plan really sent passes, however much of its latency was
//! loadgen's (the step says how much). Only a failing step can be the generator's fault: when
//! its latency less loadgen's own delay would hold the SLO, it cannot be judged, and the search
//! stops there with the capacity "at least" the last pass. So does a step whose generator could
//! not send its plan (under [`SENT_ENOUGH_PCT`] of the planned messages): the generator, not
//! the server, is then the limit.

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::flags::search::{SearchArgs, Vary};
pub use crate::search::plan::{capacity_gates, CapacityGate, Plan, SearchError};

use crate::judging::gate::{self, Threshold};
use crate::plan::config::Config;
use crate::summary::report::Summary;

/// Why a step ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    /// Stepping up by doubling.
    Double,
    /// Between the best pass and the lowest failure.
    Bisect,
    /// The best pass, again.
    Confirm,
}

/// A step's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", content = "why", rename_all = "kebab-case")]
pub enum Verdict {
    /// Everything held.
    Pass,
    /// The server did not hold the load.
    Fail(String),
    /// The generator was the limit: the step says nothing about the server.
    GeneratorBound(String),
}

/// A step whose generator sent less than this share of its planned messages did not apply the
/// load it names: the generator fell behind, and the search stops there. A run below it is
/// invalid anyway (the same figure), so no step passes without its plan sent.
pub const SENT_ENOUGH_PCT: f64 = 95.0;

/// Judges a step: `Err` is a run that could not measure (too few bots registered).
///
/// The server's own faults (duplicates, reordering, errors) fail a step whatever the generator
/// did. A generator that did not send its plan, or that was generator-bound and lost
/// deliveries (a generator too slow to read in time loses deliveries too), stops the search. A
/// step that holds the SLO passes; one that fails it is the server's, unless its latency less
/// loadgen's own delay would hold it.
pub fn judge(run: &Result<Summary, String>, slo: &[Threshold]) -> Verdict {
    let s = match run {
        Ok(s) => s,
        Err(why) => return Verdict::Fail(why.clone()),
    };
    let c = &s.counts;
    let faults = |list: &[(u64, &str)]| -> Vec<String> {
        list.iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}"))
            .collect()
    };
    // The server's own: a slow generator duplicates, reorders and errs nothing.
    let own = faults(&[
        (c.duplicated, "duplicated"),
        (c.out_of_order, "out of order"),
        (s.server_errors(), "errors"),
    ]);
    if !own.is_empty() {
        return Verdict::Fail(own.join(", "));
    }
    let planned = s.rates.target_msgs_per_s > 0.0;
    if planned && s.rates.achieved_pct < SENT_ENOUGH_PCT {
        return Verdict::GeneratorBound(format!(
            "generator-bound: loadgen sent only {:.1}% of the planned messages (under {:.0}%): \
             it fell behind its own plan",
            s.rates.achieved_pct, SENT_ENOUGH_PCT
        ));
    }
    if c.lost > 0 {
        return match &s.self_check.generator_note {
            // A generator too slow to read in time loses deliveries too.
            Some(note) => Verdict::GeneratorBound(note.clone()),
            None => Verdict::Fail(format!("{} lost", c.lost)),
        };
    }
    if !s.valid {
        return Verdict::Fail(format!("invalid: {}", s.invalid_reasons.join("; ")));
    }
    let failed = failures(s, slo);
    if failed.is_empty() {
        return Verdict::Pass;
    }
    // Latency counts from the planned send: loadgen's own delay only ever adds to it.
    let own = s.self_check.own_delay_ms;
    if own > 0.0 && failures(&less_own_delay(s, own), slo).is_empty() {
        return Verdict::GeneratorBound(format!(
            "generator-bound: the step missed the SLO ({}), but its latency less loadgen's own \
             delay ({own:.3} ms at p99) would hold it",
            failed.join("; ")
        ));
    }
    Verdict::Fail(failed.join("; "))
}

/// The thresholds of `slo` that `s` misses, in words.
fn failures(s: &Summary, slo: &[Threshold]) -> Vec<String> {
    gate::check_thresholds(s, slo)
        .into_iter()
        .filter(|c| !c.pass)
        .map(|c| format!("{} (actual {})", c.what, c.actual))
        .collect()
}

/// `s` with `own` ms (loadgen's own delay at p99) taken off its tail, p99 and above: the best
/// the server can have done there. The median and the mean are left: loadgen's own delay at
/// p99 says nothing of its share of them.
fn less_own_delay(s: &Summary, own: f64) -> Summary {
    let mut t = s.clone();
    for v in [&mut t.latency.p99, &mut t.latency.p999, &mut t.latency.max] {
        *v = (*v - own).max(0.0);
    }
    t
}

/// One step, as reported.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    /// From 1.
    pub number: usize,
    /// Why it ran.
    pub purpose: Purpose,
    /// The load (msg/s per bot, or bots).
    pub load: f64,
    /// Its verdict.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Deliveries per second measured.
    pub deliveries_per_s: f64,
    /// Latency from planned send, p50, ms.
    pub p50_ms: f64,
    /// Latency from planned send, p99, ms.
    pub p99_ms: f64,
    /// How long the server took to catch up before this step, seconds (`--server` only).
    pub settle_s: Option<f64>,
    /// Loadgen's own delay at p99, ms: how much of the latency was loadgen's, not the server's.
    #[serde(default)]
    pub own_delay_ms: f64,
    /// The step's whole report, when it measured.
    pub report: Option<Summary>,
}

impl Step {
    /// A step from its run and verdict.
    pub fn new(
        number: usize,
        purpose: Purpose,
        load: f64,
        run: Result<Summary, String>,
        slo: &[Threshold],
    ) -> Step {
        let verdict = judge(&run, slo);
        let report = run.ok();
        let (deliveries_per_s, p50_ms, p99_ms) = report.as_ref().map_or((0.0, 0.0, 0.0), |s| {
            (s.rates.deliveries_per_s, s.latency.p50, s.latency.p99)
        });
        let own_delay_ms = report.as_ref().map_or(0.0, |s| s.self_check.own_delay_ms);
        Step {
            number,
            purpose,
            load,
            verdict,
            deliveries_per_s,
            p50_ms,
            p99_ms,
            settle_s: None,
            own_delay_ms,
            report,
        }
    }
}

/// How the search ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "stop", content = "detail", rename_all = "kebab-case")]
pub enum Stop {
    /// Bisected to the precision and confirmed.
    Precision,
    /// The highest load allowed (`--to`) held, confirmed.
    ReachedTo,
    /// Not even the first load held.
    NothingHeld,
    /// A step was generator-bound (its number).
    GeneratorBound(usize),
    /// The step budget ran out.
    MaxSteps,
    /// Ctrl-C.
    Interrupted,
    /// A step could not run at all (the server stopped answering, or never caught up).
    Aborted(String),
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Next {
    /// Run this load.
    Run(f64, Purpose),
    /// Stop.
    Done,
}

/// The search's state: the loads that passed and failed so far.
#[derive(Debug, Default)]
pub struct Bracket {
    passed: Vec<f64>,
    failed: Vec<f64>,
    confirmed: Option<f64>,
}

impl Bracket {
    /// The best load that passed (and was not refuted by its confirmation).
    pub fn lo(&self) -> Option<f64> {
        let hi = self.hi();
        self.passed
            .iter()
            .copied()
            .filter(|p| hi.is_none_or(|h| *p < h))
            .fold(None, |m, p| Some(m.map_or(p, |m: f64| m.max(p))))
    }

    /// The lowest load that failed.
    pub fn hi(&self) -> Option<f64> {
        self.failed
            .iter()
            .copied()
            .fold(None, |m, p| Some(m.map_or(p, |m: f64| m.min(p))))
    }

    /// Records a step's result.
    pub fn record(&mut self, load: f64, purpose: Purpose, pass: bool) {
        match (purpose, pass) {
            (Purpose::Confirm, true) => self.confirmed = Some(load),
            (_, true) => self.passed.push(load),
            (_, false) => self.failed.push(load),
        }
    }

    /// The next step of `plan`.
    pub fn next(&self, plan: &Plan) -> Next {
        if self.confirmed.is_some() {
            return Next::Done;
        }
        let whole = |x: f64| match plan.vary {
            Vary::Rate => x,
            Vary::Clients => x.round(),
        };
        match (self.lo(), self.hi()) {
            (None, None) => Next::Run(plan.from, Purpose::Double),
            (None, Some(_)) => Next::Done,
            (Some(lo), None) if lo >= plan.to => Next::Run(lo, Purpose::Confirm),
            (Some(lo), None) => match whole((lo * 2.0).min(plan.to)) {
                // Nothing higher is allowed (--to, in whole bots): the best is confirmed.
                next if next <= lo => Next::Run(lo, Purpose::Confirm),
                next => Next::Run(next, Purpose::Double),
            },
            (Some(lo), Some(hi)) => {
                let mid = whole((lo + hi) / 2.0);
                if (hi - lo) / lo <= plan.precision || mid <= lo || mid >= hi {
                    Next::Run(lo, Purpose::Confirm)
                } else {
                    Next::Run(mid, Purpose::Bisect)
                }
            }
        }
    }

    /// Why the search ended, once [`Bracket::next`] says so.
    pub fn stop(&self, plan: &Plan) -> Stop {
        match self.confirmed {
            Some(c) if c >= plan.to => Stop::ReachedTo,
            Some(_) => Stop::Precision,
            None => Stop::NothingHeld,
        }
    }
}

/// A step's run: its report, or why it could not measure; and how long the server took to
/// catch up before it (`--server` only).
pub type StepRun = (Result<Summary, String>, Option<Duration>);

/// The whole search.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Search {
    /// What varied.
    pub vary: Vary,
    /// The SLO, as given.
    pub slo: Vec<String>,
    /// The precision asked for, as a fraction.
    pub precision: f64,
    /// The run every step varies.
    pub base: Config,
    /// Every step, in order.
    pub steps: Vec<Step>,
    /// How it ended.
    #[serde(flatten)]
    pub stop: Stop,
    /// The step that answers: the confirmation of the best load (or, when the search was cut
    /// short, the best passing step so far).
    pub answer: Option<usize>,
    /// The answer as figures, when there is one.
    #[serde(default)]
    pub capacity: Option<Capacity>,
}

/// The capacity found, explicitly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    /// Deliveries per second at the answering step.
    pub deliveries_per_s: f64,
    /// Bots.
    pub clients: usize,
    /// Messages per second per bot.
    pub rate: f64,
    /// The load applied: clients x rate, messages per second.
    pub msgs_per_s: f64,
    /// Latency from planned send at that load, ms.
    pub p50_ms: f64,
    /// Latency from planned send at that load, ms.
    pub p99_ms: f64,
    /// How much of that p99 was loadgen's own delay, ms: the server's margin is larger.
    pub own_delay_ms: f64,
    /// Whether a second run at that load held too.
    pub confirmed: bool,
    /// Whether the server may take more: the search was cut short, or loadgen ran on the
    /// server's own machine and took cores it would otherwise have.
    pub lower_bound: bool,
    /// Whether loadgen and the server shared a machine.
    pub shared_machine: bool,
}

/// Whether loadgen and the server of `base` share a machine: the embedded server, or an
/// address on loopback.
pub fn shares_machine(base: &Config) -> bool {
    use std::net::ToSocketAddrs;
    match &base.server {
        None => true,
        Some(addr) => addr
            .to_socket_addrs()
            .map(|mut a| a.all(|a| a.ip().is_loopback()))
            .unwrap_or(false),
    }
}

impl Search {
    /// The answering step.
    pub fn answer_step(&self) -> Option<&Step> {
        self.answer
            .and_then(|n| self.steps.iter().find(|s| s.number == n))
    }
}

/// Runs the search: `step` runs one load's config and gives its report, or why it could not
/// measure (too few bots registered); an error from it ends the search ([`Stop::Aborted`]) with
/// the steps so far. `on_step` hears each step as it ends.
pub fn search<E: std::fmt::Display>(
    plan: &Plan,
    base: &Config,
    interrupted: &dyn Fn() -> bool,
    step: &mut dyn FnMut(Config) -> Result<StepRun, E>,
    on_step: &mut dyn FnMut(&Step),
) -> Search {
    let mut bracket = Bracket::default();
    let mut steps: Vec<Step> = Vec::new();
    let stop = loop {
        if interrupted() {
            break Stop::Interrupted;
        }
        let Next::Run(load, purpose) = bracket.next(plan) else {
            break bracket.stop(plan);
        };
        if steps.len() >= plan.max_steps {
            break Stop::MaxSteps;
        }
        let (run, settle) = match step(plan.step_config(base, load)) {
            Ok(done) => done,
            // The steps so far are kept: they are what the user came for.
            Err(e) => break Stop::Aborted(e.to_string()),
        };
        let mut s = Step::new(steps.len() + 1, purpose, load, run, &plan.slo);
        s.settle_s = settle.map(|d| d.as_secs_f64());
        on_step(&s);
        let verdict = s.verdict.clone();
        let number = s.number;
        steps.push(s);
        if interrupted() {
            break Stop::Interrupted;
        }
        match verdict {
            Verdict::GeneratorBound(_) => break Stop::GeneratorBound(number),
            v => bracket.record(load, purpose, v == Verdict::Pass),
        }
    };
    let answer = match &stop {
        Stop::Precision | Stop::ReachedTo => steps
            .iter()
            .rev()
            .find(|s| s.purpose == Purpose::Confirm && s.verdict == Verdict::Pass),
        // Cut short: the best load that passed so far, unconfirmed.
        _ => bracket.lo().and_then(|lo| {
            steps
                .iter()
                .rev()
                .find(|s| s.load == lo && s.verdict == Verdict::Pass)
        }),
    }
    .map(|s| s.number);
    let capacity = answer
        .and_then(|n| steps.iter().find(|s| s.number == n))
        .map(|a| {
            let c = plan.step_config(base, a.load);
            let confirmed = a.purpose == Purpose::Confirm;
            let shared_machine = shares_machine(base);
            Capacity {
                deliveries_per_s: a.deliveries_per_s,
                clients: c.clients,
                rate: c.rate,
                msgs_per_s: c.clients as f64 * c.rate,
                p50_ms: a.p50_ms,
                p99_ms: a.p99_ms,
                own_delay_ms: a.own_delay_ms,
                confirmed,
                lower_bound: !matches!(stop, Stop::Precision | Stop::ReachedTo) || shared_machine,
                shared_machine,
            }
        });
    Search {
        vary: plan.vary,
        slo: plan.slo.iter().map(|t| t.text().to_string()).collect(),
        precision: plan.precision,
        base: base.clone(),
        steps,
        stop,
        answer,
        capacity,
    }
}

#[cfg(test)]
#[path = "steps_tests.rs"]
mod tests;
