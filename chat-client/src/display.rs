//! Server events as readable text, and the neutralising of whatever other users typed.

use batepapo_protocol::{ErrorCode, ServerMessage};

/// Makes text safe to print on a terminal: control characters (which include ESC, and so every
/// escape sequence), DEL, C1 controls and bidirectional overrides each become U+FFFD, so a
/// peer can neither move the cursor, recolour the screen, nor reorder what is shown.
pub fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| if is_unsafe(c) { '\u{fffd}' } else { c })
        .collect()
}

fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// What kind of event a line describes, for colouring and filtering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A public message from someone else.
    Public,
    /// A private message to us.
    Private,
    /// Someone joined or left, or the user list.
    Presence,
    /// Something the server or client refused.
    Error,
    /// Session facts: greeting, welcome, goodbye.
    Info,
}

/// A server message as one readable line (without newline), plus its kind.
pub fn describe(msg: &ServerMessage) -> (Kind, String) {
    match msg {
        ServerMessage::Hello { text, .. } => (Kind::Info, format!("server: {}", sanitize(text))),
        ServerMessage::Welcome { name, addr } => (
            Kind::Info,
            format!("connected as {} from {addr}", sanitize(name)),
        ),
        ServerMessage::Users(names) => {
            let names: Vec<String> = names.iter().map(|n| sanitize(n)).collect();
            (
                Kind::Presence,
                format!("users online ({}): {}", names.len(), names.join(", ")),
            )
        }
        ServerMessage::Join { name, addr } => (
            Kind::Presence,
            format!("{} joined from {addr}", sanitize(name)),
        ),
        ServerMessage::Leave { name, addr } => {
            (Kind::Presence, format!("{} left ({addr})", sanitize(name)))
        }
        ServerMessage::Msg { from, text } => (
            Kind::Public,
            format!("{}: {}", sanitize(from), sanitize(text)),
        ),
        ServerMessage::Priv { from, text } => (
            Kind::Private,
            format!("[private] {}: {}", sanitize(from), sanitize(text)),
        ),
        ServerMessage::Err { code, text } => (Kind::Error, describe_error(*code, text)),
        ServerMessage::Bye { text } => (Kind::Info, format!("server: {}", sanitize(text))),
    }
}

/// An `ERR` as text for the user.
pub fn describe_error(code: ErrorCode, text: &str) -> String {
    format!("error ({code}): {}", sanitize(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_neutralised() {
        let evil = "hi\u{1b}[2J\u{1b}]0;pwned\u{7}\r\u{9b}31m";
        let safe = sanitize(evil);
        assert!(!safe.chars().any(|c| c.is_control()), "{safe:?}");
        assert!(safe.starts_with("hi\u{fffd}[2J"));
    }

    #[test]
    fn bidi_overrides_are_neutralised() {
        assert_eq!(sanitize("a\u{202e}b\u{2066}"), "a\u{fffd}b\u{fffd}");
    }

    #[test]
    fn ordinary_text_is_untouched() {
        assert_eq!(sanitize("olá, mundo! 😀 @bob /x"), "olá, mundo! 😀 @bob /x");
    }

    #[test]
    fn join_shows_name_and_address() {
        let (kind, text) = describe(&ServerMessage::Join {
            name: "alice".into(),
            addr: "127.0.0.1:50512".parse().unwrap(),
        });
        assert_eq!(kind, Kind::Presence);
        assert_eq!(text, "alice joined from 127.0.0.1:50512");
    }

    #[test]
    fn private_is_marked() {
        let (kind, text) = describe(&ServerMessage::Priv {
            from: "bob".into(),
            text: "hi".into(),
        });
        assert_eq!(kind, Kind::Private);
        assert_eq!(text, "[private] bob: hi");
    }

    #[test]
    fn message_text_from_others_is_sanitised() {
        let (_, text) = describe(&ServerMessage::Msg {
            from: "bob".into(),
            text: "\u{1b}[31mred".into(),
        });
        assert_eq!(text, "bob: \u{fffd}[31mred");
    }
}
