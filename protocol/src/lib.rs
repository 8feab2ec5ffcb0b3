//! The batepapo chat protocol, version 1: one place for the wire contract.
//!
//! Parts, in the order data flows through them:
//! - [`framing`]: bytes from a socket become lines ([`LineDecoder`]): LF-terminated, a CR before the
//!   LF dropped, a length limit, UTF-8 checked. Sans-IO, so it is tested on every split of the input.
//! - [`name`]: the rules for a user name (RF1) and the case-insensitive key that makes names unique
//!   (RF2).
//! - [`command`]: what a registered client's line means ([`ClientCommand`]: public text, `@name
//!   text`, `/users`, `/quit`, ...), parsed and encoded.
//! - [`message`]: what the server sends ([`ServerMessage`]: `HELLO`, `WELCOME`, `MSG`, `ERR`, ...),
//!   each with `encode` beside `parse` so the two can never drift apart.
//!
//! The server parses commands and encodes messages; a client does the reverse. The conformance
//! suite deliberately does *not* use this crate, so that a bug here cannot hide from it.

pub mod command;
pub mod framing;
pub mod message;
pub mod name;

pub use command::ClientCommand;
pub use framing::{FrameError, LineDecoder};
pub use message::{ErrorCode, ParseError, ServerMessage};
pub use name::{name_key, validate_name, NameError};

/// The version string the server announces in `HELLO`.
pub const PROTOCOL_VERSION: &str = "chat/1";

/// The default limit on a line's length in bytes, not counting its terminator.
pub const DEFAULT_MAX_LINE: usize = 4096;

/// The longest name allowed, in characters.
pub const MAX_NAME_CHARS: usize = 32;
