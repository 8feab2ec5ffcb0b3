//! State shared by the accept loop, every session and the monitor: the settings, the output
//! machinery, who is registered, and the table of open connections.

use std::collections::HashMap;
use std::net::TcpStream;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::config::Config;
use crate::delivery::Delivery;
use crate::outbox::Outbox;
use crate::registry::Registry;
use crate::shutdown::Shutdown;

/// One open connection, registered or not.
pub(crate) struct Open {
    pub stream: Arc<TcpStream>,
    pub outbox: Arc<Outbox>,
}

/// Everything the server's threads share.
pub(crate) struct Shared {
    pub config: Config,
    pub delivery: Arc<Delivery>,
    pub registry: Registry,
    pub shutdown: Shutdown,
    open: Mutex<HashMap<u64, Open>>,
    all_closed: Condvar,
}

impl Shared {
    pub fn new(config: Config, delivery: Arc<Delivery>, shutdown: Shutdown) -> Shared {
        Shared {
            config,
            delivery,
            registry: Registry::default(),
            shutdown,
            open: Mutex::new(HashMap::new()),
            all_closed: Condvar::new(),
        }
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutdown.is_triggered()
    }

    /// The table of open connections, by connection id.
    pub fn open(&self) -> MutexGuard<'_, HashMap<u64, Open>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every open connection's outbox, copied out so the table's lock is not held while using
    /// them.
    pub fn outboxes(&self) -> Vec<Arc<Outbox>> {
        self.open().values().map(|o| o.outbox.clone()).collect()
    }

    /// Waits until no connection is open, or until `deadline`.
    pub fn wait_all_closed(&self, deadline: std::time::Instant) -> bool {
        let mut open = self.open();
        while !open.is_empty() {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            open = self
                .all_closed
                .wait_timeout(open, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }
}

/// Removes a connection from the table when its thread ends, even by panic.
pub(crate) struct OpenGuard<'a> {
    pub shared: &'a Shared,
    pub id: u64,
}

impl Drop for OpenGuard<'_> {
    fn drop(&mut self) {
        let mut open = self.shared.open();
        open.remove(&self.id);
        if open.is_empty() {
            self.shared.all_closed.notify_all();
        }
    }
}
