//! The poller: one thread that waits for full sockets to take bytes again.
//!
//! When a flusher's non-blocking `send` finds a socket full, the outbox parks: it asks the
//! poller to [`Poller::watch`] its socket and stops writing. The poller waits on all parked
//! sockets at once (epoll, through mio) and calls [`Writable::writable`] on each that has room
//! again, which hands it back to the flushers. So a reader that is behind costs no thread of its
//! own, and an idle connection costs exactly one: its session's.
//!
//! Registrations are edge-triggered and re-armed on every watch: re-arming reports a socket
//! that already has room, so a socket that drained between the failed `send` and the watch is
//! never missed. A registration ends with [`Poller::forget`], or when its socket closes.
//!
//! `parked` is a leaf lock: [`Writable::writable`] is always called after it is released, so
//! an owner could hold its own lock while it calls [`Poller::forget`] or [`Poller::watch`]
//! (an outbox does not: it forgets once its lock is released, but the poller does not rely
//! on that).

use std::collections::HashMap;
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use log::error;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token, Waker};

use crate::metrics::Metrics;
use crate::sync::{Mutex, MutexGuard};

/// Told when its socket can take bytes again.
pub trait Writable: Send + Sync {
    /// Called on the poller thread, once per [`Poller::watch`] at most.
    fn writable(self: Arc<Self>);
}

const WAKE: Token = Token(usize::MAX);

/// The poller thread and the sockets it watches; see the module docs.
pub struct Poller {
    registry: Registry,
    waker: Waker,
    parked: Mutex<HashMap<usize, Arc<dyn Writable>>>,
    stop: AtomicBool,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Poller {
    /// Starts the poller thread, counted in `metrics` while it runs.
    pub fn start(metrics: Arc<Metrics>) -> io::Result<Arc<Poller>> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = Waker::new(poll.registry(), WAKE)?;
        let poller = Arc::new(Poller {
            registry,
            waker,
            parked: Mutex::new(HashMap::new()),
            stop: AtomicBool::new(false),
            thread: Mutex::new(None),
        });
        let p = poller.clone();
        let handle = thread::Builder::new()
            .name("poller".into())
            .stack_size(128 * 1024)
            .spawn(move || {
                let _alive = metrics.thread();
                p.run(poll)
            })?;
        *poller.thread.lock() = Some(handle);
        Ok(poller)
    }

    fn parked(&self) -> MutexGuard<'_, HashMap<usize, Arc<dyn Writable>>> {
        self.parked.lock()
    }

    /// Calls `who.writable()` once `fd` can take bytes, which may be at once. `key` identifies
    /// the socket (unique while it is open).
    pub fn watch(&self, key: usize, fd: RawFd, who: Arc<dyn Writable>) {
        // Parked before arming, so the event the arming may raise at once finds it.
        self.parked().insert(key, who);
        let interest = Interest::WRITABLE;
        // Re-arming is the common case; a socket's first park registers it.
        let armed = match self
            .registry
            .reregister(&mut SourceFd(&fd), Token(key), interest)
        {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.registry
                    .register(&mut SourceFd(&fd), Token(key), interest)
            }
            other => other,
        };
        if let Err(e) = armed {
            // The socket is closing under us; hand it back so its owner sees the failure.
            log::debug!("cannot watch socket {key}: {e}");
            // Taken out first: `writable` locks its owner, which must never happen under
            // `parked` (the owner holds its lock when it asks to forget a socket).
            let who = self.parked().remove(&key);
            if let Some(who) = who {
                who.writable();
            }
        }
    }

    /// Stops watching a socket that is about to close.
    pub fn forget(&self, key: usize, fd: RawFd) {
        self.parked().remove(&key);
        let _ = self.registry.deregister(&mut SourceFd(&fd));
    }

    fn run(&self, mut poll: Poll) {
        let mut events = Events::with_capacity(1024);
        while !self.stop.load(Ordering::SeqCst) {
            if let Err(e) = poll.poll(&mut events, None) {
                if e.kind() != io::ErrorKind::Interrupted {
                    error!("poller failed: {e}");
                    return;
                }
                continue;
            }
            for event in events.iter() {
                if event.token() == WAKE {
                    continue;
                }
                // A statement of its own, so `parked` is released before `writable` runs.
                let who = self.parked().remove(&event.token().0);
                if let Some(who) = who {
                    who.writable();
                }
            }
        }
    }

    /// Stops the thread and joins it. Sockets still parked are simply dropped.
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
        let handle = self.thread.lock().take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
        self.parked().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line::send_nonblocking;
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;
    use std::sync::mpsc;
    use std::time::Duration;

    struct Probe(Mutex<mpsc::Sender<()>>);

    impl Writable for Probe {
        fn writable(self: Arc<Self>) {
            let _ = self.0.lock().send(());
        }
    }

    fn probe() -> (Arc<Probe>, mpsc::Receiver<()>) {
        let (tx, rx) = mpsc::channel();
        (Arc::new(Probe(Mutex::new(tx))), rx)
    }

    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (server, client)
    }

    fn fill(s: &TcpStream) {
        let chunk = vec![0u8; 1 << 20];
        while send_nonblocking(s, &chunk).is_ok() {}
    }

    #[test]
    fn a_socket_with_room_is_reported_at_once() {
        let poller = Poller::start(Arc::default()).unwrap();
        let (server, _client) = pair();
        let (p, rx) = probe();
        poller.watch(1, server.as_raw_fd(), p);
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
        poller.shutdown();
    }

    #[test]
    fn a_full_socket_is_reported_when_its_reader_catches_up() {
        let poller = Poller::start(Arc::default()).unwrap();
        let (server, mut client) = pair();
        fill(&server);
        let (p, rx) = probe();
        poller.watch(7, server.as_raw_fd(), p);
        assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
        let mut buf = vec![0u8; 1 << 20];
        client
            .set_read_timeout(Some(Duration::from_secs(1)))
            .unwrap();
        let mut got = 0;
        while rx.try_recv().is_err() {
            got += client.read(&mut buf).unwrap_or(0);
            assert!(got < 1 << 30, "never reported");
        }
        poller.shutdown();
    }

    #[test]
    fn rewatching_reports_each_time() {
        let poller = Poller::start(Arc::default()).unwrap();
        let (server, _client) = pair();
        let (p, rx) = probe();
        poller.watch(3, server.as_raw_fd(), p.clone());
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
        poller.watch(3, server.as_raw_fd(), p);
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
        poller.shutdown();
    }

    #[test]
    fn a_forgotten_socket_is_never_reported() {
        let poller = Poller::start(Arc::default()).unwrap();
        let (server, mut client) = pair();
        fill(&server);
        let (p, rx) = probe();
        poller.watch(9, server.as_raw_fd(), p);
        poller.forget(9, server.as_raw_fd());
        client
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut buf = vec![0u8; 1 << 20];
        while client.read(&mut buf).is_ok_and(|n| n > 0) {}
        assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
        poller.shutdown();
    }

    /// An owner that takes its own lock in `writable`, and holds it while it calls `forget`:
    /// the worst case the poller allows.
    struct Owner {
        lock: Mutex<()>,
        told: Mutex<mpsc::Sender<()>>,
    }

    impl Writable for Owner {
        fn writable(self: Arc<Self>) {
            let _own = self.lock.lock();
            let _ = self.told.lock().send(());
        }
    }

    #[test]
    fn a_socket_that_cannot_be_watched_is_handed_back_without_the_poller_lock_held() {
        let poller = Poller::start(Arc::default()).unwrap();
        let (tx, rx) = mpsc::channel();
        let owner = Arc::new(Owner {
            lock: Mutex::new(()),
            told: Mutex::new(tx),
        });
        {
            let _own = owner.lock.lock();
            poller.forget(5, -1);
        }
        // No such descriptor: the poller cannot watch it and hands it straight back. Under
        // `parked` that would be the opposite order, which the lock-order checker refuses.
        poller.watch(5, -1, owner);
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
        poller.shutdown();
    }

    #[test]
    fn shutdown_joins_the_thread() {
        let poller = Poller::start(Arc::default()).unwrap();
        poller.shutdown();
        assert!(poller.thread.lock().is_none());
    }
}
