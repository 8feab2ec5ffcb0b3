//! chat/1's opening as a client sees it, written once for everything in loadgen that registers:
//! each [`super::bot`], the search's [`super::settle`] probe, and the `--server` check in
//! [`super::reach`]. The server greets with a line starting `HELLO `, the client sends its name
//! on a line, and the server answers `WELCOME ...` or refuses with `ERR ...`. The reading and
//! writing stay with the callers (async bots, blocking probes); this says what to send and what
//! each line means.

/// The start of the server's greeting.
const GREETING: &[u8] = b"HELLO ";
/// The start of the server's acceptance of a name.
const WELCOME: &[u8] = b"WELCOME ";
/// The start of a refusal.
const REFUSAL: &[u8] = b"ERR ";

/// The line a client sends to leave.
pub const QUIT: &[u8] = b"/quit\n";

/// Whether `line` is the server's greeting.
pub fn is_greeting(line: &[u8]) -> bool {
    line.starts_with(GREETING)
}

/// The line that registers `name` (also the whole registration of a free-form server).
pub fn name_line(name: &str) -> String {
    format!("{name}\n")
}

/// What the server said to a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Registered.
    Welcomed,
    /// Refused (the name is taken, or invalid).
    Refused,
}

/// The server's answer to a name, if `line` is one; `None` for anything else it may send
/// before answering.
pub fn answer(line: &[u8]) -> Option<Answer> {
    if line.starts_with(WELCOME) {
        Some(Answer::Welcomed)
    } else if line.starts_with(REFUSAL) {
        Some(Answer::Refused)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_greeting_is_recognised_by_its_word_and_space() {
        assert!(is_greeting(b"HELLO chat/1 welcome\n"));
        assert!(!is_greeting(b"HELLOWORLD\n"));
        assert!(!is_greeting(b"Enter your name:\n"));
    }

    #[test]
    fn a_welcome_and_a_refusal_are_answers_and_other_lines_are_not() {
        assert_eq!(answer(b"WELCOME bob 127.0.0.1:5\n"), Some(Answer::Welcomed));
        assert_eq!(answer(b"ERR name-taken bob\n"), Some(Answer::Refused));
        assert_eq!(answer(b"JOIN carol 127.0.0.1:6\n"), None);
    }

    #[test]
    fn a_name_is_sent_on_its_own_line() {
        assert_eq!(name_line("bob"), "bob\n");
    }
}
