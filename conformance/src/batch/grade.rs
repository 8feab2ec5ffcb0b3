//! Grading one server of a batch at a time: start or reach it, check it, run its cases within
//! its time limit, and give its verdict.

use std::net::ToSocketAddrs;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::file::{BatchFile, Entry};
use crate::case::{Case, Level, Target};
use crate::chat1::preflight;
use crate::plain::Protocol;
use crate::report::{Report, Tally};
use crate::runner::{self, Outcome};
use crate::spawn;

/// How grading one server ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", content = "detail", rename_all = "kebab-case")]
pub enum Verdict {
    /// Every MUST case passed.
    Pass,
    /// Some MUST case failed.
    Fail,
    /// It never printed its address, or exited first.
    DidNotStart(String),
    /// It does not speak chat/1 (or could not be reached).
    NotChat1(String),
    /// Graded as plain, it announced no newcomer however its input was framed.
    NotGradable(String),
    /// It exited while being graded.
    Crashed(String),
    /// It passed its time limit.
    Hung(String),
}

impl Verdict {
    /// The verdict's short name.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::DidNotStart(_) => "DID NOT START",
            Verdict::NotChat1(_) => "NOT CHAT/1",
            Verdict::NotGradable(_) => "NOT GRADABLE",
            Verdict::Crashed(_) => "CRASHED",
            Verdict::Hung(_) => "HUNG",
        }
    }

    /// What happened, for verdicts that need saying.
    pub fn detail(&self) -> &str {
        match self {
            Verdict::Pass | Verdict::Fail => "",
            Verdict::DidNotStart(d)
            | Verdict::NotChat1(d)
            | Verdict::NotGradable(d)
            | Verdict::Crashed(d)
            | Verdict::Hung(d) => d,
        }
    }
}

/// One server's line on the scoreboard.
#[derive(Debug, Serialize)]
pub struct Graded {
    /// Its label.
    pub label: String,
    /// The verdict.
    pub verdict: Verdict,
    /// Counts over the cases that ran.
    pub tally: Tally,
    /// Per requirement: (id, passed, cases).
    pub requirements: Vec<(String, usize, usize)>,
    /// Seconds spent on it.
    pub seconds: f64,
    /// Its full report, when cases ran.
    #[serde(skip)]
    pub report: Option<Report>,
}

/// How a batch runs (besides what the file says).
#[derive(Debug, Clone)]
pub struct Options {
    /// What every server is graded with (client binary, timeout scale, connection cap); each
    /// entry's address and settings replace the rest.
    pub base: Target,
    /// Cases at once.
    pub jobs: usize,
    /// `--only`: the case ids or requirements to run (all when empty), for plain servers
    /// (whose cases are not the chat/1 ones passed in).
    pub only: Vec<String>,
    /// Points for each server's Gradescope results.json.
    pub rubric: crate::report::gradescope::Rubric,
}

/// Grades every server of `batch` (as [`super::load`] returns it), one at a time, calling `progress`
/// after each.
pub fn run(
    batch: &BatchFile,
    cases: &[Case],
    options: &Options,
    progress: &mut dyn FnMut(&Graded),
) -> Vec<Graded> {
    let mut all = Vec::new();
    for entry in &batch.servers {
        let g = grade(entry, cases, options);
        progress(&g);
        all.push(g);
    }
    all
}

fn grade(e: &Entry, cases: &[Case], options: &Options) -> Graded {
    let started = Instant::now();
    let limit = e.limits.time_limit;
    let done = |verdict: Verdict, report: Option<Report>| {
        let tally = report.as_ref().map(Report::tally).unwrap_or_default();
        let requirements = report
            .as_ref()
            .map(|r| {
                r.by_requirement()
                    .into_iter()
                    .map(|(rf, _, t)| (rf.to_string(), t.passed, t.passed + t.failed + t.skipped))
                    .collect()
            })
            .unwrap_or_default();
        Graded {
            label: e.label.clone(),
            verdict,
            tally,
            requirements,
            seconds: started.elapsed().as_secs_f64(),
            report,
        }
    };
    let mut spawned = None;
    let addr = match (&e.spawn, &e.address) {
        (Some(cmd), _) => {
            let wait = Duration::from_secs(30).min(limit);
            match spawn::spawn_in(cmd, e.dir.as_deref(), wait) {
                Ok(s) => {
                    let a = s.addr;
                    spawned = Some(s);
                    a
                }
                Err(err) => return done(Verdict::DidNotStart(err.to_string()), None),
            }
        }
        (None, Some(text)) => match text.to_socket_addrs().map(|mut a| a.next()) {
            Ok(Some(a)) => a,
            _ => return done(Verdict::NotChat1(format!("cannot resolve {text:?}")), None),
        },
        (None, None) => unreachable!("load() checks every entry has spawn or address"),
    };
    let mut target = Target {
        addr,
        name_timeout: e.limits.name_timeout,
        max_line: e.limits.max_line,
        stall_timeout: e.limits.stall_timeout,
        plain: e.limits.plain.clone(),
        ..options.base.clone()
    };
    let wait = target.read_timeout();
    let plain_cases;
    let cases = if e.limits.protocol == Protocol::Plain {
        if target.plain.framing.is_none() {
            let patience = target.scaled(Duration::from_secs(2));
            match crate::plain::detect::detect(addr, patience) {
                Ok(f) => target.plain.framing = Some(f),
                Err(err) => return done(Verdict::NotGradable(err.to_string()), None),
            }
        }
        plain_cases = runner::select(crate::plain::cases::cases(&target.plain), &options.only);
        &plain_cases[..]
    } else {
        if let Err(err) = preflight::check(addr, &format!("cfcheck{}", std::process::id()), wait) {
            return done(Verdict::NotChat1(err.to_string()), None);
        }
        cases
    };
    // The cases run on their own thread so that a server that hangs them can be given up on.
    let (tx, rx) = mpsc::channel();
    let (owned_cases, owned_target, jobs) = (cases.to_vec(), target.clone(), options.jobs);
    let label = e.label.clone();
    let runner = std::thread::spawn(move || {
        let t = Instant::now();
        let results = runner::run_all(&owned_cases, &owned_target, jobs, &|_| {});
        let _ = tx.send(Report {
            server: label,
            seconds: t.elapsed().as_secs_f64(),
            results,
        });
    });
    let left = limit.saturating_sub(started.elapsed());
    let report = match rx.recv_timeout(left) {
        Ok(r) => r,
        Err(_) => {
            // Stopping the server ends the cases quickly; a server we did not start is left
            // alone, and its cases finish on their own timeouts in the background.
            if let Some(s) = spawned.as_mut() {
                s.kill();
                let _ = runner.join();
            }
            return done(
                Verdict::Hung(format!(
                    "not done within its time limit of {:.0} s",
                    limit.as_secs_f64()
                )),
                None,
            );
        }
    };
    let _ = runner.join();
    if let Some(status) = spawned.as_mut().and_then(|s| s.exit_status()) {
        return done(
            Verdict::Crashed(format!("it exited ({status}) during the run")),
            Some(report),
        );
    }
    let must_failed = report
        .results
        .iter()
        .any(|r| r.level == Level::Must && r.outcome == Outcome::Fail);
    done(
        if must_failed {
            Verdict::Fail
        } else {
            Verdict::Pass
        },
        Some(report),
    )
}
