//! The batepapo conformance suite: grades any chat/1 server, requirement by requirement.
//!
//! Parts and how data flows through them:
//! - [`case`]: what a case is (permanent id, requirement, contract clause, MUST/SHOULD level,
//!   body); [`target`]: the server it runs against; [`ctx`]: the per-case context (unique
//!   names, transcript).
//! - [`chat1`]: protocol chat/1 word for word: the preflight, the cases (TOML scenarios and
//!   Rust), the raw client they share, and the clause each case enforces.
//! - [`client_proc`]: a client binary run as a child process (client-side cases).
//! - [`runner`]: collects and filters cases, runs them in parallel (exclusive ones alone),
//!   and produces [`runner::CaseResult`]s.
//! - [`report`]: text, Markdown, JSON, JUnit and Gradescope renderings of a run; [`expect`]: the list of
//!   known failures (`--expect-fail`), expected or stale.
//! - [`spawn`]: starts a server for the run and reads `listening on ADDR`.
//! - [`plain`]: `--protocol plain`, for free-form servers as students write the assignment:
//!   framing detected, judged by meaning (names, ports, tokens), never by wording.
//! - [`requirements`]: RF1–RF12 and their text, in English and in the assignment's Portuguese.
//! - [`i18n`]: every text a student reads is data (a catalog message and its arguments) until a
//!   report renders it in its language (`--lang pt-BR`).
//! - [`batch`]: many servers graded one at a time (the file, grading, the scoreboard, writing).

pub mod batch;
pub mod build;
pub mod case;
pub mod chat1;
pub mod classroom;
pub mod client_proc;
pub mod config;
pub mod ctx;
pub mod expect;
pub mod glob;
pub mod grade;
pub mod gui;
pub mod health;
pub mod i18n;
pub mod kernel;
pub mod limits;
pub mod net;
pub mod plain;
pub mod report;
pub mod requirements;
pub mod runner;
pub mod spawn;
pub mod target;
pub mod ungraded;
pub mod watch;

pub use case::{Case, Failure, Level, Target};
pub use report::{Format, Report};
pub use runner::{all_cases, run_all, run_case, select, CaseResult, Outcome};
