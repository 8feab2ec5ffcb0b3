//! The flood-control handshake, model-checked with loom over every interleaving (up to loom's
//! preemption bound): the budget's waiting room, outboxes, a flusher, the monitor's cut, the
//! monitor marking a reader stuck, shutdown, and a session waiting for room.
//!
//! Run it with:
//!
//! ```sh
//! RUSTFLAGS="--cfg loom" cargo test -p chat-server --release --test handshake_model
//! ```
//!
//! (`.ci/run` does, in a target folder of its own so the normal build is not invalidated.)
//!
//! Under `--cfg loom` the server's locks and atomics are loom's (see the crate's `sync`
//! module), so [`Budget`] here is the server's own code. Loom does not model time: a condition
//! variable's timeout never fires, so these models prove that nobody needs flood control's
//! safety-net recheck to make progress, and loom fails any interleaving that deadlocks or leaves
//! a thread waiting for a wake-up that never comes.
//!
//! The outbox is a model: the real one owns a socket, the flusher pool and the poller, which
//! loom cannot run. It keeps the real one's rules (the lock order in `sync`): bytes are counted
//! out of the budget under the outbox's lock, and waiters are woken after the lock is released;
//! `stop` takes the outbox's lock, as the session's does. The test suite checks that the real
//! outbox follows the same order, with the lock-order checker on every test.
#![cfg(loom)]

use loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use loom::sync::{Arc, Mutex};
use loom::thread;

use chat_server::budget::Budget;

/// Explores `f` over its interleavings. Loom's default explores them all, which for the
/// three-thread models runs for many minutes; four preemptions per execution (tokio checks its
/// own primitives with two or three) is seconds here. `LOOM_MAX_PREEMPTIONS` overrides it.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound.get_or_insert(4);
    builder.check(f);
}

/// Limit high enough never to ring the monitor's alarm; the watermark is what the models press.
const LIMIT: usize = 1000;
const WATERMARK: usize = 10;

struct State {
    backlog: usize,
    closed: bool,
    stuck: usize,
}

/// One connection's outbox, as flood control sees it.
struct Outbox {
    budget: Arc<Budget>,
    state: Mutex<State>,
}

impl Outbox {
    fn with_backlog(budget: &Arc<Budget>, backlog: usize) -> Arc<Outbox> {
        budget.add(backlog);
        Arc::new(Outbox {
            budget: budget.clone(),
            state: Mutex::new(State {
                backlog,
                closed: false,
                stuck: 0,
            }),
        })
    }

    /// A flusher writes `n` bytes.
    fn flush(&self, n: usize) {
        let mut st = self.state.lock().unwrap();
        if st.closed {
            return;
        }
        let n = n.min(st.backlog);
        st.backlog -= n;
        self.budget.count_out(n);
        if st.stuck > 0 {
            // Progress: its bytes count as pressure again, as the real outbox's `unstick`.
            self.budget.add_stuck(-(st.stuck as isize));
            st.stuck = 0;
        }
        drop(st);
        self.budget.wake_waiters();
    }

    /// The monitor (or the per-client cap, or a failed write) cuts it off.
    fn cut(&self) {
        let mut st = self.state.lock().unwrap();
        if st.closed {
            return;
        }
        st.closed = true;
        self.budget.count_out(st.backlog);
        self.budget.add_stuck(-(st.stuck as isize));
        st.backlog = 0;
        st.stuck = 0;
        drop(st);
        self.budget.release_waiters();
    }

    /// The monitor finds its reader stuck: its bytes stop counting as pressure.
    fn mark_stuck(&self) {
        let mut st = self.state.lock().unwrap();
        if st.closed {
            return;
        }
        self.budget
            .add_stuck(st.backlog as isize - st.stuck as isize);
        st.stuck = st.backlog;
        drop(st);
        self.budget.wake_waiters();
    }

    fn closed(&self) -> bool {
        self.state.lock().unwrap().closed
    }
}

/// A session waiting for room, whose stop condition is its own outbox closing.
fn waiting_session(budget: &Arc<Budget>, own: &Arc<Outbox>) -> thread::JoinHandle<bool> {
    let (budget, own) = (budget.clone(), own.clone());
    thread::spawn(move || budget.wait_for_room(|| own.closed()))
}

/// A flusher sending `n` bytes of an outbox, on its own thread.
fn flushing(own: &Arc<Outbox>, n: usize) -> thread::JoinHandle<()> {
    let own = own.clone();
    thread::spawn(move || own.flush(n))
}

#[test]
fn a_session_waiting_for_room_is_woken_when_a_flusher_drains() {
    model(|| {
        let budget = Arc::new(Budget::new(LIMIT, WATERMARK));
        let own = Outbox::with_backlog(&budget, 20);
        let session = waiting_session(&budget, &own);
        own.flush(20);
        session.join().unwrap();
        assert!(!budget.pressured());
    });
}

#[test]
fn a_session_whose_outbox_is_cut_stops_waiting_while_others_keep_the_pressure() {
    model(|| {
        let budget = Arc::new(Budget::new(LIMIT, WATERMARK));
        let own = Outbox::with_backlog(&budget, 20);
        // Someone else's backlog keeps the server over the watermark throughout.
        let _other = Outbox::with_backlog(&budget, 20);
        let session = waiting_session(&budget, &own);
        let flusher = flushing(&own, 5);
        own.cut();
        flusher.join().unwrap();
        session.join().unwrap();
        assert!(budget.pressured(), "the other backlog is still there");
    });
}

#[test]
fn a_session_is_woken_when_the_reader_it_waits_for_is_marked_stuck() {
    model(|| {
        let budget = Arc::new(Budget::new(LIMIT, WATERMARK));
        let own = Outbox::with_backlog(&budget, 5);
        let slow = Outbox::with_backlog(&budget, 20);
        let session = waiting_session(&budget, &own);
        // Meanwhile the session's own backlog drains a little (it is not what relieves the
        // pressure), so the wake-up may come from either side in any order.
        let flusher = flushing(&own, 2);
        slow.mark_stuck();
        flusher.join().unwrap();
        session.join().unwrap();
        assert!(!budget.pressured());
    });
}

#[test]
fn shutdown_releases_a_session_waiting_for_room() {
    model(|| {
        let budget = Arc::new(Budget::new(LIMIT, WATERMARK));
        let own = Outbox::with_backlog(&budget, 20);
        let shutting_down = Arc::new(AtomicBool::new(false));
        let session = {
            let (budget, own, shutting_down) = (budget.clone(), own.clone(), shutting_down.clone());
            thread::spawn(move || {
                budget.wait_for_room(|| shutting_down.load(SeqCst) || own.closed())
            })
        };
        shutting_down.store(true, SeqCst);
        budget.release_waiters();
        session.join().unwrap();
        assert!(
            budget.pressured(),
            "nothing was written: only the shutdown ended the wait"
        );
    });
}

#[test]
fn two_sessions_waiting_are_both_woken_by_one_drain() {
    model(|| {
        let budget = Arc::new(Budget::new(LIMIT, WATERMARK));
        let a = Outbox::with_backlog(&budget, 8);
        let b = Outbox::with_backlog(&budget, 8);
        let sessions = [waiting_session(&budget, &a), waiting_session(&budget, &b)];
        a.flush(8);
        for s in sessions {
            s.join().unwrap();
        }
    });
}
