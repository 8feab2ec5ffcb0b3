//! An encoded line, shared by every recipient, and the one non-blocking `send` the server uses.
//!
//! A leaf module: everything that writes to a socket depends on it, and it depends on nothing
//! of the server's.

use std::io;
use std::net::TcpStream;
use std::sync::Arc;

use batepapo_protocol::ServerMessage;

/// One encoded line, terminator included, shared by every recipient of a broadcast so that it
/// is encoded once.
pub type Line = Arc<[u8]>;

/// Encodes a message once into a line shareable by all recipients.
pub fn encode(msg: &ServerMessage) -> Line {
    Arc::from(msg.encode().into_bytes())
}

/// One `send` that never blocks, whatever the socket's mode, and never raises SIGPIPE.
pub fn send_nonblocking(stream: &TcpStream, buf: &[u8]) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    // SAFETY: the pointer and length describe `buf`, which outlives the call; the fd is owned by
    // `stream`, which is borrowed for the call.
    let n = unsafe {
        libc::send(
            stream.as_raw_fd(),
            buf.as_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;

    #[test]
    fn encode_ends_the_line_with_lf() {
        let line = encode(&ServerMessage::Msg {
            from: "a".into(),
            text: "hi".into(),
        });
        assert_eq!(&line[..], b"MSG a hi\n");
    }

    #[test]
    fn send_nonblocking_reports_would_block_on_a_full_socket() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let chunk = vec![b'x'; 1 << 20];
        let mut sent = 0usize;
        let err = loop {
            match send_nonblocking(&server, &chunk) {
                Ok(n) => sent += n,
                Err(e) => break e,
            }
            assert!(sent < 1 << 30, "a socket nobody reads never filled");
        };
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        client
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(client.read(&mut buf).unwrap(), 16);
    }
}
