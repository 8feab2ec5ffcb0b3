//! State shared by the accept loop, every session and the monitor: the settings, the output
//! machinery, who is registered, and the table of open connections.
//!
//! The locks these hold are taken in the one order written in [`crate::sync`].

use std::collections::HashMap;
use std::net::TcpStream;
use std::sync::Arc;

use crate::config::Config;
use crate::delivery::Delivery;
use crate::metrics::Metrics;
use crate::outbox::Outbox;
use crate::registry::Registry;
use crate::shutdown::Shutdown;
use crate::sync::{Mutex, MutexGuard};

/// One open connection, registered or not.
pub(crate) struct Open {
    pub stream: Arc<TcpStream>,
    pub outbox: Arc<Outbox>,
}

/// Everything the server's threads share.
pub(crate) struct Shared {
    pub config: Config,
    pub delivery: Arc<Delivery>,
    pub metrics: Arc<Metrics>,
    pub registry: Registry,
    pub shutdown: Shutdown,
    open: Mutex<HashMap<u64, Open>>,
}

impl Shared {
    pub fn new(config: Config, delivery: Arc<Delivery>, shutdown: Shutdown) -> Shared {
        Shared {
            config,
            metrics: delivery.metrics.clone(),
            delivery,
            registry: Registry::default(),
            shutdown,
            open: Mutex::new(HashMap::new()),
        }
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutdown.is_triggered()
    }

    /// The table of open connections, by connection id.
    pub fn open(&self) -> MutexGuard<'_, HashMap<u64, Open>> {
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
        if self.shared.open().remove(&self.id).is_some() {
            self.shared.metrics.connection_closed();
        }
    }
}
