//! The outbound side of one connection: a bounded buffer that never makes a sender wait.
//!
//! [`Outbox::push`] appends a line to the pending buffer and, unless the connection is already
//! waiting, queues it on the [`Flusher`] pool, which writes whole buffers with non-blocking
//! sends (batching under load). Only when the socket buffer is full does the connection become
//! *backlogged*: its own writer thread then drains the buffer with blocking writes. A buffer
//! that reaches its bound means the peer stopped reading: the connection is cut, and its session
//! thread, woken by the shutdown, reports the LEAVE. A slow reader therefore costs the others
//! nothing but a memory copy per line.

use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::flusher::Flusher;

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
    /// No new lines; the writer flushes what is pending, then closes the write side.
    Draining,
    Dead(CloseReason),
}

struct State {
    /// Bytes not yet handed to the kernel, in order.
    pending: Vec<u8>,
    /// Lines in `pending`.
    pending_lines: usize,
    /// Lines the writer thread took and is still writing; they count against the bound too,
    /// or a peer that never reads could hold twice the queue.
    writing_lines: usize,
    /// A spare buffer, swapped with `pending` so flushing does not allocate.
    spare: Vec<u8>,
    mode: Mode,
    /// On the flusher's ready queue.
    scheduled: bool,
    /// A flusher is writing this connection's bytes right now.
    flushing: bool,
    /// The socket was full (or the outbox is draining): the writer thread owns all writing.
    backlogged: bool,
}

/// The outbound buffer of one connection; see the module docs.
pub struct Outbox {
    stream: Arc<TcpStream>,
    max_queue: usize,
    flusher: Arc<Flusher>,
    state: Mutex<State>,
    wake: Condvar,
}

impl Outbox {
    /// An outbox writing to `stream` through `flusher`, holding at most `max_queue` lines for a
    /// peer that does not read.
    pub fn new(stream: Arc<TcpStream>, max_queue: usize, flusher: Arc<Flusher>) -> Outbox {
        Outbox {
            stream,
            max_queue: max_queue.max(1),
            flusher,
            state: Mutex::new(State {
                pending: Vec::new(),
                pending_lines: 0,
                writing_lines: 0,
                spare: Vec::new(),
                mode: Mode::Open,
                scheduled: false,
                flushing: false,
                backlogged: false,
            }),
            wake: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not take every other connection down with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a line. Returns false if the outbox is closed (or closes now because the buffer
    /// overflowed); the line is then dropped.
    pub fn push(self: &Arc<Self>, line: &Line) -> bool {
        let mut st = self.lock();
        if st.mode != Mode::Open {
            return false;
        }
        if st.pending_lines + st.writing_lines >= self.max_queue {
            self.kill(&mut st, CloseReason::Overflow);
            return false;
        }
        st.pending.extend_from_slice(line);
        st.pending_lines += 1;
        if st.backlogged {
            self.wake.notify_one();
        } else if !st.scheduled && !st.flushing {
            st.scheduled = true;
            drop(st);
            self.flusher.schedule(self.clone());
        }
        true
    }

    /// Called by a flusher thread: writes the pending bytes without blocking. What the kernel
    /// does not take makes the connection backlogged, for the writer thread to finish.
    pub(crate) fn flush(self: &Arc<Self>) {
        let mut bytes = {
            let mut st = self.lock();
            st.scheduled = false;
            if st.backlogged || st.pending.is_empty() || matches!(st.mode, Mode::Dead(_)) {
                return;
            }
            st.flushing = true;
            st.pending_lines = 0;
            let spare = std::mem::take(&mut st.spare);
            std::mem::replace(&mut st.pending, spare)
        };
        let mut written = 0;
        let failed = loop {
            match send_nonblocking(&self.stream, &bytes[written..]) {
                Ok(n) => {
                    written += n;
                    if written == bytes.len() {
                        break false;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break false,
                Err(_) => break true,
            }
        };
        let mut st = self.lock();
        st.flushing = false;
        if failed {
            self.kill(&mut st, CloseReason::WriteFailed);
            return;
        }
        if matches!(st.mode, Mode::Dead(_)) {
            return;
        }
        if written < bytes.len() {
            // The unsent rest goes before whatever arrived meanwhile.
            let arrived = std::mem::take(&mut st.pending);
            bytes.drain(..written);
            // Slow path only: count the lines put back, so the bound stays exact.
            st.pending_lines += bytes.iter().filter(|&&b| b == b'\n').count().max(1);
            bytes.extend_from_slice(&arrived);
            st.pending = bytes;
            st.backlogged = true;
            self.wake.notify_one();
            return;
        }
        bytes.clear();
        st.spare = bytes;
        if st.backlogged {
            // close_after_flush ran meanwhile: the writer waits for this flush to end.
            self.wake.notify_one();
        } else if !st.pending.is_empty() && !st.scheduled {
            st.scheduled = true;
            drop(st);
            self.flusher.schedule(self.clone());
        }
    }

    /// Stops accepting lines; what is pending is written, then the write side is closed so the
    /// peer reads everything and then end of stream.
    pub fn close_after_flush(&self) {
        let mut st = self.lock();
        if st.mode == Mode::Open {
            st.mode = Mode::Draining;
            st.backlogged = true;
            self.wake.notify_one();
        }
    }

    /// Drops whatever is pending and shuts the socket down both ways, which also wakes a session
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
        st.pending = Vec::new();
        st.pending_lines = 0;
        let _ = self.stream.shutdown(Shutdown::Both);
        self.wake.notify_one();
    }

    /// The writer thread's loop: while the connection is backlogged, drains the buffer with
    /// blocking writes; returns when the outbox dies or has drained and closed.
    pub fn run_writer(&self) {
        loop {
            let bytes = {
                let mut st = self.lock();
                loop {
                    if let Mode::Dead(_) = st.mode {
                        return;
                    }
                    if st.backlogged && !st.flushing {
                        if !st.pending.is_empty() {
                            st.writing_lines = std::mem::take(&mut st.pending_lines);
                            break std::mem::take(&mut st.pending);
                        }
                        if st.mode == Mode::Draining {
                            let _ = self.stream.shutdown(Shutdown::Write);
                            st.mode = Mode::Dead(CloseReason::Closed);
                            return;
                        }
                        // Caught up: back to the flushers.
                        st.backlogged = false;
                    }
                    st = self.wake.wait(st).unwrap_or_else(|e| e.into_inner());
                }
            };
            let result = (&*self.stream).write_all(&bytes);
            let mut st = self.lock();
            st.writing_lines = 0;
            if result.is_err() && !matches!(st.mode, Mode::Dead(_)) {
                self.kill(&mut st, CloseReason::WriteFailed);
                return;
            }
        }
    }
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

    fn outbox(stream: Arc<TcpStream>, max: usize) -> (Arc<Outbox>, Arc<Flusher>) {
        let flusher = Flusher::start(1).unwrap();
        (Arc::new(Outbox::new(stream, max, flusher.clone())), flusher)
    }

    #[test]
    fn a_pushed_line_reaches_the_peer() {
        let (server, mut client) = pair();
        let (outbox, flusher) = outbox(server, 4);
        assert!(outbox.push(&line("MSG a hi\n")));
        let mut buf = [0u8; 9];
        client.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"MSG a hi\n");
        flusher.shutdown();
    }

    #[test]
    fn overflow_closes_and_refuses_more() {
        let (server, mut client) = pair();
        let (outbox, flusher) = outbox(server, 2);
        // No writer thread and a peer that never reads: the socket fills, then the buffer.
        let big = line(&"x".repeat(64 * 1024));
        let mut pushed = 0;
        while outbox.push(&big) {
            pushed += 1;
            assert!(pushed < 10_000, "overflow never detected");
        }
        assert_eq!(outbox.close_reason(), Some(CloseReason::Overflow));
        assert!(!outbox.push(&line("late\n")));
        let mut sink = Vec::new();
        let _ = client.read_to_end(&mut sink);
        flusher.shutdown();
    }

    #[test]
    fn lines_arrive_complete_and_in_order_through_backlog_and_close() {
        let (server, mut client) = pair();
        let (outbox, flusher) = outbox(server, 1_000_000);
        let writer = {
            let outbox = outbox.clone();
            std::thread::spawn(move || outbox.run_writer())
        };
        let mut expected = Vec::new();
        for i in 0..50_000 {
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
        flusher.shutdown();
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
        let (outbox, flusher) = outbox(server, 4);
        outbox.close_now();
        assert_eq!(reader.join().unwrap().unwrap(), 0);
        let mut buf = [0u8; 1];
        assert_eq!(client.read(&mut buf).unwrap_or(0), 0);
        flusher.shutdown();
    }
}
