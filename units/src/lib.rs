//! Durations and sizes as every batepapo tool's flags and files write them: one parser for the
//! server, the grader and the load generator, so that `--stall-timeout 2s` means the same
//! everywhere and a value no tool can use (`1e20`, `-1s`, `fast`) is an error, never a panic.
//!
//! It depends on nothing of the chat: the grader uses it and stays independent of the server.

use std::time::Duration;

/// A value that is not a duration or size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    /// Not a duration, or one too large to represent.
    #[error("invalid duration {0:?} (examples: 30s, 500ms, 2m, 1.5)")]
    Duration(String),
    /// Not a size, or one too large to represent.
    #[error("invalid size {0:?} (examples: 65536, 512KiB, 32MiB, 1GiB, 64KB)")]
    Size(String),
}

/// The longest duration accepted: a day. Longer values are typing mistakes for every timeout and
/// phase these tools have, and refusing them keeps arithmetic on them from overflowing.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

/// Parses `30s`, `500ms`, `2m`, `1h`, or a bare number of seconds (`1.5`), at most a day.
pub fn parse_duration(text: &str) -> Result<Duration, UnitError> {
    let bad = || UnitError::Duration(text.to_string());
    let t = text.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (t, 1.0)
    };
    let number = number.trim();
    // Plain decimal only: Rust's float parser would also take "inf", "NaN" and "1e20".
    if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(bad());
    }
    let value: f64 = number.parse().map_err(|_| bad())?;
    let secs = value * scale;
    if !(0.0..=MAX_DURATION.as_secs_f64()).contains(&secs) {
        return Err(bad());
    }
    Duration::try_from_secs_f64(secs).map_err(|_| bad())
}

/// Parses a size in bytes: `65536`, `512KiB`, `32MiB`, `1GiB`, or decimal `64KB`, `32MB`,
/// `1GB`; `k`, `m` and `g` alone mean KiB, MiB and GiB. Case and a space before the unit do not
/// matter.
pub fn parse_size(text: &str) -> Result<usize, UnitError> {
    let bad = || UnitError::Size(text.to_string());
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kib" => 1024.0,
        "m" | "mib" => 1024.0 * 1024.0,
        "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        _ => return Err(bad()),
    };
    if number.is_empty() {
        return Err(bad());
    }
    let value: f64 = number.parse().map_err(|_| bad())?;
    let bytes = (value * scale).round();
    if !bytes.is_finite() || bytes < 0.0 || bytes > usize::MAX as f64 {
        return Err(bad());
    }
    Ok(bytes as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units_or_bare_seconds() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration(" 1.5 "), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("24h"), Ok(MAX_DURATION));
    }

    #[test]
    fn durations_no_tool_can_use_are_errors_not_panics() {
        for t in [
            "1e20",
            "1e20s",
            "-1s",
            "inf",
            "NaN",
            "fast",
            "",
            "s",
            "25h",
            "1.2.3s",
            "99999999999999999999",
        ] {
            assert_eq!(
                parse_duration(t),
                Err(UnitError::Duration(t.to_string())),
                "{t:?}"
            );
        }
    }

    #[test]
    fn sizes_take_binary_and_decimal_units() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("512KiB"), Ok(512 * 1024));
        assert_eq!(parse_size("32 MiB"), Ok(32 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert_eq!(parse_size("64KB"), Ok(64_000));
    }

    #[test]
    fn bad_sizes_are_errors() {
        for t in ["", "KiB", "-1", "1e30", "12 parsecs", "1..2"] {
            assert!(parse_size(t).is_err(), "{t:?}");
        }
    }

    #[test]
    fn errors_say_what_was_given_and_show_examples() {
        let e = parse_duration("1e20").unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid duration \"1e20\" (examples: 30s, 500ms, 2m, 1.5)"
        );
    }
}
