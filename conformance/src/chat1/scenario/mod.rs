//! Cases as data: a TOML file per case under `scenarios/`, so anyone can add one without Rust.
//!
//! ```toml
//! id = "RF5-01"
//! rf = "RF5"
//! level = "MUST"
//! title = "a public message reaches every other user"
//! clause = "PROTOCOL.md §Chatting: MSG to every other user"   # optional
//!
//! [[step]]
//! client = "alice"
//! join = true          # connect, read HELLO, register, check WELCOME and USERS
//!
//! [[step]]
//! client = "bob"
//! join = true
//!
//! [[step]]
//! client = "bob"
//! send = "hello"
//!
//! [[step]]
//! client = "alice"
//! expect = "MSG {bob} hello"   # `*` matches any text
//!
//! [[step]]
//! client = "bob"
//! expect-none = true           # nothing else reached bob (a /users fence)
//! ```
//!
//! Each step names exactly one action: `connect` (and read HELLO), `join`, `register` (after
//! `connect`), `send`, `expect`, `expect-none` (`true` for a `/users` fence on the client itself,
//! or the label of a sender whose private fence must be the next line from it), `expect-eof`,
//! `close`. A flag action must be `true`: `close = false` is refused (naming the file, step and
//! field) rather than read as a close, since the engine has no "do not close".
//! Placeholders: `{alice}` is the unique name of client `alice`, `{alice.addr}` its ip:port,
//! `{alice.upper}` and `{alice.lower}` the name in other cases.
//!
//! Parts: [`schema`] is the file format and its checks; [`run`] interprets the steps against a
//! server; [`load`] finds the files (built in, or `--scenarios DIR`).

pub mod load;
pub mod run;
pub mod schema;

pub use load::{builtin, load_dir};
pub use schema::{Action, Scenario, ScenarioError, Step};
