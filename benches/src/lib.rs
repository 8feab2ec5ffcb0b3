//! Criterion benchmarks of batepapo's hot paths live in this crate's `benches/` folder.
