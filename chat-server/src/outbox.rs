//! The outbound side of one connection: a buffer that never makes a sender wait.
//!
//! [`Outbox::push`] appends a line and, if nobody is writing for this connection, queues it on
//! the flusher pool, which writes with non-blocking sends (batching under load). Who writes is
//! one [`Writer`] state at a time: nobody (idle), queued for a flusher, a flusher writing, or
//! parked with the poller because the socket is full. Bytes are copied once in and once out: a
//! flusher writes the `front` buffer from an offset while new lines go to `pending` behind it.
//!
//! The outbox never decides a cut-off by time: it records since when lines have waited without
//! progress ([`Outbox::status`]) and the monitor cuts it ([`Outbox::cut`]). It enforces the
//! per-client cap itself, because that is a property of one push.
//!
//! Locking: the outbox's `state` lock is taken under the registry's or the connection table's,
//! never the other way round, and nothing else is locked while it is held. Bytes are counted in
//! and out of the budget under it (atomics, no lock); what other components must do about a
//! change (wake the senders waiting for room, forget a parked socket, hand the outbox to a
//! flusher) is done once it is released. See the lock order in [`crate::sync`].

use std::net::{Shutdown, TcpStream};
use std::ops::{Deref, DerefMut};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Instant;

use crate::budget::CutReason;
use crate::config::WriteMode;
use crate::delivery::Delivery;
use crate::flusher::Flush;
use crate::line::{send_nonblocking, Line};
use crate::poller::Writable;
use crate::sync::{Condvar, Mutex, MutexGuard};

/// Buffers larger than this are freed once an outbox is idle instead of kept for reuse, so a
/// burst (or the long `USERS` line a newcomer gets) does not pin memory for the life of an idle
/// connection.
const KEEP_CAPACITY: usize = 4 * 1024;

/// Who is writing this connection's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writer {
    /// Nobody: nothing is pending.
    Idle,
    /// On the flusher pool's ready queue.
    Queued,
    /// A flusher is sending right now.
    Flushing,
    /// The socket was full; the poller hands it back to the flushers when it has room.
    Parked,
}

/// Why an outbox stopped for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// The server cut the client off for its backlog.
    Cut(CutReason),
    /// Writing failed: the peer is gone.
    WriteFailed,
    /// Closed on purpose: after `/quit`, a timeout, a lost connection, or at shutdown.
    ByServer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Life {
    Open,
    /// Takes no new lines; once the backlog is written it is dead, and with `shut_write` its
    /// write side is shut.
    Closing {
        shut_write: bool,
    },
    Dead(Closed),
}

struct State {
    life: Life,
    writer: Writer,
    /// Bytes being written, from `sent` on. A flusher takes it out of the state while sending.
    front: Vec<u8>,
    sent: usize,
    /// Bytes queued behind `front`.
    pending: Vec<u8>,
    /// Unsent bytes of `front` that a flusher holds right now.
    in_flight: usize,
    /// Since when lines have waited without the socket taking a byte.
    stalled_since: Option<Instant>,
    /// Bytes this outbox counts in the budget's stuck figure.
    stuck: usize,
    /// It closed after writing everything queued (not cut off or closed at once).
    written_out: bool,
}

impl State {
    fn backlog(&self) -> usize {
        self.front.len() - self.sent + self.pending.len() + self.in_flight
    }
}

/// The outbound buffer of one connection; see the module docs.
pub struct Outbox {
    key: usize,
    stream: Arc<TcpStream>,
    delivery: Arc<Delivery>,
    state: Mutex<State>,
    died: Condvar,
}

impl Outbox {
    /// An outbox writing to `stream`; `key` is unique among open connections.
    pub fn new(key: u64, stream: Arc<TcpStream>, delivery: Arc<Delivery>) -> Outbox {
        Outbox {
            key: key as usize,
            stream,
            delivery,
            state: Mutex::new(State {
                life: Life::Open,
                writer: Writer::Idle,
                front: Vec::new(),
                sent: 0,
                pending: Vec::new(),
                in_flight: 0,
                stalled_since: None,
                stuck: 0,
                written_out: false,
            }),
            died: Condvar::new(),
        }
    }

    fn lock(&self) -> Locked<'_> {
        Locked {
            outbox: self,
            guard: Some(self.state.lock()),
            after: After::default(),
        }
    }

    /// Queues a line. Returns false if the outbox no longer takes lines (or just stopped, because
    /// this line would pass the per-client cap); the line is then dropped.
    pub fn push(self: &Arc<Self>, line: &Line) -> bool {
        let added = self.append(line);
        self.delivery.budget.add(added);
        if added > 0 {
            self.delivery.metrics.lines_out(line_count(line));
        }
        added > 0
    }

    /// Appends without counting the bytes in the budget: the caller counts them, once per batch.
    fn append(self: &Arc<Self>, line: &Line) -> usize {
        let mut st = self.lock();
        if st.life != Life::Open {
            return 0;
        }
        let cap = self.delivery.max_backlog;
        if st.backlog() + line.len() > cap {
            self.kill(&mut st, Closed::Cut(CutReason::BacklogCap(cap)));
            return 0;
        }
        st.pending.extend_from_slice(line);
        if st.writer == Writer::Idle {
            st.writer = Writer::Queued;
            drop(st);
            self.delivery.flusher.schedule(self.clone());
        }
        line.len()
    }

    /// Stops taking lines; what is queued is written, then the write side is shut so the peer
    /// reads everything and then end of stream.
    pub fn close_after_flush(&self) {
        self.close_when_written(true);
    }

    /// Stops taking lines; what is queued is written, and the write side is left open: the
    /// caller ends the connection. For the shutdown, which keeps a connection whose peer is
    /// still sending open a while after its BYE (see `linger`): a shut write side would have
    /// the kernel answer the peer's next bytes with a reset, and a reset throws away whatever
    /// the peer has not been sent yet, the BYE among it.
    pub fn close_when_written_keep_open(&self) {
        self.close_when_written(false);
    }

    fn close_when_written(&self, shut_write: bool) {
        let mut st = self.lock();
        if st.life == Life::Open {
            st.life = Life::Closing { shut_write };
            self.finish_closing(&mut st);
        }
    }

    /// Drops whatever is queued and shuts the socket both ways, which also wakes a session
    /// thread blocked reading it.
    pub fn close_now(&self) {
        let mut st = self.lock();
        if !matches!(st.life, Life::Dead(_)) {
            self.kill(&mut st, Closed::ByServer);
        }
    }

    /// Cuts the client off for its backlog. Returns false if it was already closed.
    pub fn cut(&self, reason: CutReason) -> bool {
        let mut st = self.lock();
        if matches!(st.life, Life::Dead(_)) {
            return false;
        }
        self.kill(&mut st, Closed::Cut(reason));
        true
    }

    /// Why the outbox stopped, once it has.
    pub fn closed(&self) -> Option<Closed> {
        match self.lock().life {
            Life::Dead(why) => Some(why),
            _ => None,
        }
    }

    /// Whether it closed after writing everything queued to the socket, as closing after a
    /// flush does (not cut off, not closed at once, not failed).
    pub fn written_out(&self) -> bool {
        self.lock().written_out
    }

    /// For the monitor: the bytes waiting and since when they have waited without progress;
    /// `None` once closed.
    pub fn status(&self) -> Option<(usize, Option<Instant>)> {
        let st = self.lock();
        match st.life {
            Life::Dead(_) => None,
            _ => Some((st.backlog(), st.stalled_since)),
        }
    }

    /// For the monitor: counts this outbox's backlog as stuck (or not) in the budget. Progress
    /// or closing takes it back by itself.
    pub fn mark_stuck(&self, stuck: bool) {
        let mut st = self.lock();
        if matches!(st.life, Life::Dead(_)) {
            return;
        }
        let now = if stuck { st.backlog() } else { 0 };
        self.delivery
            .budget
            .add_stuck(now as isize - st.stuck as isize);
        st.after.wake |= now != st.stuck;
        st.stuck = now;
    }

    fn unstick(&self, st: &mut Locked<'_>) {
        if st.stuck > 0 {
            self.delivery.budget.add_stuck(-(st.stuck as isize));
            st.stuck = 0;
            st.after.wake = true;
        }
    }

    /// Waits until the outbox has closed (after [`Outbox::close_after_flush`], once everything
    /// is written), or until `deadline`. Returns whether it closed.
    pub fn wait_closed(&self, deadline: Instant) -> bool {
        // The bare guard: waiting changes nothing, so there is nothing to do after it.
        let mut st = self.state.lock();
        loop {
            if matches!(st.life, Life::Dead(_)) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            st = self.died.wait_timeout(st, left);
        }
    }

    fn finish_closing(&self, st: &mut State) {
        if let Life::Closing { shut_write } = st.life {
            if st.writer != Writer::Idle || st.backlog() > 0 {
                return;
            }
            if shut_write {
                let _ = self.stream.shutdown(Shutdown::Write);
            }
            st.written_out = true;
            st.life = Life::Dead(Closed::ByServer);
            self.died.notify_all();
        }
    }

    fn kill(&self, st: &mut Locked<'_>, why: Closed) {
        // Bytes a flusher holds are counted out by that flusher when it comes back.
        self.delivery
            .budget
            .count_out(st.front.len() - st.sent + st.pending.len());
        // Its session may be waiting for room: it must look at its stop condition again.
        st.after.release = true;
        st.front = Vec::new();
        st.sent = 0;
        st.pending = Vec::new();
        st.stalled_since = None;
        self.unstick(st);
        st.life = Life::Dead(why);
        if let Closed::Cut(reason) = why {
            self.delivery.budget.record_cut(reason);
        }
        if st.writer == Writer::Parked {
            st.writer = Writer::Idle;
            st.after.forget = true;
        }
        let _ = self.stream.shutdown(Shutdown::Both);
        self.died.notify_all();
    }

    /// Takes the bytes to send next, or settles the state when there are none.
    fn take_front(&self) -> Option<(Vec<u8>, usize)> {
        let mut st = self.lock();
        if st.writer != Writer::Queued {
            return None;
        }
        if matches!(st.life, Life::Dead(_)) {
            st.writer = Writer::Idle;
            return None;
        }
        if st.front.len() == st.sent {
            let st = &mut *st;
            std::mem::swap(&mut st.front, &mut st.pending);
            st.sent = 0;
        }
        if st.front.is_empty() {
            st.writer = Writer::Idle;
            self.finish_closing(&mut st);
            return None;
        }
        st.writer = Writer::Flushing;
        st.in_flight = st.front.len() - st.sent;
        Some((
            std::mem::take(&mut st.front),
            std::mem::replace(&mut st.sent, 0),
        ))
    }
}

/// An outbox's state, locked. What was decided under the lock for other components is done
/// when this is dropped, after the lock is released, so the outbox never calls out while
/// holding it (see the lock order in [`crate::sync`]).
struct Locked<'a> {
    outbox: &'a Outbox,
    /// `None` only while dropping, once released.
    guard: Option<MutexGuard<'a, State>>,
    after: After,
}

/// Work for other components, found under an outbox's lock.
#[derive(Default)]
struct After {
    /// Bytes left or stopped counting as pressure: senders waiting for room may go on.
    wake: bool,
    /// The outbox closed: its session may be waiting for room and must see that.
    release: bool,
    /// The socket was parked with the poller: stop watching it.
    forget: bool,
}

impl Deref for Locked<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        self.guard.as_ref().expect("locked")
    }
}

impl DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut State {
        self.guard.as_mut().expect("locked")
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let after = std::mem::take(&mut self.after);
        let outbox = self.outbox;
        let delivery = &outbox.delivery;
        if after.forget {
            // The stream stays open while the outbox lives, so the descriptor cannot have been
            // reused by another connection in between.
            delivery
                .poller
                .forget(outbox.key, outbox.stream.as_raw_fd());
        }
        if after.release {
            delivery.budget.release_waiters();
        } else if after.wake {
            delivery.budget.wake_waiters();
        }
    }
}

fn memchr_lf(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

/// Lines in a pushed buffer: usually one, two for the WELCOME and USERS sent together.
fn line_count(line: &Line) -> u64 {
    line.iter().filter(|&&b| b == b'\n').count() as u64
}

/// Appends one line to every outbox in `to`, counting the bytes in the budget once.
pub fn push_all<'a>(to: impl IntoIterator<Item = &'a Arc<Outbox>>, line: &Line) {
    let (mut added, mut lines) = (0, 0);
    let mut delivery = None;
    for outbox in to {
        let n = outbox.append(line);
        added += n;
        lines += (n > 0) as u64;
        delivery.get_or_insert(&outbox.delivery);
    }
    if let Some(d) = delivery {
        d.budget.add(added);
        d.metrics.lines_out(lines * line_count(line));
    }
}

impl Flush for Outbox {
    fn flush(self: Arc<Self>) {
        let Some((mut front, mut sent)) = self.take_front() else {
            return;
        };
        let mut written = 0;
        let metrics = &self.delivery.metrics;
        let failed = loop {
            let rest = &front[sent + written..];
            let chunk = match self.delivery.write_mode {
                WriteMode::Batched => rest,
                // Up to and including the next line's terminator, or a line's unsent rest.
                WriteMode::PerLine => memchr_lf(rest).map_or(rest, |i| &rest[..=i]),
            };
            let result = send_nonblocking(&self.stream, chunk);
            metrics.sent(*result.as_ref().unwrap_or(&0));
            match result {
                Ok(n) => {
                    written += n;
                    if sent + written == front.len() {
                        break false;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break false,
                Err(_) => break true,
            }
        };
        let budget = &self.delivery.budget;
        let mut st = self.lock();
        st.in_flight = 0;
        if written > 0 {
            self.unstick(&mut st);
        }
        budget.count_out(written);
        st.after.wake |= written > 0;
        sent += written;
        if failed || matches!(st.life, Life::Dead(_)) {
            // A cut-off meanwhile discarded the rest; so does a failed write.
            budget.count_out(front.len() - sent);
            st.after.wake = true;
            st.writer = Writer::Idle;
            if failed && !matches!(st.life, Life::Dead(_)) {
                self.kill(&mut st, Closed::WriteFailed);
            }
            return;
        }
        if sent < front.len() {
            // The socket is full: the stall clock runs from the last byte it took.
            if written > 0 || st.stalled_since.is_none() {
                st.stalled_since = Some(Instant::now());
            }
            st.front = front;
            st.sent = sent;
            st.writer = Writer::Parked;
            drop(st);
            let fd = self.stream.as_raw_fd();
            let key = self.key;
            self.delivery.poller.clone().watch(key, fd, self);
            return;
        }
        st.stalled_since = None;
        front.clear();
        st.front = front;
        st.sent = 0;
        if st.pending.is_empty() {
            st.writer = Writer::Idle;
            let st = &mut *st;
            for buf in [&mut st.front, &mut st.pending] {
                if buf.capacity() > KEEP_CAPACITY {
                    *buf = Vec::new();
                }
            }
            self.finish_closing(st);
        } else {
            // Back of the queue, so one busy connection cannot starve the others.
            st.writer = Writer::Queued;
            drop(st);
            self.delivery.flusher.clone().schedule(self);
        }
    }
}

impl Writable for Outbox {
    fn writable(self: Arc<Self>) {
        let mut st = self.lock();
        if st.writer == Writer::Parked {
            // The kernel freed room: the peer took bytes. The stall clock restarts now, not when
            // a flusher gets to it, so a busy server never blames its own delay on the client.
            if st.stalled_since.is_some() {
                st.stalled_since = Some(Instant::now());
            }
            st.writer = Writer::Queued;
            drop(st);
            self.delivery.flusher.clone().schedule(self);
        }
    }
}

#[cfg(test)]
impl Outbox {
    /// The backlog and the budget's total read together, under this outbox's lock: with no
    /// other outbox and no push under way, they must be equal at every instant.
    fn backlog_and_total(&self) -> (usize, usize) {
        let st = self.lock();
        (st.backlog(), self.delivery.budget.total())
    }
}

#[cfg(test)]
#[path = "outbox_tests.rs"]
mod tests;
