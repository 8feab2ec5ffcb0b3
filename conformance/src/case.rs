//! What a case is, what it produces, and the context it runs in.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::scenario::Scenario;

/// How binding a case is: a MUST failure fails the run, a SHOULD failure is reported only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum Level {
    /// Required by the protocol or the requirements.
    #[serde(rename = "MUST")]
    Must,
    /// Expected of a good server, but not required.
    #[serde(rename = "SHOULD")]
    Should,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
        })
    }
}

/// A Rust-coded case body.
pub type CaseFn = fn(&mut Ctx) -> Result<(), Failure>;

/// What a case runs.
#[derive(Clone)]
pub enum Body {
    /// A TOML scenario.
    Script(Scenario),
    /// Code, for what a script cannot say (concurrency, raw bytes, drops).
    Code(CaseFn),
}

/// One conformance case.
#[derive(Clone)]
pub struct Case {
    /// Permanent id such as `RF2-03`; never reused for another meaning.
    pub id: String,
    /// The requirement it proves, such as `RF2`, or `PROTO` for protocol rules beyond RF1–RF12.
    pub rf: String,
    /// MUST or SHOULD.
    pub level: Level,
    /// What it checks, in one line.
    pub title: String,
    /// The clause of the contract (docs/PROTOCOL.md) or the requirement it enforces.
    pub clause: String,
    /// Needs the server to itself (e.g. it fills the server up); run after the others.
    pub exclusive: bool,
    /// Runs the chat-client binary rather than raw sockets.
    pub needs_client: bool,
    /// What it runs.
    pub body: Body,
}

/// Where and how to run the cases.
#[derive(Debug, Clone)]
pub struct Target {
    /// The server under test.
    pub addr: std::net::SocketAddr,
    /// The chat-client binary for client-side cases; those are skipped without it.
    pub client_bin: Option<PathBuf>,
    /// Multiplies every timeout, for slow servers or machines.
    pub timeout_scale: f64,
    /// The server's registration timeout; the timeout case waits this long, plus margin.
    pub name_timeout: Duration,
    /// The server's line limit in bytes.
    pub max_line: usize,
    /// The server's stall deadline: a client that takes no bytes for this long while lines
    /// wait for it is cut off.
    pub stall_timeout: Duration,
    /// How many connections the server-full case opens at most before giving up.
    pub max_connections: usize,
    /// For `--protocol plain`: how the server frames input, and how a user leaves.
    pub plain: crate::plain::Settings,
}

impl Target {
    /// The time allowed for one expected line.
    pub fn read_timeout(&self) -> Duration {
        Duration::from_secs_f64(5.0 * self.timeout_scale)
    }

    /// Scales a duration by the timeout scale.
    pub fn scaled(&self, d: Duration) -> Duration {
        d.mul_f64(self.timeout_scale)
    }
}

/// Why a case failed: what it expected and what came instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// The client whose view failed, if any.
    pub client: Option<String>,
    /// What the case expected.
    pub expected: String,
    /// What happened instead.
    pub actual: String,
}

impl Failure {
    /// A failure seen by one client.
    pub fn at(client: &str, expected: impl Into<String>, actual: impl Into<String>) -> Failure {
        Failure {
            client: Some(client.to_string()),
            expected: expected.into(),
            actual: actual.into(),
        }
    }

    /// A failure not tied to one client.
    pub fn new(expected: impl Into<String>, actual: impl Into<String>) -> Failure {
        Failure {
            client: None,
            expected: expected.into(),
            actual: actual.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(c) = &self.client {
            write!(f, "[{c}] ")?;
        }
        write!(f, "expected {}; got {}", self.expected, self.actual)
    }
}

/// One line of a transcript.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Seconds since the case started.
    pub at: f64,
    /// Which client.
    pub client: String,
    /// `>>` sent, `<<` received, `--` an event.
    pub dir: &'static str,
    /// The line, with escapes for anything unprintable.
    pub text: String,
}

/// Everything every client of a case sent and received, in time order.
#[derive(Clone)]
pub struct Transcript {
    started: Instant,
    entries: Arc<Mutex<Vec<Entry>>>,
}

impl Default for Transcript {
    fn default() -> Self {
        Transcript::new()
    }
}

impl Transcript {
    /// An empty transcript whose clock starts now.
    pub fn new() -> Transcript {
        Transcript {
            started: Instant::now(),
            entries: Arc::default(),
        }
    }

    /// Records one entry.
    pub fn record(&self, client: &str, dir: &'static str, text: &str) {
        let entry = Entry {
            at: self.started.elapsed().as_secs_f64(),
            client: client.to_string(),
            dir,
            text: text.escape_debug().to_string(),
        };
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(entry);
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of the entries so far.
    pub fn entries(&self) -> Vec<Entry> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

static RUN_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The state of one running case: its target, its unique names, its transcript.
pub struct Ctx {
    /// Where the server is.
    pub target: Target,
    /// The transcript of every client of this case.
    pub transcript: Transcript,
    suffix: String,
    names: Arc<Mutex<Vec<String>>>,
}

impl Ctx {
    /// A fresh context; names it makes are unique across cases and runs.
    pub fn new(target: Target) -> Ctx {
        let n = RUN_COUNTER.fetch_add(1, Ordering::Relaxed);
        let seed = std::process::id() as u64
            ^ (std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_micros() as u64)
                .unwrap_or(0)
                & 0xffff_ffff);
        Ctx {
            target,
            transcript: Transcript::new(),
            suffix: format!("{:x}{n:x}", seed % 0xfffff),
            names: Arc::default(),
        }
    }

    /// The real name for a client label: unique, so cases can share one server. It is also
    /// registered as relevant, so lines about it are never skipped as another case's noise.
    pub fn name(&self, label: &str) -> String {
        let name = format!("{label}_{}", self.suffix);
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        let key = name.to_lowercase();
        if !names.contains(&key) {
            names.push(key);
        }
        name
    }

    /// Another handle on this case's context, for a thread of the same case.
    pub fn share(&self) -> Ctx {
        Ctx {
            target: self.target.clone(),
            transcript: self.transcript.clone(),
            suffix: self.suffix.clone(),
            names: self.names.clone(),
        }
    }

    /// The names (lowercased) that this case's clients use.
    pub fn relevant_names(&self) -> Arc<Mutex<Vec<String>>> {
        self.names.clone()
    }
}
