//! The batepapo load generator: hundreds of bots measuring broadcast latency.
//!
//! Parts and how data flows through them:
//! - [`cli`] and [`run_flags`]: the flags (a run, `loadgen search`, `loadgen merge`, gates,
//!   files), which make a [`Config`]; [`config`]: what a run does (clients, rates, arrivals,
//!   sizes, phases, protocol, workers).
//! - [`run`]: the controller, on the calling thread. [`target`] embeds the reference server or
//!   finds `--server` (then [`reach`] checks it greets as chat/1); [`phases`] starts the
//!   [`worker`]s and moves them through the phases (connect ramp, barrier, warm-up,
//!   measurement, drain), passing on each second as it completes; the workers' stats are
//!   merged at the end into an [`outcome::Outcome`].
//! - [`worker`]: one OS thread with its own single-threaded runtime, a share of the bots, one
//!   read buffer and one [`stats::WorkerStats`]; nothing crosses threads per delivery. What a
//!   worker's tasks share, and what the controller tells them, is in [`crew`].
//! - [`timer`]: each worker's high-resolution timer (one timerfd), on which its bots sleep until
//!   their planned sends, so a send leaves within microseconds of its plan.
//! - [`bot`]: one bot. It registers, sends on the plan from [`schedule`] (latency is measured
//!   from the planned time, so a stalled server cannot hide its stalls), and reads with
//!   [`recv`], which finds each [`token`] and checks its [`order`].
//! - [`clock`]: time zero, the start of sending shared by every shard, the measured window;
//!   [`stats`]: the worker's histograms, counts and completion table, and their exact merge;
//!   [`series`]: the run second by second; [`histograms`]: the distributions, named once.
//! - [`source`]: the local addresses bots connect from (`--source-addresses`).
//! - [`shard`]: a process's part of a run spread over several (`--shard I/N`, `--start-at`);
//!   [`merge`]: the shards of one run, each a JSON report, made into one.
//! - [`build`]: the one summary builder (a run, a merge, a search step); [`report`] and
//!   [`table`]: the figures, the JSON report, the text table; [`hgrm`], [`hlog`] and [`html`]
//!   (with [`svg`]): the percentile table, the interval log and the page.
//! - [`generator`]: whether the generator held up (at any scale); [`gate`]: default and user
//!   thresholds, and which verdicts stand on a generator-bound run; [`verdict`]: the run's
//!   verdict and exit code; [`baseline`]: comparison with an earlier report, loose on latency
//!   and tight on the server's counted costs.
//! - [`cpu`]: CPU time of the generator's threads and the embedded server's;
//!   [`server_cost`]: the server's CPU, sends and bytes per delivery and threads and memory per
//!   client, from the embedded server, `/proc`, or the server's Prometheus endpoint.
//! - `loadgen search`: [`search_plan`] (the flags, checked), [`search`] (doubling, bisection,
//!   confirmation; each step judged), [`search_run`] (each step a whole run; [`settle`] waits
//!   for a `--server` to catch up between steps), [`search_report`] (the answer, the table,
//!   the latency-versus-throughput curve).

pub mod arrival;
pub mod baseline;
pub mod bot;
pub mod build;
pub mod cli;
pub mod clock;
pub mod config;
pub mod cpu;
pub mod crew;
pub mod gate;
pub mod generator;
pub mod hgrm;
pub mod histograms;
pub mod hlog;
pub mod html;
pub mod merge;
pub mod order;
pub mod outcome;
pub mod phases;
pub mod reach;
pub mod reading;
pub mod recv;
pub mod report;
pub mod run;
pub mod run_flags;
pub mod schedule;
pub mod search;
pub mod search_plan;
pub mod search_report;
pub mod search_run;
pub mod series;
pub mod server_cost;
pub mod settle;
pub mod shard;
pub mod source;
pub mod stats;
pub mod svg;
pub mod table;
pub mod target;
pub mod timer;
pub mod token;
pub mod verdict;
pub mod worker;

pub use config::{Config, Protocol};
pub use report::Summary;
