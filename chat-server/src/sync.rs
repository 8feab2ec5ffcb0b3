//! The server's locks, and the one order they are taken in.
//!
//! Every mutex and condition variable in the server is one of these types, so that the order
//! they are taken in is checked wherever it is taken:
//! - test and debug builds go through [`tracing_mutex`]: every acquisition made while another
//!   lock is held adds an edge to a process-wide graph of lock instances, and an edge that
//!   closes a cycle (an order that *could* deadlock, even if this run did not) prints both
//!   orders and aborts the process, so no test can pass over it;
//! - release builds are `std::sync`, at no cost;
//! - `--cfg loom` builds are [`loom`]'s, so the flood-control handshake can be model-checked
//!   over its interleavings (`tests/handshake_model.rs`).
//!
//! A poisoned lock is taken anyway: a panic on one connection's thread must not take every
//! other connection down with it.
//!
//! # The lock order
//!
//! Levels, outermost first. A thread may take a lock only while it holds locks of *lower*
//! levels (never two of one level), and nothing waits on a condition variable while holding a
//! lock other than the one it waits with:
//!
//! | level | lock | held while taking |
//! |---|---|---|
//! | 1 | `Shared::open`, the table of open connections | an outbox's `state` (the shutdown sequence queues BYE), then leaves |
//! | 1 | `Registry::inner`, who is registered | an outbox's `state` (joins and leaves are queued under it), then leaves |
//! | 2 | `Outbox::state`, one connection's output (condvar `died`) | nothing |
//! | 3 | `Flusher::queue`, the ready queue (condvar `wake`) | nothing (leaf) |
//! | 3 | `Poller::parked`, sockets waiting for room | nothing (leaf) |
//! | 3 | `Budget::gate` (condvar `room`), flood control's waiting room | nothing (leaf) |
//! | 3 | `Budget::alarm` (condvar `alarm_rung`), the monitor's doorbell | nothing (leaf) |
//! | 3 | `Shutdown`'s wake address, `Flusher::threads`, `Poller::thread` | nothing (leaf) |
//!
//! `Shared::open` and `Registry::inner` are never held together. The rule that keeps the order
//! is: **a component calls out while holding its own lock only into components of a higher
//! level** (the registry and the connection table push to outboxes under their lock, as the
//! table says, and what those pushes trigger takes only leaves); **the levels 2 and 3 call
//! out holding nothing**. So an outbox decides under its lock what must happen elsewhere (wake
//! the senders waiting for room, forget a parked socket, hand itself to a flusher) and does it
//! after releasing the lock;
//! the poller calls [`crate::poller::Writable::writable`] with `parked` released; flood control
//! asks its `stop` question before taking `gate`, never under it. Counting bytes in and out of
//! the [`crate::budget::Budget`] is atomic and takes no lock, so it is done under an outbox's
//! lock to keep the account exact.

#[cfg(not(loom))]
use std::sync as raw;
use std::time::Duration;

#[cfg(all(not(loom), debug_assertions))]
use tracing_mutex::stdsync::tracing as checked;

#[cfg(loom)]
pub(crate) use loom::sync::atomic;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic;

#[cfg(loom)]
type InnerMutex<T> = loom::sync::Mutex<T>;
#[cfg(loom)]
type InnerCondvar = loom::sync::Condvar;
/// The guard of a [`Mutex`].
#[cfg(loom)]
pub type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

#[cfg(all(not(loom), debug_assertions))]
type InnerMutex<T> = checked::Mutex<T>;
#[cfg(all(not(loom), debug_assertions))]
type InnerCondvar = checked::Condvar;
/// The guard of a [`Mutex`].
#[cfg(all(not(loom), debug_assertions))]
pub type MutexGuard<'a, T> = checked::MutexGuard<'a, T>;

#[cfg(all(not(loom), not(debug_assertions)))]
type InnerMutex<T> = raw::Mutex<T>;
#[cfg(all(not(loom), not(debug_assertions)))]
type InnerCondvar = raw::Condvar;
/// The guard of a [`Mutex`].
#[cfg(all(not(loom), not(debug_assertions)))]
pub type MutexGuard<'a, T> = raw::MutexGuard<'a, T>;

/// A mutex whose acquisition order is checked in test builds; see the module docs.
pub struct Mutex<T>(InnerMutex<T>);

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T> Mutex<T> {
    /// A new unlocked mutex.
    pub fn new(value: T) -> Mutex<T> {
        install_cycle_handler();
        Mutex(InnerMutex::new(value))
    }

    /// Takes the lock, even if a thread panicked holding it.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A condition variable for [`Mutex`]; see the module docs.
pub struct Condvar(InnerCondvar);

impl Default for Condvar {
    fn default() -> Condvar {
        Condvar::new()
    }
}

impl Condvar {
    /// A new condition variable.
    pub fn new() -> Condvar {
        Condvar(InnerCondvar::new())
    }

    /// Waits for a notification (or a spurious wake-up).
    pub fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.0.wait(guard).unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a notification, at most `timeout`. Under loom the timeout never fires (loom
    /// does not model time), so code checked there must not need it to make progress.
    pub fn wait_timeout<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> MutexGuard<'a, T> {
        self.0
            .wait_timeout(guard, timeout)
            .unwrap_or_else(|e| e.into_inner())
            .0
    }

    /// Wakes one waiter.
    pub fn notify_one(&self) {
        self.0.notify_one()
    }

    /// Wakes every waiter.
    pub fn notify_all(&self) {
        self.0.notify_all()
    }
}

/// In checked builds, a lock-order cycle prints what the checker found and where the closing
/// lock was taken, then aborts. A panic would stay on the thread that found it (a session or a
/// flusher), where a test might never notice; an abort fails the whole test binary.
fn install_cycle_handler() {
    #[cfg(all(not(loom), debug_assertions))]
    {
        static ONCE: raw::Once = raw::Once::new();
        ONCE.call_once(|| {
            tracing_mutex::util::set_cycle_handler(|message| {
                use std::io::Write;
                let here = std::backtrace::Backtrace::force_capture();
                // Straight to the file descriptor: the test harness captures `eprintln!`, and
                // what it captured is lost when the process aborts.
                let _ = writeln!(
                    std::io::stderr(),
                    "chat-server: lock order violated: two locks are taken in both orders, \
                     which can deadlock.\n{message}\nthe acquisition that closed the cycle:\n\
                     {here}\n(set RUST_BACKTRACE=1 to see where every earlier edge was taken)"
                );
                std::process::abort();
            });
        });
    }
}

#[cfg(all(test, not(loom), debug_assertions))]
mod tests {
    use super::*;

    #[test]
    fn a_lock_taken_after_a_poisoning_panic_still_works() {
        let m = std::sync::Arc::new(Mutex::new(1));
        let m2 = m.clone();
        let _ = std::thread::spawn(move || {
            let _g = m2.lock();
            panic!("poison it");
        })
        .join();
        assert_eq!(*m.lock(), 1);
    }

    #[test]
    fn nested_locks_in_one_order_are_accepted() {
        let (a, b) = (Mutex::new(()), Mutex::new(()));
        for _ in 0..2 {
            let _a = a.lock();
            let _b = b.lock();
        }
    }

    /// The checker itself: the inverted order must be refused. It aborts the process, so the
    /// proof runs in a child process (this same test binary, filtered to one helper).
    #[test]
    fn taking_two_locks_in_both_orders_aborts_with_a_report() {
        if std::env::var_os("BATEPAPO_INVERT_LOCKS").is_some() {
            let (a, b) = (Mutex::new(()), Mutex::new(()));
            {
                let _a = a.lock();
                let _b = b.lock();
            }
            let _b = b.lock();
            let _a = a.lock();
            return;
        }
        let exe = std::env::current_exe().unwrap();
        let out = std::process::Command::new(exe)
            .args([
                "--exact",
                "sync::tests::taking_two_locks_in_both_orders_aborts_with_a_report",
                "--nocapture",
            ])
            .env("BATEPAPO_INVERT_LOCKS", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "the inversion was not caught:\n{stderr}"
        );
        assert!(
            stderr.contains("lock order violated") && stderr.contains("Found cycle"),
            "no report:\n{stderr}"
        );
    }
}
