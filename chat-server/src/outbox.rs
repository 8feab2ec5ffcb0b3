//! The outbound side of one connection: a bounded queue that never makes a sender wait.
//!
//! A line for a recipient whose queue is empty is written straight from the sender's thread with
//! a non-blocking `send`; this is the common path and costs one syscall. Only when the socket
//! buffer is full does the rest go to the queue, which the connection's writer thread drains
//! with blocking writes. A queue that reaches its bound means the peer stopped reading: the
//! connection is cut, and its session thread, woken by the shutdown, reports the LEAVE. A slow
//! reader therefore costs the others nothing but one failed `send`.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// One encoded line, shared by every recipient of a broadcast so it is encoded once.
pub type Line = Arc<[u8]>;

/// Why an outbox stopped accepting lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The queue overflowed: the peer stopped reading.
    Overflow,
    /// Writing failed: the peer is gone.
    WriteFailed,
    /// Closed on purpose (after `/quit`, a timeout, or at shutdown).
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Open,
    /// No new lines; the writer flushes the queue, then closes the write side.
    Draining,
    Dead(CloseReason),
}

struct State {
    queue: VecDeque<Line>,
    /// Bytes of the front line already written.
    front_offset: usize,
    mode: Mode,
}

/// The outbound queue of one connection; see the module docs.
pub struct Outbox {
    stream: Arc<TcpStream>,
    max_queue: usize,
    state: Mutex<State>,
    wake: Condvar,
}

impl Outbox {
    /// An outbox writing to `stream` that holds at most `max_queue` lines for a slow peer.
    pub fn new(stream: Arc<TcpStream>, max_queue: usize) -> Outbox {
        Outbox {
            stream,
            max_queue: max_queue.max(1),
            state: Mutex::new(State {
                queue: VecDeque::new(),
                front_offset: 0,
                mode: Mode::Open,
            }),
            wake: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not take every other connection down with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues or writes a line. Returns false if the outbox is closed (or closes now because the
    /// queue overflowed); the line is then dropped.
    pub fn push(&self, line: &Line) -> bool {
        let mut st = self.lock();
        if st.mode != Mode::Open {
            return false;
        }
        if st.queue.is_empty() {
            match send_nonblocking(&self.stream, line) {
                Ok(n) if n == line.len() => return true,
                Ok(n) => {
                    st.front_offset = n;
                    st.queue.push_back(line.clone());
                    self.wake.notify_one();
                }
                Err(e) if is_transient(&e) => {
                    st.front_offset = 0;
                    st.queue.push_back(line.clone());
                    self.wake.notify_one();
                }
                Err(_) => {
                    self.kill(&mut st, CloseReason::WriteFailed);
                    return false;
                }
            }
        } else if st.queue.len() >= self.max_queue {
            self.kill(&mut st, CloseReason::Overflow);
            return false;
        } else {
            st.queue.push_back(line.clone());
        }
        true
    }

    /// Stops accepting lines; the writer flushes what is queued, then closes the write side so
    /// the peer reads everything and then end of stream.
    pub fn close_after_flush(&self) {
        let mut st = self.lock();
        if st.mode == Mode::Open {
            st.mode = Mode::Draining;
            self.wake.notify_one();
        }
    }

    /// Drops whatever is queued and shuts the socket down both ways, which also wakes a session
    /// thread blocked reading it.
    pub fn close_now(&self) {
        let mut st = self.lock();
        if !matches!(st.mode, Mode::Dead(_)) {
            self.kill(&mut st, CloseReason::Closed);
        }
    }

    /// Why the outbox closed, once it is dead.
    pub fn close_reason(&self) -> Option<CloseReason> {
        match self.lock().mode {
            Mode::Dead(reason) => Some(reason),
            _ => None,
        }
    }

    fn kill(&self, st: &mut State, reason: CloseReason) {
        st.mode = Mode::Dead(reason);
        st.queue.clear();
        let _ = self.stream.shutdown(Shutdown::Both);
        self.wake.notify_one();
    }

    /// The writer thread's loop: drains the queue with blocking writes until the outbox dies or
    /// finishes draining.
    pub fn run_writer(&self) {
        loop {
            let (line, offset) = {
                let mut st = self.lock();
                loop {
                    if let Mode::Dead(_) = st.mode {
                        return;
                    }
                    if let Some(front) = st.queue.front() {
                        break (front.clone(), st.front_offset);
                    }
                    if st.mode == Mode::Draining {
                        let _ = self.stream.shutdown(Shutdown::Write);
                        st.mode = Mode::Dead(CloseReason::Closed);
                        return;
                    }
                    st = self.wake.wait(st).unwrap_or_else(|e| e.into_inner());
                }
            };
            // The front line stays queued while it is written, so pushers keep queueing behind
            // it instead of writing directly and overtaking it.
            let result = (&*self.stream).write_all(&line[offset..]);
            let mut st = self.lock();
            if let Mode::Dead(_) = st.mode {
                return;
            }
            match result {
                Ok(()) => {
                    st.queue.pop_front();
                    st.front_offset = 0;
                }
                Err(_) => {
                    self.kill(&mut st, CloseReason::WriteFailed);
                    return;
                }
            }
        }
    }
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

/// One `send` that never blocks, whatever the socket's mode, and never raises SIGPIPE.
pub(crate) fn send_nonblocking(stream: &TcpStream, buf: &[u8]) -> io::Result<usize> {
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
    use std::time::Duration;

    fn pair() -> (Arc<TcpStream>, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        (Arc::new(server), client)
    }

    fn line(s: &str) -> Line {
        Arc::from(s.as_bytes())
    }

    #[test]
    fn empty_queue_writes_directly() {
        let (server, mut client) = pair();
        let outbox = Outbox::new(server, 4);
        assert!(outbox.push(&line("MSG a hi\n")));
        let mut buf = [0u8; 9];
        client.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"MSG a hi\n");
    }

    #[test]
    fn overflow_closes_and_refuses_more() {
        let (server, mut client) = pair();
        let outbox = Arc::new(Outbox::new(server, 2));
        // Nobody drains and the peer never reads: the socket buffer fills, then the queue.
        let big = line(&"x".repeat(64 * 1024));
        let mut pushed = 0;
        while outbox.push(&big) {
            pushed += 1;
            assert!(pushed < 10_000, "overflow never detected");
        }
        assert_eq!(outbox.close_reason(), Some(CloseReason::Overflow));
        assert!(!outbox.push(&line("late\n")));
        // The peer sees the connection end after whatever the kernel had buffered.
        let mut sink = Vec::new();
        let _ = client.read_to_end(&mut sink);
    }

    #[test]
    fn writer_flushes_backlog_in_order_then_closes() {
        let (server, mut client) = pair();
        let outbox = Arc::new(Outbox::new(server, 100_000));
        let writer = {
            let outbox = outbox.clone();
            std::thread::spawn(move || outbox.run_writer())
        };
        let mut expected = Vec::new();
        for i in 0..20_000 {
            let l = format!("MSG a {i:08}\n");
            expected.extend_from_slice(l.as_bytes());
            assert!(outbox.push(&line(&l)));
        }
        outbox.close_after_flush();
        let mut got = Vec::new();
        client.read_to_end(&mut got).unwrap();
        writer.join().unwrap();
        assert_eq!(got.len(), expected.len());
        assert!(got == expected, "lines arrived out of order");
    }

    #[test]
    fn close_now_wakes_a_blocked_reader() {
        let (server, mut client) = pair();
        let reader = {
            let server = server.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 16];
                (&*server).read(&mut buf)
            })
        };
        let outbox = Outbox::new(server, 4);
        outbox.close_now();
        assert_eq!(reader.join().unwrap().unwrap(), 0);
        let mut buf = [0u8; 1];
        assert_eq!(client.read(&mut buf).unwrap_or(0), 0);
    }
}
