//! What the cases ask of a client, whichever level drives it: the toolkit level (the hook in a
//! tkinter client, [`super::session::Session`]) or the X11 level (keys, clicks and OCR, for
//! any toolkit, [`super::x11_session::X11Session`]).

use std::process::ExitStatus;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::server::FakeServer;
use super::session::Session;
use crate::i18n::{catalog, Text};
use crate::t;

/// A client under test.
pub trait Client {
    /// The grader's stand-in server, when the client is served.
    fn server(&self) -> Option<&FakeServer>;
    /// Waits until the window is up and takes input; why not.
    fn window_up(&mut self, within: Duration) -> Result<(), Text>;
    /// Types `text` into the message field and sends it (Enter, or the send button).
    fn type_and_send(&mut self, text: &str) -> Result<(), String>;
    /// Clicks the button whose text is one of `words`; what it said.
    fn click(&mut self, words: &[&str]) -> Result<String, String>;
    /// Every text the client's windows show now.
    fn window_text(&mut self) -> Result<String, String>;
    /// Pop-ups (message boxes, new windows) so far.
    fn popups(&mut self) -> usize;
    /// Waits up to `within` for a pop-up; whether one came.
    fn wait_popup(&mut self, within: Duration) -> bool;
    /// Whether the process exited, and how.
    fn exited(&mut self) -> Option<ExitStatus>;
    /// The end of its stderr.
    fn stderr_end(&self) -> String;
    /// What the grader saw happen (questions answered, pop-ups, connections), for the
    /// transcript.
    fn happenings(&mut self) -> Vec<String>;
    /// Looks at the windows once, answering what they ask (the X11 level has no hook to do
    /// it as they ask).
    fn pump(&mut self) {}
}

/// Words of a button that leaves (the assignment's "Sair" first).
pub const QUIT_WORDS: [&str; 6] = ["sair", "quit", "exit", "desconectar", "logout", "leave"];

/// Words of a button that sends.
pub const SEND_WORDS: [&str; 4] = ["enviar", "send", "mandar", ">"];

impl Client for Session {
    fn server(&self) -> Option<&FakeServer> {
        self.server.as_ref()
    }

    fn window_up(&mut self, within: Duration) -> Result<(), Text> {
        let deadline = Instant::now() + within;
        if self.wait_event(within, |v| v["ev"] == "loop").is_some() {
            // Its event loop ran once; it takes commands when a window still lives (a login
            // window may be gone, and the chat window not made yet).
            loop {
                let ready = self.command(json!({"cmd": "ready"}), Duration::from_secs(1));
                if ready.is_ok_and(|r| r["ready"] == true) {
                    return Ok(());
                }
                if Instant::now() >= deadline || self.exited().is_some() {
                    break;
                }
                // The hook has no event for "ready again": ask again in a tenth of a second.
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Err(if self.saw("window") {
            catalog::C_NO_MAINLOOP.text()
        } else {
            t!(catalog::C_NO_WINDOW, format!("{:.0}", within.as_secs_f64()))
        })
    }

    fn type_and_send(&mut self, text: &str) -> Result<(), String> {
        let cmd = json!({"cmd": "type", "text": text, "send": SEND_WORDS});
        let reply = self.command(cmd, Duration::from_secs(3))?;
        match reply["how"].as_str() {
            Some("enter") | Some("button") => Ok(()),
            other => Err(other.unwrap_or("").to_string()),
        }
    }

    fn click(&mut self, words: &[&str]) -> Result<String, String> {
        let reply = self.command(
            json!({"cmd": "click", "words": words}),
            Duration::from_secs(3),
        )?;
        Ok(reply["clicked"].as_str().unwrap_or("").to_string())
    }

    fn window_text(&mut self) -> Result<String, String> {
        Session::window_text(self)
    }

    fn popups(&mut self) -> usize {
        self.events()
            .iter()
            .filter(|v| v["ev"] == "popup" || v["ev"] == "toplevel")
            .count()
    }

    fn wait_popup(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            // A login form may stand between the client and its connection.
            Client::pump(self);
            let left = deadline.saturating_duration_since(Instant::now());
            let slice = left.min(Duration::from_millis(200));
            let popup = |v: &Value| v["ev"] == "popup" || v["ev"] == "toplevel";
            if self.wait_event(slice, popup).is_some() {
                return true;
            }
            if left <= slice {
                return false;
            }
        }
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        Session::exited(self)
    }

    fn stderr_end(&self) -> String {
        Session::stderr_end(self)
    }

    fn pump(&mut self) {
        // Until the client has connected (or, served, given its name), a login form in its
        // window gets the next name, once a second at most.
        let waiting = match &self.server {
            Some(s) => s.seen().name.is_none(),
            None => !self.saw("connect"),
        };
        if !waiting || !self.saw("loop") || self.exited().is_some() {
            return;
        }
        if self
            .last_login
            .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
        {
            return;
        }
        self.last_login = Some(Instant::now());
        let _ = self.command(json!({"cmd": "login"}), Duration::from_secs(2));
    }

    fn happenings(&mut self) -> Vec<String> {
        self.events()
            .iter()
            .filter_map(|v| {
                Some(match v["ev"].as_str()? {
                    "popup" => format!(
                        "pop-up {}: {} / {}",
                        v["kind"].as_str().unwrap_or(""),
                        v["title"].as_str().unwrap_or(""),
                        v["message"].as_str().unwrap_or("")
                    ),
                    "askstring" | "input" | "askfloat" => format!(
                        "asked ({}), answered {}",
                        v["prompt"].as_str().unwrap_or(""),
                        v["answer"].as_str().unwrap_or("")
                    ),
                    "askinteger" => format!(
                        "asked for a number ({}), answered {}",
                        v["prompt"].as_str().unwrap_or(""),
                        v["answer"].as_str().unwrap_or("")
                    ),
                    "login" => format!(
                        "typed {} into the window's form and clicked {:?}",
                        v["answer"].as_str().unwrap_or(""),
                        v["button"].as_str().unwrap_or("")
                    ),
                    "connect" => format!("connects to {}", v["to"]),
                    "exception" => format!("exception in a callback: {}", v["text"]),
                    "toplevel" => "opened a new window".to_string(),
                    _ => return None,
                })
            })
            .collect()
    }
}
