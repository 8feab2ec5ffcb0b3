//! A worker's high-resolution timer: every bot of a worker sleeps on one Linux `timerfd`.
//!
//! tokio's timers wake on whole milliseconds, so a bot that sleeps until its planned send time
//! sends up to a millisecond late, and at light load that lag is most of what loadgen used to
//! report (wrk2 has the same floor). Here the worker keeps every planned wake-up in one heap and
//! arms one timerfd (`CLOCK_MONOTONIC`, absolute, nanoseconds) for the earliest; the fd is
//! watched by tokio's reactor through [`AsyncFd`], so the wake-up costs one epoll event and
//! no thread spins. Deadlines closer together than [`SLACK`] are fired together.
//!
//! Waking from an idle core takes tens of microseconds (on a virtual machine whose idle cores
//! halt, 50-150), which at light load is a large part of what the server takes. So a light
//! worker's timer (see [`LIGHT_SENDS_PER_S`]) fires early and the sleep spins the rest, through
//! the worker's scheduler: polled again at once, so that its reads and its reactor run meanwhile
//! (a heavy worker's spin, under [`SLACK`], holds the thread: its send goes out on time rather
//! than behind every read that is ready).
//! How early follows how late this worker's recent wake-ups were (a decaying maximum of their
//! lateness, plus [`SLACK`]), between [`EARLY_MIN`] and [`EARLY_MAX`]: punctual where waking is
//! slow, and no more CPU than it takes where it is fast (at most [`EARLY_MAX`] + [`SLACK`] per
//! send, 13.5% of a core at the light limit, 1-3% at 100 sends per second). Heavier workers do
//! not fire early: their latencies are milliseconds and their CPU is the measurement's; they
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
/// The least a light worker's timer fires before a deadline, and where it starts.
pub const EARLY_MIN: Duration = Duration::from_micros(60);
/// The most a light worker's timer fires before a deadline: what one send may spin.
pub const EARLY_MAX: Duration = Duration::from_micros(250);
/// How fast the estimate of a worker's wake-up lateness forgets a late one: by 1/256 of itself
/// per wake-up (about half of it in 180 wake-ups, two seconds at 100 sends per second), so that
/// it stays near the late end of the recent wake-ups rather than their middle (forgetting by
/// 1/64, the send lag p99 at 11 clients × 10 msg/s was 0.03-0.07 ms; by 1/256, 0.01-0.05 ms).
const FORGET: u32 = 256;
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
    /// Whether this worker is light: its timer fires early (see the module docs).
    light: bool,
    /// The recent wake-ups' lateness: a decaying maximum, see [`next_lateness`].
    lateness: Duration,
    /// The wakers one expiry fires, kept between expiries so that firing allocates nothing.
    due: Vec<Waker>,
}

impl State {
    /// How early the timerfd fires before a deadline: from `lateness` for a light worker, else 0.
    fn early(&self) -> Duration {
        early_for(self.light, self.lateness)
    }
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

    /// Fires early before each deadline and spins the rest, for a worker planning at most
    /// [`LIGHT_SENDS_PER_S`] sends per second; no early firing otherwise.
    pub fn set_load(&self, sends_per_s: f64) {
        self.state.borrow_mut().light = sends_per_s <= LIGHT_SENDS_PER_S;
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
    /// (it ends when the runtime drops it). Each expiry's lateness (from when the fd was due to
    /// fire to when this task ran) goes to `lateness`: how long a due event waits for the worker
    /// (its waking up, its reactor, its turn to run), sampled from the wake-ups the worker has
    /// anyway, so that measuring it adds none.
    pub async fn drive(&self, mut lateness: impl FnMut(Duration)) {
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
            let now = Instant::now();
            if let Some(armed) = self.fire(now) {
                let late = now.saturating_duration_since(armed);
                let mut st = self.state.borrow_mut();
                st.lateness = next_lateness(st.lateness, late);
                drop(st);
                lateness(late);
            }
        }
    }

    /// Wakes every sleep due by `now` (within [`SLACK`]) and arms the fd for the next; the
    /// expiry the fd was armed for, if it was.
    fn fire(&self, now: Instant) -> Option<Instant> {
        let (mut wake, armed) = {
            let mut st = self.state.borrow_mut();
            let mut wake = std::mem::take(&mut st.due);
            let armed = st.armed.take();
            let due = now + SLACK;
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
            (wake, armed)
        };
        // Woken after the state is released: a woken task may register again at once.
        for w in wake.drain(..) {
            w.wake();
        }
        self.state.borrow_mut().due = wake;
        armed
    }
}

/// The future [`Timer::sleep_until`] and [`Timer::wake_at`] return.
pub struct Sleep {
    timer: Timer,
    at: Instant,
    id: Option<u64>,
    /// Fire early (on a light worker) and spin to `at`, or neither.
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
        let early = if *spin { st.early() } else { Duration::ZERO };
        let fire_at = at.checked_sub(early).unwrap_or(at);
        if Instant::now() + SLACK >= fire_at {
            if let Some(id) = id.take() {
                st.wakers.remove(&id);
            }
            let light = st.light;
            drop(st);
            // A send never leaves ahead of its plan.
            if !*spin || Instant::now() >= at {
                return Poll::Ready(());
            }
            if light {
                // Up to EARLY_MAX + SLACK to go: spin by asking to be polled again at once
                // rather than by looping here, so that the worker's reads and its reactor keep
                // running in the meantime (a delivery arriving during the spin is noticed and
                // read then, not after it).
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            // A heavy worker: at most SLACK to go, and hundreds of reads may be ready; polled
            // again, the send would wait behind all of them.
            while Instant::now() < at {
                std::hint::spin_loop();
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

/// The decaying maximum of a worker's wake-up lateness after one more wake-up, `late` late:
/// it jumps to a late wake-up and forgets it slowly, so that it stands for the late end of the
/// recent ones rather than their middle.
fn next_lateness(recent: Duration, late: Duration) -> Duration {
    late.max(recent - recent / FORGET)
}

/// How early the timer fires for a worker (`light` or not) whose recent wake-ups were up to
/// `lateness` late.
fn early_for(light: bool, lateness: Duration) -> Duration {
    if light {
        (lateness + SLACK).clamp(EARLY_MIN, EARLY_MAX)
    } else {
        Duration::ZERO
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
                async move { t.drive(|_| {}).await }
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
    fn a_late_wake_up_makes_a_light_timer_fire_earlier_and_is_forgotten_slowly() {
        let mut recent = Duration::ZERO;
        assert_eq!(early_for(true, recent), EARLY_MIN, "no history: the least");
        recent = next_lateness(recent, Duration::from_micros(150));
        assert_eq!(early_for(true, recent), Duration::from_micros(170));
        let mut wake_ups = 0;
        while early_for(true, recent) > EARLY_MIN {
            recent = next_lateness(recent, Duration::from_micros(5));
            wake_ups += 1;
        }
        assert!(
            (250..450).contains(&wake_ups),
            "forgotten after {wake_ups} punctual wake-ups"
        );
        let very_late = next_lateness(recent, Duration::from_millis(5));
        assert_eq!(
            early_for(true, very_late),
            EARLY_MAX,
            "capped: a send spins at most that"
        );
        assert_eq!(
            early_for(false, very_late),
            Duration::ZERO,
            "a heavy worker never"
        );
    }

    #[test]
    fn a_sleep_in_its_spin_window_lets_the_worker_run_other_tasks() {
        struct Count(std::sync::atomic::AtomicUsize);
        impl std::task::Wake for Count {
            fn wake(self: std::sync::Arc<Self>) {
                self.wake_by_ref();
            }
            fn wake_by_ref(self: &std::sync::Arc<Self>) {
                self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
        on_runtime(async {
            let timer = Timer::new().unwrap();
            timer.state.borrow_mut().lateness = EARLY_MAX;
            timer.set_load(10.0);
            assert_eq!(timer.state.borrow().early(), EARLY_MAX);
            let count = std::sync::Arc::new(Count(Default::default()));
            let waker = Waker::from(count.clone());
            let mut cx = Context::from_waker(&waker);
            // Inside the spin window from the start (due in less than EARLY_MAX). A pause of
            // the test past the deadline makes the sleep simply due: tried again then.
            let mut pending = 0;
            for _ in 0..50 {
                let at = Instant::now() + EARLY_MAX - Duration::from_micros(10);
                let mut sleep = timer.sleep_until(at);
                match Pin::new(&mut sleep).poll(&mut cx) {
                    Poll::Pending => {
                        pending += 1;
                        break;
                    }
                    Poll::Ready(()) => assert!(Instant::now() >= at, "woke early"),
                }
            }
            assert_eq!(
                pending, 1,
                "never returned to the worker inside its spin window"
            );
            assert_eq!(
                count.0.load(std::sync::atomic::Ordering::SeqCst),
                1,
                "a spinning sleep asks to be polled again at once"
            );
            assert!(
                timer.state.borrow().wakers.is_empty(),
                "and waits on no timer while it spins"
            );
        });
    }

    #[test]
    fn an_early_firing_expiry_is_late_from_when_the_fd_was_due_not_from_the_deadline() {
        on_runtime(async {
            let timer = Timer::new().unwrap();
            timer.state.borrow_mut().lateness = EARLY_MAX;
            timer.set_load(10.0);
            let at = Instant::now() + Duration::from_secs(5);
            let waker = Waker::noop();
            let mut sleep = timer.sleep_until(at);
            assert!(Pin::new(&mut sleep)
                .poll(&mut Context::from_waker(waker))
                .is_pending());
            // What the driver does when the fd expires, without waiting for it.
            let armed = timer.fire(Instant::now());
            assert_eq!(
                armed,
                Some(at - EARLY_MAX),
                "the fd was due EARLY_MAX before the deadline"
            );
        });
    }

    #[test]
    fn each_expiry_reports_how_late_the_worker_ran_it() {
        on_runtime(async {
            let timer = Timer::new().unwrap();
            let seen = Rc::new(RefCell::new(Vec::new()));
            let driver = tokio::task::spawn_local({
                let (t, s) = (timer.clone(), seen.clone());
                async move { t.drive(|late| s.borrow_mut().push(late)).await }
            });
            // Far enough ahead that the sleep registers (and arms the fd) before it is due.
            let at = Instant::now() + Duration::from_millis(5);
            // The worker's thread is busy past the deadline: the timer's task runs after it.
            let busy = tokio::task::spawn_local(async {
                std::thread::sleep(Duration::from_millis(50));
            });
            timer.sleep_until(at).await;
            busy.await.unwrap();
            // The sleep ends by its own clock check once the busy task lets it be polled; the
            // expiry is the driver's to see, and each yield lets the runtime poll its reactor.
            for _ in 0..1000 {
                if !seen.borrow().is_empty() {
                    break;
                }
                tokio::task::yield_now().await;
            }
            let seen = seen.borrow();
            assert_eq!(seen.len(), 1, "one expiry, one sample: {seen:?}");
            assert!(
                seen[0] >= Duration::from_millis(45),
                "the expiry waited behind 50 ms of work due 5 ms in, yet reported {:?}",
                seen[0]
            );
            driver.abort();
        });
    }

    #[test]
    fn many_sleepers_wake_in_deadline_order_and_a_dropped_one_is_skipped() {
        on_runtime(async {
            let timer = Timer::new().unwrap();
            let driver = tokio::task::spawn_local({
                let t = timer.clone();
                async move { t.drive(|_| {}).await }
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
