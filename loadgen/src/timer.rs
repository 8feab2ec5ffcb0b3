//! A worker's high-resolution timer: every bot of a worker sleeps on one Linux `timerfd`.
//!
//! tokio's timers wake on whole milliseconds, so a bot that sleeps until its planned send time
//! sends up to a millisecond late, and at light load that lag is most of what loadgen used to
//! report (wrk2 has the same floor). Here the worker keeps every planned wake-up in one heap and
//! arms one timerfd (`CLOCK_MONOTONIC`, absolute, nanoseconds) for the earliest; the fd is
//! watched by tokio's reactor through [`AsyncFd`], so the wake-up costs one epoll event and
//! no thread spins. Deadlines closer together than [`SLACK`] are fired together.
//!
//! Waking from an idle core takes tens of microseconds, which at light load is a quarter of
//! what the server takes. So a light worker's timer (see [`LIGHT_SENDS_PER_S`]) fires [`EARLY`]
//! before the deadline and the sleep spins the rest: punctual to a few microseconds for at most
//! that much CPU per send (about 4% of a core at the limit, [`SLACK`] included). Heavier workers
//! do not fire early: their latencies are milliseconds and their CPU is the measurement's; they
//! spin only when a deadline is within [`SLACK`] of a wake-up. No sleep ever ends before its
//! deadline: a send never leaves ahead of its plan.
//!
//! Latency is still measured from the planned time: this only makes the plan kept.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// Deadlines this close to the one that fired are due too: one wake-up serves them all (each
/// still ends at its own deadline).
pub const SLACK: Duration = Duration::from_micros(20);
/// How long before a deadline a light worker's timer fires, to be awake when it comes.
pub const EARLY: Duration = Duration::from_micros(60);
/// A worker planning at most this many sends per second is light: its timer fires early and
/// spins to the deadline.
pub const LIGHT_SENDS_PER_S: f64 = 500.0;

struct Fd(OwnedFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

#[derive(Default)]
struct State {
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    wakers: HashMap<u64, Waker>,
    next_id: u64,
    armed: Option<Instant>,
    /// How early the timerfd fires before a deadline ([`EARLY`] for a light worker, else 0).
    early: Duration,
    /// The wakers one expiry fires, kept between expiries so that firing allocates nothing.
    due: Vec<Waker>,
}

/// One worker's timer; see the module docs. Cheap to clone (one per worker, shared by its bots).
#[derive(Clone)]
pub struct Timer {
    state: Rc<RefCell<State>>,
    fd: Rc<AsyncFd<Fd>>,
}

impl Timer {
    /// A timer on a new timerfd; needs a tokio runtime with its IO driver.
    pub fn new() -> io::Result<Timer> {
        // SAFETY: timerfd_create takes no pointers; a valid descriptor is owned from here on.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a descriptor we just created and nobody else owns.
        let fd = Fd(unsafe { OwnedFd::from_raw_fd(raw) });
        // SAFETY: the descriptor is owned by `fd`, which the AsyncFd owns for its whole life.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }?;
        Ok(Timer {
            state: Rc::default(),
            fd: Rc::new(fd),
        })
    }

    /// Fires [`EARLY`] before each deadline and spins the rest, for a worker planning at most
    /// [`LIGHT_SENDS_PER_S`] sends per second; no early firing otherwise.
    pub fn set_load(&self, sends_per_s: f64) {
        self.state.borrow_mut().early = if sends_per_s <= LIGHT_SENDS_PER_S {
            EARLY
        } else {
            Duration::ZERO
        };
    }

    /// Resolves at `at` (or at once if it has passed), never before; on a light worker it
    /// wakes early and spins to `at`. For planned sends.
    pub fn sleep_until(&self, at: Instant) -> Sleep {
        Sleep {
            timer: self.clone(),
            at,
            id: None,
            spin: true,
        }
    }

    /// Resolves when the timerfd wakes the worker for `at` (up to [`SLACK`] early), with no
    /// early firing and no spin: for measuring how late the worker wakes, as it wakes for a
    /// socket.
    pub fn wake_at(&self, at: Instant) -> Sleep {
        Sleep {
            timer: self.clone(),
            at,
            id: None,
            spin: false,
        }
    }

    /// Fires due wake-ups as the timerfd expires; run it as a task for the worker's lifetime
    /// (it ends when the runtime drops it).
    pub async fn drive(&self) {
        loop {
            let Ok(mut ready) = self.fd.readable().await else {
                return;
            };
            let mut expirations = [0u8; 8];
            // SAFETY: reads at most 8 bytes into an 8-byte buffer from our own descriptor.
            let _ = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    expirations.as_mut_ptr().cast(),
                    expirations.len(),
                )
            };
            ready.clear_ready();
            self.fire();
        }
    }

    fn fire(&self) {
        let mut wake = {
            let mut st = self.state.borrow_mut();
            let mut wake = std::mem::take(&mut st.due);
            st.armed = None;
            let due = Instant::now() + SLACK;
            while let Some(&Reverse((at, id))) = st.heap.peek() {
                if at > due {
                    break;
                }
                st.heap.pop();
                // Dropped sleeps left their heap entry behind: skipped here.
                if let Some(w) = st.wakers.remove(&id) {
                    wake.push(w);
                }
            }
            if let Some(&Reverse((next, _))) = st.heap.peek() {
                st.armed = Some(next);
                arm(self.fd.as_raw_fd(), next);
            }
            wake
        };
        // Woken after the state is released: a woken task may register again at once.
        for w in wake.drain(..) {
            w.wake();
        }
        self.state.borrow_mut().due = wake;
    }
}

/// The future [`Timer::sleep_until`] and [`Timer::wake_at`] return.
pub struct Sleep {
    timer: Timer,
    at: Instant,
    id: Option<u64>,
    spin: bool,
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Sleep {
            timer,
            at,
            id,
            spin,
        } = self.get_mut();
        let at = *at;
        let mut st = timer.state.borrow_mut();
        // When the timerfd should fire for this sleep (the heap's key).
        let early = if *spin { st.early } else { Duration::ZERO };
        let fire_at = at.checked_sub(early).unwrap_or(at);
        if Instant::now() + SLACK >= fire_at {
            if let Some(id) = id.take() {
                st.wakers.remove(&id);
            }
            drop(st);
            if *spin {
                // Bounded by SLACK + EARLY; a send never leaves ahead of its plan.
                while Instant::now() < at {
                    std::hint::spin_loop();
                }
            }
            return Poll::Ready(());
        }
        match *id {
            Some(id) => match st.wakers.get_mut(&id) {
                Some(w) if w.will_wake(cx.waker()) => {}
                Some(w) => *w = cx.waker().clone(),
                // Fired already, yet not due (a clock step): back in the heap.
                None => {
                    st.heap.push(Reverse((fire_at, id)));
                    st.wakers.insert(id, cx.waker().clone());
                }
            },
            None => {
                let new = st.next_id;
                st.next_id += 1;
                st.heap.push(Reverse((fire_at, new)));
                st.wakers.insert(new, cx.waker().clone());
                *id = Some(new);
            }
        }
        if st.armed.is_none_or(|armed| fire_at < armed) {
            st.armed = Some(fire_at);
            arm(timer.fd.as_raw_fd(), fire_at);
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            if let Ok(mut st) = self.timer.state.try_borrow_mut() {
                st.wakers.remove(&id);
            }
        }
    }
}

/// Arms `fd` to expire once at `at` (absolute `CLOCK_MONOTONIC`, which `Instant` is on Linux).
fn arm(fd: RawFd, at: Instant) {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let here = Instant::now();
    // SAFETY: clock_gettime writes one timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    // An expiry of zero would disarm the timer: a deadline already passed fires in 1 ns.
    let left = at
        .saturating_duration_since(here)
        .max(Duration::from_nanos(1));
    let nanos = now.tv_nsec as u64 + left.subsec_nanos() as u64;
    let value = libc::timespec {
        tv_sec: now.tv_sec
            + left.as_secs() as libc::time_t
            + (nanos / 1_000_000_000) as libc::time_t,
        tv_nsec: (nanos % 1_000_000_000) as _,
    };
    let spec = libc::itimerspec {
        it_interval: libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: value,
    };
    // SAFETY: settime reads one itimerspec we own; the old value is not asked for.
    unsafe {
        libc::timerfd_settime(fd, libc::TFD_TIMER_ABSTIME, &spec, std::ptr::null_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on_runtime(f: impl Future<Output = ()>) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        tokio::task::LocalSet::new().block_on(&rt, f);
    }

    #[test]
    fn a_sleep_never_ends_before_its_deadline() {
        on_runtime(async {
            let timer = Timer::new().unwrap();
            let driver = tokio::task::spawn_local({
                let t = timer.clone();
                async move { t.drive().await }
            });
            for light in [false, true] {
                timer.set_load(if light { 10.0 } else { 1e6 });
                for i in 0..20u64 {
                    let at = Instant::now() + Duration::from_micros(300 + 97 * i);
                    timer.sleep_until(at).await;
                    assert!(Instant::now() >= at, "woke early (light: {light})");
                    let at = Instant::now() + Duration::from_micros(300);
                    timer.wake_at(at).await;
                    assert!(
                        Instant::now() + SLACK >= at,
                        "a plain wake-up is at most SLACK early"
                    );
                }
            }
            // A deadline already passed resolves at once.
            timer
                .sleep_until(Instant::now() - Duration::from_millis(1))
                .await;
            driver.abort();
        });
    }

    #[test]
    fn many_sleepers_wake_in_deadline_order_and_a_dropped_one_is_skipped() {
        on_runtime(async {
            let timer = Timer::new().unwrap();
            let driver = tokio::task::spawn_local({
                let t = timer.clone();
                async move { t.drive().await }
            });
            let order = Rc::new(RefCell::new(Vec::new()));
            // Far enough ahead that a pause of the test on a busy machine cannot make it due.
            let base = Instant::now() + Duration::from_millis(50);
            let mut tasks = Vec::new();
            for k in [5u64, 1, 4, 2, 3] {
                let (t, o) = (timer.clone(), order.clone());
                tasks.push(tokio::task::spawn_local(async move {
                    t.sleep_until(base + Duration::from_millis(k)).await;
                    o.borrow_mut().push(k);
                }));
            }
            // A sleep that registers and is then dropped before its deadline fires nothing.
            tokio::select! {
                biased;
                _ = timer.sleep_until(base) => unreachable!("not due yet"),
                _ = async {} => {}
            }
            // Its waker went with it (the bots' tasks have not run yet, so none is registered).
            assert_eq!(
                timer.state.borrow().wakers.len(),
                0,
                "a dropped sleep keeps no waker"
            );
            for t in tasks {
                t.await.unwrap();
            }
            assert_eq!(*order.borrow(), vec![1, 2, 3, 4, 5]);
            driver.abort();
        });
    }
}
