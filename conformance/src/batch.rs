//! `conformance batch FILE.toml`: grade many servers, one at a time, each isolated and bounded
//! in time, and write a scoreboard plus every server's full report.
//!
//! ```toml
//! [defaults]                 # optional; every key may also be set per server
//! time-limit = "5m"          # for one server: start, preflight and every case
//! name-timeout = "60s"
//! stall-timeout = "10s"
//! max-line = 4096
//!
//! [[server]]
//! label = "ana"
//! spawn = "python3 server.py"   # gets --listen 127.0.0.1:0, must print "listening on ADDR"
//! dir = "submissions/ana"       # its working directory (relative to the batch file)
//!
//! [[server]]
//! label = "bruno"
//! address = "127.0.0.1:7001"    # or a server already running
//!
//! [[server]]
//! label = "carla"
//! spawn = "python3 server.py {port}"  # a free port in {port}; ready once it listens there
//! protocol = "plain"            # free text, graded by meaning (framing detected, or framing = "writes")
//! quit-line = "{name} saiu do chat."
//! ```
//!
//! A server that does not start, does not speak chat/1, crashes during the run or passes its
//! time limit gets that verdict, and the batch goes on with the next.

use std::net::ToSocketAddrs;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::case::{Case, Level, Target};
use crate::plain::{Framing, Protocol};
use crate::report::{Format, Report, Tally};
use crate::runner::{self, Outcome};
use crate::{preflight, spawn};

/// Settings a batch file may give for all servers or for one.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Settings {
    /// Time for one server in all.
    pub time_limit: Option<String>,
    /// The server's registration timeout.
    pub name_timeout: Option<String>,
    /// The server's stall deadline.
    pub stall_timeout: Option<String>,
    /// The server's line limit.
    pub max_line: Option<usize>,
    /// What the server speaks: `chat1` (the default) or `plain`.
    pub protocol: Option<Protocol>,
    /// With `plain`: `lines` or `writes`, instead of detecting it.
    pub framing: Option<Framing>,
    /// With `plain`: the line a user sends to leave (`{name}` for its name).
    pub quit_line: Option<String>,
}

/// One server to grade.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Entry {
    /// Its name on the scoreboard (and its report's file name).
    pub label: String,
    /// A command that starts it.
    pub spawn: Option<String>,
    /// The command's working directory, relative to the batch file.
    pub dir: Option<PathBuf>,
    /// Or the address of a running server.
    pub address: Option<String>,
    /// Its own settings, over the defaults.
    #[serde(flatten)]
    pub settings: Settings,
    /// Its settings and the defaults, read into values by [`load`].
    #[serde(skip)]
    pub limits: Limits,
}

/// One server's settings as values.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Time for the whole server.
    pub time_limit: Duration,
    /// The server's registration timeout.
    pub name_timeout: Duration,
    /// The server's stall deadline.
    pub stall_timeout: Duration,
    /// The server's line limit.
    pub max_line: usize,
    /// What the server speaks.
    pub protocol: Protocol,
    /// With `plain`: forced framing and the quit line.
    pub plain: crate::plain::Settings,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            time_limit: Duration::from_secs(300),
            name_timeout: Duration::from_secs(60),
            stall_timeout: Duration::from_secs(10),
            max_line: 4096,
            protocol: Protocol::Chat1,
            plain: Default::default(),
        }
    }
}

impl Settings {
    /// These settings over `defaults`, over the built-in limits.
    fn resolve(&self, defaults: &Settings) -> Result<Limits, String> {
        let base = Limits::default();
        let duration = |own: &Option<String>, all: &Option<String>, fallback| match own
            .as_ref()
            .or(all.as_ref())
        {
            Some(text) => batepapo_units::parse_duration(text).map_err(|e| e.to_string()),
            None => Ok(fallback),
        };
        Ok(Limits {
            time_limit: duration(&self.time_limit, &defaults.time_limit, base.time_limit)?,
            name_timeout: duration(
                &self.name_timeout,
                &defaults.name_timeout,
                base.name_timeout,
            )?,
            stall_timeout: duration(
                &self.stall_timeout,
                &defaults.stall_timeout,
                base.stall_timeout,
            )?,
            max_line: self.max_line.or(defaults.max_line).unwrap_or(base.max_line),
            protocol: self.protocol.or(defaults.protocol).unwrap_or_default(),
            plain: crate::plain::Settings {
                framing: self.framing.or(defaults.framing),
                quit_line: self.quit_line.clone().or(defaults.quit_line.clone()),
            },
        })
    }
}

/// A batch file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchFile {
    /// Settings for every server.
    #[serde(default)]
    pub defaults: Settings,
    /// The servers, graded in this order.
    #[serde(rename = "server")]
    pub servers: Vec<Entry>,
}

/// A batch file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// Unreadable.
    #[error("cannot read {0}")]
    Read(String, #[source] std::io::Error),
    /// Not a batch file.
    #[error("{0}: {1}")]
    Parse(String, #[source] toml::de::Error),
    /// Something an entry says that cannot work.
    #[error("{file}: server {label:?}: {why}")]
    Entry {
        /// The file.
        file: String,
        /// The entry.
        label: String,
        /// What is wrong.
        why: String,
    },
}

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
    /// The chat-client binary for the client-side cases.
    pub client_bin: Option<PathBuf>,
    /// Multiplies every timeout.
    pub timeout_scale: f64,
    /// Cases at once.
    pub jobs: usize,
    /// `--only`: the case ids or requirements to run (all when empty), for plain servers
    /// (whose cases are not the chat/1 ones passed in).
    pub only: Vec<String>,
    /// Points for each server's Gradescope results.json.
    pub rubric: crate::gradescope::Rubric,
}

/// Reads and checks a batch file, every server's settings included, before any is graded;
/// relative `dir`s become relative to the file.
pub fn load(path: &Path) -> Result<BatchFile, BatchError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| BatchError::Read(file.clone(), e))?;
    let mut batch: BatchFile =
        toml::from_str(&text).map_err(|e| BatchError::Parse(file.clone(), e))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut labels = std::collections::HashSet::new();
    for e in &mut batch.servers {
        let bad = |why: &str| BatchError::Entry {
            file: file.clone(),
            label: e.label.clone(),
            why: why.to_string(),
        };
        if e.spawn.is_some() == e.address.is_some() {
            return Err(bad(
                "give exactly one of spawn = \"COMMAND\" or address = \"HOST:PORT\"",
            ));
        }
        if e.dir.is_some() && e.spawn.is_none() {
            return Err(bad("dir only applies to spawn"));
        }
        if e.label.is_empty() || e.label.contains(['/', '\\']) || e.label.starts_with('.') {
            return Err(bad(
                "a label must be non-empty, without / or \\, and not start with .",
            ));
        }
        if !labels.insert(e.label.clone()) {
            return Err(bad("two servers have this label"));
        }
        e.limits = e
            .settings
            .resolve(&batch.defaults)
            .map_err(|why| bad(&why))?;
        if let Some(dir) = &e.dir {
            e.dir = Some(base.join(dir));
        }
    }
    Ok(batch)
}

/// Grades every server of `batch` (as [`load`] returns it), one at a time, calling `progress`
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
    let target = Target {
        addr,
        client_bin: options.client_bin.clone(),
        timeout_scale: options.timeout_scale,
        name_timeout: e.limits.name_timeout,
        max_line: e.limits.max_line,
        stall_timeout: e.limits.stall_timeout,
        max_connections: 2000,
        plain: e.limits.plain.clone(),
    };
    let wait = Duration::from_secs_f64(5.0 * options.timeout_scale);
    let mut target = target;
    let plain_cases;
    let cases = if e.limits.protocol == Protocol::Plain {
        if target.plain.framing.is_none() {
            let patience = Duration::from_secs_f64(2.0 * options.timeout_scale);
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

/// Writes `scoreboard.md`, `scoreboard.csv`, `scoreboard.json` and `reports/<label>.txt|.json`.
pub fn write(
    dir: &Path,
    graded: &[Graded],
    rubric: &crate::gradescope::Rubric,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("reports"))?;
    std::fs::write(
        dir.join("scoreboard.md"),
        crate::scoreboard::markdown(graded),
    )?;
    std::fs::write(dir.join("scoreboard.csv"), crate::scoreboard::csv(graded))?;
    std::fs::write(
        dir.join("scoreboard.json"),
        serde_json::to_string_pretty(graded).map_err(std::io::Error::other)? + "\n",
    )?;
    for g in graded {
        let path = |ext: &str| dir.join("reports").join(format!("{}.{ext}", g.label));
        match &g.report {
            Some(r) => {
                std::fs::write(path("txt"), r.render(Format::Text))?;
                std::fs::write(path("json"), r.render(Format::Json))?;
                std::fs::write(path("results.json"), crate::gradescope::render(r, rubric))?;
            }
            None => std::fs::write(
                path("txt"),
                format!(
                    "{}: {}\n{}\n",
                    g.label,
                    g.verdict.name(),
                    g.verdict.detail()
                ),
            )?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<BatchFile, BatchError> {
        let path = std::env::temp_dir().join(format!(
            "batch-unit-{}-{}.toml",
            std::process::id(),
            text.len()
        ));
        std::fs::write(&path, text).unwrap();
        let loaded = load(&path);
        let _ = std::fs::remove_file(&path);
        loaded
    }

    #[test]
    fn settings_resolve_over_the_defaults_at_load() {
        let b = load_text(
            "[defaults]\nname-timeout = \"5s\"\nmax-line = 1024\n\n\
             [[server]]\nlabel = \"a\"\naddress = \"127.0.0.1:1\"\nname-timeout = \"2s\"\n\n\
             [[server]]\nlabel = \"b\"\naddress = \"127.0.0.1:2\"\n",
        )
        .unwrap();
        let (a, b) = (b.servers[0].limits.clone(), b.servers[1].limits.clone());
        assert_eq!((a.name_timeout, a.max_line), (Duration::from_secs(2), 1024));
        assert_eq!((b.name_timeout, b.max_line), (Duration::from_secs(5), 1024));
        assert_eq!(b.time_limit, Limits::default().time_limit);
    }

    #[test]
    fn a_bad_duration_in_the_last_server_is_refused_before_any_is_graded() {
        let err = load_text(
            "[[server]]\nlabel = \"ok\"\naddress = \"127.0.0.1:1\"\n\n\
             [[server]]\nlabel = \"late\"\naddress = \"127.0.0.1:2\"\ntime-limit = \"1e20\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("server \"late\": invalid duration \"1e20\""),
            "{err}"
        );
    }
}
