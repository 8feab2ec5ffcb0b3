//! Framing: turning a byte stream into protocol lines.
//!
//! TCP delivers bytes, not messages: one `read` may hold half a line or three lines glued
//! together (the original assignment's `recv(1024)` bug). [`LineDecoder`] buffers bytes until a
//! LF, drops a CR right before it, enforces the length limit without ever buffering more than the
//! limit, and checks UTF-8 per line, so one bad line costs only that line.

use std::collections::VecDeque;

/// Why a line could not be delivered. The connection survives both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The line exceeded the limit; everything up to its LF is discarded.
    #[error("line too long")]
    TooLong,
    /// The line was not valid UTF-8.
    #[error("line is not valid UTF-8")]
    InvalidUtf8,
}

/// An incremental, sans-IO line decoder: [`push`](Self::push) bytes as they arrive, then take
/// lines with [`next_line`](Self::next_line).
#[derive(Debug)]
pub struct LineDecoder {
    max_line: usize,
    partial: Vec<u8>,
    discarding: bool,
    ready: VecDeque<Result<String, FrameError>>,
}

impl LineDecoder {
    /// A decoder that accepts lines of at most `max_line` bytes before the terminator.
    pub fn new(max_line: usize) -> Self {
        LineDecoder {
            max_line,
            partial: Vec::new(),
            discarding: false,
            ready: VecDeque::new(),
        }
    }

    /// Feeds bytes read from the stream.
    ///
    /// A line that outgrows the limit yields [`FrameError::TooLong`] as soon as that is known,
    /// not when its LF finally arrives, and its bytes are dropped as they come.
    pub fn push(&mut self, mut input: &[u8]) {
        while let Some(i) = input.iter().position(|&b| b == b'\n') {
            self.extend_partial(&input[..i]);
            self.finish_line();
            input = &input[i + 1..];
        }
        self.extend_partial(input);
    }

    /// The next complete line, or an error standing in for a line that was refused.
    pub fn next_line(&mut self) -> Option<Result<String, FrameError>> {
        self.ready.pop_front()
    }

    /// At end of stream: the unterminated last line, if there is one. A peer that sends
    /// `"/quit"` and closes without a LF still meant it.
    pub fn finish(&mut self) -> Option<Result<String, FrameError>> {
        if self.discarding || self.partial.is_empty() {
            self.discarding = false;
            self.partial.clear();
            return self.ready.pop_front();
        }
        self.finish_line();
        self.ready.pop_front()
    }

    /// How many bytes of an unfinished line are buffered.
    pub fn buffered(&self) -> usize {
        self.partial.len()
    }

    fn extend_partial(&mut self, bytes: &[u8]) {
        if self.discarding || bytes.is_empty() {
            return;
        }
        // One extra byte is allowed for a CR that may turn out to precede the LF.
        if self.partial.len() + bytes.len() > self.max_line + 1 {
            self.discarding = true;
            self.partial = Vec::new();
            self.ready.push_back(Err(FrameError::TooLong));
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }

    fn finish_line(&mut self) {
        if self.discarding {
            self.discarding = false;
            return;
        }
        let mut line = std::mem::take(&mut self.partial);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        let result = if line.len() > self.max_line {
            Err(FrameError::TooLong)
        } else {
            String::from_utf8(line).map_err(|_| FrameError::InvalidUtf8)
        };
        self.ready.push_back(result);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(decoder: &mut LineDecoder) -> Vec<Result<String, FrameError>> {
        std::iter::from_fn(|| decoder.next_line()).collect()
    }

    fn ok(s: &str) -> Result<String, FrameError> {
        Ok(s.to_string())
    }

    #[test]
    fn splits_glued_lines() {
        let mut d = LineDecoder::new(100);
        d.push(b"one\ntwo\nthree\n");
        assert_eq!(decode_all(&mut d), vec![ok("one"), ok("two"), ok("three")]);
    }

    #[test]
    fn keeps_partial_line_until_lf() {
        let mut d = LineDecoder::new(100);
        d.push(b"hel");
        assert_eq!(d.next_line(), None);
        assert_eq!(d.buffered(), 3);
        d.push(b"lo\n");
        assert_eq!(decode_all(&mut d), vec![ok("hello")]);
    }

    #[test]
    fn drops_cr_before_lf_only() {
        let mut d = LineDecoder::new(100);
        d.push(b"a\r\nb\rc\n\r\n");
        assert_eq!(decode_all(&mut d), vec![ok("a"), ok("b\rc"), ok("")]);
    }

    #[test]
    fn yields_empty_lines() {
        let mut d = LineDecoder::new(100);
        d.push(b"\n\n");
        assert_eq!(decode_all(&mut d), vec![ok(""), ok("")]);
    }

    #[test]
    fn accepts_line_of_exactly_the_limit_with_crlf() {
        let mut d = LineDecoder::new(4);
        d.push(b"abcd\r\nabcd\n");
        assert_eq!(decode_all(&mut d), vec![ok("abcd"), ok("abcd")]);
    }

    #[test]
    fn refuses_line_one_byte_over_the_limit() {
        let mut d = LineDecoder::new(4);
        d.push(b"abcde\nok\n");
        assert_eq!(decode_all(&mut d), vec![Err(FrameError::TooLong), ok("ok")]);
    }

    #[test]
    fn reports_too_long_before_the_lf_and_buffers_nothing_more() {
        let mut d = LineDecoder::new(8);
        d.push(&[b'x'; 20]);
        assert_eq!(d.next_line(), Some(Err(FrameError::TooLong)));
        d.push(&[b'x'; 10_000]);
        assert_eq!(d.buffered(), 0);
        assert_eq!(d.next_line(), None);
        d.push(b"xx\nnext\n");
        assert_eq!(decode_all(&mut d), vec![ok("next")]);
    }

    #[test]
    fn refuses_invalid_utf8_and_keeps_going() {
        let mut d = LineDecoder::new(100);
        d.push(b"ok\n\xff\xfe\nalso ok\n");
        assert_eq!(
            decode_all(&mut d),
            vec![ok("ok"), Err(FrameError::InvalidUtf8), ok("also ok")]
        );
    }

    #[test]
    fn multibyte_char_split_across_pushes_is_whole() {
        let mut d = LineDecoder::new(100);
        let bytes = "ação\n".as_bytes();
        d.push(&bytes[..2]);
        d.push(&bytes[2..]);
        assert_eq!(decode_all(&mut d), vec![ok("ação")]);
    }

    #[test]
    fn finish_returns_unterminated_last_line() {
        let mut d = LineDecoder::new(100);
        d.push(b"a\n/quit");
        assert_eq!(d.next_line(), Some(ok("a")));
        assert_eq!(d.finish(), Some(ok("/quit")));
        assert_eq!(d.finish(), None);
    }

    #[test]
    fn finish_after_discarded_line_returns_nothing() {
        let mut d = LineDecoder::new(2);
        d.push(b"abcdef");
        assert_eq!(d.next_line(), Some(Err(FrameError::TooLong)));
        assert_eq!(d.finish(), None);
    }

    #[test]
    fn every_split_offset_gives_the_same_lines() {
        let input: &[u8] =
            b"alice\r\n@bob oi, tudo bem?\n\nol\xc3\xa1\n\xff\n0123456789ABCDEF\nend\n";
        let mut whole = LineDecoder::new(12);
        whole.push(input);
        let expected = decode_all(&mut whole);
        assert_eq!(expected.len(), 7);
        for split in 0..=input.len() {
            let mut d = LineDecoder::new(12);
            d.push(&input[..split]);
            d.push(&input[split..]);
            assert_eq!(decode_all(&mut d), expected, "split at byte {split}");
        }
    }

    #[test]
    fn byte_at_a_time_gives_the_same_lines() {
        let input = b"x\r\nyy\n\xc3\xa9\n";
        let mut d = LineDecoder::new(10);
        for b in input {
            d.push(std::slice::from_ref(b));
        }
        assert_eq!(decode_all(&mut d), vec![ok("x"), ok("yy"), ok("é")]);
    }
}
