//! One client's session, run on its own thread (RF4): greeting, registration, then commands
//! until `/quit`, a lost connection, or server shutdown. It returns how it ended and leaves the
//! socket to its caller.

use std::io::{self, Read};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use batepapo_protocol::{
    name_key, validate_name, ClientCommand, ErrorCode, FrameError, LineDecoder, ServerMessage,
    PROTOCOL_VERSION,
};
use log::{debug, info, warn};

use crate::line::encode;
use crate::metrics::Metrics;
use crate::monitor;
use crate::outbox::{Closed, Outbox};
use crate::registry::{self, broadcast, Member};
use crate::shared::Shared;

/// Bytes read from a client at once. Small, because every idle connection holds one.
const READ_BUF: usize = 4096;

/// One accepted connection, as the session thread receives it.
pub(crate) struct Conn {
    pub id: u64,
    pub stream: Arc<TcpStream>,
    pub addr: SocketAddr,
    pub outbox: Arc<Outbox>,
    /// Set when admission dropped it, before it registered, to make room for newer ones.
    pub dropped: Arc<AtomicBool>,
}

enum Event {
    Line(String),
    Bad(FrameError),
    TimedOut,
    Closed,
}

struct LineReader {
    stream: Arc<TcpStream>,
    metrics: Arc<Metrics>,
    decoder: LineDecoder,
    buf: Vec<u8>,
    eof: bool,
}

impl LineReader {
    fn next(&mut self) -> Event {
        loop {
            if let Some(line) = self.decoder.next_line() {
                return self.lift(line);
            }
            if self.eof {
                return self
                    .decoder
                    .finish()
                    .map_or(Event::Closed, |l| self.lift(l));
            }
            let read = (&*self.stream).read(&mut self.buf);
            self.metrics.received(*read.as_ref().unwrap_or(&0));
            match read {
                Ok(0) => self.eof = true,
                Ok(n) => self.decoder.push(&self.buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Event::TimedOut
                }
                // A reset or other failure: what was half-received is not trusted.
                Err(_) => return Event::Closed,
            }
        }
    }

    fn lift(&self, line: Result<String, FrameError>) -> Event {
        self.metrics.line_in();
        match line {
            Ok(l) => Event::Line(l),
            Err(e) => Event::Bad(e),
        }
    }
}

/// How a session ended; [`crate::connection`] decides what that means for the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The client sent `/quit`: it gets BYE, then the connection closes.
    Quit,
    /// No acceptable name in time: it gets `ERR timeout`, then the connection closes.
    NameTimeout,
    /// Dropped before it registered to make room for newer connections: it gets `ERR timeout`
    /// saying so, then the connection closes.
    Dropped,
    /// The connection ended under us: the peer left, or the server cut it off or is shutting
    /// down.
    Lost,
}

/// Runs a session to its end and says how it ended. The caller has already counted the
/// connection.
pub(crate) fn serve(conn: &Conn, shared: &Shared) -> Ending {
    let mut reader = LineReader {
        stream: conn.stream.clone(),
        metrics: shared.metrics.clone(),
        decoder: LineDecoder::new(shared.config.max_line),
        buf: vec![0; READ_BUF],
        eof: false,
    };
    conn.outbox.push(&encode(&ServerMessage::Hello {
        version: PROTOCOL_VERSION.to_string(),
        text: "welcome to batepapo; send your name".to_string(),
    }));
    let (name, ending) = match register(conn, &mut reader, shared) {
        Ok(name) => {
            let ending = chat(conn, &name, &mut reader, shared);
            (Some(name), ending)
        }
        Err(ending) => (None, ending),
    };
    let left = shared.registry.unregister(conn.id).map(|(_, left)| left);
    if left.is_some() {
        shared.metrics.unregistered();
    }
    let who = name
        .as_deref()
        .unwrap_or("a client that had not registered");
    let connected = left.map_or(String::new(), |n| format!("; {n} connected"));
    match conn.outbox.closed() {
        Some(Closed::Cut(reason)) => {
            warn!("{who} ({}) cut off: {reason}{connected}", conn.addr)
        }
        _ if name.is_none() => {}
        _ if ending == Ending::Quit => info!("{who} left (quit){connected}"),
        _ if shared.is_shutting_down() => debug!("{who} left (server shutdown){connected}"),
        _ => info!("{who} left (connection lost){connected}"),
    }
    ending
}

/// Reads names until one is accepted (returning it), the deadline passes, or the peer leaves.
fn register(conn: &Conn, reader: &mut LineReader, shared: &Shared) -> Result<String, Ending> {
    let arrived = Instant::now();
    let deadline = arrived + shared.config.name_timeout;
    let refuse = |code: ErrorCode, text: String| {
        conn.outbox
            .push(&encode(&ServerMessage::Err { code, text }));
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = if left.is_zero() {
            Event::TimedOut
        } else {
            let _ = conn.stream.set_read_timeout(Some(left));
            reader.next()
        };
        match event {
            Event::Line(name) if name.is_empty() => {}
            Event::Line(name) => match validate_name(&name) {
                Err(why) => refuse(ErrorCode::InvalidName, why.to_string()),
                Ok(()) => {
                    // Out of the line of connections that may be dropped to make room, unless
                    // it was dropped already.
                    if !shared.open().registering(conn.id) {
                        return Err(Ending::Dropped);
                    }
                    let member = Member {
                        id: conn.id,
                        name: name.clone(),
                        addr: conn.addr,
                        outbox: conn.outbox.clone(),
                    };
                    match shared.registry.register(member) {
                        Err(_) => {
                            shared.open().still_unregistered(conn.id, arrived);
                            refuse(
                                ErrorCode::NameTaken,
                                format!("the name {name} is already in use"),
                            )
                        }
                        Ok(connected) => {
                            shared.metrics.registered();
                            let _ = conn.stream.set_read_timeout(None);
                            info!("{name} joined from {}; {connected} connected", conn.addr);
                            return Ok(name);
                        }
                    }
                }
            },
            Event::Bad(e) => refuse_frame(conn, e, shared),
            Event::TimedOut => {
                debug!("{} sent no name in time", conn.addr);
                return Err(Ending::NameTimeout);
            }
            Event::Closed if conn.dropped.load(Ordering::SeqCst) => return Err(Ending::Dropped),
            Event::Closed => return Err(Ending::Lost),
        }
    }
}

/// Serves a registered user's lines until it quits or the connection ends.
fn chat(conn: &Conn, name: &str, reader: &mut LineReader, shared: &Shared) -> Ending {
    let reply = |msg: ServerMessage| {
        conn.outbox.push(&encode(&msg));
    };
    let refuse = |code: ErrorCode, text: String| reply(ServerMessage::Err { code, text });
    let stop = || shared.is_shutting_down() || conn.outbox.closed().is_some();
    loop {
        if shared.delivery.budget.over_limit() {
            // Shed at once, on this thread, so the budget holds to within one line's fan-out.
            monitor::look(shared, Instant::now());
        }
        // Flood control: under pressure, the next line is read later, so TCP slows the sender.
        shared.delivery.budget.wait_for_room(stop);
        let line = match reader.next() {
            Event::Line(line) => line,
            Event::Bad(e) => {
                refuse_frame(conn, e, shared);
                continue;
            }
            Event::Closed | Event::TimedOut => return Ending::Lost,
        };
        match ClientCommand::parse(&line) {
            ClientCommand::Empty => {}
            ClientCommand::Public(text) => {
                let msg = encode(&ServerMessage::Msg {
                    from: name.to_string(),
                    text,
                });
                broadcast(&shared.registry.snapshot(), conn.id, &msg);
            }
            ClientCommand::Private { to, text } => {
                if to.is_empty() {
                    refuse(
                        ErrorCode::NoSuchUser,
                        "write the recipient's name right after '@', as in @alice hello".into(),
                    );
                } else if name_key(&to) == name_key(name) {
                    refuse(
                        ErrorCode::SelfMessage,
                        "you cannot send a private message to yourself".into(),
                    );
                } else if text.trim().is_empty() {
                    refuse(
                        ErrorCode::EmptyMessage,
                        format!("the private message to {to} has no text"),
                    );
                } else if let Some(target) = shared.registry.lookup(&to) {
                    target.outbox.push(&encode(&ServerMessage::Priv {
                        from: name.to_string(),
                        text,
                    }));
                } else {
                    refuse(
                        ErrorCode::NoSuchUser,
                        format!("nobody named {to} is connected"),
                    );
                }
            }
            ClientCommand::Users => {
                reply(registry::users_message(&shared.registry.snapshot()));
            }
            ClientCommand::Quit => return Ending::Quit,
            ClientCommand::Unknown(word) => refuse(
                ErrorCode::UnknownCommand,
                format!("unknown command /{word}; the commands are /users and /quit"),
            ),
        }
    }
}

fn refuse_frame(conn: &Conn, e: FrameError, shared: &Shared) {
    let (code, text) = match e {
        FrameError::TooLong => (
            ErrorCode::LineTooLong,
            format!(
                "lines are limited to {} bytes; this one was discarded",
                shared.config.max_line
            ),
        ),
        FrameError::InvalidUtf8 => (
            ErrorCode::InvalidUtf8,
            "the line is not valid UTF-8; it was discarded".to_string(),
        ),
    };
    conn.outbox
        .push(&encode(&ServerMessage::Err { code, text }));
}
