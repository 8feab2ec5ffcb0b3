//! What a case is (id, requirement, clause, level, body), what it runs against, and how it
//! fails. The context it runs in is [`crate::ctx`].

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

pub use crate::ctx::{Ctx, Entry, Transcript};
use crate::i18n::Text;
pub use crate::target::{Target, DEFAULT_MAX_CONNECTIONS};

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

/// A case written as data (a TOML scenario) that knows how to run itself.
pub trait Script: Send + Sync {
    /// Runs it.
    fn run(&self, ctx: &mut Ctx) -> Result<(), Failure>;
}

/// What a case runs.
#[derive(Clone)]
pub enum Body {
    /// A script, such as a TOML scenario.
    Script(Arc<dyn Script>),
    /// Code, for what a script cannot say (concurrency, raw bytes, drops).
    Code(CaseFn),
}

impl Body {
    /// Runs it.
    pub fn run(&self, ctx: &mut Ctx) -> Result<(), Failure> {
        match self {
            Body::Script(s) => s.run(ctx),
            Body::Code(f) => f(ctx),
        }
    }
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
    pub title: Text,
    /// The clause of the contract (docs/PROTOCOL.md) or the requirement it enforces.
    pub clause: String,
    /// Needs the server to itself (e.g. it fills the server up); run after the others.
    pub exclusive: bool,
    /// Runs the chat-client binary rather than raw sockets.
    pub needs_client: bool,
    /// What it runs.
    pub body: Body,
}

/// The clause of case `id` in the table of [`crate::chat1::clauses`], or its requirement's name.
fn default_clause(id: &str, rf: &str) -> String {
    crate::chat1::clauses::for_case(id).map_or_else(|| format!("requirement {rf}"), str::to_string)
}

impl Case {
    /// A case with the clause the table in [`crate::chat1::clauses`] gives its id (or its
    /// requirement's name), run with the others and without the client binary.
    pub fn new(id: &str, rf: &str, level: Level, title: impl Into<Text>, body: Body) -> Case {
        Case {
            id: id.to_string(),
            rf: rf.to_string(),
            level,
            title: title.into(),
            clause: default_clause(id, rf),
            exclusive: false,
            needs_client: false,
            body,
        }
    }

    /// The same case with another clause.
    pub fn with_clause(mut self, clause: impl Into<String>) -> Case {
        self.clause = clause.into();
        self
    }

    /// The same case, run alone.
    pub fn alone(mut self) -> Case {
        self.exclusive = true;
        self
    }
}

/// Why a case failed: what it expected and what came instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// The client whose view failed, if any.
    pub client: Option<String>,
    /// What the case expected.
    pub expected: Text,
    /// What happened instead.
    pub actual: Text,
}

impl Failure {
    /// A failure seen by one client.
    pub fn at(client: &str, expected: impl Into<Text>, actual: impl Into<Text>) -> Failure {
        Failure {
            client: Some(client.to_string()),
            expected: expected.into(),
            actual: actual.into(),
        }
    }

    /// A failure not tied to one client.
    pub fn new(expected: impl Into<Text>, actual: impl Into<Text>) -> Failure {
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
