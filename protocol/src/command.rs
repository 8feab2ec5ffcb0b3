//! Client-to-server lines after registration: what each one asks for.

use std::fmt;

/// A registered client's line, interpreted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientCommand {
    /// An empty line: ignored.
    Empty,
    /// Text for everyone else (RF5).
    Public(String),
    /// `@to text`: text for one user (RF6). `text` may be empty or blank, which the server
    /// refuses with `ERR empty-message`; `to` may be empty for a bare `@`.
    Private { to: String, text: String },
    /// `/users`: list who is connected.
    Users,
    /// `/quit`: leave the chat (RF9).
    Quit,
    /// Any other `/word`; holds the word without its slash.
    Unknown(String),
}

impl ClientCommand {
    /// Interprets a line (already framed, without its terminator). Never fails: every line
    /// means something, if only "unknown command".
    pub fn parse(line: &str) -> ClientCommand {
        if line.is_empty() {
            return ClientCommand::Empty;
        }
        if let Some(rest) = line.strip_prefix('/') {
            let word = rest.split(' ').next().unwrap_or("");
            return match word {
                "users" => ClientCommand::Users,
                "quit" => ClientCommand::Quit,
                other => ClientCommand::Unknown(other.to_string()),
            };
        }
        if let Some(rest) = line.strip_prefix('@') {
            let (to, text) = rest.split_once(' ').unwrap_or((rest, ""));
            return ClientCommand::Private {
                to: to.to_string(),
                text: text.to_string(),
            };
        }
        ClientCommand::Public(line.to_string())
    }

    /// The line as a client sends it, LF included.
    pub fn encode(&self) -> String {
        format!("{self}\n")
    }
}

impl fmt::Display for ClientCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientCommand::Empty => Ok(()),
            ClientCommand::Public(text) => f.write_str(text),
            ClientCommand::Private { to, text } => write!(f, "@{to} {text}"),
            ClientCommand::Users => f.write_str("/users"),
            ClientCommand::Quit => f.write_str("/quit"),
            ClientCommand::Unknown(word) => write!(f, "/{word}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_line_is_empty() {
        assert_eq!(ClientCommand::parse(""), ClientCommand::Empty);
    }

    #[test]
    fn plain_text_is_public() {
        assert_eq!(
            ClientCommand::parse("hello @all /not-a-command"),
            ClientCommand::Public("hello @all /not-a-command".into())
        );
        assert_eq!(ClientCommand::parse(" "), ClientCommand::Public(" ".into()));
    }

    #[test]
    fn at_prefix_is_private() {
        assert_eq!(
            ClientCommand::parse("@Bob hi  there"),
            ClientCommand::Private {
                to: "Bob".into(),
                text: "hi  there".into()
            }
        );
    }

    #[test]
    fn private_without_text_has_empty_text() {
        assert_eq!(
            ClientCommand::parse("@bob"),
            ClientCommand::Private {
                to: "bob".into(),
                text: "".into()
            }
        );
        assert_eq!(
            ClientCommand::parse("@"),
            ClientCommand::Private {
                to: "".into(),
                text: "".into()
            }
        );
    }

    #[test]
    fn slash_commands() {
        assert_eq!(ClientCommand::parse("/users"), ClientCommand::Users);
        assert_eq!(ClientCommand::parse("/quit"), ClientCommand::Quit);
        assert_eq!(ClientCommand::parse("/quit now"), ClientCommand::Quit);
        assert_eq!(
            ClientCommand::parse("/QUIT"),
            ClientCommand::Unknown("QUIT".into())
        );
        assert_eq!(ClientCommand::parse("/"), ClientCommand::Unknown("".into()));
    }

    #[test]
    fn round_trips() {
        for line in ["hi", "@bob yo", "/users", "/quit", "/dance"] {
            let cmd = ClientCommand::parse(line);
            assert_eq!(cmd.encode(), format!("{line}\n"));
            assert_eq!(ClientCommand::parse(&cmd.to_string()), cmd);
        }
    }
}
