//! The timestamp token each message carries, and finding tokens in a received byte stream.
//!
//! A token is `#lg<sender>.<seq>.<planned_us>.<sent_us>#`: who sent it, its sequence number, and
//! when it was planned and actually sent, in microseconds since the run's start. Servers that do
//! not frame messages (`--protocol plain`) may deliver tokens glued together or split across
//! reads, so the [`Scanner`] works on raw bytes and keeps a short tail between reads.

use std::fmt::Write;

const START: &[u8] = b"#lg";
/// The longest possible token: four u64 fields, three dots, the markers.
const MAX_TOKEN: usize = 3 + 4 * 20 + 3 + 1;

/// One message's identity and timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// Index of the sending bot.
    pub sender: u32,
    /// The sender's sequence number, from 0.
    pub seq: u32,
    /// Planned send time, µs since the run's start.
    pub planned_us: u64,
    /// Actual send time, µs since the run's start.
    pub sent_us: u64,
}

impl Token {
    /// Appends the token to `out`.
    pub fn write(&self, out: &mut String) {
        let _ = write!(
            out,
            "#lg{}.{}.{}.{}#",
            self.sender, self.seq, self.planned_us, self.sent_us
        );
    }

    /// Parses a token body: the bytes between `#lg` and the closing `#`.
    pub fn parse(body: &[u8]) -> Option<Token> {
        let mut fields = [0u64; 4];
        let mut i = 0;
        for (n, field) in fields.iter_mut().enumerate() {
            let from = i;
            while let Some(&b) = body.get(i).filter(|b| b.is_ascii_digit()) {
                *field = field.checked_mul(10)?.checked_add((b - b'0') as u64)?;
                i += 1;
            }
            let sep_ok = match body.get(i) {
                Some(b'.') => n < 3,
                None => n == 3,
                Some(_) => false,
            };
            if i == from || !sep_ok {
                return None;
            }
            i += 1;
        }
        Some(Token {
            sender: u32::try_from(fields[0]).ok()?,
            seq: u32::try_from(fields[1]).ok()?,
            planned_us: fields[2],
            sent_us: fields[3],
        })
    }

    /// Finds and parses the first token in `text` (a line's free text).
    pub fn find_in(text: &[u8]) -> Option<Token> {
        // Our own messages start with the token; anything else is searched.
        let at = if text.starts_with(START) {
            0
        } else {
            memchr::memmem::find(text, START)?
        };
        let body = &text[at + START.len()..];
        let len = memchr::memchr(b'#', body)?;
        Token::parse(&body[..len])
    }
}

/// Finds tokens in a stream of bytes, whatever the framing.
#[derive(Debug, Default)]
pub struct Scanner {
    tail: Vec<u8>,
}

impl Scanner {
    /// Scans newly received bytes, calling `found` for every complete token.
    pub fn feed(&mut self, bytes: &[u8], mut found: impl FnMut(Token)) {
        let owned;
        let data: &[u8] = if self.tail.is_empty() {
            bytes
        } else {
            self.tail.extend_from_slice(bytes);
            owned = std::mem::take(&mut self.tail);
            &owned
        };
        let mut i = 0;
        // End of the last complete token: a partial start before it would be a false one.
        let mut consumed = 0;
        let mut keep_from = None;
        while let Some(pos) = find(&data[i..], START) {
            let start = i + pos;
            let body_start = start + START.len();
            match memchr::memchr(b'#', &data[body_start..]) {
                Some(len) => {
                    if let Some(t) = Token::parse(&data[body_start..body_start + len]) {
                        found(t);
                        i = body_start + len + 1;
                        consumed = i;
                    } else {
                        i = body_start;
                    }
                }
                None => {
                    if data.len() - start <= MAX_TOKEN {
                        keep_from = Some(start);
                    }
                    break;
                }
            }
        }
        // A token's start may itself be split: keep a possible partial "#l" at the very end.
        let keep_from = keep_from.or_else(|| {
            (1..START.len())
                .rev()
                .find(|&k| data.len() >= k && data[data.len() - k..] == START[..k])
                .map(|k| data.len() - k)
                .filter(|&from| from >= consumed)
        });
        if let Some(from) = keep_from {
            self.tail = data[from..].to_vec();
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(sender: u32, seq: u32) -> Token {
        Token {
            sender,
            seq,
            planned_us: 1_000 + seq as u64,
            sent_us: 1_005 + seq as u64,
        }
    }

    fn scan_all(chunks: &[&[u8]]) -> Vec<Token> {
        let mut s = Scanner::default();
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c, |t| out.push(t));
        }
        out
    }

    #[test]
    fn round_trips_through_text() {
        let mut text = String::from("MSG bot_1 ");
        token(3, 9).write(&mut text);
        text.push_str("xxxx\n");
        assert_eq!(scan_all(&[text.as_bytes()]), vec![token(3, 9)]);
    }

    #[test]
    fn finds_glued_tokens_without_newlines() {
        let mut text = String::new();
        for seq in 0..5 {
            token(1, seq).write(&mut text);
        }
        assert_eq!(scan_all(&[text.as_bytes()]).len(), 5);
    }

    #[test]
    fn every_split_offset_finds_every_token_once() {
        let mut text = String::from("bob: ");
        token(7, 1).write(&mut text);
        text.push_str(" pad #l# noise ");
        token(8, 2).write(&mut text);
        let bytes = text.as_bytes();
        for split in 0..=bytes.len() {
            let got = scan_all(&[&bytes[..split], &bytes[split..]]);
            assert_eq!(got, vec![token(7, 1), token(8, 2)], "split at {split}");
        }
    }

    #[test]
    fn byte_at_a_time_works() {
        let mut text = String::new();
        token(2, 3).write(&mut text);
        let chunks: Vec<&[u8]> = text.as_bytes().chunks(1).collect();
        assert_eq!(scan_all(&chunks), vec![token(2, 3)]);
    }

    #[test]
    fn malformed_bodies_are_refused() {
        for body in [
            &b""[..],
            b"1.2.3",
            b"1.2.3.4.5",
            b"1..3.4",
            b"a.2.3.4",
            b"1.2.3.4x",
            b"99999999999.1.2.3",
        ] {
            assert_eq!(
                Token::parse(body),
                None,
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
        assert_eq!(Token::parse(b"1.2.3.4").map(|t| t.sent_us), Some(4));
    }

    #[test]
    fn find_in_takes_a_leading_token_or_searches_for_one() {
        let mut text = String::new();
        token(4, 5).write(&mut text);
        text.push_str("xxx");
        assert_eq!(Token::find_in(text.as_bytes()), Some(token(4, 5)));
        let quoted = format!("re: {text}");
        assert_eq!(Token::find_in(quoted.as_bytes()), Some(token(4, 5)));
        assert_eq!(Token::find_in(b"hello #lg1.2"), None);
    }

    #[test]
    fn garbage_is_ignored_and_not_buffered_forever() {
        let mut s = Scanner::default();
        let mut n = 0;
        s.feed(b"#lg1.2#", |_| n += 1);
        s.feed(&[b'z'; 10_000], |_| n += 1);
        assert_eq!(n, 0);
        assert!(s.tail.len() <= MAX_TOKEN);
    }
}
