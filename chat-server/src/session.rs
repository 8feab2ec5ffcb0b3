//! One client's session, run on its own thread (RF4): greeting, registration, then commands
//! until `/quit`, a lost connection, or server shutdown.

use std::io::{self, Read};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use batepapo_protocol::{
    name_key, validate_name, ClientCommand, ErrorCode, FrameError, LineDecoder, ServerMessage,
    PROTOCOL_VERSION,
};
use log::{debug, info};

use crate::outbox::{CloseReason, Outbox};
use crate::registry::{self, broadcast, describe, encode, Member};
use crate::server::Shared;

/// How long a closing connection is read and discarded so that the peer's unread bytes do not
/// turn our close into a reset that could destroy the final BYE or ERR before it is read.
const LINGER: Duration = Duration::from_secs(2);

/// One accepted connection, as the session thread receives it.
pub(crate) struct Conn {
    pub id: u64,
    pub stream: Arc<TcpStream>,
    pub addr: SocketAddr,
    pub outbox: Arc<Outbox>,
}

enum Event {
    Line(String),
    Bad(FrameError),
    TimedOut,
    Closed,
}

struct LineReader {
    stream: Arc<TcpStream>,
    decoder: LineDecoder,
    buf: Vec<u8>,
    eof: bool,
}

impl LineReader {
    fn next(&mut self) -> Event {
        loop {
            if let Some(line) = self.decoder.next_line() {
                return lift(line);
            }
            if self.eof {
                return self.decoder.finish().map_or(Event::Closed, lift);
            }
            match (&*self.stream).read(&mut self.buf) {
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
}

fn lift(line: Result<String, FrameError>) -> Event {
    match line {
        Ok(l) => Event::Line(l),
        Err(e) => Event::Bad(e),
    }
}

/// How a registered session ended.
enum Ending {
    Quit,
    Lost,
}

/// Runs a session to its end. The caller has already counted the connection.
pub(crate) fn serve(conn: Conn, shared: &Shared) {
    let mut reader = LineReader {
        stream: conn.stream.clone(),
        decoder: LineDecoder::new(shared.config.max_line),
        buf: vec![0; 16 * 1024],
        eof: false,
    };
    let send = |msg: ServerMessage| {
        conn.outbox.push(&encode(&msg));
    };
    send(ServerMessage::Hello {
        version: PROTOCOL_VERSION.to_string(),
        text: "welcome to batepapo; send your name".to_string(),
    });

    let Some(name) = register(&conn, &mut reader, shared) else {
        return;
    };
    let ending = chat(&conn, &name, &mut reader, shared);

    if let Some((gone, rest)) = shared.registry.unregister(conn.id) {
        let why = match (&ending, conn.outbox.close_reason()) {
            (Ending::Quit, _) => "quit",
            (_, Some(CloseReason::Overflow)) => "too slow: its outbound queue overflowed",
            _ if shared.is_shutting_down() => "server shutdown",
            _ => "connection lost",
        };
        info!(
            "{} left ({why}); {} connected: {}",
            gone.name,
            rest.len(),
            describe(&rest)
        );
    }
    match ending {
        Ending::Quit => {
            send(ServerMessage::Bye {
                text: "goodbye".to_string(),
            });
            close_gracefully(&conn, &mut reader);
        }
        // At shutdown the server queued a BYE that the writer is flushing; leave it be.
        Ending::Lost if shared.is_shutting_down() => {}
        Ending::Lost => conn.outbox.close_now(),
    }
}

/// Reads names until one is accepted (returning it), the deadline passes, or the peer leaves.
fn register(conn: &Conn, reader: &mut LineReader, shared: &Shared) -> Option<String> {
    let deadline = Instant::now() + shared.config.name_timeout;
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
                    let member = Member {
                        id: conn.id,
                        name: name.clone(),
                        addr: conn.addr,
                        outbox: conn.outbox.clone(),
                    };
                    match shared.registry.register(member) {
                        Err(_) => refuse(
                            ErrorCode::NameTaken,
                            format!("the name {name} is already in use"),
                        ),
                        Ok(everyone) => {
                            let _ = conn.stream.set_read_timeout(None);
                            info!(
                                "{name} joined from {}; {} connected: {}",
                                conn.addr,
                                everyone.len(),
                                describe(&everyone)
                            );
                            return Some(name);
                        }
                    }
                }
            },
            Event::Bad(e) => refuse_frame(conn, e, shared),
            Event::TimedOut => {
                if !shared.is_shutting_down() {
                    refuse(
                        ErrorCode::Timeout,
                        format!(
                            "no name received within {} s",
                            shared.config.name_timeout.as_secs_f64()
                        ),
                    );
                    debug!("{} sent no name in time", conn.addr);
                    close_gracefully(conn, reader);
                }
                return None;
            }
            Event::Closed => {
                if !shared.is_shutting_down() {
                    conn.outbox.close_now();
                }
                return None;
            }
        }
    }
}

/// Serves a registered user's lines until it quits or the connection ends.
fn chat(conn: &Conn, name: &str, reader: &mut LineReader, shared: &Shared) -> Ending {
    let reply = |msg: ServerMessage| {
        conn.outbox.push(&encode(&msg));
    };
    let refuse = |code: ErrorCode, text: String| reply(ServerMessage::Err { code, text });
    loop {
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

/// Flushes what is queued, closes the write side, and reads until the peer closes too (or
/// [`LINGER`] passes), so that the last line is not lost to a reset.
fn close_gracefully(conn: &Conn, reader: &mut LineReader) {
    conn.outbox.close_after_flush();
    let deadline = Instant::now() + LINGER;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || conn.stream.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match reader.next() {
            Event::Closed | Event::TimedOut => break,
            Event::Line(_) | Event::Bad(_) => {}
        }
    }
    conn.outbox.close_now();
}
