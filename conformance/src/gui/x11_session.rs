//! One run of a client at the X11 level: the client (a Java Swing one, say) on the virtual
//! display, its sockets sent through the grader's SOCKS proxy to the stand-in server, its
//! questions answered by typing into the dialog that asks, and its windows read by OCR.

use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::drive::{Client, SEND_WORDS};
use super::server::FakeServer;
use super::session::Connect;
use super::socks::Socks;
use super::x11::{self, Win};
use super::GuiError;
use crate::i18n::{catalog, Text};
use crate::t;

/// Words of a dialog that asks for something (it has a way to cancel).
const QUESTION_WORDS: [&str; 3] = ["cancel", "cancelar", "nome"];

/// A client driven by keys, clicks and OCR.
pub struct X11Session {
    child: Child,
    server: Option<FakeServer>,
    _socks: Socks,
    display: String,
    screen: PathBuf,
    scratch: PathBuf,
    names: Vec<String>,
    given: usize,
    /// Every window seen, by id, and whether it asked a question.
    seen: Vec<(u64, bool)>,
    /// Questions answered: the window, the name typed and when.
    answered: Vec<(u64, String, Instant)>,
    main: Option<Win>,
    popups: usize,
    log: Vec<String>,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// Whether it is a JVM (see [`X11Session::is_jvm`]).
    jvm: std::cell::Cell<bool>,
}

/// Whether a word the OCR read is one of `words`, or one cut short ("Sai" for "Sair", three
/// letters at least).
fn says(read: &str, words: &[&str]) -> bool {
    let t = read.to_lowercase();
    let t = t.trim_matches(|c: char| !c.is_alphanumeric());
    words
        .iter()
        .any(|x| t.starts_with(x) || (t.chars().count() >= 3 && x.starts_with(t)))
}

/// Gives window `id` the keyboard, unless the client is a JVM (see [`X11Session::focus`]).
fn focus(display: &str, jvm: bool, id: u64) {
    if !jvm {
        x11::focus(display, id);
    }
}

impl X11Session {
    /// Starts `command` on `display` (whose screen image is `screen`).
    pub fn start(
        command: &str,
        dir: Option<&Path>,
        (display, screen): (&str, &Path),
        connect: Connect,
        names: &[&str],
        fixed: Option<std::net::SocketAddr>,
    ) -> Result<X11Session, GuiError> {
        // The previous client's windows go a moment after it: the next client may be given
        // their ids again, so they must be gone before it starts.
        let clear = Instant::now() + Duration::from_secs(3);
        while !x11::windows(display).is_empty() && Instant::now() < clear {
            std::thread::sleep(Duration::from_millis(50));
        }
        let server = super::session::stand_in(connect, fixed)?;
        let socks = Socks::start(server.as_ref().map(FakeServer::addr)).map_err(GuiError::Io)?;
        let java = format!(
            "-DsocksProxyHost=127.0.0.1 -DsocksProxyPort={} -DsocksNonProxyHosts= \
             -Djava.net.preferIPv4Stack=true",
            socks.addr().port()
        );
        let env = [("JAVA_TOOL_OPTIONS", java)];
        let (child, stderr) = super::session::spawn_client(command, dir, display, &env)?;
        let scratch = std::env::temp_dir().join(format!(
            "batepapo-ocr-{}-{}.ppm",
            std::process::id(),
            child.id()
        ));
        // Windows still there (a previous client's that would not close) are not this one's.
        let seen = x11::windows(display)
            .into_iter()
            .map(|w| (w.id, false))
            .collect();
        Ok(X11Session {
            child,
            server,
            _socks: socks,
            display: display.to_string(),
            screen: screen.to_path_buf(),
            scratch,
            names: names.iter().map(|n| n.to_string()).collect(),
            given: 0,
            seen,
            answered: Vec::new(),
            main: None,
            popups: 0,
            log: Vec::new(),
            stderr,
            jvm: std::cell::Cell::new(false),
        })
    }

    /// Where the grader's SOCKS proxy (for a JVM's sockets) listens.
    pub fn socks_addr(&self) -> std::net::SocketAddr {
        self._socks.addr()
    }

    /// Gives window `id` the keyboard, as a toolkit other than Java's needs (Tk's dialogs take
    /// no keys from the pointer's window alone); a JVM's windows take their keys through focus
    /// windows of their own, which an outright focus would bypass.
    fn focus(&self, id: u64) {
        focus(&self.display, self.is_jvm(), id);
    }

    /// Whether the client is a JVM: it says so on stderr as it starts (once seen, kept, as the
    /// kept stderr is only its end).
    fn is_jvm(&self) -> bool {
        if !self.jvm.get() {
            let said = self
                .stderr
                .lock()
                .is_ok_and(|e| String::from_utf8_lossy(&e).contains(super::session::JVM_NOTE));
            self.jvm.set(said);
        }
        self.jvm.get()
    }

    fn words(&self, win: &Win) -> Vec<x11::Word> {
        x11::read(&self.screen, win, &self.scratch)
    }

    /// What a new window says once it is drawn: a window is drawn a moment after it is
    /// mapped, and a part at a time, so it is read until two readings agree (1.5 s at most).
    fn drawn(&self, win: &Win) -> Vec<x11::Word> {
        let deadline = Instant::now() + Duration::from_millis(1500);
        let text = |w: &[x11::Word]| w.iter().map(|w| w.text.clone()).collect::<Vec<_>>();
        let mut last = self.words(win);
        loop {
            if Instant::now() >= deadline {
                return last;
            }
            let now = self.words(win);
            if !now.is_empty() && text(&now) == text(&last) {
                return now;
            }
            last = now;
        }
    }

    /// Looks at the windows once: answers a new question with the next name, counts a new
    /// message as a pop-up (and closes it, so that the main window takes input again), and
    /// takes a large window as the main one.
    fn look(&mut self) {
        let windows = x11::windows(&self.display);
        let jvm = self.is_jvm();
        // A question still open a while after its answer did not get it (the keys went
        // before the dialog had the focus): answer again.
        for (id, name, at) in self.answered.iter_mut() {
            if at.elapsed() < Duration::from_millis(1500) {
                continue;
            }
            if let Some(win) = windows.iter().find(|w| w.id == *id) {
                x11::click(&self.display, win.x + 8, win.y + 8);
                focus(&self.display, jvm, win.id);
                x11::key(&self.display, "ctrl+a");
                x11::type_text(&self.display, name);
                x11::key(&self.display, "Return");
                self.log.push(format!(
                    "dialog {:?} still open; typed {name} again",
                    win.name
                ));
                *at = Instant::now();
            }
        }
        for win in windows {
            if self.seen.iter().any(|(id, _)| *id == win.id) {
                continue;
            }
            let words = self.drawn(&win);
            let said: Vec<String> = words.iter().map(|w| w.text.to_lowercase()).collect();
            let question = said
                .iter()
                .any(|w| QUESTION_WORDS.iter().any(|q| w.starts_with(q)));
            let large = win.w >= 320 && win.h >= 200;
            self.seen.push((win.id, question && !large));
            if large {
                self.log.push(format!("window {:?} appeared", win.name));
                self.main = Some(win);
            } else if question {
                let name = self.names[self.given.min(self.names.len() - 1)].clone();
                self.given += 1;
                self.log.push(format!(
                    "dialog {:?} asked {:?}; typed {name}",
                    win.name,
                    said.join(" ")
                ));
                x11::click(&self.display, win.x + 8, win.y + 8);
                self.focus(win.id);
                x11::type_text(&self.display, &name);
                x11::key(&self.display, "Return");
                self.answered.push((win.id, name, Instant::now()));
            } else {
                self.popups += 1;
                self.log.push(format!(
                    "pop-up {:?}: {}",
                    win.name,
                    words
                        .iter()
                        .map(|w| w.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                ));
                x11::click(&self.display, win.x + 8, win.y + 8);
                self.focus(win.id);
                x11::key(&self.display, "Return");
            }
        }
    }

    /// Whether any window of its own (a question, a pop-up, its main window) appears within
    /// `within`.
    pub fn shows_a_window(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            self.look();
            if self.main.is_some() || !self.answered.is_empty() || self.popups > 0 {
                return true;
            }
            if Instant::now() >= deadline || self.child.try_wait().ok().flatten().is_some() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn main_window(&mut self) -> Result<Win, String> {
        self.main
            .clone()
            .ok_or_else(|| "no main window".to_string())
    }
}

impl Client for X11Session {
    fn server(&self) -> Option<&FakeServer> {
        self.server.as_ref()
    }

    fn window_up(&mut self, within: Duration) -> Result<(), Text> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            self.look();
            if self.main.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(t!(
            catalog::C_NO_WINDOW,
            format!("{:.0}", within.as_secs_f64())
        ))
    }

    fn type_and_send(&mut self, text: &str) -> Result<(), String> {
        let main = self.main_window()?;
        // A click where nothing takes the focus gives the window the keyboard, and the window
        // gives it to its field; when a send button is read, the click goes just left of it,
        // where the field usually is.
        let words = self.words(&main);
        let send = words.iter().find(|w| {
            let t = w.text.to_lowercase();
            SEND_WORDS.iter().any(|s| t.starts_with(s))
        });
        match send {
            Some(b) => x11::click(&self.display, (b.x - 60).max(main.x + 4), b.y),
            None => x11::click(&self.display, main.x + 4, main.y + 4),
        }
        self.focus(main.id);
        x11::type_text(&self.display, text);
        x11::key(&self.display, "Return");
        Ok(())
    }

    fn click(&mut self, words: &[&str]) -> Result<String, String> {
        let main = self.main_window()?;
        let seen = self.words(&main);
        let lower = |w: &x11::Word| w.text.to_lowercase();
        // The word itself, else the last word the OCR cut short ("Sai" for "Sair"): a button
        // sits below the chat, whose text may hold the same letters.
        let found = seen
            .iter()
            .find(|w| words.iter().any(|x| lower(w).starts_with(x)))
            .or_else(|| seen.iter().rev().find(|w| says(&w.text, words)));
        match found {
            Some(w) => {
                x11::click(&self.display, w.x, w.y);
                Ok(w.text.clone())
            }
            None => Err(format!(
                "the window reads {:?}",
                seen.iter()
                    .map(|w| w.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            )),
        }
    }

    fn window_text(&mut self) -> Result<String, String> {
        self.look();
        let main = self.main_window()?;
        Ok(x11::text(&self.screen, &main, &self.scratch))
    }

    fn popups(&mut self) -> usize {
        self.look();
        self.popups
    }

    fn wait_popup(&mut self, within: Duration) -> bool {
        let before = self.popups;
        let deadline = Instant::now() + within;
        loop {
            self.look();
            if self.popups > before {
                return true;
            }
            if Instant::now() >= deadline || self.child.try_wait().ok().flatten().is_some() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    fn stderr_end(&self) -> String {
        super::session::stderr_end(&self.stderr)
    }

    fn happenings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.log)
    }

    fn pump(&mut self) {
        self.look();
    }
}

impl Drop for X11Session {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the process group this session created; no memory is involved.
        unsafe {
            libc::kill(-(self.child.id() as i32), libc::SIGKILL);
        }
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.scratch);
    }
}
