//! Full-screen mode (ratatui + crossterm): message pane, live user list, input line with
//! history and `@name` completion, a status bar with the user's own address (RF12), a "Sair"
//! button (RF9), and pop-ups for a server that is not running (RF11), a refused name (RF1,
//! RF2) and a lost connection.
//!
//! Parts: [`app`] holds the state and reacts to events (no I/O, so it is unit-tested);
//! [`ui`] draws it and reports where the buttons are; [`input`] is the editable line;
//! [`terminal`] enters and always restores the terminal. [`run`] wires them to the socket: a
//! terminal-input thread and a receiving thread (RF4) feed one channel, and the loop applies
//! each event, carries out the resulting [`app::Action`], and redraws.

pub mod app;
pub mod input;
pub mod terminal;
pub mod ui;

use std::net::TcpStream;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use batepapo_protocol::ServerMessage;
use ratatui::crossterm::event::{Event as TermEvent, KeyEventKind};

use crate::connection::{connect, send_line, Incoming, ServerReader};
use crate::registration::{expect_hello, propose, Attempt};
use crate::{ClientError, Config, CONNECT_TIMEOUT, QUIT_TIMEOUT};
use app::{Action, App};

/// Everything the loop waits for.
enum Event {
    Terminal(TermEvent),
    /// A server line, tagged with the connection it came from.
    Server(u64, Incoming),
    /// A connection ended, with the reason when it broke.
    Ended(u64, Option<String>),
}

impl From<TermEvent> for Event {
    fn from(e: TermEvent) -> Self {
        Event::Terminal(e)
    }
}

/// A connection that has said HELLO but is not registered yet.
struct Handshake {
    stream: TcpStream,
    reader: ServerReader<TcpStream>,
}

struct Runner {
    app: App,
    tx: Sender<Event>,
    /// Bumped on every connection, so events from an old one are ignored.
    generation: u64,
    handshake: Option<Handshake>,
    chat: Option<TcpStream>,
}

/// Runs the full-screen client until the user leaves.
pub fn run(config: Config) -> Result<(), ClientError> {
    let mut term = terminal::enter().map_err(ClientError::Terminal)?;
    let (tx, rx) = mpsc::channel();
    let result = terminal::spawn_input(tx.clone())
        .map_err(ClientError::Terminal)
        .and_then(|()| {
            let mut runner = Runner {
                app: App::new(config.server.clone(), config.name.clone()),
                tx,
                generation: 0,
                handshake: None,
                chat: None,
            };
            runner.main_loop(&mut term, &rx)
        });
    terminal::restore();
    let _ = term.show_cursor();
    result
}

impl Runner {
    fn main_loop(
        &mut self,
        term: &mut terminal::Term,
        rx: &Receiver<Event>,
    ) -> Result<(), ClientError> {
        let mut next = Some(Action::Connect);
        loop {
            while let Some(action) = next.take() {
                if action == Action::Quit {
                    self.leave(rx);
                    return Ok(());
                }
                next = self.carry_out(action);
            }
            term.draw(|f| self.app.hitboxes = ui::draw(f, &self.app))
                .map_err(ClientError::Terminal)?;
            let Ok(event) = rx.recv() else { return Ok(()) };
            next = match event {
                Event::Terminal(TermEvent::Key(k)) if k.kind != KeyEventKind::Release => {
                    self.app.key(k)
                }
                Event::Terminal(TermEvent::Mouse(m)) => self.app.mouse(m),
                Event::Terminal(_) => None,
                Event::Server(gen, incoming) if gen == self.generation => {
                    self.server(incoming);
                    None
                }
                Event::Ended(gen, why) if gen == self.generation && self.chat.is_some() => {
                    self.chat = None;
                    self.app.connection_lost(
                        why.unwrap_or_else(|| "the server closed the connection".into()),
                    );
                    None
                }
                _ => None,
            };
        }
    }

    fn server(&mut self, incoming: Incoming) {
        match incoming {
            Incoming::Message(ServerMessage::Bye { text }) => {
                // The server is going away: say so, and offer to reconnect.
                self.chat = None;
                self.app.connection_lost(format!(
                    "the server ended the session: {}",
                    crate::display::sanitize(&text)
                ));
            }
            Incoming::Message(msg) => self.app.server_message(&msg),
            Incoming::Unparsed(raw, why) => self.app.push(
                app::LineKind::Error,
                format!(
                    "unrecognised line from server ({why}): {}",
                    crate::display::sanitize(&raw)
                ),
            ),
            Incoming::Garbled => self
                .app
                .push(app::LineKind::Error, "unreadable line from server skipped"),
        }
    }

    fn carry_out(&mut self, action: Action) -> Option<Action> {
        match action {
            Action::Connect => self.connect(),
            Action::Register(name) => self.register(name),
            Action::Send(line) => {
                if let Some(stream) = &self.chat {
                    if let Err(e) = send_line(stream, &line) {
                        self.chat = None;
                        self.app.connection_lost(e.to_string());
                    }
                }
                None
            }
            Action::Quit => Some(Action::Quit),
        }
    }

    fn connect(&mut self) -> Option<Action> {
        self.generation += 1;
        self.chat = None;
        let attempt = connect(&self.app.server, CONNECT_TIMEOUT).and_then(|stream| {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let clone = stream.try_clone().map_err(ClientError::Lost)?;
            let mut reader = ServerReader::new(clone);
            expect_hello(&mut reader, &self.app.server)?;
            Ok(Handshake { stream, reader })
        });
        match attempt {
            Ok(h) => {
                self.handshake = Some(h);
                match self.app.wanted_name.clone() {
                    Some(name) => Some(Action::Register(name)),
                    None => {
                        self.app.ask_name(None);
                        None
                    }
                }
            }
            Err(e) => {
                self.app.connect_failed(error_text(&e));
                None
            }
        }
    }

    fn register(&mut self, name: String) -> Option<Action> {
        let Some(mut h) = self.handshake.take() else {
            return Some(Action::Connect);
        };
        match propose(&h.stream, &mut h.reader, &self.app.server, &name) {
            Ok(Attempt::Welcome { name, addr }) => {
                let _ = h.stream.set_read_timeout(None);
                self.app.welcome(name, addr);
                self.spawn_receiver(h.reader);
                self.chat = Some(h.stream);
            }
            Ok(Attempt::Refused { code, reason }) => {
                self.handshake = Some(h);
                self.app.ask_name(Some(format!("{reason} ({code})")));
            }
            Err(e) => self.app.connect_failed(error_text(&e)),
        }
        None
    }

    fn spawn_receiver(&self, mut reader: ServerReader<TcpStream>) {
        let tx = self.tx.clone();
        let gen = self.generation;
        let _ = std::thread::Builder::new()
            .name("receiver".into())
            .spawn(move || loop {
                match reader.next_message() {
                    Ok(Some(incoming)) => {
                        if tx.send(Event::Server(gen, incoming)).is_err() {
                            return;
                        }
                    }
                    Ok(None) => {
                        let _ = tx.send(Event::Ended(gen, None));
                        return;
                    }
                    Err(e) => {
                        let _ = tx.send(Event::Ended(gen, Some(e.to_string())));
                        return;
                    }
                }
            });
    }

    /// Sends `/quit` and waits briefly for the `BYE` (RF9).
    fn leave(&mut self, rx: &Receiver<Event>) {
        let Some(stream) = self.chat.take() else {
            return;
        };
        if send_line(&stream, "/quit").is_err() {
            return;
        }
        let deadline = Instant::now() + QUIT_TIMEOUT;
        while let Ok(ev) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            match ev {
                Event::Server(gen, Incoming::Message(ServerMessage::Bye { .. }))
                    if gen == self.generation =>
                {
                    return
                }
                Event::Ended(gen, _) if gen == self.generation => return,
                _ => {}
            }
        }
    }
}

/// An error with its causes, for a pop-up.
fn error_text(e: &ClientError) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}
