//! What happened to the server under test, as a student would want it said.
//!
//! A [`Watch`] is shared by the grader and every client of a case. The process monitor of a
//! spawned server marks it when the process exits. A case that waits for something checks the
//! watch on every wake-up, so once its server is known to be dead it fails at once with the
//! reason, instead of waiting out its timeouts; the grader waits on it for an exit it expects.
//! What the health check finds after a failed case (stopped accepting or relaying) becomes a
//! [`Finding`] directly.

use std::fmt;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::i18n::{catalog, Msg, Text};
use crate::t;

/// How the server broke.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Broke {
    /// The process ended.
    Exited {
        /// Its exit status, as the OS words it ("exit status: 1", "signal: 11").
        status: String,
        /// The last lines of its stderr.
        stderr: String,
        /// The limit it ran into, if any ("it used up its 1024 MB of memory").
        limit: Option<Text>,
    },
    /// The process lives, but connections are refused or never accepted.
    StoppedAccepting {
        /// What was seen ("connections are refused", "a connection waited 2 s unaccepted").
        seen: Text,
    },
    /// Connections are accepted, but nothing reaches the users.
    StoppedRelaying {
        /// How long the users waited, in seconds.
        seconds: f64,
        /// Whether they got nothing at all (not even a welcome).
        silent: bool,
    },
}

impl Broke {
    /// A short name for tables: CRASHED, STOPPED ACCEPTING, FROZE.
    pub fn name(&self) -> &'static str {
        self.label().en
    }

    /// [`Broke::name`], translatable.
    pub fn label(&self) -> Msg {
        match self {
            Broke::Exited { .. } => catalog::BROKE_CRASHED,
            Broke::StoppedAccepting { .. } => catalog::BROKE_STOPPED_ACCEPTING,
            Broke::StoppedRelaying { .. } => catalog::BROKE_FROZE,
        }
    }

    /// What happened, in a student's words.
    pub fn text(&self) -> Text {
        self.said(Text::data(""))
    }

    /// What happened and `when` (a leading space, or nothing).
    fn said(&self, when: Text) -> Text {
        match self {
            Broke::Exited {
                status,
                stderr,
                limit,
            } => {
                let mut t = t!(catalog::SERVER_EXITED, plain_status(status), when);
                if let Some(l) = limit {
                    t = t!(catalog::AT_SIGN_JOIN, t, t!(catalog::AT_LIMIT, l.clone()));
                }
                if !stderr.trim().is_empty() {
                    let end = t!(catalog::STDERR_ENDS, stderr_end(stderr));
                    t = t!(catalog::AT_SIGN_JOIN, t, end);
                }
                t
            }
            Broke::StoppedAccepting { seen } => t!(catalog::STOPPED_ACCEPTING, when, seen.clone()),
            Broke::StoppedRelaying { seconds, silent } => t!(
                catalog::STOPPED_RELAYING,
                when,
                relay_words(*silent),
                format!("{seconds:.0}")
            ),
        }
    }

    /// Whether `text` is a break's own description (so nothing need be said before it).
    pub fn describes(text: &Text) -> bool {
        [
            catalog::SERVER_EXITED,
            catalog::STOPPED_ACCEPTING,
            catalog::STOPPED_RELAYING,
            catalog::AT_SIGN_JOIN,
        ]
        .into_iter()
        .any(|m| text.is(m))
    }
}

impl fmt::Display for Broke {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.text())
    }
}

/// What set a break off, as far as the grader can tell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// A user had just disconnected (the most common student bug).
    Disconnect,
    /// It happened during a case (named by its title), with no disconnect before it.
    During(Text),
}

/// A finding about the server itself, apart from any requirement's cases.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// How it broke.
    pub broke: Broke,
    /// What set it off.
    pub trigger: Trigger,
    /// The cases in which it was seen.
    pub cases: Vec<String>,
    /// The requirements it fails besides the cases that saw it (RF8 and RF10 for a server that
    /// breaks when a user leaves).
    pub counts_against: Vec<String>,
    /// The finding in a student's words.
    pub text: Text,
}

impl Finding {
    /// A finding of `broke`, set off by `trigger`, first seen in case `case`.
    pub fn new(broke: Broke, trigger: Trigger, case: &str) -> Finding {
        let when = match &trigger {
            Trigger::Disconnect => catalog::WHEN_DISCONNECT.text(),
            Trigger::During(what) => t!(catalog::DURING, what.clone()),
        };
        let counts_against = match trigger {
            Trigger::Disconnect => vec!["RF8".to_string(), "RF10".to_string()],
            Trigger::During(_) => Vec::new(),
        };
        let text = broke.said(when);
        Finding {
            broke,
            trigger,
            cases: vec![case.to_string()],
            counts_against,
            text,
        }
    }

    /// Whether `other` is the same finding seen again (in another case).
    pub fn same_as(&self, other: &Finding) -> bool {
        self.broke.name() == other.broke.name() && self.trigger == other.trigger
    }
}

fn relay_words(silent: bool) -> Msg {
    if silent {
        catalog::RELAY_SILENT
    } else {
        catalog::RELAY_UNTOLD
    }
}

/// "exit status: 1" as "with status 1", "signal: 11 (SIGSEGV)" as "killed by signal 11
/// (SIGSEGV)".
fn plain_status(status: &str) -> Text {
    if let Some(code) = status.strip_prefix("exit status: ") {
        t!(catalog::WITH_STATUS, code)
    } else if let Some(sig) = status.strip_prefix("signal: ") {
        t!(catalog::KILLED_BY_SIGNAL, sig)
    } else {
        Text::data(status)
    }
}

/// The last few lines of a stderr, on one line.
pub fn stderr_end(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let from = lines.len().saturating_sub(4);
    let mut shown: Vec<&str> = lines[from..].iter().map(|l| l.trim()).collect();
    // A long trace (a Java stack overflow) ends far from the line that names the error.
    let named = lines.iter().rposition(|l| crate::spawn::names_an_error(l));
    if let Some(i) = named.filter(|&i| i < from) {
        shown.splice(0..shown.len().min(2), [lines[i].trim(), "..."]);
    }
    shown.join(" | ")
}

/// The state of one server, shared by everyone who talks to it.
#[derive(Debug, Default)]
pub struct Watch {
    state: Mutex<Option<(Broke, Instant)>>,
    marked: Condvar,
}

impl Watch {
    /// A watch on a server that is fine so far.
    pub fn new() -> Watch {
        Watch::default()
    }

    /// Marks the server broken (the first reason stays).
    pub fn mark(&self, broke: Broke) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.is_none() {
            *s = Some((broke, Instant::now()));
            self.marked.notify_all();
        }
    }

    /// How the server broke, if it did, and when that was seen.
    pub fn broke(&self) -> Option<(Broke, Instant)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// [`Watch::broke`], waiting up to `within` for it to be marked.
    pub fn wait(&self, within: Duration) -> Option<(Broke, Instant)> {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (s, _) = self
            .marked
            .wait_timeout_while(s, within, |s| s.is_none())
            .unwrap_or_else(|e| e.into_inner());
        s.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crash_on_disconnect_counts_against_leaving_and_staying_up() {
        let f = Finding::new(
            Broke::Exited {
                status: "exit status: 1".into(),
                stderr: "Error: write EPIPE\n".into(),
                limit: None,
            },
            Trigger::Disconnect,
            "P-RF5-01",
        );
        assert_eq!(
            f.text.to_string(),
            "the server exited (with status 1) when a user left; its stderr ends: Error: write EPIPE"
        );
        assert_eq!(f.counts_against, ["RF8", "RF10"]);
    }

    #[test]
    fn a_crash_on_disconnect_is_said_in_portuguese_too() {
        let f = Finding::new(
            Broke::Exited {
                status: "exit status: 1".into(),
                stderr: String::new(),
                limit: Some(t!(catalog::USED_UP_MEMORY, 1024usize)),
            },
            Trigger::Disconnect,
            "P-RF5-01",
        );
        assert_eq!(
            f.text.render(crate::i18n::Lang::PtBr),
            "o servidor terminou (com status 1) quando um usuário saiu: ele esgotou seus 1024 MB de memória"
        );
        assert!(f.text.untranslated().is_empty());
    }

    #[test]
    fn a_freeze_during_a_case_names_the_case_and_counts_against_nothing_more() {
        let f = Finding::new(
            Broke::StoppedRelaying {
                seconds: 5.0,
                silent: true,
            },
            Trigger::During(catalog::TITLE_STOPPED_READER.text()),
            "P-RF4-02",
        );
        assert!(
            f.text
                .to_string()
                .starts_with("the server stopped relaying during \"a user that stops"),
            "{}",
            f.text
        );
        assert!(f.counts_against.is_empty());
    }

    #[test]
    fn a_wait_ends_when_the_server_is_marked() {
        let w = std::sync::Arc::new(Watch::new());
        assert!(w.wait(Duration::from_millis(10)).is_none());
        let marker = w.clone();
        let t = std::thread::spawn(move || {
            marker.mark(Broke::StoppedRelaying {
                seconds: 5.0,
                silent: true,
            })
        });
        let seen = w.wait(Duration::from_secs(10)).expect("marked");
        assert_eq!(seen.0.name(), "FROZE");
        t.join().unwrap();
    }

    #[test]
    fn the_first_reason_stays() {
        let w = Watch::new();
        assert!(w.broke().is_none());
        w.mark(Broke::StoppedRelaying {
            seconds: 5.0,
            silent: true,
        });
        w.mark(Broke::StoppedAccepting {
            seen: Text::data("refused"),
        });
        assert_eq!(w.broke().unwrap().0.name(), "FROZE");
    }

    #[test]
    fn an_exit_names_its_status_and_the_end_of_stderr() {
        let b = Broke::Exited {
            status: "exit status: 1".into(),
            stderr: "a\nb\nc\nd\n\nBrokenPipeError: [Errno 32] Broken pipe\n".into(),
            limit: None,
        };
        let text = b.to_string();
        assert!(
            text.starts_with("the server exited (with status 1)"),
            "{text}"
        );
        assert!(
            text.ends_with("b | c | d | BrokenPipeError: [Errno 32] Broken pipe"),
            "{text}"
        );
    }
}
