//! The accept loop, the table of open connections, and the shutdown sequence.

use std::collections::HashMap;
use std::io::{self, Read};
use std::net::{Shutdown as Direction, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use batepapo_protocol::{ErrorCode, ServerMessage};
use log::{error, info, warn};

use crate::config::{Config, ConfigError};
use crate::flusher::Flusher;
use crate::outbox::{send_nonblocking, Outbox};
use crate::registry::{encode, Registry};
use crate::session::{self, Conn};
use crate::shutdown::Shutdown;

/// How long shutdown waits for clients to read their BYE before cutting them off.
const FLUSH_GRACE: Duration = Duration::from_secs(3);
/// Pending connections the kernel may hold; std's default (128) makes a burst of hundreds of
/// connects wait for SYN retries.
const LISTEN_BACKLOG: i32 = 1024;
const SESSION_STACK: usize = 256 * 1024;
const WRITER_STACK: usize = 64 * 1024;

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

struct Open {
    stream: Arc<TcpStream>,
    outbox: Arc<Outbox>,
}

/// State shared by the accept loop and every session.
pub(crate) struct Shared {
    pub config: Config,
    flusher: Arc<Flusher>,
    pub registry: Registry,
    shutdown: Shutdown,
    open: Mutex<HashMap<u64, Open>>,
    all_closed: Condvar,
}

impl Shared {
    pub fn is_shutting_down(&self) -> bool {
        self.shutdown.is_triggered()
    }

    fn open(&self) -> MutexGuard<'_, HashMap<u64, Open>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Removes a connection from the table when its session thread ends, even by panic.
struct OpenGuard<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for OpenGuard<'_> {
    fn drop(&mut self) {
        let mut open = self.shared.open();
        open.remove(&self.id);
        if open.is_empty() {
            self.shared.all_closed.notify_all();
        }
    }
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
/// joins every thread it started.
pub fn run(listener: TcpListener, config: Config, shutdown: Shutdown) -> Result<(), ServerError> {
    config.validate()?;
    let local = listener.local_addr()?;
    shutdown.arm(local);
    let flusher = Flusher::start(config.flushers)?;
    let shared = Arc::new(Shared {
        config,
        flusher: flusher.clone(),
        registry: Registry::default(),
        shutdown: shutdown.clone(),
        open: Mutex::new(HashMap::new()),
        all_closed: Condvar::new(),
    });
    let mut sessions: Vec<JoinHandle<()>> = Vec::new();
    let mut next_id: u64 = 0;
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
        if let Some(handle) = admit(&shared, next_id, stream, addr) {
            sessions.push(handle);
        }
    }
    drop(listener);
    info!(
        "shutting down: saying BYE to {} connections",
        shared.open().len()
    );
    say_goodbye(&shared);
    for handle in sessions {
        if handle.join().is_err() {
            error!("a session thread panicked");
        }
    }
    flusher.shutdown();
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

/// Starts a session for a new connection, or turns it away when the server is full.
fn admit(
    shared: &Arc<Shared>,
    id: u64,
    stream: TcpStream,
    addr: SocketAddr,
) -> Option<JoinHandle<()>> {
    let _ = stream.set_nodelay(shared.config.nodelay);
    let stream = Arc::new(stream);
    let outbox = Arc::new(Outbox::new(
        stream.clone(),
        shared.config.queue_depth,
        shared.flusher.clone(),
    ));
    {
        let mut open = shared.open();
        if open.len() >= shared.config.max_clients {
            drop(open);
            warn!("refused {addr}: server full");
            turn_away(&stream, shared.config.max_clients);
            return None;
        }
        open.insert(
            id,
            Open {
                stream: stream.clone(),
                outbox: outbox.clone(),
            },
        );
    }
    let conn = Conn {
        id,
        stream,
        addr,
        outbox,
    };
    let shared_for_thread = shared.clone();
    let spawned = thread::Builder::new()
        .name(format!("session-{id}"))
        .stack_size(SESSION_STACK)
        .spawn(move || session_thread(conn, &shared_for_thread));
    match spawned {
        Ok(handle) => Some(handle),
        Err(e) => {
            error!("cannot start a thread for {addr}: {e}");
            if let Some(open) = shared.open().remove(&id) {
                open.outbox.close_now();
            }
            None
        }
    }
}

fn session_thread(conn: Conn, shared: &Shared) {
    let _guard = OpenGuard {
        shared,
        id: conn.id,
    };
    let outbox = conn.outbox.clone();
    let writer = thread::Builder::new()
        .name(format!("writer-{}", conn.id))
        .stack_size(WRITER_STACK)
        .spawn(move || outbox.run_writer());
    let writer = match writer {
        Ok(w) => w,
        Err(e) => {
            error!("cannot start a writer thread for {}: {e}", conn.addr);
            conn.outbox.close_now();
            return;
        }
    };
    let outbox = conn.outbox.clone();
    session::serve(conn, shared);
    // At shutdown the writer is flushing BYE, and `say_goodbye` cuts it off after the grace
    // period; otherwise make sure the connection is closed whatever way the session ended.
    if !shared.is_shutting_down() {
        outbox.close_now();
    }
    let _ = writer.join();
}

/// Answers a connection the server has no room for, without blocking the accept loop.
fn turn_away(stream: &TcpStream, max_clients: usize) {
    let line = encode(&ServerMessage::Err {
        code: ErrorCode::ServerFull,
        text: format!("the server is full ({max_clients} clients); try again later"),
    });
    let _ = send_nonblocking(stream, &line);
    let _ = stream.shutdown(Direction::Write);
    // Discard what the peer already sent, so closing does not reset the connection and destroy
    // the ERR before it is read.
    if stream.set_nonblocking(true).is_ok() {
        let mut buf = [0u8; 4096];
        while matches!((&*stream).read(&mut buf), Ok(n) if n > 0) {}
    }
}

/// BYE to every connection, a grace period for them to read it, then cut off whoever is left.
fn say_goodbye(shared: &Shared) {
    let bye = encode(&ServerMessage::Bye {
        text: "the server is shutting down".to_string(),
    });
    {
        let open = shared.open();
        // Every outbox stops taking lines before any session wakes, so nobody gets a LEAVE
        // from a session ended by the shutdown itself ahead of their own BYE.
        for conn in open.values() {
            conn.outbox.push(&bye);
            conn.outbox.close_after_flush();
        }
        for conn in open.values() {
            // Wakes the session thread blocked in `read` with an end of stream.
            let _ = conn.stream.shutdown(Direction::Read);
        }
    }
    let deadline = Instant::now() + FLUSH_GRACE;
    let mut open = shared.open();
    while !open.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            warn!(
                "{} clients did not read their BYE in time; closing them",
                open.len()
            );
            for conn in open.values() {
                conn.outbox.close_now();
            }
            break;
        }
        open = shared
            .all_closed
            .wait_timeout(open, left)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

/// A server running on its own thread, for tests, benchmarks and the load generator.
pub struct RunningServer {
    addr: SocketAddr,
    shutdown: Shutdown,
    thread: Option<JoinHandle<Result<(), ServerError>>>,
}

impl RunningServer {
    /// Binds `config.listen` (port 0 picks a free port) and starts serving.
    pub fn start(config: Config) -> io::Result<RunningServer> {
        let listener = bind(config.listen)?;
        RunningServer::start_on(listener, config)
    }

    /// Starts serving on an already bound listener.
    pub fn start_on(listener: TcpListener, config: Config) -> io::Result<RunningServer> {
        let addr = listener.local_addr()?;
        let shutdown = Shutdown::new();
        let handle = shutdown.clone();
        let thread = thread::Builder::new()
            .name("chat-server".into())
            .spawn(move || run(listener, config, handle))?;
        Ok(RunningServer {
            addr,
            shutdown,
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
