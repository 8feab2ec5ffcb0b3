//! State shared by the accept loop, every session and the monitor: the settings, the output
//! machinery, who is registered, and the table of open connections.
//!
//! The locks these hold are taken in the one order written in [`crate::sync`].

use std::sync::Arc;

use crate::admission::Table;
use crate::config::Config;
use crate::delivery::Delivery;
use crate::metrics::Metrics;
use crate::outbox::Outbox;
use crate::registry::Registry;
use crate::shutdown::Shutdown;
use crate::sync::{Mutex, MutexGuard};

/// Everything the server's threads share.
pub(crate) struct Shared {
    pub config: Config,
    pub delivery: Arc<Delivery>,
    pub metrics: Arc<Metrics>,
    pub registry: Registry,
    pub shutdown: Shutdown,
    open: Mutex<Table>,
}

impl Shared {
    pub fn new(config: Config, delivery: Arc<Delivery>, shutdown: Shutdown) -> Shared {
        Shared {
            config,
            metrics: delivery.metrics.clone(),
            delivery,
            registry: Registry::default(),
            shutdown,
            open: Mutex::new(Table::default()),
        }
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutdown.is_triggered()
    }

    /// The table of open connections, by connection id, with its admission counts.
    pub fn open(&self) -> MutexGuard<'_, Table> {
        self.open.lock()
    }

    /// Every open connection's outbox, copied out so the table's lock is not held while using
    /// them.
    pub fn outboxes(&self) -> Vec<Arc<Outbox>> {
        self.open().values().map(|o| o.outbox.clone()).collect()
    }
}

/// Removes a connection from the table when its thread ends, even by panic.
pub(crate) struct OpenGuard<'a> {
    pub shared: &'a Shared,
    pub id: u64,
}

impl Drop for OpenGuard<'_> {
    fn drop(&mut self) {
        let removed = self.shared.open().remove(self.id);
        if removed.is_some() {
            self.shared.metrics.connection_closed();
        }
    }
}
