//! Everything outboxes share to move bytes out: the flusher pool, the poller, the backlog
//! account and the per-client cap. One per server; every [`crate::outbox::Outbox`] holds it.

use std::io;
use std::sync::Arc;

use crate::budget::Budget;
use crate::config::WriteMode;
use crate::flusher::Flusher;
use crate::metrics::Metrics;
use crate::poller::Poller;

/// The shared output machinery; see the module docs.
pub struct Delivery {
    /// Threads that write pending bytes with non-blocking sends.
    pub flusher: Arc<Flusher>,
    /// The thread that waits for full sockets to take bytes again.
    pub poller: Arc<Poller>,
    /// The server-wide account of bytes waiting.
    pub budget: Arc<Budget>,
    /// Most bytes that may wait for one client before it is cut off.
    pub max_backlog: usize,
    /// How much one `send` may carry.
    pub write_mode: WriteMode,
    /// The server's counters: every send and line out is counted here.
    pub metrics: Arc<Metrics>,
}

impl Delivery {
    /// Starts `flushers` flusher threads and the poller.
    pub fn start(
        flushers: usize,
        max_backlog: usize,
        write_mode: WriteMode,
        budget: Arc<Budget>,
        metrics: Arc<Metrics>,
    ) -> io::Result<Arc<Self>> {
        Ok(Arc::new(Delivery {
            flusher: Flusher::start(flushers, metrics.clone())?,
            poller: Poller::start(metrics.clone())?,
            budget,
            max_backlog,
            write_mode,
            metrics,
        }))
    }

    /// Flushes what the flushers have queued, then stops and joins their threads and the
    /// poller's.
    pub fn shutdown(&self) {
        self.flusher.shutdown();
        self.poller.shutdown();
    }
}
