//! Finding out how a free-form server frames its input, before any case runs.
//!
//! Two clients send their names as single unterminated writes. A server that takes each
//! `recv` as a message registers both at once, and the first is told the second joined: it
//! frames by write. A server that reads lines registers nobody until the names end: the grader
//! then sends LF to both, and the join notice that follows shows it frames by line. A server
//! that announces nobody either way cannot be graded by meaning, and is told so.

use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

use super::peer::find;
use super::settings::Framing;

/// Why the framing could not be found.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// The server could not be reached.
    #[error("cannot connect to {0}")]
    Connect(SocketAddr, #[source] std::io::Error),
    /// The second name came back only as a relayed message: the server names nobody.
    #[error(
        "{addr} relays what users send, but announced no newcomer: two clients sent their names \
         ({a}, {b}), and what reached the first was the second's name relayed like any message \
         (the second's next message came back in the same shape, without its name). A server \
         graded with --protocol plain must register each user by the name it sends first and \
         tell the others when someone joins (RF3). What the first client received: {got:?}"
    )]
    Unnamed {
        /// The server.
        addr: SocketAddr,
        /// The first client's name.
        a: String,
        /// The second client's name.
        b: String,
        /// What the first client received.
        got: String,
    },
    /// Neither way of sending names produced a join notice.
    #[error(
        "{addr} announced no newcomer: two clients sent their names ({a}, {b}) as one write \
         each, then ended them with LF, and the first never received the second's name. A \
         server graded with --protocol plain must tell its users when someone joins (RF3). \
         If it frames input another way, say so with --framing lines|writes. What the first \
         client received: {got:?}"
    )]
    NoJoinNotice {
        /// The server.
        addr: SocketAddr,
        /// The first client's name.
        a: String,
        /// The second client's name.
        b: String,
        /// What the first client received.
        got: String,
    },
}

/// Detects the framing; `patience` is how long to wait for each answer.
pub fn detect(addr: SocketAddr, patience: Duration) -> Result<Framing, DetectError> {
    detect_in(None, addr, patience)
}

/// [`detect`], for a server in the network namespace of process `ns`.
pub fn detect_in(
    ns: Option<u32>,
    addr: SocketAddr,
    patience: Duration,
) -> Result<Framing, DetectError> {
    let stamp = std::process::id() % 100_000;
    let (a_name, b_name) = (format!("probea{stamp}"), format!("probeb{stamp}"));
    let connect = || {
        let s = crate::net::connect(ns, addr, patience, None)
            .map_err(|e| DetectError::Connect(addr, e))?;
        let _ = s.set_nodelay(true);
        Ok::<_, DetectError>(s)
    };
    let a = connect()?;
    let _ = (&a).write_all(a_name.as_bytes());
    let mut got = Vec::new();
    // A welcome that names it, or a moment, so the first is in before the second arrives.
    let _ = read_until(
        &a,
        &mut got,
        a_name.as_bytes(),
        patience.min(Duration::from_secs(1)),
    );
    let b = connect()?;
    let _ = (&b).write_all(b_name.as_bytes());
    let framing = if read_until(&a, &mut got, b_name.as_bytes(), patience) {
        Some(Framing::Writes)
    } else {
        let _ = (&a).write_all(b"\n");
        let _ = read_until(
            &a,
            &mut got,
            a_name.as_bytes(),
            patience.min(Duration::from_secs(1)),
        );
        let _ = (&b).write_all(b"\n");
        read_until(&a, &mut got, b_name.as_bytes(), patience).then_some(Framing::Lines)
    };
    let shown = |got: &[u8]| String::from_utf8_lossy(got).chars().take(300).collect();
    let Some(framing) = framing else {
        leave(&a);
        leave(&b);
        return Err(DetectError::NoJoinNotice {
            addr,
            a: a_name,
            b: b_name,
            got: shown(&got),
        });
    };
    // A server that relays every line would have sent the name back as a message: the
    // second's next message tells the two apart.
    let notice_at = find(&got, b_name.as_bytes(), 0).unwrap_or(0);
    let tok = format!("tokprobe{stamp}");
    std::thread::sleep(super::peer::GAP);
    let message = match framing {
        Framing::Lines => format!("{tok}\n"),
        Framing::Writes => tok.clone(),
    };
    let _ = (&b).write_all(message.as_bytes());
    let named = if read_until(&a, &mut got, tok.as_bytes(), patience) {
        let tok_at = find(&got, tok.as_bytes(), notice_at).unwrap_or(0);
        let again = find(&got[..tok_at], b_name.as_bytes(), notice_at + b_name.len()).is_some();
        again || prefix(&got, notice_at) != prefix(&got, tok_at)
    } else {
        // It relays nothing: the name came as a notice, and RF5 will say the rest.
        true
    };
    leave(&a);
    leave(&b);
    if !named {
        return Err(DetectError::Unnamed {
            addr,
            a: a_name,
            b: b_name,
            got: shown(&got),
        });
    }
    Ok(framing)
}

/// What comes before `at` on its line (at most 24 bytes): a message's shape.
fn prefix(got: &[u8], at: usize) -> &[u8] {
    let start = got[..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1)
        .max(at.saturating_sub(24));
    &got[start..at]
}

/// Leaves politely: no more sending, then read what was still sent until the server closes
/// (or a second passes), so the kernel does not reset a connection with data unread.
fn leave(s: &TcpStream) {
    use std::io::Read;
    let _ = s.shutdown(Shutdown::Write);
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    let mut buf = [0u8; 4096];
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        if left.is_zero() || s.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match (&*s).read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
}

/// Reads into `got` until `needle` is in it, the stream ends, or `within` passes.
fn read_until(s: &TcpStream, got: &mut Vec<u8>, needle: &[u8], within: Duration) -> bool {
    use std::io::Read;
    let deadline = std::time::Instant::now() + within;
    let mut buf = [0u8; 4096];
    loop {
        if find(got, needle, 0).is_some() {
            return true;
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() || s.set_read_timeout(Some(left)).is_err() {
            return false;
        }
        match (&*s).read(&mut buf) {
            Ok(0) => return false,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}
