//! The accept loop and the shutdown sequence, and [`RunningServer`] for embedding.

use std::io;
use std::net::{Shutdown as Direction, SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use batepapo_protocol::ServerMessage;
use log::{error, info, warn};

use crate::admission::RefusalLog;
use crate::budget::{BacklogStats, Budget};
use crate::config::{Config, ConfigError};
use crate::connection;
use crate::delivery::Delivery;
use crate::exporter::Exporter;
use crate::line::encode;
use crate::metrics::{Metrics, Snapshot};
use crate::monitor;
use crate::shared::Shared;
use crate::shutdown::Shutdown;

/// How long shutdown waits for clients to read their BYE before cutting them off.
pub(crate) const FLUSH_GRACE: Duration = Duration::from_secs(3);
/// Pending connections the kernel may hold; std's default (128) makes a burst of hundreds of
/// connects wait for SYN retries.
const LISTEN_BACKLOG: i32 = 1024;

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration is unusable.
    #[error("invalid configuration")]
    Config(#[from] ConfigError),
    /// The listener failed in a way the server cannot recover from.
    #[error("listener failed")]
    Io(#[from] io::Error),
}

/// Binds a listener the way the server wants it: address reuse and a deep backlog.
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

/// Serves clients on `listener` until `shutdown` is triggered, then says BYE to everyone and
/// joins every thread it started. With `config.metrics` set it binds that address too and serves
/// the figures there; [`run_with`] takes that listener already bound instead.
pub fn run(listener: TcpListener, config: Config, shutdown: Shutdown) -> Result<(), ServerError> {
    let metrics = config.metrics.map(TcpListener::bind).transpose()?;
    run_with(listener, metrics, config, shutdown)
}

/// Like [`run`], with the metrics listener (if any) bound by the caller, who can then show its
/// address first.
pub fn run_with(
    listener: TcpListener,
    metrics: Option<TcpListener>,
    config: Config,
    shutdown: Shutdown,
) -> Result<(), ServerError> {
    let parts = Parts::for_config(&config);
    serve(listener, metrics, config, shutdown, parts)
}

/// What an embedding keeps a handle on to read the server's figures while it runs.
#[derive(Clone)]
struct Parts {
    budget: Arc<Budget>,
    metrics: Arc<Metrics>,
}

impl Parts {
    fn for_config(config: &Config) -> Parts {
        Parts {
            budget: Arc::new(Budget::new(
                config.backlog_budget(),
                config.flood_watermark(),
            )),
            metrics: Arc::default(),
        }
    }
}

fn serve(
    listener: TcpListener,
    metrics: Option<TcpListener>,
    config: Config,
    shutdown: Shutdown,
    parts: Parts,
) -> Result<(), ServerError> {
    config.validate()?;
    // The accept loop's thread counts as one of the server's.
    let counted = parts.metrics.clone();
    let _alive = counted.thread();
    let local = listener.local_addr()?;
    shutdown.arm(local);
    let delivery = Delivery::start(
        config.flushers,
        config.max_backlog,
        config.write_mode,
        parts.budget,
        parts.metrics,
    )?;
    let shared = Arc::new(Shared::new(config, delivery.clone(), shutdown.clone()));
    let exporter = match metrics {
        Some(l) => Some(Exporter::start(l, shared.clone())?),
        None => None,
    };
    let monitor = {
        let shared = shared.clone();
        thread::Builder::new()
            .name("monitor".into())
            .stack_size(128 * 1024)
            .spawn(move || {
                let _alive = shared.metrics.thread();
                monitor::run(&shared)
            })?
    };
    let mut sessions: Vec<JoinHandle<()>> = Vec::new();
    let mut next_id: u64 = 0;
    let mut refusals = RefusalLog::default();
    while !shutdown.is_triggered() {
        let (stream, addr) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) => {
                if !matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted
                ) {
                    // Typically out of file descriptors: back off instead of spinning.
                    warn!("accept failed: {e}");
                    thread::sleep(Duration::from_millis(50));
                }
                continue;
            }
        };
        if shutdown.is_triggered() {
            break;
        }
        reap(&mut sessions);
        next_id += 1;
        if let Some(handle) = connection::admit(&shared, next_id, stream, addr, &mut refusals) {
            sessions.push(handle);
        }
    }
    drop(listener);
    // Sessions waiting for room under flood control look at the shutdown flag now.
    shared.delivery.budget.release_waiters();
    say_goodbye(&shared);
    for handle in sessions {
        if handle.join().is_err() {
            error!("a session thread panicked");
        }
    }
    shared.delivery.budget.ring_alarm();
    if monitor.join().is_err() {
        error!("the monitor thread panicked");
    }
    if let Some(exporter) = exporter {
        exporter.stop();
    }
    delivery.shutdown();
    info!("shutdown complete");
    Ok(())
}

fn reap(sessions: &mut Vec<JoinHandle<()>>) {
    let (done, live): (Vec<_>, Vec<_>) = sessions.drain(..).partition(|h| h.is_finished());
    *sessions = live;
    for handle in done {
        if handle.join().is_err() {
            error!("a session thread panicked");
        }
    }
}

/// BYE to every connection, a grace period for them to read it, then cut off whoever is left.
fn say_goodbye(shared: &Shared) {
    let bye = encode(&ServerMessage::Bye {
        text: "the server is shutting down".to_string(),
    });
    let outboxes = {
        let open = shared.open();
        info!("shutting down: saying BYE to {} connections", open.len());
        // Every outbox stops taking lines before any session wakes, so nobody gets a LEAVE
        // from a session ended by the shutdown itself ahead of their own BYE.
        for conn in open.values() {
            conn.outbox.push(&bye);
            // The write side stays open: each session shuts it once its peer is done sending.
            conn.outbox.close_when_written_keep_open();
        }
        for conn in open.values() {
            // Wakes the session thread blocked in `read` with an end of stream.
            let _ = conn.stream.shutdown(Direction::Read);
        }
        open.values().map(|c| c.outbox.clone()).collect::<Vec<_>>()
    };
    let deadline = Instant::now() + FLUSH_GRACE;
    let late = outboxes
        .iter()
        .filter(|o| !o.wait_closed(deadline))
        .inspect(|o| o.close_now())
        .count();
    if late > 0 {
        warn!("{late} clients did not read their BYE in time; closed them");
    }
}

/// A server running on its own thread, for tests, benchmarks and the load generator.
pub struct RunningServer {
    addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    shutdown: Shutdown,
    parts: Parts,
    thread: Option<JoinHandle<Result<(), ServerError>>>,
}

impl RunningServer {
    /// Binds `config.listen` (port 0 picks a free port) and starts serving.
    pub fn start(config: Config) -> io::Result<RunningServer> {
        let listener = bind(config.listen)?;
        RunningServer::start_on(listener, config)
    }

    /// Starts serving on an already bound listener (and on `config.metrics`, when set).
    pub fn start_on(listener: TcpListener, config: Config) -> io::Result<RunningServer> {
        let addr = listener.local_addr()?;
        let metrics = config.metrics.map(TcpListener::bind).transpose()?;
        let metrics_addr = metrics.as_ref().map(|l| l.local_addr()).transpose()?;
        let shutdown = Shutdown::new();
        let handle = shutdown.clone();
        let parts = Parts::for_config(&config);
        let for_thread = parts.clone();
        let thread = thread::Builder::new()
            .name("chat-server".into())
            .spawn(move || serve(listener, metrics, config, handle, for_thread))?;
        Ok(RunningServer {
            addr,
            metrics_addr,
            shutdown,
            parts,
            thread: Some(thread),
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle that can stop the server from elsewhere.
    pub fn shutdown_handle(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Where the figures are served over HTTP, when `config.metrics` asked for it.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// Backlog figures so far: bytes waiting, the peak, cut-offs by reason, flood-control waits.
    pub fn backlog_stats(&self) -> BacklogStats {
        self.parts.budget.stats()
    }

    /// Every figure the server counts, now (the same ones `--metrics` serves).
    pub fn metrics(&self) -> Snapshot {
        self.parts.metrics.snapshot(self.parts.budget.stats())
    }

    /// Shuts down and waits for every thread to finish.
    pub fn stop(mut self) -> Result<(), ServerError> {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> Result<(), ServerError> {
        self.shutdown.trigger();
        match self.thread.take() {
            Some(t) => t.join().unwrap_or_else(|_| {
                Err(ServerError::Io(io::Error::other("server thread panicked")))
            }),
            None => Ok(()),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.stop_inner();
    }
}
