//! Cases written in Rust: what a scenario file cannot express (exact lengths, raw bytes,
//! concurrency, slow readers, timeouts, filling the server, running the client binary).

mod client;
mod concurrency;
mod floods;
mod input;
mod limits;
mod names;
mod positions;

use crate::case::{Body, Case, CaseFn, Level};

fn case(id: &str, rf: &str, level: Level, title: &str, f: CaseFn) -> Case {
    Case::new(id, rf, level, title, Body::Code(f))
}

/// Every Rust-coded case.
pub fn builtin() -> Vec<Case> {
    let mut all = Vec::new();
    all.extend(names::cases());
    all.extend(concurrency::cases());
    all.extend(floods::cases());
    all.extend(input::cases());
    all.extend(limits::cases());
    all.extend(positions::cases());
    all.extend(client::cases());
    all
}
