//! A connection's life in one place: admitted (or turned away), served by its session thread,
//! then closed by [`finish`], the one function that decides how a connection ends.

use std::io::Read;
use std::net::{Shutdown as Direction, SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use batepapo_protocol::{ErrorCode, ServerMessage};
use log::{error, warn};

use crate::line::{encode, send_nonblocking};
use crate::outbox::Outbox;
use crate::session::{self, Conn, Ending};
use crate::shared::{Open, OpenGuard, Shared};

/// How long a closing connection is read and discarded so that the peer's unread bytes do not
/// turn our close into a reset that could destroy the final BYE or ERR before it is read.
const LINGER: Duration = Duration::from_secs(2);
/// Sessions parse lines and fan them out; nothing on their path recurses or holds big frames.
const SESSION_STACK: usize = 128 * 1024;

/// Starts a session thread for a new connection, or turns it away when the server is full.
pub(crate) fn admit(
    shared: &Arc<Shared>,
    id: u64,
    stream: TcpStream,
    addr: SocketAddr,
) -> Option<JoinHandle<()>> {
    let _ = stream.set_nodelay(shared.config.nodelay);
    let stream = Arc::new(stream);
    let outbox = {
        let mut open = shared.open();
        if open.len() >= shared.config.max_clients {
            drop(open);
            shared.metrics.connection_accepted(false);
            warn!("refused {addr}: server full");
            turn_away(&stream, shared);
            return None;
        }
        shared.metrics.connection_accepted(true);
        let outbox = Arc::new(Outbox::new(id, stream.clone(), shared.delivery.clone()));
        open.insert(
            id,
            Open {
                stream: stream.clone(),
                outbox: outbox.clone(),
            },
        );
        outbox
    };
    let conn = Conn {
        id,
        stream,
        addr,
        outbox,
    };
    let for_thread = shared.clone();
    let spawned = thread::Builder::new()
        .name(format!("session-{id}"))
        .stack_size(SESSION_STACK)
        .spawn(move || {
            let _alive = for_thread.metrics.thread();
            let _guard = OpenGuard {
                shared: &for_thread,
                id: conn.id,
            };
            let ending = session::serve(&conn, &for_thread);
            finish(&conn, ending, &for_thread);
        });
    match spawned {
        Ok(handle) => Some(handle),
        Err(e) => {
            error!("cannot start a thread for {addr}: {e}");
            if let Some(open) = shared.open().remove(&id) {
                shared.metrics.connection_closed();
                open.outbox.close_now();
            }
            None
        }
    }
}

/// Closes a connection whose session has ended, the one way its ending calls for.
fn finish(conn: &Conn, ending: Ending, shared: &Shared) {
    if shared.is_shutting_down() {
        // The shutdown sequence has queued BYE for everyone; it flushes and closes them all.
        return;
    }
    match ending {
        Ending::Quit => {
            conn.outbox.push(&encode(&ServerMessage::Bye {
                text: "goodbye".to_string(),
            }));
            linger(conn, shared);
        }
        Ending::NameTimeout => {
            conn.outbox.push(&encode(&ServerMessage::Err {
                code: ErrorCode::Timeout,
                text: format!(
                    "no name received within {} s",
                    shared.config.name_timeout.as_secs_f64()
                ),
            }));
            linger(conn, shared);
        }
        Ending::Lost => {}
    }
    conn.outbox.close_now();
}

/// Writes what is queued, shuts the write side, and reads and discards until the peer closes
/// too (or [`LINGER`] passes), so the last line is not lost to a reset.
fn linger(conn: &Conn, shared: &Shared) {
    conn.outbox.close_after_flush();
    let deadline = Instant::now() + LINGER;
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || conn.stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        let read = (&*conn.stream).read(&mut buf);
        shared.metrics.received(*read.as_ref().unwrap_or(&0));
        if !matches!(read, Ok(n) if n > 0) {
            return;
        }
    }
}

/// Answers a connection the server has no room for, without blocking the accept loop.
fn turn_away(stream: &TcpStream, shared: &Shared) {
    let line = encode(&ServerMessage::Err {
        code: ErrorCode::ServerFull,
        text: format!(
            "the server is full ({} clients); try again later",
            shared.config.max_clients
        ),
    });
    shared
        .metrics
        .sent(send_nonblocking(stream, &line).unwrap_or(0));
    let _ = stream.shutdown(Direction::Write);
    // Discard what the peer already sent, so closing does not reset the connection and destroy
    // the ERR before it is read.
    if stream.set_nonblocking(true).is_ok() {
        let mut buf = [0u8; 4096];
        while matches!((&*stream).read(&mut buf), Ok(n) if n > 0) {}
    }
}
