//! What one worker's tasks share on its thread, and what the controller and the workers tell
//! each other: the run's [`Brief`] (read-only, every worker), the [`Phase`] the controller moves
//! the run through, the [`Worker`] state its bots record into, and the channel for each
//! second's [`Interval`].
//! [`crate::engine::bot`] and [`crate::engine::worker`] both build on it; neither needs the other's insides.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::engine::timer::Timer;
use crate::plan::arrival::Arrivals;
use crate::plan::config::Config;
use crate::recording::series::Interval;
use crate::recording::stats::{Clock, Live, WorkerStats};

/// Where the run is; bots wait for the controller to move it on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Phase {
    /// Connecting and registering.
    Connecting,
    /// Everyone is registered: send from `start` (an offset from the run's time zero) until
    /// `end`.
    Sending {
        /// First planned send.
        start: Duration,
        /// No send is planned at or after this.
        end: Duration,
    },
    /// Ctrl-C ended the sending: no new sends, keep reading. (A run that ends on time lets
    /// every send planned before its end go out, late or not.)
    Draining,
    /// Stop reading and leave.
    Stop,
}

impl Phase {
    /// Whether sends are over.
    pub fn sending_over(&self) -> bool {
        matches!(self, Phase::Draining | Phase::Stop)
    }
}

/// What every worker is told, read-only: the run's settings, the server, the names and the clock.
pub struct Brief {
    /// The run's settings.
    pub config: Config,
    /// The server's address.
    pub addr: SocketAddr,
    /// Every bot's name, by index.
    pub names: Vec<String>,
    /// Time zero and the measured window.
    pub clock: Clock,
    /// Room per sender in the completion table.
    pub per_sender: usize,
    /// This shard's bots, as indices among all of them.
    pub own: Vec<u32>,
    /// How many bots this shard runs.
    pub own_bots: u32,
}

/// A worker's state, shared by its tasks on its one thread.
pub struct Worker {
    /// The run.
    pub plan: Arc<Brief>,
    /// Everything recorded.
    pub stats: RefCell<WorkerStats>,
    /// The one read buffer all of this worker's bots read into.
    pub buf: RefCell<Vec<u8>>,
    /// Counters for the controller.
    pub live: Arc<Live>,
    /// Phase changes from the controller.
    pub phase: watch::Receiver<Phase>,
    /// One message per bot: registered or not.
    pub ready: mpsc::Sender<bool>,
    /// The high-resolution timer every bot sleeps on until its planned sends.
    pub timer: Timer,
    /// Converts the kernel's receive stamps to the run's clock, read after read.
    pub arrivals: RefCell<Arrivals>,
}

impl Worker {
    /// A bot's sending is over.
    pub fn sender_done(&self) {
        self.live
            .senders_done
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Channels between a worker and the controller.
pub struct Links {
    /// Phase changes.
    pub phase: watch::Receiver<Phase>,
    /// Registered or not, per bot.
    pub ready: mpsc::Sender<bool>,
    /// Each second's figures.
    pub seconds: mpsc::Sender<Interval>,
    /// Counters.
    pub live: Arc<Live>,
}
