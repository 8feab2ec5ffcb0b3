//! The flusher pool: a few threads that write pending lines to sockets in batches.
//!
//! A broadcast only appends its line to each recipient's pending buffer and, if that recipient
//! is not already waiting, puts it on the ready queue: a memory copy, no system call. A flusher
//! takes recipients off the queue and hands each one's whole pending buffer to the kernel in one
//! non-blocking `send`. While a flusher works through the queue, lines for the recipients still
//! waiting accumulate, so the batches grow with the load and the cost per line falls exactly
//! when it matters; at low load a line leaves as soon as a flusher wakes.
//!
//! The pool knows nothing of outboxes: it runs anything that implements [`Flush`].
//!
//! `queue` is a leaf lock: a task is taken off the queue and the lock released before the task
//! runs, so tasks may schedule themselves again, and callers may schedule while holding their
//! own locks.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use crate::metrics::Metrics;
use crate::sync::{Condvar, Mutex, MutexGuard};

/// Work for a flusher thread: write what is pending, without blocking.
pub trait Flush: Send + Sync {
    /// Called on a flusher thread once per [`Flusher::schedule`].
    fn flush(self: Arc<Self>);
}

#[derive(Default)]
struct Queue {
    ready: VecDeque<Arc<dyn Flush>>,
    sleeping: usize,
}

/// A pool of flusher threads and their ready queue.
pub struct Flusher {
    queue: Mutex<Queue>,
    wake: Condvar,
    stop: AtomicBool,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Flusher {
    /// Starts `threads` flusher threads (at least one), each counted in `metrics` while it runs.
    pub fn start(threads: usize, metrics: Arc<Metrics>) -> std::io::Result<Arc<Flusher>> {
        let pool = Arc::new(Flusher {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
            threads: Mutex::new(Vec::new()),
        });
        for i in 0..threads.max(1) {
            let p = pool.clone();
            let m = metrics.clone();
            let handle = thread::Builder::new()
                .name(format!("flusher-{i}"))
                .stack_size(128 * 1024)
                .spawn(move || {
                    let _alive = m.thread();
                    p.work()
                })?;
            pool.threads.lock().push(handle);
        }
        Ok(pool)
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock()
    }

    /// Queues a task that has pending bytes. The caller guarantees it is queued at most once at
    /// a time.
    pub fn schedule(&self, task: Arc<dyn Flush>) {
        let mut q = self.lock();
        q.ready.push_back(task);
        // Waking costs a system call; skip it when every flusher is already busy.
        if q.sleeping > 0 {
            self.wake.notify_one();
        }
    }

    fn work(&self) {
        loop {
            let next = {
                let mut q = self.lock();
                loop {
                    if let Some(o) = q.ready.pop_front() {
                        break Some(o);
                    }
                    if self.stop.load(Ordering::SeqCst) {
                        break None;
                    }
                    q.sleeping += 1;
                    q = self.wake.wait(q);
                    q.sleeping -= 1;
                }
            };
            match next {
                Some(task) => task.flush(),
                None => return,
            }
        }
    }

    /// Flushes what is queued, then stops and joins the threads.
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::SeqCst);
        {
            let _q = self.lock();
            self.wake.notify_all();
        }
        let threads = std::mem::take(&mut *self.threads.lock());
        for t in threads {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    struct Probe(Mutex<mpsc::Sender<()>>);

    impl Flush for Probe {
        fn flush(self: Arc<Self>) {
            let _ = self.0.lock().send(());
        }
    }

    #[test]
    fn a_scheduled_task_is_flushed_once() {
        let pool = Flusher::start(2, Arc::default()).unwrap();
        let (tx, rx) = mpsc::channel();
        pool.schedule(Arc::new(Probe(Mutex::new(tx))));
        rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
        pool.shutdown();
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn shutdown_runs_what_was_queued_then_joins_every_thread() {
        let pool = Flusher::start(1, Arc::default()).unwrap();
        let (tx, rx) = mpsc::channel();
        let probe = Arc::new(Probe(Mutex::new(tx)));
        for _ in 0..100 {
            pool.schedule(probe.clone());
        }
        pool.shutdown();
        assert_eq!(rx.try_iter().count(), 100);
        assert!(pool.threads.lock().is_empty());
    }
}
