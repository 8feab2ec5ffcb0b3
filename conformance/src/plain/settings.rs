//! What a plain-protocol run knows about the server: what it speaks, how it frames input, and
//! how a user leaves. A leaf: it depends on nothing else of the grader.

use std::fmt;

/// What the server speaks.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// The contract, docs/PROTOCOL.md: every case, word for word.
    #[default]
    Chat1,
    /// Free text, as students write the assignment: graded by meaning.
    Plain,
}

/// How the server cuts its input into messages.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Framing {
    /// A message is a line ending with LF (CRLF accepted by most).
    Lines,
    /// A message is whatever one `recv` returns: the name and every message go as one write,
    /// unterminated, spaced so that they arrive apart (as the assignment's own client does).
    Writes,
}

impl Framing {
    /// How it frames messages, in words.
    pub fn text(self) -> crate::i18n::Text {
        match self {
            Framing::Lines => crate::i18n::catalog::FRAMING_LINES.text(),
            Framing::Writes => crate::i18n::catalog::FRAMING_WRITES.text(),
        }
    }
}

impl fmt::Display for Framing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.text())
    }
}

/// Settings of a plain-protocol run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// How the server frames input: forced by `--framing`, or found by [`detect`] before the
    /// cases run (`None` until then).
    pub framing: Option<Framing>,
    /// The line a client sends to leave, `{name}` standing for its name (`/quit`, or the
    /// assignment's `{name} saiu do chat.`); `None`: leaving is closing the connection.
    pub quit_line: Option<String>,
}
