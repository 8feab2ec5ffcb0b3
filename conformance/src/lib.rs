//! The batepapo conformance suite: grades any chat/1 server, requirement by requirement.
//!
//! Parts and how data flows through them:
//! - [`case`]: what a case is (permanent id, requirement, contract clause, MUST/SHOULD level,
//!   body); [`target`]: the server it runs against; [`ctx`]: the per-case context (unique
//!   names, transcript).
//! - [`scenario`]: cases as TOML files under `scenarios/` (built in) or any `--scenarios DIR`.
//! - [`cases`](crate::cases): cases in Rust, for concurrency, raw bytes, drops and the client binary.
//! - [`client_proc`]: a client binary run as a child process (client-side cases).
//! - [`wire`]: the raw client both kinds use. It does its own framing instead of using the
//!   project's protocol crate, skips lines about other cases' users so that every case can share
//!   one server, and proves absences with fences rather than sleeps.
//! - [`runner`]: collects and filters cases, runs them in parallel (exclusive ones alone),
//!   and produces [`runner::CaseResult`]s.
//! - [`report`]: text, Markdown, JSON and JUnit renderings of a run; [`expect`]: the list of
//!   known failures (`--expect-fail`), expected or stale.
//! - [`spawn`]: starts a server for the run and reads `listening on ADDR`.
//! - [`preflight`]: before any case, checks the server speaks chat/1 at all.
//! - [`plain`]: `--protocol plain`, for free-form servers as students write the assignment:
//!   framing detected, judged by meaning (names, ports, tokens), never by wording.
//! - [`requirements`]: RF1–RF12 and their text.
//! - [`gradescope`]: a run as Gradescope's results.json, points from a rubric.
//! - [`batch`]: many servers graded one at a time (the file, grading, the scoreboard, writing).

pub mod batch;
pub mod case;
mod cases;
pub mod clauses;
pub mod client_proc;
pub mod ctx;
pub mod expect;
pub mod glob;
pub mod gradescope;
pub mod plain;
pub mod preflight;
pub mod report;
pub mod requirements;
pub mod runner;
pub mod scenario;

pub mod spawn;
pub mod target;
pub mod wire;

pub use case::{Case, Failure, Level, Target};
pub use report::{Format, Report};
pub use runner::{all_cases, run_all, run_case, select, CaseResult, Outcome};
