//! Closing a connection without a reset. A socket closed while its peer's bytes are still
//! unread, or shut both ways while the peer is still sending, answers with a reset, and a reset
//! throws away what the server's side had not sent yet: when the peer's window is full, the
//! final `BYE` or `ERR` line among it. So after the last line is queued, the connection is kept
//! open, and whatever the peer sends is read and discarded, until the peer closes too or a
//! bounded time passes.
//!
//! Two ways, for two situations:
//! - [`after_last_line`]: the session's reading side is intact, so a blocking read waits for the
//!   peer's bytes or its close.
//! - [`at_shutdown`]: the shutdown wakes every session by shutting its reading side, after which
//!   a read (and `poll`) returns at once instead of waiting for the peer, so the peer is watched
//!   in short steps instead: its bytes drained, its close read from the kernel's TCP state.

use std::io::Read;
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsRawFd;
use std::thread;
use std::time::{Duration, Instant};

use crate::server::FLUSH_GRACE;
use crate::session::Conn;
use crate::shared::Shared;

/// The longest a closing connection is kept open for its peer.
pub(crate) const LINGER: Duration = Duration::from_secs(2);
/// How often a connection lingering at shutdown looks at its peer.
const PEER_CHECK: Duration = Duration::from_millis(5);

/// Writes what is queued, shuts the write side, and reads and discards until the peer closes
/// too (or [`LINGER`] passes).
pub(crate) fn after_last_line(conn: &Conn, shared: &Shared) {
    conn.outbox.close_after_flush();
    let deadline = Instant::now() + LINGER;
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || conn.stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        let read = (&*conn.stream).read(&mut buf);
        shared.metrics.received(*read.as_ref().unwrap_or(&0));
        if !matches!(read, Ok(n) if n > 0) {
            return;
        }
    }
}

/// At shutdown, once the `BYE` the shutdown queued is written (or [`FLUSH_GRACE`] passes): reads
/// and discards what the peer still sends until the peer's kernel has taken every byte written
/// to it (the `BYE` is safe then: a reset does not take back what a peer has received), the
/// peer closes, or [`LINGER`] passes; then shuts the write side. A peer that has stopped
/// sending then reads end of stream after its `BYE`; one still sending is reset, once its `BYE`
/// is in its hands (or the time is up). A connection whose `BYE` was never written (cut off, or
/// closed when the shutdown's grace ran out) has nothing to linger for.
///
/// The write side is shut only then: with both sides shut, the kernel answers the peer's next
/// bytes with a reset at once (RFC 1122), which throws away what it has not sent yet.
pub(crate) fn at_shutdown(conn: &Conn, shared: &Shared) {
    if !conn.outbox.wait_closed(Instant::now() + FLUSH_GRACE) || !conn.outbox.written_out() {
        return;
    }
    drain_until_delivered(conn, shared);
    let _ = conn.stream.shutdown(Shutdown::Write);
}

fn drain_until_delivered(conn: &Conn, shared: &Shared) {
    if conn.stream.set_nonblocking(true).is_err() {
        return;
    }
    let deadline = Instant::now() + LINGER;
    let mut buf = [0u8; 4096];
    loop {
        // After the reading side is shut, a read returns 0 at once when nothing is queued.
        while let Ok(n @ 1..) = (&*conn.stream).read(&mut buf) {
            shared.metrics.received(n);
            if Instant::now() >= deadline {
                return;
            }
        }
        let peer = peer_state(&conn.stream);
        if peer.closed || peer.holds_everything || Instant::now() >= deadline {
            return;
        }
        // Nothing can be waited on: the reading side is shut, so every wait returns at once.
        thread::sleep(PEER_CHECK);
    }
}

/// What the kernel knows of the peer.
struct PeerState {
    /// Its FIN or a reset has come. After the reading side is shut, a read cannot tell.
    closed: bool,
    /// It has acknowledged every byte written to it: nothing is left in the send queue.
    holds_everything: bool,
}

/// The kernel's view of the peer; when it cannot be read, "closed", which ends the lingering.
fn peer_state(stream: &TcpStream) -> PeerState {
    // Linux's TCP states once the peer's FIN (or a reset) has arrived: TIME_WAIT, CLOSE,
    // CLOSE_WAIT, LAST_ACK, CLOSING.
    const PEER_DONE: [u8; 5] = [6, 7, 8, 9, 11];
    let fd = stream.as_raw_fd();
    // SAFETY: an all-zero tcp_info is valid; the kernel writes at most `len` bytes into it.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: a valid socket, and a buffer of the length we pass.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        )
    };
    let mut queued: libc::c_int = 0;
    // SAFETY: TIOCOUTQ (SIOCOUTQ) writes one int: bytes sent but not acknowledged, or unsent.
    let q = unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut queued) };
    PeerState {
        closed: r != 0 || q != 0 || PEER_DONE.contains(&info.tcpi_state),
        holds_everything: queued == 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let peer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (ours, _) = listener.accept().unwrap();
        (ours, peer)
    }

    /// Waits (bounded) until `ready` holds: what crosses loopback is there within the sending
    /// call, but the test does not lean on that.
    fn eventually(what: &str, ready: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !ready() {
            assert!(Instant::now() < deadline, "{what} never showed");
            thread::yield_now();
        }
    }

    #[test]
    fn our_own_read_shutdown_is_not_the_peers_close_and_its_fin_is() {
        let (ours, peer) = pair();
        ours.shutdown(Shutdown::Read).unwrap();
        assert!(!peer_state(&ours).closed);
        peer.shutdown(Shutdown::Write).unwrap();
        eventually("the peer's FIN", || peer_state(&ours).closed);
    }

    #[test]
    fn a_peer_holds_everything_once_it_has_acknowledged_it() {
        let (mut ours, _peer) = pair();
        ours.write_all(b"BYE bye\n").unwrap();
        eventually("the acknowledgement", || peer_state(&ours).holds_everything);
    }

    #[test]
    fn a_peer_with_a_full_window_does_not_hold_everything() {
        use socket2::{Domain, Socket, Type};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let peer = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        peer.set_recv_buffer_size(1).unwrap();
        peer.connect(&listener.local_addr().unwrap().into())
            .unwrap();
        let (ours, _) = listener.accept().unwrap();
        ours.set_nonblocking(true).unwrap();
        // Far more than the peer's window: the rest stays in our send queue.
        let mut written = 0;
        while let Ok(n) = (&ours).write(&[b'x'; 4096]) {
            written += n;
            if written > 256 * 1024 {
                break;
            }
        }
        let state = peer_state(&ours);
        assert!(!state.holds_everything && !state.closed);
        drop(peer);
    }
}
