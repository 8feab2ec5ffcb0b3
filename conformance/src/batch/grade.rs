//! Grading one server of a batch at a time: start or reach it, check it, run its cases within
//! its time limit, and give its verdict.

use std::net::ToSocketAddrs;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::file::{BatchFile, Entry};
use crate::case::{Case, Target};
use crate::grade::{GradeError, Plan, Server};
use crate::report::{Report, Tally};
use crate::watch::Broke;

/// How grading one server ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", content = "detail", rename_all = "kebab-case")]
pub enum Verdict {
    /// Every MUST case passed.
    Pass,
    /// Some MUST case failed.
    Fail,
    /// Its build step failed.
    DidNotBuild(String),
    /// It never printed its address, or exited first.
    DidNotStart(String),
    /// It does not speak chat/1 (or could not be reached).
    NotChat1(String),
    /// Graded as plain, it announced no newcomer however its input was framed.
    NotGradable(String),
    /// It exited while being graded.
    Crashed(String),
    /// Its process lived on, but it stopped accepting connections.
    StoppedAccepting(String),
    /// It accepted connections, but stopped relaying anything.
    Froze(String),
    /// It passed its time limit.
    Hung(String),
    /// The entry names none (a client graded alone has no server).
    NotGiven,
}

impl Verdict {
    /// PASS or FAIL, by the report's MUST cases.
    pub fn by_cases(report: &Report) -> Verdict {
        if report.tally().must_failed > 0 {
            Verdict::Fail
        } else {
            Verdict::Pass
        }
    }

    /// The verdict's short name.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::DidNotBuild(_) => "DID NOT BUILD",
            Verdict::DidNotStart(_) => "DID NOT START",
            Verdict::NotChat1(_) => "NOT CHAT/1",
            Verdict::NotGradable(_) => "NOT GRADABLE",
            Verdict::Crashed(_) => "CRASHED",
            Verdict::StoppedAccepting(_) => "STOPPED ACCEPTING",
            Verdict::Froze(_) => "FROZE",
            Verdict::Hung(_) => "HUNG",
            Verdict::NotGiven => "-",
        }
    }

    /// What happened, for verdicts that need saying.
    pub fn detail(&self) -> &str {
        match self {
            Verdict::Pass | Verdict::Fail | Verdict::NotGiven => "",
            Verdict::DidNotBuild(d)
            | Verdict::DidNotStart(d)
            | Verdict::NotChat1(d)
            | Verdict::NotGradable(d)
            | Verdict::Crashed(d)
            | Verdict::StoppedAccepting(d)
            | Verdict::Froze(d)
            | Verdict::Hung(d) => d,
        }
    }
}

/// One student's line on the scoreboard: the server's verdict, and the counts and points of
/// the server's cases and the client's together.
#[derive(Debug, Serialize)]
pub struct Graded {
    /// Its label.
    pub label: String,
    /// The server's verdict.
    pub verdict: Verdict,
    /// Counts over the cases that ran.
    pub tally: Tally,
    /// Per requirement: (id, passed, cases).
    pub requirements: Vec<(String, usize, usize)>,
    /// Its points, from the rubric (none earned when it could not be graded).
    pub points: super::points::Points,
    /// Seconds spent on it.
    pub seconds: f64,
    /// The server's full report, when cases ran.
    #[serde(skip)]
    pub report: Option<Report>,
    /// How its client was graded, when the entry names one.
    pub client: Option<super::client::ClientGraded>,
    /// The language of its reports.
    #[serde(skip)]
    pub lang: crate::i18n::Lang,
}

impl Graded {
    /// Whether everything graded passed.
    pub fn passed(&self) -> bool {
        let client = self
            .client
            .as_ref()
            .is_none_or(|c| c.verdict == Verdict::Pass);
        matches!(self.verdict, Verdict::Pass | Verdict::NotGiven) && client
    }

    /// Adds the client's counts and points to the server's.
    fn with_client(mut self, c: super::client::ClientGraded) -> Graded {
        self.tally = self.tally + c.tally;
        self.points = self.points.plus(&c.points);
        let theirs = c.report.as_ref().map(per_requirement).unwrap_or_default();
        self.requirements = crate::requirements::REQUIREMENTS
            .iter()
            .filter_map(|(rf, _)| {
                let of = |v: &[(String, usize, usize)]| {
                    v.iter().find(|r| r.0 == *rf).map(|r| (r.1, r.2))
                };
                let (a, b) = (of(&self.requirements), of(&theirs));
                if a.is_none() && b.is_none() {
                    return None;
                }
                let (a, b) = (a.unwrap_or_default(), b.unwrap_or_default());
                Some((rf.to_string(), a.0 + b.0, a.1 + b.1))
            })
            .collect();
        self.seconds += c.seconds;
        self.client = Some(c);
        self
    }
}

/// A report's (requirement, passed, cases).
fn per_requirement(r: &Report) -> Vec<(String, usize, usize)> {
    r.by_requirement()
        .into_iter()
        .map(|(rf, _, t)| (rf.to_string(), t.passed, t.passed + t.failed + t.skipped))
        .collect()
}

/// How a batch runs (besides what the file says).
#[derive(Debug, Clone)]
pub struct Options {
    /// What every server is graded with (client binary, timeout scale, connection cap); each
    /// entry's address and settings replace the rest.
    pub base: Target,
    /// Cases at once, within one server.
    pub jobs: usize,
    /// Servers graded at once.
    pub servers_at_once: usize,
    /// `--only`: the case ids or requirements to run (all when empty), for plain servers
    /// (whose cases are not the chat/1 ones passed in).
    pub only: Vec<String>,
    /// Points for each server's Gradescope results.json.
    pub rubric: crate::report::gradescope::Rubric,
    /// What each copy of a server may take.
    pub limits: crate::limits::Limits,
}

/// Grades every server of `batch` (as [`super::load`] returns it), `servers_at_once` at a
/// time, each isolated from the others (its own servers, ports and limits), calling `progress`
/// after each. The results keep the file's order.
pub fn run(
    batch: &BatchFile,
    cases: &[Case],
    options: &Options,
    progress: &mut (dyn FnMut(&Graded) + Send),
) -> Vec<Graded> {
    let slots: Vec<std::sync::Mutex<Option<Graded>>> =
        batch.servers.iter().map(|_| Default::default()).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let progress = std::sync::Mutex::new(progress);
    // Servers whose port is written in their code all want the same port: without a network
    // of their own each, one at a time.
    let fixed_port = batch.servers.iter().any(|e| {
        e.limits.protocol == crate::plain::Protocol::Plain
            && e.spawn.as_ref().is_some_and(|c| !c.contains("{port}"))
    });
    let at_once = if fixed_port && !crate::spawn::isolation_available() {
        1
    } else {
        options.servers_at_once.max(1)
    };
    std::thread::scope(|s| {
        for _ in 0..at_once {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(entry) = batch.servers.get(i) else {
                    return;
                };
                let mut g = if entry.spawn.is_none() && entry.address.is_none() {
                    nothing(entry)
                } else {
                    grade(entry, cases, options)
                };
                if let Some(c) = super::client::grade(entry, options) {
                    g = g.with_client(c);
                }
                (progress.lock().unwrap_or_else(|e| e.into_inner()))(&g);
                *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(g);
            });
        }
    });
    slots
        .into_iter()
        .filter_map(|s| s.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect()
}

/// The server's line of an entry that names no server.
fn nothing(e: &Entry) -> Graded {
    Graded {
        label: e.label.clone(),
        lang: e.limits.lang,
        verdict: Verdict::NotGiven,
        tally: Tally::default(),
        requirements: Vec::new(),
        points: Default::default(),
        seconds: 0.0,
        report: None,
        client: None,
    }
}

/// Grades the server `e` names.
fn grade(e: &Entry, cases: &[Case], options: &Options) -> Graded {
    let started = Instant::now();
    let limit = e.limits.time_limit;
    let done = |verdict: Verdict, report: Option<Report>| {
        let tally = report.as_ref().map(Report::tally).unwrap_or_default();
        let requirements = report.as_ref().map(per_requirement).unwrap_or_default();
        let points = report
            .as_ref()
            .map(|r| super::points::of(r, &options.rubric))
            .unwrap_or_default();
        Graded {
            label: e.label.clone(),
            verdict,
            tally,
            requirements,
            points,
            seconds: started.elapsed().as_secs_f64(),
            report,
            client: None,
            lang: e.limits.lang,
        }
    };
    let server = match (&e.spawn, &e.address) {
        (Some(cmd), _) => Server::Spawn {
            command: cmd.clone(),
            dir: e.dir.clone(),
            startup: Duration::from_secs(30).min(limit),
            build: e.limits.build.clone(),
        },
        (None, Some(text)) => match text.to_socket_addrs().map(|mut a| a.next()) {
            Ok(Some(a)) => Server::Address(a),
            _ => return done(Verdict::NotChat1(format!("cannot resolve {text:?}")), None),
        },
        (None, None) => unreachable!("run() grades no server for an entry without one"),
    };
    let plan = Plan {
        protocol: e.limits.protocol,
        cases: cases.to_vec(),
        only: options.only.clone(),
        target: Target {
            name_timeout: e.limits.name_timeout,
            max_line: e.limits.max_line,
            stall_timeout: e.limits.stall_timeout,
            plain: e.limits.plain.clone(),
            ..options.base.clone()
        },
        jobs: options.jobs,
        limits: options.limits,
        lang: e.limits.lang,
    };
    // Graded on its own thread so that a server that hangs the cases can be given up on;
    // every case's server is stopped when its case ends, so the thread ends on its own.
    let (tx, rx) = mpsc::channel();
    let label = e.label.clone();
    std::thread::spawn(move || {
        let _ = tx.send(crate::grade::grade(&server, &plan, &|_| {}).map(|mut r| {
            r.server = label;
            r
        }));
    });
    let left = limit.saturating_sub(started.elapsed());
    let report = match rx.recv_timeout(left) {
        Ok(Ok(r)) => r,
        Ok(Err(err)) => {
            // In the student's language: the report is theirs.
            let why = err.text().render(e.limits.lang);
            let verdict = match err {
                GradeError::DidNotBuild(_) => Verdict::DidNotBuild(why),
                GradeError::DidNotStart(_) => Verdict::DidNotStart(why),
                GradeError::NotChat1(_) => Verdict::NotChat1(why),
                GradeError::NotGradable(_) => Verdict::NotGradable(why),
                GradeError::ExitedEarly(_) => Verdict::Crashed(why),
            };
            return done(verdict, None);
        }
        Err(_) => {
            return done(
                Verdict::Hung(format!(
                    "not done within its time limit of {:.0} s",
                    limit.as_secs_f64()
                )),
                None,
            );
        }
    };
    // The server's own failure, named the same way whether it exited, stopped accepting or
    // froze.
    if let Some(f) = report.findings.first() {
        let verdict = match f.broke {
            Broke::Exited { .. } => Verdict::Crashed(f.text.render(report.lang)),
            Broke::StoppedAccepting { .. } => Verdict::StoppedAccepting(f.text.render(report.lang)),
            Broke::StoppedRelaying { .. } => Verdict::Froze(f.text.render(report.lang)),
        };
        return done(verdict, Some(report));
    }
    done(Verdict::by_cases(&report), Some(report))
}
