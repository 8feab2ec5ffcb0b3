//! Criterion benchmarks of batepapo's hot paths, in `benches/`:
//! - `protocol`: encoding and parsing lines, and framing a buffer of them;
//! - `fanout`: one line appended to N recipients' outboxes, as a broadcast does;
//! - `broadcast`: end to end over loopback, one message to a few dozen in-process clients.
//!
//! Run them with `cargo bench -p benches`.
