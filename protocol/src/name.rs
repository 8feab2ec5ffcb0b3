//! User names: what makes one valid (RF1) and what makes two equal (RF2).

use crate::MAX_NAME_CHARS;

/// Why a name was refused. The messages are the `<why>` text of `ERR invalid-name`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name was empty.
    #[error("the name is empty")]
    Empty,
    /// Longer than [`MAX_NAME_CHARS`] characters.
    #[error("the name is longer than {MAX_NAME_CHARS} characters")]
    TooLong,
    /// Contained a space, tab or other whitespace.
    #[error("the name may not contain spaces")]
    Whitespace,
    /// Contained an `@`, which would make private messages ambiguous.
    #[error("the name may not contain '@'")]
    At,
    /// Contained a control character.
    #[error("the name may not contain control characters")]
    Control,
    /// Started with `/`, which would look like a command.
    #[error("the name may not start with '/'")]
    Slash,
}

/// Checks a name against the protocol's rules: 1 to 32 characters, no whitespace, no `@`, no
/// control characters, not starting with `/`.
pub fn validate_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    // Whitespace and '@' are checked before length so that "my name" gets the useful reason.
    for c in name.chars() {
        if c.is_whitespace() {
            return Err(NameError::Whitespace);
        }
        if c == '@' {
            return Err(NameError::At);
        }
        if c.is_control() {
            return Err(NameError::Control);
        }
    }
    if name.starts_with('/') {
        return Err(NameError::Slash);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(NameError::TooLong);
    }
    Ok(())
}

/// The key under which a name is unique: names compare case-insensitively, so "Alice" and
/// "alice" share one key.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for n in [
            "alice",
            "Bob_2",
            "joão",
            "a",
            "x-y.z",
            "名前",
            &"a".repeat(32),
        ] {
            assert_eq!(validate_name(n), Ok(()), "{n:?}");
        }
    }

    #[test]
    fn refuses_empty() {
        assert_eq!(validate_name(""), Err(NameError::Empty));
    }

    #[test]
    fn refuses_spaces_and_other_whitespace() {
        for n in ["a b", " a", "a\t", "a\u{a0}b"] {
            assert_eq!(validate_name(n), Err(NameError::Whitespace), "{n:?}");
        }
    }

    #[test]
    fn refuses_at_anywhere() {
        for n in ["@a", "a@b", "b@"] {
            assert_eq!(validate_name(n), Err(NameError::At), "{n:?}");
        }
    }

    #[test]
    fn refuses_control_characters() {
        assert_eq!(validate_name("a\u{1b}[31m"), Err(NameError::Control));
        assert_eq!(validate_name("a\u{7f}"), Err(NameError::Control));
    }

    #[test]
    fn refuses_leading_slash_only() {
        assert_eq!(validate_name("/quit"), Err(NameError::Slash));
        assert_eq!(validate_name("a/b"), Ok(()));
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert_eq!(validate_name(&"é".repeat(32)), Ok(()));
        assert_eq!(validate_name(&"é".repeat(33)), Err(NameError::TooLong));
    }

    #[test]
    fn key_ignores_case() {
        assert_eq!(name_key("Alice"), name_key("aLICE"));
        assert_ne!(name_key("alice"), name_key("alicia"));
    }
}
