//! Protocol chat/1, word for word: the contract's cases and the client they share.
//!
//! Parts and how data flows through them: [`preflight`] checks, before any case, that the
//! server speaks chat/1 at all; cases come from [`scenario`] (TOML files under `scenarios/`,
//! built in, or any `--scenarios DIR`) and from `cases` (Rust, for concurrency, raw bytes,
//! drops and the client binary); both drive the server through [`wire`], a raw client that
//! does its own framing, skips lines about other cases' users and proves absences with fences;
//! [`clauses`] ties each case id to the clause of docs/PROTOCOL.md it enforces.

pub(crate) mod cases;
pub mod clauses;
pub mod preflight;
pub mod scenario;
pub mod wire;
