//! The search's steps on real servers: each step a whole [`run::run`], after checking that a
//! `--server` has caught up with the previous one; the search's verdict and exit code.

use std::time::Duration;

use crate::engine::run::{self, Progress, RunError};
use crate::engine::target::Server;
use crate::plan::config::Config;
use crate::search::steps::{self, Plan, Search, Step, StepRun, Stop};
use crate::summary::report::Summary;

/// What stops a whole search (a step that measures badly only fails).
#[derive(Debug, thiserror::Error)]
pub enum DriveError {
    /// A run could not happen (server unreachable, bad settings, ...).
    #[error(transparent)]
    Run(#[from] RunError),
    /// The server did not catch up after a step.
    #[error(transparent)]
    Settle(#[from] crate::engine::settle::SettleError),
}

/// Runs the search of `plan` over `base`, telling `on_step` of each step as it ends.
pub fn drive(
    plan: &Plan,
    base: &Config,
    progress: &Progress,
    on_step: &mut dyn FnMut(&Step),
) -> Result<Search, DriveError> {
    base.validate().map_err(RunError::from)?;
    // A --server is found, checked and probed once, before any step: a wrong address is one
    // clear error, and no step repeats that work. The embedded server is a fresh one per step.
    let server = match &base.server {
        Some(_) => Some(Server::open(base)?),
        None => None,
    };
    let mut number = 0u32;
    let mut step = |config: Config| -> Result<StepRun, DriveError> {
        number += 1;
        // The embedded server is a fresh one per step; a --server must first be idle again.
        let settle = match &server {
            Some(server) => {
                // A backlog can be as long as a step sent: the limit grows with the step.
                let limit = (config.warmup + config.duration)
                    .max(config.drain)
                    .max(Duration::from_secs(10));
                let tag = format!("{:x}{number}", std::process::id() % 0xfff);
                let stop = || progress.interrupted();
                Some(crate::engine::settle::caught_up(
                    server.addr,
                    config.protocol,
                    &tag,
                    limit,
                    &stop,
                )?)
            }
            None => None,
        };
        let ran = match &server {
            Some(server) => run::run_on(server, config.clone(), progress, &mut |_| {}),
            None => run::run(config.clone(), progress, &mut |_| {}),
        };
        match ran {
            Ok(outcome) => Ok((Ok(Summary::from_outcome(&config, outcome)), settle)),
            // The server did not take this many bots: the step fails, the search goes on.
            Err(e @ RunError::Registration { .. }) => Ok((Err(e.to_string()), settle)),
            Err(e) => Err(e.into()),
        }
    };
    let interrupted = || progress.interrupted();
    Ok(steps::search(plan, base, &interrupted, &mut step, on_step))
}

/// The verdict line and exit code: 0 an answer (and every capacity gate holds), 1 nothing held
/// the SLO or a capacity gate failed, 2 the search could not answer (generator-bound, cut
/// short) unless the gates already hold on what it found.
pub fn verdict(s: &Search, gated: bool, gates_hold: bool) -> (String, u8) {
    let cut_short = |why: &str| {
        if gated && gates_hold {
            (
                format!("PASS: the capacity gates hold on what was found ({why})"),
                0,
            )
        } else {
            (
                format!("{}: the search could not finish", why.to_uppercase()),
                2,
            )
        }
    };
    match s.stop {
        Stop::Interrupted => cut_short("interrupted"),
        Stop::GeneratorBound(_) => cut_short("generator-bound"),
        Stop::MaxSteps => cut_short("out of steps"),
        Stop::Aborted(_) => cut_short("aborted"),
        Stop::NothingHeld => ("FAIL: no load held the SLO".into(), 1),
        Stop::Precision | Stop::ReachedTo if !gates_hold => {
            ("FAIL: a capacity gate failed".into(), 1)
        }
        Stop::Precision | Stop::ReachedTo => ("PASS: capacity found".into(), 0),
    }
}
