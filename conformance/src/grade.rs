//! The one way to grade a server, used by the command line, batch and Gradescope alike: a plan
//! of cases and a server in, a report out.
//!
//! How a run flows:
//! 1. A first server (started, or the one at the address) is checked: chat/1's preflight, or
//!    for a free-form server the detection of its framing. Failing that, nothing is graded.
//! 2. Where the grader starts the server, **every case gets a fresh one**, so that one defect
//!    costs its own requirement only. The server is watched while the case runs ([`Watch`]): a
//!    case whose server exited fails at once with the reason. After the case, a failure is
//!    explained ([`health`]: exited, stopped accepting, stopped relaying), and every case is
//!    run twice, each time on a fresh server: two results that disagree fail the case as
//!    varied, so that a racy server passes or fails nothing by luck.
//! 3. On a server the grader cannot restart (`--server`), free-form cases run one at a time
//!    and the server's health is checked after each; once it is broken, the cases left are not
//!    run, and the report says why.
//! 4. What happened to the server becomes [`Finding`]s. A server that breaks when a user
//!    disconnects fails RF8 and RF10 for that reason, whichever case saw it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::case::{Case, Failure, Target};
use crate::chat1::preflight::{self, Preflight};
use crate::i18n::{catalog, Text};
use crate::plain::detect::DetectError;
use crate::plain::Protocol;
use crate::report::Report;
use crate::runner::{run_case, CaseResult, Outcome};
use crate::spawn::{Launch, SpawnError, Spawned};
use crate::t;
use crate::watch::{Broke, Finding, Trigger};
use crate::{health, runner};

/// The server to grade.
#[derive(Debug, Clone)]
pub enum Server {
    /// A command the grader starts (one server per case).
    Spawn {
        /// The command (see [`crate::spawn`] for `{port}`, and for a command run as handed in).
        command: String,
        /// Its working directory.
        dir: Option<PathBuf>,
        /// How long it may take to start listening.
        startup: Duration,
        /// A command run once before anything else, in the same folder (`javac *.java`).
        build: Option<String>,
    },
    /// A server already running, shared by every case.
    Address(SocketAddr),
}

/// What to grade it on.
#[derive(Clone)]
pub struct Plan {
    /// chat/1 or free text.
    pub protocol: Protocol,
    /// The chat/1 cases (the free-form ones are made once the framing is known).
    pub cases: Vec<Case>,
    /// Case ids or requirements to run (all when empty).
    pub only: Vec<String>,
    /// Timeouts, limits and settings; its address is replaced by the server's.
    pub target: Target,
    /// Cases at once.
    pub jobs: usize,
    /// What each copy of a started server may take.
    pub limits: crate::limits::Limits,
    /// The language of the report's texts.
    pub lang: crate::i18n::Lang,
}

/// Why nothing could be graded.
#[derive(Debug, thiserror::Error)]
pub enum GradeError {
    /// Its build step failed.
    #[error(transparent)]
    DidNotBuild(#[from] crate::build::BuildError),
    /// The server did not start.
    #[error(transparent)]
    DidNotStart(#[from] SpawnError),
    /// It does not speak chat/1.
    #[error(transparent)]
    NotChat1(#[from] Preflight),
    /// Free text, but it announces nobody.
    #[error(transparent)]
    NotGradable(#[from] DetectError),
    /// It exited while it was being checked, before any case.
    #[error("{0}, while the grader was checking how it talks, before any case")]
    ExitedEarly(Text),
}

/// Grades `server` on `plan`; `progress` hears of every case as it ends.
pub fn grade(
    server: &Server,
    plan: &Plan,
    progress: &(dyn Fn(&CaseResult) + Sync),
) -> Result<Report, GradeError> {
    let started = Instant::now();
    if let Server::Spawn {
        build: Some(build),
        dir,
        ..
    } = server
    {
        crate::build::run(build, dir.as_deref())?;
    }
    let mut target = plan.target.clone();
    let plain = plan.protocol == Protocol::Plain;
    let starting = how_to_launch(server, plain, plan.limits);
    // The first server, for the check; each case then gets its own.
    let first = starting.as_ref().map(start).transpose()?;
    if let Some(s) = &first {
        (target.addr, target.ns) = (s.addr, s.ns);
    } else if let Server::Address(a) = server {
        target.addr = *a;
    }
    let mut how = match check(plan, &mut target) {
        Ok(how) => how,
        Err(e) => {
            // A server that died while being checked: that, not the check, is the news.
            let died = first
                .as_ref()
                .and_then(|s| s.wait_exit(Duration::from_secs(1)));
            return Err(died.map_or(e, |b| GradeError::ExitedEarly(b.text())));
        }
    };
    if let Some(l) = starting
        .as_ref()
        .filter(|l| !l.has_port() && !l.listen_flag)
    {
        let net = if l.isolate {
            catalog::OWN_NETWORK
        } else {
            catalog::ONE_COPY_AT_A_TIME
        };
        how = Some(t!(
            catalog::AS_HANDED_IN,
            how.unwrap_or(Text::data("")),
            target.addr,
            target.addr.port(),
            net
        ));
    }
    drop(first);
    let cases = match plan.protocol {
        Protocol::Plain => runner::select(crate::plain::cases::cases(&target.plain), &plan.only),
        Protocol::Chat1 => plan.cases.clone(),
    };
    let findings: Mutex<Vec<Finding>> = Mutex::default();
    let mut results = match (server, &starting) {
        (Server::Spawn { .. }, Some(how)) => {
            let each = |case: &Case| fresh(how, case, &target, plain, &findings);
            // Free-form servers are slow to start and easy to starve on a small machine; a
            // port written in the code, without a network of its own, allows one at a time.
            let jobs = match plain {
                false => plan.jobs,
                true if how.has_port() || how.isolate => plan.jobs.min(4),
                true => 1,
            };
            runner::run_each(&cases, jobs, &each, progress)
        }
        (_, None) if plain => shared_in_turn(&cases, &target, &findings, progress),
        (_, _) => {
            let results = runner::run_all(&cases, &target, plan.jobs, progress);
            if let Some(broke) = health::check(&target, false) {
                let the_run = Trigger::During(catalog::THE_RUN.text());
                let f = Finding::new(broke, the_run, "the last case");
                findings.lock().unwrap_or_else(|e| e.into_inner()).push(f);
            }
            results
        }
    };
    let findings = findings.into_inner().unwrap_or_else(|e| e.into_inner());
    count_against(&mut results, &findings);
    let label = match server {
        Server::Spawn { command, .. } => command.clone(),
        Server::Address(a) => a.to_string(),
    };
    Ok(Report {
        server: label,
        setup: how,
        seconds: started.elapsed().as_secs_f64(),
        results,
        lang: plan.lang,
        findings,
    })
}

/// How to start the server, if the grader starts it: as handed in (a free-form server without
/// `{port}`, in a network of its own where that can be had) or as the contract says.
fn how_to_launch(server: &Server, plain: bool, limits: crate::limits::Limits) -> Option<Launch> {
    let Server::Spawn {
        command,
        dir,
        startup,
        ..
    } = server
    else {
        return None;
    };
    let handed_in = plain && !command.contains("{port}");
    Some(Launch {
        command: command.clone(),
        dir: dir.clone(),
        startup: *startup,
        listen_flag: !plain,
        isolate: handed_in && crate::spawn::isolation_available(),
        limits: Some(limits),
    })
}

/// Starts a server; a port written in its code may still be held by the copy before (its
/// connections closing), so that is tried again for a while.
fn start(how: &Launch) -> Result<Spawned, SpawnError> {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        match crate::spawn::launch(how) {
            Err(SpawnError::Exited { stderr, .. })
                if stderr.contains("already in use") && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(500));
            }
            other => return other,
        }
    }
}

/// The preflight or the framing's detection; returns how the server was found to speak.
fn check(plan: &Plan, target: &mut Target) -> Result<Option<Text>, GradeError> {
    match plan.protocol {
        Protocol::Chat1 => {
            let name = format!("cfcheck{}", std::process::id());
            let wait = target.scaled(Duration::from_secs(5));
            preflight::check(target.addr, &name, wait)?;
            Ok(None)
        }
        Protocol::Plain => match target.plain.framing {
            Some(f) => Ok(Some(t!(catalog::SETUP_GIVEN, f.text()))),
            None => {
                let patience = target.scaled(Duration::from_secs(2));
                let f = crate::plain::detect::detect_in(target.ns, target.addr, patience)?;
                target.plain.framing = Some(f);
                Ok(Some(t!(catalog::SETUP_DETECTED, f.text())))
            }
        },
    }
}

/// One case on a fresh server, explained when it fails, and run on a second fresh server to
/// see whether its result holds: a racy server must not pass or fail a case by luck. Two runs
/// that disagree fail the case, saying that it varied (a passing case is quick to run twice; a
/// failing one would be retried anyway).
fn fresh(
    server: &Launch,
    case: &Case,
    base: &Target,
    plain: bool,
    findings: &Mutex<Vec<Finding>>,
) -> CaseResult {
    let first = fresh_once(server, case, base, plain, findings);
    if !matches!(first.outcome, Outcome::Fail | Outcome::Pass) {
        return first;
    }
    let second = fresh_once(server, case, base, plain, findings);
    // A copy that could not start says nothing of the case's result, only of the machine.
    let unstarted = |r: &CaseResult| {
        r.failure
            .as_ref()
            .is_some_and(|f| f.expected.is(catalog::SERVER_TO_START))
    };
    if unstarted(&first) {
        return second;
    }
    if unstarted(&second) {
        return first;
    }
    let (failed, passed) = match (first.outcome, second.outcome) {
        (Outcome::Pass, Outcome::Pass) => return first,
        (Outcome::Fail, Outcome::Pass) => (first, catalog::THEN_PASSED),
        (Outcome::Pass, Outcome::Fail) => (second, catalog::HAD_PASSED),
        _ => return first,
    };
    let mut r = failed;
    r.varied = true;
    if let Some(f) = r.failure.as_mut() {
        f.actual = t!(catalog::RESULT_VARIED, f.actual.clone(), passed);
    }
    r
}

fn fresh_once(
    server: &Launch,
    case: &Case,
    base: &Target,
    plain: bool,
    findings: &Mutex<Vec<Finding>>,
) -> CaseResult {
    let spawned = match start(server) {
        Ok(s) => s,
        Err(e) => {
            let why = Text::data(e.to_string());
            return runner::failed(case, Failure::new(catalog::SERVER_TO_START, why));
        }
    };
    let target = Target {
        addr: spawned.addr,
        watch: Some(spawned.watch.clone()),
        ns: spawned.ns,
        ..base.clone()
    };
    let started = Instant::now();
    let before = spawned.stderr_tail();
    let mut r = run_case(case, &target);
    let finding = if r.outcome == Outcome::Fail {
        // An exception the server printed while the case ran is the student's best clue.
        let after = spawned.stderr_tail();
        if after != before && looks_like_an_error(&after) {
            if let Some(f) = r.failure.as_mut() {
                f.actual = t!(
                    catalog::STDERR_MEANWHILE,
                    f.actual.clone(),
                    crate::watch::stderr_end(&after)
                );
            }
        }
        health::check(&target, plain).map(|broke| {
            let trigger = trigger_of(&r, &target, started, case, &broke);
            if let Some(f) = r.failure.as_mut() {
                if !Broke::describes(&f.actual) {
                    f.actual = t!(catalog::BEFORE_THAT, broke.text(), f.actual.clone());
                }
            }
            Finding::new(broke, trigger, &case.id)
        })
    } else {
        // Its users have just left: a server that dies of that dies within a moment.
        let moment = target.scaled(Duration::from_millis(300));
        spawned.wait_exit(moment).map(|broke| {
            let trigger = if limited(&broke) {
                Trigger::During(case.title.clone())
            } else {
                Trigger::Disconnect
            };
            Finding::new(broke, trigger, &case.id)
        })
    };
    if let Some(f) = finding {
        add(findings, f);
    }
    r
}

/// Free-form cases on one server that cannot be restarted: in turn, its health checked after
/// each; once it is broken the rest are not run.
fn shared_in_turn(
    cases: &[Case],
    target: &Target,
    findings: &Mutex<Vec<Finding>>,
    progress: &(dyn Fn(&CaseResult) + Sync),
) -> Vec<CaseResult> {
    let mut results = Vec::new();
    let mut broken: Option<Text> = None;
    for case in cases {
        let r = match &broken {
            Some(why) => runner::skipped(
                case,
                Failure::new(
                    catalog::A_WORKING_SERVER,
                    t!(catalog::NOT_RUN_BROKEN, why.clone()),
                ),
            ),
            None => {
                let started = Instant::now();
                let r = run_case(case, target);
                if let Some(broke) = health::check(target, true) {
                    let trigger = trigger_of(&r, target, started, case, &broke);
                    let f = Finding::new(broke, trigger, &case.id);
                    broken = Some(t!(catalog::IN_CASE, f.text.clone(), case.id.as_str()));
                    add(findings, f);
                }
                r
            }
        };
        progress(&r);
        results.push(r);
    }
    results
}

/// What set off a break seen in case `case`: a disconnect when a user of the case had
/// disconnected before the server broke (or before the case gave up waiting for it).
fn trigger_of(
    r: &CaseResult,
    target: &Target,
    started: Instant,
    case: &Case,
    broke: &Broke,
) -> Trigger {
    if limited(broke) {
        // Stopped at a limit: what it was doing then, not a user leaving, set it off.
        return Trigger::During(case.title.clone());
    }
    if r.outcome == Outcome::Pass {
        // Broken after a case that held: its users had just left.
        return Trigger::Disconnect;
    }
    let until = target
        .watch
        .as_ref()
        .and_then(|w| w.broke())
        .map(|(_, at)| at.saturating_duration_since(started).as_secs_f64())
        .or_else(|| {
            r.transcript
                .iter()
                .find(|e| e.dir == "--" && e.text.starts_with("gave up"))
                .map(|e| e.at)
        })
        .unwrap_or(f64::MAX);
    let left = r.transcript.iter().any(|e| {
        e.at <= until
            && e.dir == "--"
            && (e.text.starts_with("closed by") || e.text.starts_with("connection broken"))
    });
    if left {
        Trigger::Disconnect
    } else {
        Trigger::During(case.title.clone())
    }
}

/// Whether the server was stopped at one of its limits.
fn limited(broke: &Broke) -> bool {
    matches!(broke, Broke::Exited { limit: Some(_), .. })
}

/// Whether a stderr shows an exception, a panic or a crash rather than a log.
fn looks_like_an_error(stderr: &str) -> bool {
    stderr.lines().any(crate::spawn::names_an_error)
}

fn add(findings: &Mutex<Vec<Finding>>, f: Finding) {
    let mut all = findings.lock().unwrap_or_else(|e| e.into_inner());
    match all.iter_mut().find(|o| o.same_as(&f)) {
        Some(o) => {
            o.cases.extend(f.cases);
            o.cases.sort();
            o.cases.dedup();
        }
        None => all.push(f),
    }
}

/// A finding fails the requirements it counts against: their passing cases fail with it.
fn count_against(results: &mut [CaseResult], findings: &[Finding]) {
    for f in findings {
        for r in results.iter_mut() {
            if r.outcome == Outcome::Pass && f.counts_against.contains(&r.rf) {
                r.outcome = Outcome::Fail;
                r.failure = Some(Failure::new(
                    catalog::KEEP_WORKING,
                    t!(catalog::SEEN_IN, f.text.clone(), f.cases.join(", ")),
                ));
            }
        }
    }
}
