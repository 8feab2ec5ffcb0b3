//! The name handshake: `HELLO`, then names until `WELCOME`.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};

use batepapo_protocol::{validate_name, ErrorCode, ServerMessage};

use crate::connection::{send_line, Incoming, ServerReader};
use crate::display::sanitize;
use crate::ClientError;

/// The outcome of proposing one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Registered; `addr` is how the server sees us (RF12).
    Welcome {
        /// The name, as registered.
        name: String,
        /// Our own address as the server sees it.
        addr: SocketAddr,
    },
    /// Refused, locally or by the server, with a reason for the user. Another name may be tried.
    Refused {
        /// `invalid-name` or `name-taken`.
        code: ErrorCode,
        /// Why, in words.
        reason: String,
    },
}

/// Waits for the server's `HELLO`.
pub fn expect_hello<R: Read>(
    reader: &mut ServerReader<R>,
    server: &str,
) -> Result<(), ClientError> {
    let refused = |reason: String| ClientError::Refused {
        addr: server.to_string(),
        reason,
    };
    match reader.next_message() {
        Ok(Some(Incoming::Message(ServerMessage::Hello { .. }))) => Ok(()),
        Ok(Some(Incoming::Message(ServerMessage::Err { code, text }))) => {
            Err(refused(format!("{code}: {}", sanitize(&text))))
        }
        Ok(Some(other)) => Err(refused(format!(
            "it does not speak chat/1 (first line: {other:?})"
        ))),
        Ok(None) => Err(refused("it closed the connection at once".to_string())),
        Err(e) => Err(ClientError::Lost(e)),
    }
}

/// Proposes a name: checks RF1 locally, then asks the server.
pub fn propose<R: Read>(
    stream: &TcpStream,
    reader: &mut ServerReader<R>,
    server: &str,
    name: &str,
) -> Result<Attempt, ClientError> {
    if let Err(why) = validate_name(name) {
        return Ok(Attempt::Refused {
            code: ErrorCode::InvalidName,
            reason: why.to_string(),
        });
    }
    send_line(stream, name).map_err(ClientError::Lost)?;
    loop {
        match reader.next_message().map_err(ClientError::Lost)? {
            Some(Incoming::Message(ServerMessage::Welcome { name, addr })) => {
                return Ok(Attempt::Welcome { name, addr })
            }
            Some(Incoming::Message(ServerMessage::Err { code, text }))
                if matches!(code, ErrorCode::InvalidName | ErrorCode::NameTaken) =>
            {
                return Ok(Attempt::Refused {
                    code,
                    reason: sanitize(&text),
                })
            }
            Some(Incoming::Message(ServerMessage::Err { code, text })) => {
                return Err(ClientError::Refused {
                    addr: server.to_string(),
                    reason: format!("{code}: {}", sanitize(&text)),
                })
            }
            Some(Incoming::Message(ServerMessage::Bye { text })) => {
                return Err(ClientError::Refused {
                    addr: server.to_string(),
                    reason: sanitize(&text),
                })
            }
            // Anything else before WELCOME is not ours to act on.
            Some(_) => {}
            None => {
                return Err(ClientError::Lost(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the server closed the connection during registration",
                )))
            }
        }
    }
}
