//! Server-to-client messages: typed, with `parse` beside `encode`.
//!
//! A server line is a TAG in capitals and fields separated by single spaces; for `HELLO`, `MSG`,
//! `PRIV`, `ERR` and `BYE` the last field is free text running to the end of the line.

use std::fmt;
use std::net::SocketAddr;

/// The machine-readable code of an `ERR` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The proposed name breaks the name rules (RF1); another may be sent.
    InvalidName,
    /// The proposed name is in use (RF2); another may be sent.
    NameTaken,
    /// A private message addressed to its own sender (RF7).
    SelfMessage,
    /// A private message to a name that is not connected.
    NoSuchUser,
    /// A private message without text.
    EmptyMessage,
    /// A `/command` the server does not know.
    UnknownCommand,
    /// A line over the limit; it was discarded.
    LineTooLong,
    /// A line that was not UTF-8; it was discarded.
    InvalidUtf8,
    /// The server has no room; it closes the connection.
    ServerFull,
    /// The client's address already holds as many connections as one address may; the server
    /// closes this one.
    TooManyConnections,
    /// No name arrived in time; the server closes the connection.
    Timeout,
}

impl ErrorCode {
    /// Every code, for tables and exhaustive tests.
    pub const ALL: [ErrorCode; 11] = [
        ErrorCode::InvalidName,
        ErrorCode::NameTaken,
        ErrorCode::SelfMessage,
        ErrorCode::NoSuchUser,
        ErrorCode::EmptyMessage,
        ErrorCode::UnknownCommand,
        ErrorCode::LineTooLong,
        ErrorCode::InvalidUtf8,
        ErrorCode::ServerFull,
        ErrorCode::TooManyConnections,
        ErrorCode::Timeout,
    ];

    /// The code as written on the wire, e.g. `name-taken`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidName => "invalid-name",
            ErrorCode::NameTaken => "name-taken",
            ErrorCode::SelfMessage => "self-message",
            ErrorCode::NoSuchUser => "no-such-user",
            ErrorCode::EmptyMessage => "empty-message",
            ErrorCode::UnknownCommand => "unknown-command",
            ErrorCode::LineTooLong => "line-too-long",
            ErrorCode::InvalidUtf8 => "invalid-utf8",
            ErrorCode::ServerFull => "server-full",
            ErrorCode::TooManyConnections => "too-many-connections",
            ErrorCode::Timeout => "timeout",
        }
    }

    /// The code for its wire spelling.
    pub fn from_wire(s: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerMessage {
    /// `HELLO <version> <text>`: the greeting on connect.
    Hello { version: String, text: String },
    /// `WELCOME <name> <addr>`: registration accepted; `addr` is the client as the server sees it.
    Welcome { name: String, addr: SocketAddr },
    /// `USERS <name>...`: everyone connected, in join order.
    Users(Vec<String>),
    /// `JOIN <name> <addr>`: someone else arrived.
    Join { name: String, addr: SocketAddr },
    /// `MSG <from> <text>`: a public message.
    Msg { from: String, text: String },
    /// `PRIV <from> <text>`: a private message to the receiver.
    Priv { from: String, text: String },
    /// `LEAVE <name> <addr>`: someone left or was disconnected.
    Leave { name: String, addr: SocketAddr },
    /// `ERR <code> <text>`.
    Err { code: ErrorCode, text: String },
    /// `BYE <text>`: the answer to `/quit`, or the server shutting down.
    Bye { text: String },
}

/// Why a server line could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The line was empty.
    #[error("empty line")]
    Empty,
    /// The first word is not a known tag.
    #[error("unknown tag {0:?}")]
    UnknownTag(String),
    /// A required field is absent.
    #[error("{tag} is missing its {field}")]
    MissingField {
        /// The line's tag.
        tag: &'static str,
        /// Which field is absent.
        field: &'static str,
    },
    /// An address field is not a socket address.
    #[error("bad address {0:?}")]
    BadAddress(String),
    /// The code of an `ERR` line is not one of the protocol's.
    #[error("unknown error code {0:?}")]
    UnknownErrorCode(String),
    /// More fields than the tag takes.
    #[error("{0} has unexpected extra fields")]
    ExtraFields(&'static str),
}

impl ServerMessage {
    /// The line without its LF terminator.
    pub fn to_line(&self) -> String {
        self.to_string()
    }

    /// The line as sent on the wire, LF included.
    pub fn encode(&self) -> String {
        let mut line = self.to_string();
        line.push('\n');
        line
    }

    /// Parses one line (terminator already removed, though a trailing CR or LF is tolerated).
    pub fn parse(line: &str) -> Result<ServerMessage, ParseError> {
        let line = line.strip_suffix('\n').unwrap_or(line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            return Err(ParseError::Empty);
        }
        let (tag, rest) = match line.split_once(' ') {
            Some((tag, rest)) => (tag, Some(rest)),
            None => (line, None),
        };
        match tag {
            "HELLO" => {
                let (version, text) = word_and_text(rest, "HELLO", "version")?;
                Ok(ServerMessage::Hello { version, text })
            }
            "WELCOME" => {
                let (name, addr) = name_and_addr(rest, "WELCOME")?;
                Ok(ServerMessage::Welcome { name, addr })
            }
            "USERS" => Ok(ServerMessage::Users(
                rest.map(|r| r.split(' ').map(str::to_string).collect())
                    .unwrap_or_default(),
            )),
            "JOIN" => {
                let (name, addr) = name_and_addr(rest, "JOIN")?;
                Ok(ServerMessage::Join { name, addr })
            }
            "LEAVE" => {
                let (name, addr) = name_and_addr(rest, "LEAVE")?;
                Ok(ServerMessage::Leave { name, addr })
            }
            "MSG" => {
                let (from, text) = word_and_text(rest, "MSG", "sender")?;
                Ok(ServerMessage::Msg { from, text })
            }
            "PRIV" => {
                let (from, text) = word_and_text(rest, "PRIV", "sender")?;
                Ok(ServerMessage::Priv { from, text })
            }
            "ERR" => {
                let (code, text) = word_and_text(rest, "ERR", "code")?;
                let code = ErrorCode::from_wire(&code).ok_or(ParseError::UnknownErrorCode(code))?;
                Ok(ServerMessage::Err { code, text })
            }
            "BYE" => Ok(ServerMessage::Bye {
                text: rest.unwrap_or("").to_string(),
            }),
            other => Err(ParseError::UnknownTag(other.to_string())),
        }
    }
}

fn word_and_text(
    rest: Option<&str>,
    tag: &'static str,
    field: &'static str,
) -> Result<(String, String), ParseError> {
    let rest = rest.filter(|r| !r.is_empty());
    let rest = rest.ok_or(ParseError::MissingField { tag, field })?;
    let (word, text) = rest.split_once(' ').unwrap_or((rest, ""));
    if word.is_empty() {
        return Err(ParseError::MissingField { tag, field });
    }
    Ok((word.to_string(), text.to_string()))
}

fn name_and_addr(
    rest: Option<&str>,
    tag: &'static str,
) -> Result<(String, SocketAddr), ParseError> {
    let (name, addr) = word_and_text(rest, tag, "name")?;
    if addr.is_empty() {
        return Err(ParseError::MissingField {
            tag,
            field: "address",
        });
    }
    if addr.contains(' ') {
        return Err(ParseError::ExtraFields(tag));
    }
    let addr = addr.parse().map_err(|_| ParseError::BadAddress(addr))?;
    Ok((name, addr))
}

impl fmt::Display for ServerMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerMessage::Hello { version, text } => write!(f, "HELLO {version} {text}"),
            ServerMessage::Welcome { name, addr } => write!(f, "WELCOME {name} {addr}"),
            ServerMessage::Users(names) => {
                f.write_str("USERS")?;
                for name in names {
                    write!(f, " {name}")?;
                }
                Ok(())
            }
            ServerMessage::Join { name, addr } => write!(f, "JOIN {name} {addr}"),
            ServerMessage::Msg { from, text } => write!(f, "MSG {from} {text}"),
            ServerMessage::Priv { from, text } => write!(f, "PRIV {from} {text}"),
            ServerMessage::Leave { name, addr } => write!(f, "LEAVE {name} {addr}"),
            ServerMessage::Err { code, text } => write!(f, "ERR {code} {text}"),
            ServerMessage::Bye { text } => write!(f, "BYE {text}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn samples() -> Vec<ServerMessage> {
        vec![
            ServerMessage::Hello {
                version: "chat/1".into(),
                text: "send your name".into(),
            },
            ServerMessage::Welcome {
                name: "alice".into(),
                addr: addr("127.0.0.1:50512"),
            },
            ServerMessage::Users(vec!["alice".into(), "Bob".into()]),
            ServerMessage::Users(vec![]),
            ServerMessage::Join {
                name: "bob".into(),
                addr: addr("[::1]:4000"),
            },
            ServerMessage::Msg {
                from: "bob".into(),
                text: "hi  there @x /y".into(),
            },
            ServerMessage::Msg {
                from: "bob".into(),
                text: "".into(),
            },
            ServerMessage::Priv {
                from: "carol".into(),
                text: "psst".into(),
            },
            ServerMessage::Leave {
                name: "bob".into(),
                addr: addr("10.0.0.1:1"),
            },
            ServerMessage::Bye {
                text: "see you".into(),
            },
        ]
        .into_iter()
        .chain(ErrorCode::ALL.into_iter().map(|code| ServerMessage::Err {
            code,
            text: format!("because {code}"),
        }))
        .collect()
    }

    #[test]
    fn every_message_round_trips() {
        for msg in samples() {
            let line = msg.encode();
            assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'));
            assert_eq!(ServerMessage::parse(&line), Ok(msg.clone()), "{line:?}");
            assert_eq!(ServerMessage::parse(&msg.to_line()), Ok(msg));
        }
    }

    #[test]
    fn encodes_exact_wire_text() {
        let m = ServerMessage::Join {
            name: "alice".into(),
            addr: addr("127.0.0.1:50512"),
        };
        assert_eq!(m.encode(), "JOIN alice 127.0.0.1:50512\n");
        let e = ServerMessage::Err {
            code: ErrorCode::SelfMessage,
            text: "no".into(),
        };
        assert_eq!(e.to_line(), "ERR self-message no");
    }

    #[test]
    fn error_codes_round_trip_through_wire_spelling() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_wire(code.as_str()), Some(code));
        }
        assert_eq!(ErrorCode::from_wire("Name-Taken"), None);
    }

    #[test]
    fn tolerates_crlf() {
        assert_eq!(
            ServerMessage::parse("BYE ok\r\n"),
            Ok(ServerMessage::Bye { text: "ok".into() })
        );
    }

    #[test]
    fn refuses_empty_line() {
        assert_eq!(ServerMessage::parse(""), Err(ParseError::Empty));
    }

    #[test]
    fn refuses_unknown_and_lowercase_tags() {
        assert!(matches!(
            ServerMessage::parse("msg bob hi"),
            Err(ParseError::UnknownTag(_))
        ));
        assert!(matches!(
            ServerMessage::parse("SHOUT x"),
            Err(ParseError::UnknownTag(_))
        ));
    }

    #[test]
    fn refuses_missing_fields() {
        for line in [
            "MSG",
            "MSG ",
            "PRIV",
            "ERR",
            "JOIN",
            "JOIN bob",
            "WELCOME alice ",
            "HELLO",
        ] {
            assert!(
                matches!(
                    ServerMessage::parse(line),
                    Err(ParseError::MissingField { .. })
                ),
                "{line:?} gave {:?}",
                ServerMessage::parse(line)
            );
        }
    }

    #[test]
    fn refuses_bad_addresses() {
        assert!(matches!(
            ServerMessage::parse("JOIN bob localhost"),
            Err(ParseError::BadAddress(_))
        ));
        assert!(matches!(
            ServerMessage::parse("LEAVE bob 127.0.0.1"),
            Err(ParseError::BadAddress(_))
        ));
        assert_eq!(
            ServerMessage::parse("JOIN bob 127.0.0.1:1 extra"),
            Err(ParseError::ExtraFields("JOIN"))
        );
    }

    #[test]
    fn refuses_unknown_error_code() {
        assert_eq!(
            ServerMessage::parse("ERR oops text"),
            Err(ParseError::UnknownErrorCode("oops".into()))
        );
    }

    #[test]
    fn free_text_keeps_inner_spacing() {
        assert_eq!(
            ServerMessage::parse("MSG bob  two  spaces "),
            Ok(ServerMessage::Msg {
                from: "bob".into(),
                text: " two  spaces ".into()
            })
        );
    }
}
