//! The full-screen client's state and how events change it, free of any terminal or socket so
//! that it can be tested directly.

use std::net::SocketAddr;

use batepapo_protocol::{validate_name, ServerMessage};
use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};

use super::input::InputLine;
use crate::display::{describe, sanitize, Kind};
use crate::plain::local_refusal;

/// How many lines the message pane keeps.
const KEEP_LINES: usize = 5000;

/// What a line in the message pane is, for its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// What this user sent.
    Own,
    /// Another user's public message.
    Public,
    /// A private message, to or from this user.
    Private,
    /// Joins, leaves and user lists.
    Presence,
    /// Errors from the server or the client.
    Error,
    /// Session facts.
    Info,
}

/// One line of the message pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Local time, `HH:MM:SS`.
    pub time: String,
    /// Its kind.
    pub kind: LineKind,
    /// The text, already made safe to print.
    pub text: String,
}

/// A modal dialog; while one is open, it takes every key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialog {
    /// The server could not be reached (RF11): Retry or Quit.
    NotRunning {
        /// What went wrong.
        message: String,
    },
    /// A name is needed, or the last one was refused (RF1, RF2).
    Name {
        /// Why the last name was refused, if it was.
        error: Option<String>,
        /// The name being typed.
        input: InputLine,
    },
    /// The connection was lost: Reconnect or Quit.
    Lost {
        /// What happened.
        message: String,
    },
}

impl Dialog {
    /// The labels of its buttons, left to right; the first is the default.
    pub fn buttons(&self) -> &'static [&'static str] {
        match self {
            Dialog::NotRunning { .. } => &["Retry", "Quit"],
            Dialog::Name { .. } => &["Join", "Quit"],
            Dialog::Lost { .. } => &["Reconnect", "Quit"],
        }
    }
}

/// What the runner must do after an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Connect (again) to the server.
    Connect,
    /// Propose this name.
    Register(String),
    /// Send this line.
    Send(String),
    /// Leave: `/quit`, wait briefly for `BYE`, restore the terminal.
    Quit,
}

/// Where clickable things were drawn last, for the mouse.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hitboxes {
    /// The "Sair" (Quit) button.
    pub quit: Rect,
    /// The open dialog's buttons, in [`Dialog::buttons`] order.
    pub dialog: Vec<Rect>,
    /// The message pane, for the wheel.
    pub messages: Rect,
}

/// The whole screen's state.
#[derive(Debug, Default)]
pub struct App {
    /// The server's address, as given.
    pub server: String,
    /// The registered name, once registered.
    pub name: Option<String>,
    /// The name to register with (from `--name` or the dialog).
    pub wanted_name: Option<String>,
    /// This client's address as the server sees it (RF12).
    pub addr: Option<SocketAddr>,
    /// The message pane.
    pub lines: Vec<Line>,
    /// Who is connected, in join order.
    pub users: Vec<String>,
    /// The input line.
    pub input: InputLine,
    /// How many lines the pane is scrolled up from the bottom.
    pub scroll: usize,
    /// The open dialog.
    pub dialog: Option<Dialog>,
    /// Which dialog button has the focus.
    pub focus: usize,
    /// Where things were drawn.
    pub hitboxes: Hitboxes,
}

/// The local time as `HH:MM:SS`.
pub fn clock() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as libc::time_t)
        .unwrap_or(0);
    // SAFETY: localtime_r writes into the zeroed `tm` we own; both pointers are valid.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&now, &mut tm).is_null() };
    if ok {
        format!("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec)
    } else {
        "--:--:--".to_string()
    }
}

impl App {
    /// A screen for `server`, joining as `name` if given.
    pub fn new(server: String, name: Option<String>) -> App {
        App {
            server,
            wanted_name: name,
            ..App::default()
        }
    }

    /// Adds a line to the message pane.
    pub fn push(&mut self, kind: LineKind, text: impl Into<String>) {
        self.lines.push(Line {
            time: clock(),
            kind,
            text: text.into(),
        });
        if self.lines.len() > KEEP_LINES {
            self.lines.drain(..self.lines.len() - KEEP_LINES);
        }
        if self.scroll > 0 {
            // Keep the view still while the user reads back.
            self.scroll += 1;
        }
    }

    fn open(&mut self, dialog: Dialog) {
        self.dialog = Some(dialog);
        self.focus = 0;
    }

    /// The server could not be reached.
    pub fn connect_failed(&mut self, message: String) {
        self.open(Dialog::NotRunning { message });
    }

    /// A name is needed (none given, or the last was refused).
    pub fn ask_name(&mut self, error: Option<String>) {
        let mut input = InputLine::default();
        for c in self.wanted_name.clone().unwrap_or_default().chars() {
            input.insert(c);
        }
        self.open(Dialog::Name { error, input });
    }

    /// The connection dropped without `BYE`.
    pub fn connection_lost(&mut self, message: String) {
        self.name = None;
        self.users.clear();
        self.push(LineKind::Error, format!("connection lost: {message}"));
        self.open(Dialog::Lost { message });
    }

    /// Registration succeeded.
    pub fn welcome(&mut self, name: String, addr: SocketAddr) {
        self.dialog = None;
        self.push(
            LineKind::Info,
            format!(
                "connected to {} as {}; your address is {addr}",
                self.server,
                sanitize(&name)
            ),
        );
        self.wanted_name = Some(name.clone());
        self.name = Some(name);
        self.addr = Some(addr);
    }

    /// A line from the server.
    pub fn server_message(&mut self, msg: &ServerMessage) {
        match msg {
            ServerMessage::Users(names) => {
                self.users = names.iter().map(|n| sanitize(n)).collect();
            }
            ServerMessage::Join { name, .. } => {
                let name = sanitize(name);
                if !self.users.contains(&name) {
                    self.users.push(name);
                }
            }
            ServerMessage::Leave { name, .. } => {
                let name = sanitize(name);
                self.users.retain(|u| *u != name);
            }
            _ => {}
        }
        // The list itself is on screen; the line for it would be noise.
        if matches!(msg, ServerMessage::Users(_)) {
            return;
        }
        let (kind, text) = describe(msg);
        let kind = match kind {
            Kind::Public => LineKind::Public,
            Kind::Private => LineKind::Private,
            Kind::Presence => LineKind::Presence,
            Kind::Error => LineKind::Error,
            Kind::Info => LineKind::Info,
        };
        self.push(kind, text);
    }

    /// A key press.
    pub fn key(&mut self, key: KeyEvent) -> Option<Action> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && key.code == KeyCode::Char('c') {
            return Some(Action::Quit);
        }
        if self.dialog.is_some() {
            return self.dialog_key(key);
        }
        match key.code {
            KeyCode::Esc => return Some(Action::Quit),
            KeyCode::Enter => return self.submit(),
            KeyCode::Tab => {
                // Oneself is no private-message target (RF7), so not a completion either.
                let others: Vec<String> = self
                    .users
                    .iter()
                    .filter(|u| Some(u.as_str()) != self.name.as_deref())
                    .cloned()
                    .collect();
                self.input.complete(&others);
            }
            KeyCode::Up => self.input.history_up(),
            KeyCode::Down => self.input.history_down(),
            KeyCode::Left => self.input.left(),
            KeyCode::Right => self.input.right(),
            KeyCode::Home => self.input.home(),
            KeyCode::End => self.input.end(),
            KeyCode::Backspace => self.input.backspace(),
            KeyCode::Delete => self.input.delete(),
            KeyCode::PageUp => self.scroll_by(10),
            KeyCode::PageDown => self.scroll_by(-10),
            KeyCode::Char(c) if !ctrl => self.input.insert(c),
            _ => {}
        }
        None
    }

    fn scroll_by(&mut self, delta: isize) {
        let max = self.lines.len().saturating_sub(1);
        self.scroll = (self.scroll as isize + delta).clamp(0, max as isize) as usize;
    }

    fn submit(&mut self) -> Option<Action> {
        let line = self.input.take();
        if line.is_empty() {
            return None;
        }
        if line == "/quit" || line.starts_with("/quit ") {
            return Some(Action::Quit);
        }
        let own = self.name.clone().unwrap_or_default();
        if let Some(problem) = local_refusal(&own, &line) {
            // RF7, shown inline rather than as a pop-up: nothing was sent.
            self.push(LineKind::Error, problem);
            return None;
        }
        self.scroll = 0;
        match batepapo_protocol::ClientCommand::parse(&line) {
            batepapo_protocol::ClientCommand::Private { to, text } => self.push(
                LineKind::Own,
                format!("[private to {}] {}", sanitize(&to), sanitize(&text)),
            ),
            batepapo_protocol::ClientCommand::Public(text) => self.push(
                LineKind::Own,
                format!("{}: {}", sanitize(&own), sanitize(&text)),
            ),
            _ => {}
        }
        Some(Action::Send(line))
    }

    fn dialog_key(&mut self, key: KeyEvent) -> Option<Action> {
        let buttons = self.dialog.as_ref().map_or(0, |d| d.buttons().len());
        match key.code {
            KeyCode::Esc => return Some(Action::Quit),
            KeyCode::Tab | KeyCode::Right => self.focus = (self.focus + 1) % buttons.max(1),
            KeyCode::BackTab | KeyCode::Left
                if !matches!(self.dialog, Some(Dialog::Name { .. })) =>
            {
                self.focus = (self.focus + buttons.max(1) - 1) % buttons.max(1)
            }
            KeyCode::Enter => return self.press(self.focus),
            _ => {}
        }
        match self.dialog.as_mut() {
            Some(Dialog::Name { input, .. }) => match key.code {
                KeyCode::Char(c) => input.insert(c),
                KeyCode::Backspace => input.backspace(),
                KeyCode::Delete => input.delete(),
                KeyCode::Left => input.left(),
                KeyCode::Home => input.home(),
                KeyCode::End => input.end(),
                _ => {}
            },
            Some(Dialog::NotRunning { .. }) | Some(Dialog::Lost { .. }) => match key.code {
                KeyCode::Char('r') | KeyCode::Char('R') => return self.press(0),
                KeyCode::Char('q') | KeyCode::Char('Q') => return self.press(1),
                _ => {}
            },
            None => {}
        }
        None
    }

    /// Presses dialog button `index`.
    fn press(&mut self, index: usize) -> Option<Action> {
        let dialog = self.dialog.clone()?;
        if index == 1 {
            return Some(Action::Quit);
        }
        match dialog {
            Dialog::NotRunning { .. } | Dialog::Lost { .. } => {
                self.dialog = None;
                Some(Action::Connect)
            }
            Dialog::Name { mut input, .. } => {
                let name = input.take();
                if let Err(why) = validate_name(&name) {
                    // RF1, checked before the server is asked.
                    self.open(Dialog::Name {
                        error: Some(why.to_string()),
                        input,
                    });
                    return None;
                }
                self.wanted_name = Some(name.clone());
                self.dialog = None;
                Some(Action::Register(name))
            }
        }
    }

    /// A mouse event, hit-tested against where things were last drawn.
    pub fn mouse(&mut self, ev: MouseEvent) -> Option<Action> {
        let at = Position::new(ev.column, ev.row);
        match ev.kind {
            MouseEventKind::Down(MouseButton::Left) => {
                if self.dialog.is_some() {
                    let hit = self.hitboxes.dialog.iter().position(|r| r.contains(at));
                    return hit.and_then(|i| self.press(i));
                }
                if self.hitboxes.quit.contains(at) {
                    return Some(Action::Quit);
                }
                None
            }
            MouseEventKind::ScrollUp if self.hitboxes.messages.contains(at) => {
                self.scroll_by(3);
                None
            }
            MouseEventKind::ScrollDown if self.hitboxes.messages.contains(at) => {
                self.scroll_by(-3);
                None
            }
            _ => None,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyEventKind;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new_with_kind(code, KeyModifiers::NONE, KeyEventKind::Press)
    }

    fn type_text(app: &mut App, text: &str) {
        for c in text.chars() {
            app.key(key(KeyCode::Char(c)));
        }
    }

    /// A screen registered as alice, with bob connected too.
    pub(crate) fn chatting() -> App {
        let mut app = App::new("127.0.0.1:7777".into(), Some("alice".into()));
        app.welcome("alice".into(), "127.0.0.1:5000".parse().unwrap());
        app.server_message(&ServerMessage::Users(vec!["alice".into(), "bob".into()]));
        app
    }

    #[test]
    fn join_and_leave_keep_the_user_list() {
        let mut app = chatting();
        app.server_message(&ServerMessage::Join {
            name: "carol".into(),
            addr: "127.0.0.1:6000".parse().unwrap(),
        });
        assert_eq!(app.users, ["alice", "bob", "carol"]);
        app.server_message(&ServerMessage::Leave {
            name: "bob".into(),
            addr: "127.0.0.1:5001".parse().unwrap(),
        });
        assert_eq!(app.users, ["alice", "carol"]);
        assert!(app
            .lines
            .iter()
            .any(|l| l.text == "carol joined from 127.0.0.1:6000"));
    }

    #[test]
    fn enter_sends_the_line_and_shows_it_as_own() {
        let mut app = chatting();
        type_text(&mut app, "hello");
        assert_eq!(
            app.key(key(KeyCode::Enter)),
            Some(Action::Send("hello".into()))
        );
        let last = app.lines.last().unwrap();
        assert_eq!(
            (last.kind, last.text.as_str()),
            (LineKind::Own, "alice: hello")
        );
    }

    #[test]
    fn private_message_to_self_is_an_inline_error_and_not_sent() {
        let mut app = chatting();
        type_text(&mut app, "@ALICE hi");
        assert_eq!(app.key(key(KeyCode::Enter)), None);
        assert_eq!(app.lines.last().unwrap().kind, LineKind::Error);
        assert!(app.dialog.is_none());
    }

    #[test]
    fn quit_command_escape_and_ctrl_c_all_quit() {
        let mut app = chatting();
        type_text(&mut app, "/quit");
        assert_eq!(app.key(key(KeyCode::Enter)), Some(Action::Quit));
        assert_eq!(app.key(key(KeyCode::Esc)), Some(Action::Quit));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(app.key(ctrl_c), Some(Action::Quit));
    }

    #[test]
    fn not_running_dialog_retries_or_quits() {
        let mut app = App::new("127.0.0.1:1".into(), None);
        app.connect_failed("not running".into());
        assert_eq!(app.key(key(KeyCode::Enter)), Some(Action::Connect));
        assert!(app.dialog.is_none());
        app.connect_failed("not running".into());
        assert_eq!(app.key(key(KeyCode::Char('q'))), Some(Action::Quit));
    }

    #[test]
    fn name_dialog_checks_rf1_before_asking_the_server() {
        let mut app = App::new("s".into(), None);
        app.ask_name(None);
        type_text(&mut app, "two words");
        assert_eq!(app.key(key(KeyCode::Enter)), None);
        match &app.dialog {
            Some(Dialog::Name { error: Some(e), .. }) => assert!(e.contains("spaces"), "{e}"),
            other => panic!("{other:?}"),
        }
        for _ in 0..9 {
            app.key(key(KeyCode::Backspace));
        }
        type_text(&mut app, "dora");
        assert_eq!(
            app.key(key(KeyCode::Enter)),
            Some(Action::Register("dora".into()))
        );
    }

    #[test]
    fn clicking_the_quit_button_quits() {
        let mut app = chatting();
        app.hitboxes.quit = Rect::new(70, 0, 8, 1);
        let click = MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: 72,
            row: 0,
            modifiers: KeyModifiers::NONE,
        };
        assert_eq!(app.mouse(click), Some(Action::Quit));
    }

    #[test]
    fn tab_never_completes_to_oneself() {
        let mut app = chatting();
        type_text(&mut app, "@al");
        app.key(key(KeyCode::Tab));
        assert_eq!(app.input.text(), "@al");
    }

    #[test]
    fn tab_completes_from_the_user_list() {
        let mut app = chatting();
        type_text(&mut app, "@b");
        app.key(key(KeyCode::Tab));
        assert_eq!(app.input.text(), "@bob ");
    }
}
