//! A connection's life in one place: admitted (or turned away), served by its session thread,
//! then closed by [`finish`], the one function that decides how a connection ends.

use std::io::Read;
use std::net::{Shutdown as Direction, SocketAddr, TcpStream};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Instant;

use batepapo_protocol::{ErrorCode, ServerMessage};
use log::{debug, error, warn};

use crate::admission::{Decision, Open, Refusal, RefusalLog};
use crate::line::{encode, send_nonblocking};
use crate::linger;
use crate::outbox::Outbox;
use crate::session::{self, Conn, Ending};
use crate::shared::{OpenGuard, Shared};

/// Sessions parse lines and fan them out; nothing on their path recurses or holds big frames.
const SESSION_STACK: usize = 128 * 1024;

/// Starts a session thread for a new connection, or turns it away (see [`crate::admission`]).
pub(crate) fn admit(
    shared: &Arc<Shared>,
    id: u64,
    stream: TcpStream,
    addr: SocketAddr,
    refusals: &mut RefusalLog,
) -> Option<JoinHandle<()>> {
    let _ = stream.set_nodelay(shared.config.nodelay);
    let stream = Arc::new(stream);
    let dropped = Arc::new(AtomicBool::new(false));
    let (outbox, made_room) = {
        let mut open = shared.open();
        let made_room = match open.decide(addr.ip(), &shared.config) {
            Decision::Refuse(why) => {
                let waiting = open.unregistered();
                drop(open);
                shared.metrics.connection_refused(why);
                if let Some(quiet) = refusals.note(addr.ip(), Instant::now()) {
                    log_refusal(shared, addr, why, quiet, waiting);
                }
                turn_away(&stream, shared, why);
                return None;
            }
            Decision::AdmitDropping(oldest) => open.remove(oldest),
            Decision::Admit => None,
        };
        shared.metrics.connection_admitted();
        let outbox = Arc::new(Outbox::new(id, stream.clone(), shared.delivery.clone()));
        let entry = Open {
            stream: stream.clone(),
            outbox: outbox.clone(),
            addr,
            dropped: dropped.clone(),
        };
        open.insert(id, entry, Instant::now());
        (outbox, made_room)
    };
    if let Some(gone) = made_room {
        debug!("dropped {} to make room: it had not sent a name", gone.addr);
        gone.drop_unregistered(&shared.metrics);
    }
    let conn = Conn {
        id,
        stream,
        addr,
        outbox,
        dropped,
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
            let removed = shared.open().remove(id);
            if let Some(open) = removed {
                shared.metrics.connection_closed();
                open.outbox.close_now();
            }
            None
        }
    }
}

/// Drops the connections that have waited for a name longer than the shortened deadline, while
/// those waiting take more than half their share. Called by the monitor.
pub(crate) fn expire_unregistered(shared: &Shared, now: Instant) {
    let gone: Vec<Open> = {
        let mut open = shared.open();
        if !open.pressured(&shared.config) {
            return;
        }
        let cutoff = now.checked_sub(shared.config.pressured_name_timeout());
        let Some(cutoff) = cutoff else { return };
        let late = open.waiting_since_before(cutoff);
        late.into_iter().filter_map(|id| open.remove(id)).collect()
    };
    for g in &gone {
        g.drop_unregistered(&shared.metrics);
    }
    if !gone.is_empty() {
        debug!(
            "dropped {} connections that sent no name within {:.0} s (many are waiting for one)",
            gone.len(),
            shared.config.pressured_name_timeout().as_secs_f64()
        );
    }
}

fn log_refusal(shared: &Shared, addr: SocketAddr, why: Refusal, quiet: u64, waiting: usize) {
    let reason = match why {
        Refusal::PerAddress => format!(
            "it holds as many connections as one address may ({}, --max-per-address)",
            shared.config.max_per_address
        ),
        Refusal::ServerFull => format!(
            "the server is full ({} clients, {waiting} of them waiting for a name)",
            shared.config.max_clients
        ),
    };
    let more = if quiet > 0 {
        format!(" ({quiet} more refusals of this address in the last minute)")
    } else {
        String::new()
    };
    warn!(
        "refused {}: {reason}{more}; its next refusals are logged at most once a minute",
        addr.ip()
    );
}

/// Closes a connection whose session has ended, the one way its ending calls for.
fn finish(conn: &Conn, ending: Ending, shared: &Shared) {
    // A connection dropped to make room left the open table before the shutdown could queue
    // its BYE: it ends the way a drop does.
    if shared.is_shutting_down() && !matches!(ending, Ending::Dropped) {
        // The shutdown sequence has queued BYE for everyone and flushes them all; the
        // connection stays open until its peer has had the chance to read it.
        linger::at_shutdown(conn, shared);
        return;
    }
    match ending {
        Ending::Quit => {
            conn.outbox.push(&encode(&ServerMessage::Bye {
                text: "goodbye".to_string(),
            }));
            linger::after_last_line(conn, shared);
        }
        Ending::NameTimeout => {
            conn.outbox.push(&encode(&ServerMessage::Err {
                code: ErrorCode::Timeout,
                text: format!(
                    "no name received within {} s",
                    shared.config.name_timeout.as_secs_f64()
                ),
            }));
            linger::after_last_line(conn, shared);
        }
        Ending::Dropped => {
            conn.outbox.push(&encode(&ServerMessage::Err {
                code: ErrorCode::Timeout,
                text: format!(
                    "no name received in time: the server needed room for newer connections \
                     (at most {} may wait for a name at once)",
                    shared.config.max_unregistered()
                ),
            }));
            // Its reading side was shut to wake it, so there is nothing to linger over: wait
            // for the line to be written instead.
            conn.outbox.close_after_flush();
            conn.outbox.wait_closed(Instant::now() + linger::LINGER);
        }
        Ending::Lost => {}
    }
    conn.outbox.close_now();
}

/// Answers a connection the server turns away, on the accept thread: one `ERR` line naming the
/// limit, without blocking.
fn turn_away(stream: &TcpStream, shared: &Shared, why: Refusal) {
    let (code, text) = match why {
        Refusal::ServerFull => (
            ErrorCode::ServerFull,
            format!(
                "the server is full ({} clients); try again later",
                shared.config.max_clients
            ),
        ),
        Refusal::PerAddress => (
            ErrorCode::TooManyConnections,
            format!(
                "too many connections from your address (at most {}); close one and try again",
                shared.config.max_per_address
            ),
        ),
    };
    let line = encode(&ServerMessage::Err { code, text });
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
