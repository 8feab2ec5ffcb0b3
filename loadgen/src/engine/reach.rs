//! Before the bots start: `--server` resolved, connected to once, and its greeting checked, so
//! that a wrong address or a server of another protocol is one clear error instead of hundreds
//! of failed bots.

use std::io::Read;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::plan::config::{Config, Protocol};

/// Why the server cannot be driven.
#[derive(Debug, thiserror::Error)]
pub enum ReachError {
    /// The server's name does not resolve.
    #[error("cannot resolve --server {0:?} (expected HOST:PORT)")]
    Resolve(String, #[source] std::io::Error),
    /// No address of the server accepts connections.
    #[error("cannot connect to {0}")]
    Connect(String, #[source] std::io::Error),
    /// The server does not greet as a chat/1 server does.
    #[error(
        "{server} does not speak chat/1: it should greet with a line starting \"HELLO \", but \
         {got}. Use --protocol plain for a server with another line protocol."
    )]
    NotChat1 {
        /// The server.
        server: String,
        /// What came instead.
        got: String,
    },
}

/// Resolves `--server` and checks, on the first address that accepts a connection, that the
/// server greets as chat/1 does (for `--protocol chat1`).
pub fn find_server(text: &str, config: &Config) -> Result<SocketAddr, ReachError> {
    let addrs: Vec<SocketAddr> = text
        .to_socket_addrs()
        .map_err(|e| ReachError::Resolve(text.to_string(), e))?
        .collect();
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, config.connect_timeout) {
            Ok(stream) => {
                if config.protocol == Protocol::Chat1 {
                    check_greeting(text, stream, config.connect_timeout)?;
                }
                return Ok(addr);
            }
            Err(e) => last = e,
        }
    }
    Err(ReachError::Connect(text.to_string(), last))
}

fn check_greeting(server: &str, mut stream: TcpStream, wait: Duration) -> Result<(), ReachError> {
    let _ = stream.set_read_timeout(Some(wait));
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while !got.contains(&b'\n') && got.len() < 256 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let line = got.split(|&b| b == b'\n').next().unwrap_or_default();
    if super::handshake::is_greeting(line) {
        return Ok(());
    }
    let got = if got.is_empty() {
        format!("it sent nothing within {:.1} s", wait.as_secs_f64())
    } else {
        format!("it sent {:?}", String::from_utf8_lossy(line))
    };
    Err(ReachError::NotChat1 {
        server: server.to_string(),
        got,
    })
}
