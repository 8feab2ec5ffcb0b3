//! A bot's receiving side: read whatever the socket has into the worker's one hot buffer, find
//! the tokens in it, and record them in the worker's stats.
//!
//! Every received byte is touched once by a `memchr` pass: chat/1 is split into lines and only
//! the lines' heads are looked at (`MSG`/`PRIV` carry a token right after the sender's name,
//! `ERR` lines are counted by code); with `--protocol plain` the bytes are scanned for tokens
//! whatever the framing. Only an unfinished line is copied, into the bot's small tail.

use crate::plan::config::Protocol;
use crate::recording::order::Order;
use crate::recording::stats::{Clock, WorkerStats};
use crate::recording::token::{Scanner, Token};

/// A line longer than this without a newline is dropped rather than buffered without bound;
/// readers keep this much room in front of each read for the unfinished line.
pub const MAX_TAIL: usize = 64 * 1024;

/// One bot's receiving state.
pub struct Receiver {
    me: u32,
    protocol: Protocol,
    order: Order,
    tail: Vec<u8>,
    scanner: Scanner,
    skipping: bool,
}

impl Receiver {
    /// State for bot `me` among `senders` bots.
    pub fn new(me: u32, senders: usize, protocol: Protocol) -> Receiver {
        Receiver {
            me,
            protocol,
            order: Order::new(senders),
            tail: Vec::new(),
            scanner: Scanner::default(),
            skipping: false,
        }
    }

    /// The unfinished line kept from the previous read; the caller puts it in front of the next
    /// read's bytes.
    pub fn tail(&self) -> &[u8] {
        &self.tail
    }

    /// Handles `data`: the tail, then newly read bytes, received at `now_us`.
    pub fn feed(&mut self, data: &[u8], now_us: u64, clock: &Clock, stats: &mut WorkerStats) {
        match self.protocol {
            Protocol::Chat1 => self.feed_lines(data, now_us, clock, stats),
            Protocol::Plain => {
                let (me, order) = (self.me, &mut self.order);
                self.scanner
                    .feed(data, |t| token(me, order, t, now_us, clock, stats));
            }
        }
    }

    fn feed_lines(&mut self, data: &[u8], now_us: u64, clock: &Clock, stats: &mut WorkerStats) {
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', data) {
            if !std::mem::take(&mut self.skipping) {
                self.line(&data[start..end], now_us, clock, stats);
            }
            start = end + 1;
        }
        let rest = &data[start..];
        self.tail.clear();
        if self.skipping || rest.len() > MAX_TAIL {
            if !self.skipping {
                stats.error("line-too-long-for-loadgen");
            }
            self.skipping = true;
        } else {
            self.tail.extend_from_slice(rest);
        }
    }

    fn line(&mut self, line: &[u8], now_us: u64, clock: &Clock, stats: &mut WorkerStats) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let text = if let Some(rest) = line
            .strip_prefix(b"MSG ")
            .or_else(|| line.strip_prefix(b"PRIV "))
        {
            // Skip the sender's name.
            match memchr::memchr(b' ', rest) {
                Some(sp) => &rest[sp + 1..],
                None => return,
            }
        } else if let Some(rest) = line.strip_prefix(b"ERR ") {
            let code = rest.split(|&b| b == b' ').next().unwrap_or_default();
            stats.error(&format!("err:{}", String::from_utf8_lossy(code)));
            return;
        } else {
            return;
        };
        if let Some(t) = Token::find_in(text) {
            token(self.me, &mut self.order, t, now_us, clock, stats);
        }
    }
}

/// Records a token received by bot `me`.
fn token(
    me: u32,
    order: &mut Order,
    t: Token,
    now_us: u64,
    clock: &Clock,
    stats: &mut WorkerStats,
) {
    if t.sender == me {
        stats.error("echoed-to-sender");
        return;
    }
    match order.see(t.sender, t.seq) {
        Some(seen) => stats.delivered(clock, &t, now_us, seen),
        None => stats.error("unknown-sender"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(tag: &str, sender: u32, seq: u32, planned_us: u64) -> String {
        let mut text = format!("{tag} lg_{sender} ");
        Token {
            sender,
            seq,
            planned_us,
            sent_us: planned_us + 1,
        }
        .write(&mut text);
        text.push_str("xxxx\n");
        text
    }

    fn setup() -> (Clock, WorkerStats) {
        let c = Clock::default();
        c.set_window(0, 0, 1_000_000);
        (c, WorkerStats::new(4, 8))
    }

    /// Feeds `chunks` as successive reads, the way the worker does: tail first.
    fn feed(r: &mut Receiver, c: &Clock, s: &mut WorkerStats, chunks: &[&[u8]]) {
        for chunk in chunks {
            let mut data = r.tail().to_vec();
            data.extend_from_slice(chunk);
            r.feed(&data, 500, c, s);
        }
    }

    #[test]
    fn msg_and_priv_lines_are_delivered_and_others_ignored() {
        let (c, mut s) = setup();
        let mut r = Receiver::new(0, 4, Protocol::Chat1);
        let text = format!(
            "JOIN x\n{}USERS a b\n{}",
            msg("MSG", 1, 0, 100),
            msg("PRIV", 2, 0, 100)
        );
        feed(&mut r, &c, &mut s, &[text.as_bytes()]);
        assert_eq!(s.tally.delivered, 2);
        assert!(s.errors.is_empty(), "{:?}", s.errors);
    }

    #[test]
    fn every_split_offset_gives_the_same_result() {
        let text = format!(
            "{}ERR line-too-long no\r\n{}",
            msg("MSG", 1, 0, 100),
            msg("MSG", 3, 0, 100)
        );
        let bytes = text.as_bytes();
        for split in 0..=bytes.len() {
            let (c, mut s) = setup();
            let mut r = Receiver::new(0, 4, Protocol::Chat1);
            feed(&mut r, &c, &mut s, &[&bytes[..split], &bytes[split..]]);
            assert_eq!(s.tally.delivered, 2, "split at {split}");
            assert_eq!(
                s.errors.get("err:line-too-long"),
                Some(&1),
                "split at {split}"
            );
        }
    }

    #[test]
    fn own_messages_and_unknown_senders_are_errors() {
        let (c, mut s) = setup();
        let mut r = Receiver::new(1, 4, Protocol::Chat1);
        let text = format!("{}{}", msg("MSG", 1, 0, 100), msg("MSG", 9, 0, 100));
        feed(&mut r, &c, &mut s, &[text.as_bytes()]);
        assert_eq!(s.errors.get("echoed-to-sender"), Some(&1));
        assert_eq!(s.errors.get("unknown-sender"), Some(&1));
        assert_eq!(s.tally.delivered, 0);
    }

    #[test]
    fn a_huge_line_is_dropped_and_reading_goes_on() {
        let (c, mut s) = setup();
        let mut r = Receiver::new(0, 4, Protocol::Chat1);
        let huge = vec![b'z'; MAX_TAIL + 10];
        feed(
            &mut r,
            &c,
            &mut s,
            &[&huge, &huge, b"end\n", msg("MSG", 1, 0, 1).as_bytes()],
        );
        assert!(r.tail().is_empty());
        assert_eq!(s.tally.delivered, 1);
        assert_eq!(s.errors.get("line-too-long-for-loadgen"), Some(&1));
    }

    #[test]
    fn plain_servers_are_scanned_whatever_the_framing() {
        let (c, mut s) = setup();
        let mut r = Receiver::new(0, 4, Protocol::Plain);
        let mut text = String::from("bob: ");
        Token {
            sender: 2,
            seq: 0,
            planned_us: 5,
            sent_us: 6,
        }
        .write(&mut text);
        let bytes = text.as_bytes();
        feed(&mut r, &c, &mut s, &[&bytes[..9], &bytes[9..]]);
        assert_eq!(s.tally.delivered, 1);
    }
}
