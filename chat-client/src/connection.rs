//! The socket side: connecting with a deadline, reading server lines, writing client lines.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use batepapo_protocol::{LineDecoder, ParseError, ServerMessage};

use crate::ClientError;

/// Server lines longer than this are skipped; the protocol's own limit is far below it.
const MAX_SERVER_LINE: usize = 64 * 1024;

/// Connects to `server` (`host:port`) within `timeout`, trying each resolved address.
pub fn connect(server: &str, timeout: Duration) -> Result<TcpStream, ClientError> {
    let deadline = Instant::now() + timeout;
    let addrs: Vec<SocketAddr> = server
        .to_socket_addrs()
        .map_err(|source| ClientError::Connect {
            addr: server.to_string(),
            source,
        })?
        .collect();
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the name resolved to no address");
    for addr in &addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            last = io::Error::new(io::ErrorKind::TimedOut, "timed out");
            break;
        }
        match TcpStream::connect_timeout(addr, left) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(match last.kind() {
        io::ErrorKind::ConnectionRefused => ClientError::NotRunning {
            addr: server.to_string(),
            source: last,
        },
        io::ErrorKind::TimedOut => ClientError::NotRunning {
            addr: server.to_string(),
            source: io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no answer within {} s", timeout.as_secs_f64()),
            ),
        },
        _ => ClientError::Connect {
            addr: server.to_string(),
            source: last,
        },
    })
}

/// One thing read from the server.
#[derive(Debug)]
pub enum Incoming {
    /// A line that parsed.
    Message(ServerMessage),
    /// A line that did not; kept raw so it can still be shown.
    Unparsed(String, ParseError),
    /// A line that was too long or not UTF-8.
    Garbled,
}

/// Reads and parses server lines from a stream.
pub struct ServerReader<R> {
    inner: R,
    decoder: LineDecoder,
    buf: Vec<u8>,
    eof: bool,
}

impl<R: Read> ServerReader<R> {
    /// Wraps a byte stream.
    pub fn new(inner: R) -> Self {
        ServerReader {
            inner,
            decoder: LineDecoder::new(MAX_SERVER_LINE),
            buf: vec![0; 16 * 1024],
            eof: false,
        }
    }

    /// The next line, or `None` at end of stream.
    pub fn next_message(&mut self) -> io::Result<Option<Incoming>> {
        loop {
            let line = match self.decoder.next_line() {
                Some(line) => Some(line),
                None if self.eof => self.decoder.finish(),
                None => {
                    match self.inner.read(&mut self.buf) {
                        Ok(0) => self.eof = true,
                        Ok(n) => self.decoder.push(&self.buf[..n]),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                    continue;
                }
            };
            return Ok(line.map(|line| match line {
                Ok(text) => match ServerMessage::parse(&text) {
                    Ok(msg) => Incoming::Message(msg),
                    Err(e) => Incoming::Unparsed(text, e),
                },
                Err(_) => Incoming::Garbled,
            }));
        }
    }
}

/// Sends one line (a LF is added).
pub fn send_line(mut stream: &TcpStream, line: &str) -> io::Result<()> {
    let mut bytes = Vec::with_capacity(line.len() + 1);
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    stream.write_all(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn refused_connect_says_not_running() {
        // Bind then drop to get a port that is very likely closed.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let started = Instant::now();
        let err = connect(&format!("127.0.0.1:{port}"), Duration::from_secs(2)).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(3));
        let text = err.to_string();
        assert!(matches!(err, ClientError::NotRunning { .. }), "{text}");
        assert!(text.contains("not running"), "{text}");
        assert!(text.contains(&port.to_string()), "{text}");
    }

    #[test]
    fn bad_address_is_a_connect_error() {
        let err = connect("no-port-here", Duration::from_secs(1)).unwrap_err();
        assert!(matches!(err, ClientError::Connect { .. }), "{err}");
    }

    #[test]
    fn reader_parses_glued_and_split_lines() {
        let data: &[u8] = b"HELLO chat/1 hi\nMSG bob a\r\nWHAT\n\xff\nBYE x";
        let mut r = ServerReader::new(data);
        assert!(matches!(
            r.next_message().unwrap(),
            Some(Incoming::Message(ServerMessage::Hello { .. }))
        ));
        assert!(matches!(
            r.next_message().unwrap(),
            Some(Incoming::Message(ServerMessage::Msg { .. }))
        ));
        assert!(matches!(
            r.next_message().unwrap(),
            Some(Incoming::Unparsed(..))
        ));
        assert!(matches!(r.next_message().unwrap(), Some(Incoming::Garbled)));
        assert!(matches!(
            r.next_message().unwrap(),
            Some(Incoming::Message(ServerMessage::Bye { .. }))
        ));
        assert!(r.next_message().unwrap().is_none());
    }
}
