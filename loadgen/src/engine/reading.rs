//! A bot's reading task, and when a delivery counts as received.
//!
//! A worker reads its bots' sockets one after another: when one broadcast reaches a hundred of
//! them, the last socket is read after the other ninety-nine. A stamp taken after each read
//! would charge that queue, which is the generator's and not the server's, to the server. A
//! delivery counts as received at the earliest moment a client could have seen it:
//! - not before the worker's event loop learned that the socket was readable: each bot's socket
//!   wakes the bot through a [`Noticed`] waker that notes the time of the first wake-up since
//!   the last read (the reactor wakes right after `epoll_wait` returns, as a `poll` loop stamps
//!   right after `poll` returns);
//! - not before the kernel had the read's last byte ([`crate::plan::arrival`]: when one read takes
//!   several deliveries, the later ones arrived after the wake-up);
//! - and never after the read.
//!
//! How much later the worker read what it had been told of is its *read lag*, reported with
//! the generator's other delays.
//!
//! The kernel's stamps cost a `recvmsg` per read (about a tenth more of the generator's CPU per
//! delivery), so a worker reading more than [`crate::plan::arrival::STAMPED_DELIVERIES_PER_S`] counts
//! deliveries from their read, as it always did: there the loop-lag rule of the generator
//! check (`summary::generator`) says when its reading is a material part of what it reports.

use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use tokio::io::Interest;
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;

use crate::engine::brief::{Phase, Worker};
use crate::engine::recv::{Receiver, MAX_TAIL};
use crate::plan::arrival::{self, RealNs};
use crate::recording::stats;

/// No wake-up noted since the last read.
const NONE: u64 = u64::MAX;

/// Wakes a bot's reading task and notes when its socket was first found readable since the last
/// read.
pub struct Noticed {
    base: Instant,
    at_us: AtomicU64,
    task: Mutex<Option<Waker>>,
}

impl Noticed {
    /// A waker noting times as µs after `base` (the run's time zero).
    pub fn new(base: Instant) -> Arc<Noticed> {
        Arc::new(Noticed {
            base,
            at_us: AtomicU64::new(NONE),
            task: Mutex::new(None),
        })
    }

    /// Wakes `task` on the next wake-up (kept if it is the same task's).
    pub fn register(&self, task: &Waker) {
        let mut held = self.task.lock().unwrap_or_else(|e| e.into_inner());
        if !held.as_ref().is_some_and(|w| w.will_wake(task)) {
            *held = Some(task.clone());
        }
    }

    /// The first wake-up since the last call (µs after time zero), if any.
    pub fn take(&self) -> Option<u64> {
        match self.at_us.swap(NONE, Ordering::Relaxed) {
            NONE => None,
            at => Some(at),
        }
    }

    /// Polls `sock` for readability, to be woken through `waker` (this `Noticed`'s); when it is
    /// readable, gives the first wake-up noted since the last read. A `Pending` drops any note:
    /// a wake-up that found nothing to read (a budget yield, a spurious one) must not stand
    /// for the next bytes, which a later wake-up announces.
    pub fn poll_readable(
        &self,
        sock: &TcpStream,
        waker: &Waker,
        cx: &Context<'_>,
    ) -> Poll<std::io::Result<Option<u64>>> {
        self.register(cx.waker());
        match sock.poll_read_ready(&mut Context::from_waker(waker)) {
            Poll::Pending => {
                // On this thread's runtime the reactor cannot wake it again before this
                // returns, so nothing announced after this point is lost.
                self.at_us.store(NONE, Ordering::Relaxed);
                Poll::Pending
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(())) => Poll::Ready(Ok(self.take())),
        }
    }
}

impl Wake for Noticed {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let now = self.base.elapsed().as_micros() as u64;
        // The first wake-up counts: what it announced was there from then on.
        let _ = self
            .at_us
            .compare_exchange(NONE, now, Ordering::Relaxed, Ordering::Relaxed);
        let held = self.task.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(task) = held.as_ref() {
            task.wake_by_ref();
        }
    }
}

/// When a read's deliveries count as received (µs on the run's clock): the later of the
/// wake-up that announced them and the kernel's arrival of the read's last byte, and not after
/// the read. With no wake-up (the socket was still readable from before), the read time.
pub fn received_us(read_us: u64, noticed_us: Option<u64>, arrived_us: u64) -> u64 {
    match noticed_us {
        Some(seen) => seen.max(arrived_us).min(read_us),
        None => read_us,
    }
}

/// Why a bot's reading ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// A read failed: an error whenever it happens.
    ReadFailed,
    /// The server closed the connection: an error unless the run is stopping.
    Closed,
}

impl Ended {
    /// The error kind it is counted as.
    fn kind(self) -> &'static str {
        match self {
            Ended::ReadFailed => "read",
            Ended::Closed => "closed-by-server",
        }
    }
}

/// Reads until the connection ends (or the bot aborts it at the end of the run), recording
/// every token.
pub async fn receive(index: u32, reader: OwnedReadHalf, leftover: Vec<u8>, w: Rc<Worker>) {
    let clock = &w.plan.clock;
    let mut me = Receiver::new(index, w.plan.names.len(), w.plan.config.protocol);
    {
        let mut stats = w.stats.borrow_mut();
        let before = stats.tally;
        me.feed(&leftover, clock.now_us(), clock, &mut stats);
        stats.publish(&w.live, before);
    }
    let sock = reader.as_ref();
    // Stamped or not, per worker: see crate::plan::arrival::STAMPED_DELIVERIES_PER_S.
    let stamped = w.arrivals.borrow().stamped();
    let noticed = Noticed::new(clock.base);
    let waker = Waker::from(noticed.clone());
    loop {
        // The buffer is borrowed only inside one poll, never across an await.
        let ended = std::future::poll_fn(|cx| loop {
            // The note is taken before the read: a wake-up after it announces bytes this read
            // may not get.
            let ready = if stamped {
                noticed.poll_readable(sock, &waker, cx)
            } else {
                sock.poll_read_ready(cx).map_ok(|()| None)
            };
            let seen = match ready {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(_)) => return Poll::Ready(Some(Ended::ReadFailed)),
                Poll::Ready(Ok(seen)) => seen,
            };
            let (n, stamp) = match read_once(sock, &w, stamped) {
                Ok(Some(got)) => got,
                // The readiness was stale: wait for the next.
                Ok(None) => continue,
                Err(_) => return Poll::Ready(Some(Ended::ReadFailed)),
            };
            if n == 0 {
                return Poll::Ready(Some(Ended::Closed));
            }
            count(&mut me, &w, n, (seen, stamp), stamped);
            return Poll::Ready(None);
        })
        .await;
        if let Some(end) = ended {
            if end == Ended::ReadFailed || *w.phase.borrow() != Phase::Stop {
                w.stats.borrow_mut().error(end.kind());
            }
            return;
        }
    }
}

/// One read into the worker's buffer, after the room kept for a bot's unfinished line: the
/// bytes read and the kernel's stamp of the last, or `None` when the socket had nothing.
fn read_once(
    sock: &TcpStream,
    w: &Worker,
    stamped: bool,
) -> std::io::Result<Option<(usize, Option<RealNs>)>> {
    let mut buf = w.buf.borrow_mut();
    let room = buf.len() - MAX_TAIL;
    let mut got = None;
    let read = sock.try_io(Interest::READABLE, || {
        let (n, stamp) = arrival::recv(sock.as_raw_fd(), &mut buf[MAX_TAIL..], stamped)?;
        got = Some((n, stamp));
        if n > 0 && n < room {
            // A short read emptied the socket: "would block" has tokio clear the readiness
            // now (as its own poll_read does), so the next wake-up costs one recv rather than
            // a second one that only says "would block".
            return Err(std::io::ErrorKind::WouldBlock.into());
        }
        Ok(())
    });
    match (read, got) {
        (_, Some(got)) => Ok(Some(got)),
        (Err(e), None) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(None),
        (Err(e), None) => Err(e),
        (Ok(()), None) => Ok(None),
    }
}

/// Counts the `n` bytes just read (behind this bot's unfinished line) as received when
/// [`received_us`] says, given the wake-up `seen` and the kernel's `stamp`, and records the
/// reading's own delays.
fn count(
    me: &mut Receiver,
    w: &Worker,
    n: usize,
    (seen, stamp): (Option<u64>, Option<RealNs>),
    stamped: bool,
) {
    let clock = &w.plan.clock;
    let read_us = clock.now_us();
    // Only a stamped read has an arrival to weigh, and pays for the real-time clock.
    let arrived_us = stamp.map(|at| {
        w.arrivals
            .borrow_mut()
            .arrival_us(read_us, arrival::real_now(), Some(at))
    });
    let at_us = received_us(read_us, seen, arrived_us.unwrap_or(read_us));
    let mut buf = w.buf.borrow_mut();
    // This bot's unfinished line goes right in front of the new bytes.
    let from = MAX_TAIL - me.tail().len();
    buf[from..MAX_TAIL].copy_from_slice(me.tail());
    let mut stats = w.stats.borrow_mut();
    let before = stats.tally;
    if stamped && clock.measured(clock.offset_us(read_us)) {
        stats::record(&mut stats.read_lag, read_us - at_us);
        if let (Some(seen), Some(arrived_us)) = (seen, arrived_us) {
            // Noticed after the last byte came: the loop's delay. Bytes that came after the
            // notice: the earlier deliveries of this read count from them, later than they
            // were noticed, by as much.
            stats::record(&mut stats.notice_lag, seen.abs_diff(arrived_us));
        }
    }
    me.feed(&buf[from..MAX_TAIL + n], at_us, clock, &mut stats);
    stats.publish(&w.live, before);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_counts_from_the_wake_up_that_announced_it() {
        assert_eq!(received_us(900, Some(400), 350), 400);
    }

    #[test]
    fn bytes_that_arrived_after_the_wake_up_count_from_their_arrival() {
        assert_eq!(received_us(900, Some(400), 700), 700);
    }

    #[test]
    fn without_a_wake_up_a_delivery_counts_from_its_read() {
        assert_eq!(received_us(900, None, 350), 900);
    }

    #[test]
    fn nothing_counts_after_its_read() {
        assert_eq!(received_us(900, Some(950), 980), 900);
    }

    #[test]
    fn the_first_wake_up_since_a_read_is_kept() {
        let n = Noticed::new(Instant::now() - std::time::Duration::from_secs(1));
        let waker = Waker::from(n.clone());
        waker.wake_by_ref();
        let first = n.at_us.load(Ordering::Relaxed);
        std::thread::sleep(std::time::Duration::from_millis(2));
        waker.wake_by_ref();
        assert_eq!(n.take(), Some(first));
        assert_eq!(n.take(), None, "a read takes the note");
    }

    #[test]
    fn the_reactors_wake_up_is_noted_and_an_idle_poll_leaves_no_note() {
        use std::io::Write;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        runtime.block_on(async {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let mut peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (ours, _) = listener.accept().unwrap();
            ours.set_nonblocking(true).unwrap();
            let ours = TcpStream::from_std(ours).unwrap();
            let noticed = Noticed::new(Instant::now());
            let waker = Waker::from(noticed.clone());
            // A wake-up that found nothing (as a budget yield would): dropped by the next
            // Pending.
            waker.wake_by_ref();
            let idle = std::future::poll_fn(|cx| {
                Poll::Ready(noticed.poll_readable(&ours, &waker, cx).is_pending())
            })
            .await;
            assert!(idle, "nothing was written yet");
            assert_eq!(noticed.take(), None, "an idle poll leaves no note");
            peer.write_all(b"hello\n").unwrap();
            let before = noticed.base.elapsed().as_micros() as u64;
            let seen = std::future::poll_fn(|cx| noticed.poll_readable(&ours, &waker, cx))
                .await
                .unwrap();
            let seen = seen.expect("the reactor's wake-up went through the note");
            assert!(
                seen >= before,
                "noted at {seen} µs, before the write at {before} µs"
            );
            assert_eq!(noticed.take(), None, "the read took the note");
        });
    }

    #[test]
    fn a_wake_up_wakes_the_registered_task() {
        struct Flag(std::sync::atomic::AtomicBool);
        impl Wake for Flag {
            fn wake(self: Arc<Self>) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let flag = Arc::new(Flag(std::sync::atomic::AtomicBool::new(false)));
        let n = Noticed::new(Instant::now());
        n.register(&Waker::from(flag.clone()));
        Waker::from(n.clone()).wake();
        assert!(flag.0.load(Ordering::SeqCst));
    }
}
