//! The controller, on the calling thread: finds (or embeds) the server (`engine::target`),
//! starts the workers and moves them through the phases (`engine::crew`: connect ramp,
//! barrier, warm-up, measurement, drain), and gives back the merged [`Outcome`].

use std::time::{Instant, SystemTime};

use crate::engine::crew::{Crew, Measured};
use crate::engine::target::Server;
use crate::plan::config::Config;
use crate::recording::series::Second;
use crate::recording::server_cost::{self, ServerCost};

pub use crate::engine::outcome::{CpuUse, Outcome, Phases, Progress, RunError};

/// Runs the whole load test on worker threads, calling `on_second` as each second completes:
/// the server found or embedded, then [`run_on`] it.
pub fn run(
    config: Config,
    progress: &Progress,
    on_second: &mut dyn FnMut(&Second),
) -> Result<Outcome, RunError> {
    config.validate()?;
    let server = Server::open(&config)?;
    run_on(&server, config, progress, on_second)
}

/// Runs the load test on a server already opened (a search opens a `--server` once for all
/// its steps): the workers started, then the phases in turn.
pub fn run_on(
    server: &Server,
    config: Config,
    progress: &Progress,
    on_second: &mut dyn FnMut(&Second),
) -> Result<Outcome, RunError> {
    config.validate()?;
    let idle = server_cost::settled(|| server.sample());
    let mut crew = Crew::start(config, server, progress, on_second)?;
    let own_count = crew.own_count();
    let workers = crew.workers;

    let connect_started = Instant::now();
    let registered = crew.connect();
    let mut phases = Phases {
        connect_s: connect_started.elapsed().as_secs_f64(),
        ..Phases::default()
    };
    let mut measured = Measured {
        cpu: None,
        server_cost: ServerCost::default(),
        measure_start: SystemTime::now(),
    };
    if registered == own_count && !progress.interrupted() {
        // Barrier passed: everyone is registered, so everyone receives every broadcast.
        let start = match crew.start_time(registered) {
            Ok(start) => start,
            Err(e) => {
                crew.stop();
                return Err(e);
            }
        };
        measured = crew.measure(start, server, &idle, registered, &mut phases);
        crew.drain(&mut phases);
    }
    phases.interrupted = progress.interrupted();
    let (totals, seconds) = crew.finish();
    if registered < own_count && !phases.interrupted {
        return Err(RunError::Registration {
            registered,
            clients: own_count,
            errors: format!("{:?}", totals.errors),
        });
    }
    let embedded = server.embedded.is_some();
    Ok(Outcome {
        server: server.label.clone(),
        addr: server.addr,
        embedded,
        workers,
        registered,
        totals,
        seconds,
        phases,
        cpu: measured.cpu,
        measure_start: measured.measure_start,
        server_cost: measured.server_cost,
    })
}
