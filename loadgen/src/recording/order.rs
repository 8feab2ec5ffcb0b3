//! Per-sender order at one recipient: was a token new, late (after a later one from the same
//! sender), or a duplicate? Bounded memory whatever the run's length.

/// What a bot's order check made of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// First time, in order.
    New,
    /// First time, but after a later message from the same sender.
    Late,
    /// Seen before.
    Duplicate,
}

/// One bot's view of each sender's sequence: the highest number seen and which of the 64 below
/// it arrived. Bounded memory whatever the run's length; a token more than 64 behind is counted
/// as late (a duplicate that old cannot be told apart, and a correct server sends neither).
#[derive(Debug, Clone)]
pub struct Order {
    // Both halves of a sender's state side by side: one cache line per lookup.
    senders: Vec<Window>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    highest: u32,
    below: u64,
}

const NONE: u32 = u32::MAX;

impl Order {
    /// Nothing seen yet from any of `senders`.
    pub fn new(senders: usize) -> Order {
        Order {
            senders: vec![
                Window {
                    highest: NONE,
                    below: 0
                };
                senders
            ],
        }
    }

    /// Classifies `seq` from `sender`; `None` for an unknown sender.
    pub fn see(&mut self, sender: u32, seq: u32) -> Option<Seen> {
        let w = self.senders.get_mut(sender as usize)?;
        let high = w.highest;
        if high == NONE || seq > high {
            let shift = if high == NONE { 64 } else { seq - high };
            // Bit k means "high - 1 - k arrived"; the old highest becomes bit shift - 1.
            let moved = if shift >= 64 { 0 } else { w.below << shift };
            let old = if high != NONE && shift <= 64 {
                1u64 << (shift - 1)
            } else {
                0
            };
            w.below = moved | old;
            w.highest = seq;
            return Some(Seen::New);
        }
        if seq == high {
            return Some(Seen::Duplicate);
        }
        let back = high - seq - 1;
        if back >= 64 {
            return Some(Seen::Late);
        }
        let bit = 1u64 << back;
        if w.below & bit != 0 {
            Some(Seen::Duplicate)
        } else {
            w.below |= bit;
            Some(Seen::Late)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_tells_new_late_and_duplicate_apart() {
        let mut o = Order::new(2);
        assert_eq!(o.see(1, 2), Some(Seen::New));
        assert_eq!(o.see(1, 2), Some(Seen::Duplicate));
        assert_eq!(o.see(1, 0), Some(Seen::Late));
        assert_eq!(o.see(1, 0), Some(Seen::Duplicate));
        assert_eq!(o.see(1, 1), Some(Seen::Late));
        assert_eq!(o.see(1, 3), Some(Seen::New));
        assert_eq!(o.see(1, 1), Some(Seen::Duplicate));
        assert_eq!(o.see(0, 0), Some(Seen::New));
        assert_eq!(o.see(5, 0), None);
    }

    #[test]
    fn order_remembers_64_behind_across_big_jumps() {
        let mut o = Order::new(1);
        assert_eq!(o.see(0, 10), Some(Seen::New));
        assert_eq!(o.see(0, 74), Some(Seen::New));
        // 10 is exactly 64 behind: still remembered as seen.
        assert_eq!(o.see(0, 10), Some(Seen::Duplicate));
        assert_eq!(o.see(0, 11), Some(Seen::Late));
        assert_eq!(o.see(0, 1_000), Some(Seen::New));
        assert_eq!(o.see(0, 74), Some(Seen::Late), "too old to tell");
    }

    #[test]
    fn a_long_in_order_stream_has_no_false_alarms() {
        let mut o = Order::new(1);
        for seq in 0..10_000 {
            assert_eq!(o.see(0, seq), Some(Seen::New));
        }
    }
}
