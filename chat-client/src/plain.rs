//! Line mode: for pipes, scripts, and terminals when the full screen is not wanted.
//!
//! Two threads feed one channel: the receiving thread (RF4) parses server lines, and the input
//! thread reads stdin. The main loop prints events and sends what the user typed, so output is
//! never interleaved mid-line and a lost connection ends the client even while stdin is idle.

use std::io::{self, BufRead, Write};
use std::net::TcpStream;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use batepapo_protocol::{name_key, ClientCommand, ServerMessage};

use crate::connection::{connect, send_line, Incoming, ServerReader};
use crate::display::{describe, sanitize};
use crate::registration::{expect_hello, propose, Attempt};
use crate::{ClientError, Config, CONNECT_TIMEOUT, QUIT_TIMEOUT};

/// Server replies during registration must come within this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

enum Event {
    Server(Incoming),
    ServerEnd(Option<io::Error>),
    Input(String),
    InputEnd,
}

/// Runs line mode on stdin and stdout until `/quit`, end of input, or the server going away.
pub fn run(config: Config) -> Result<(), ClientError> {
    let stream = connect(&config.server, CONNECT_TIMEOUT)?;
    let lost = ClientError::Lost;
    stream
        .set_read_timeout(Some(HANDSHAKE_TIMEOUT))
        .map_err(lost)?;
    let mut reader = ServerReader::new(stream.try_clone().map_err(lost)?);
    expect_hello(&mut reader, &config.server)?;

    let mut proposed = config.name.clone();
    let (name, addr) = loop {
        let candidate = match proposed.take() {
            Some(n) => n,
            None => ask_name(config.interactive)?,
        };
        match propose(&stream, &mut reader, &config.server, &candidate)? {
            Attempt::Welcome { name, addr } => break (name, addr),
            Attempt::Refused { code, reason } if config.interactive => {
                eprintln!("name refused ({code}): {reason}; please choose another");
            }
            Attempt::Refused { code, reason } => {
                return Err(ClientError::NameRefused {
                    name: candidate,
                    reason: format!("{reason} ({code})"),
                })
            }
        }
    };
    stream.set_read_timeout(None).map_err(lost)?;
    let mut out = io::stdout().lock();
    let greeting = format!(
        "connected to {} as {}; your address is {addr}",
        config.server,
        sanitize(&name)
    );
    writeln!(out, "{greeting}").map_err(ClientError::Terminal)?;
    out.flush().map_err(ClientError::Terminal)?;

    let (tx, rx) = mpsc::channel();
    spawn_receiver(reader, tx.clone())?;
    spawn_input(tx)?;
    chat_loop(&stream, &name, &rx, &mut out)
}

fn ask_name(interactive: bool) -> Result<String, ClientError> {
    if interactive {
        eprint!("your name: ");
        let _ = io::stderr().flush();
    }
    let mut line = String::new();
    let n = io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(ClientError::Terminal)?;
    if n == 0 {
        return Err(ClientError::NoName);
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn spawn_receiver(
    mut reader: ServerReader<TcpStream>,
    tx: Sender<Event>,
) -> Result<(), ClientError> {
    thread::Builder::new()
        .name("receiver".into())
        .spawn(move || loop {
            let event = match reader.next_message() {
                Ok(Some(incoming)) => Event::Server(incoming),
                Ok(None) => Event::ServerEnd(None),
                Err(e) => Event::ServerEnd(Some(e)),
            };
            let end = matches!(event, Event::ServerEnd(_));
            if tx.send(event).is_err() || end {
                return;
            }
        })
        .map(drop)
        .map_err(ClientError::Terminal)
}

fn spawn_input(tx: Sender<Event>) -> Result<(), ClientError> {
    thread::Builder::new()
        .name("input".into())
        .spawn(move || {
            for line in io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if tx.send(Event::Input(line)).is_err() {
                    return;
                }
            }
            let _ = tx.send(Event::InputEnd);
        })
        .map(drop)
        .map_err(ClientError::Terminal)
}

fn chat_loop(
    stream: &TcpStream,
    name: &str,
    rx: &Receiver<Event>,
    out: &mut impl Write,
) -> Result<(), ClientError> {
    let term = ClientError::Terminal;
    let mut quit_deadline: Option<Instant> = None;
    loop {
        let event = match quit_deadline {
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(deadline) => rx.recv_timeout(deadline.saturating_duration_since(Instant::now())),
        };
        let event = match event {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => {
                writeln!(out, "left the chat (the server did not confirm)").map_err(term)?;
                return Ok(());
            }
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        match event {
            Event::Server(Incoming::Message(msg)) => {
                if let ServerMessage::Bye { text } = &msg {
                    if quit_deadline.is_some() {
                        writeln!(out, "you left the chat").map_err(term)?;
                    } else {
                        writeln!(out, "the server ended the session: {}", sanitize(text))
                            .map_err(term)?;
                    }
                    out.flush().map_err(term)?;
                    return Ok(());
                }
                let (_, text) = describe(&msg);
                writeln!(out, "{text}").map_err(term)?;
                out.flush().map_err(term)?;
            }
            Event::Server(Incoming::Unparsed(raw, why)) => {
                writeln!(
                    out,
                    "(unrecognised line from server: {why}: {})",
                    sanitize(&raw)
                )
                .map_err(term)?;
            }
            Event::Server(Incoming::Garbled) => {
                writeln!(out, "(unreadable line from server skipped)").map_err(term)?;
            }
            Event::ServerEnd(err) => {
                if quit_deadline.is_some() {
                    return Ok(());
                }
                return Err(ClientError::Lost(err.unwrap_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection",
                    )
                })));
            }
            Event::Input(_) | Event::InputEnd if quit_deadline.is_some() => {}
            Event::Input(line) => {
                if let Some(problem) = local_refusal(name, &line) {
                    writeln!(out, "{problem}").map_err(term)?;
                    out.flush().map_err(term)?;
                    continue;
                }
                send_line(stream, &line).map_err(ClientError::Lost)?;
                if ClientCommand::parse(&line) == ClientCommand::Quit {
                    quit_deadline = Some(Instant::now() + QUIT_TIMEOUT);
                }
            }
            Event::InputEnd => {
                send_line(stream, "/quit").map_err(ClientError::Lost)?;
                quit_deadline = Some(Instant::now() + QUIT_TIMEOUT);
            }
        }
    }
}

/// What the client refuses itself, before the server would (RF7).
pub fn local_refusal(own_name: &str, line: &str) -> Option<String> {
    match ClientCommand::parse(line) {
        ClientCommand::Private { to, .. } if name_key(&to) == name_key(own_name) => {
            Some("error: you cannot send a private message to yourself".to_string())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_message_to_self_is_refused_locally_ignoring_case() {
        assert!(local_refusal("Alice", "@alice hi").is_some());
        assert!(local_refusal("Alice", "@ALICE").is_some());
    }

    #[test]
    fn other_lines_pass() {
        assert!(local_refusal("alice", "@bob hi").is_none());
        assert!(local_refusal("alice", "hi @alice").is_none());
        assert!(local_refusal("alice", "/users").is_none());
    }
}
