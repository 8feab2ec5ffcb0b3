//! The shutdown handle: a flag, plus a way to wake the accept loop blocked in `accept`.
//!
//! `accept` cannot be interrupted portably, so [`Shutdown::trigger`] sets the flag and then
//! connects to the listener itself; the accept loop wakes, sees the flag, and starts the
//! shutdown sequence (BYE to everyone, every thread joined).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use crate::sync::Mutex;

#[derive(Default)]
struct State {
    /// Read on every session's hot path, so an atomic rather than a lock.
    triggered: AtomicBool,
    /// A leaf lock: nothing else is taken while it is held.
    wake: Mutex<Option<SocketAddr>>,
}

/// A cloneable handle that asks a running server to shut down.
#[derive(Clone, Default)]
pub struct Shutdown {
    state: Arc<State>,
}

impl Shutdown {
    /// A handle that has not been triggered.
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Asks the server to shut down; returns at once. Safe to call more than once, from any
    /// thread (including a signal handler thread), before or after the server started.
    pub fn trigger(&self) {
        // Set before the address is read: an accept loop armed after this read sees the flag
        // before it blocks in `accept`.
        self.state.triggered.store(true, SeqCst);
        let wake = *self.state.wake.lock();
        if let Some(addr) = wake {
            // The connection only needs to exist; the accept loop drops it.
            let _ = TcpStream::connect_timeout(&addr, Duration::from_secs(1));
        }
    }

    /// Whether shutdown was asked for.
    pub fn is_triggered(&self) -> bool {
        self.state.triggered.load(SeqCst)
    }

    /// Records the listener's address so that a later trigger can wake `accept`.
    pub(crate) fn arm(&self, listening: SocketAddr) {
        *self.state.wake.lock() = Some(wake_address(listening));
    }
}

/// An address that reaches a listener: a wildcard address is reached through loopback.
pub(crate) fn wake_address(listening: SocketAddr) -> SocketAddr {
    let ip = match listening.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listening.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_is_woken_through_loopback() {
        assert_eq!(
            wake_address("0.0.0.0:80".parse().unwrap()),
            "127.0.0.1:80".parse().unwrap()
        );
        assert_eq!(
            wake_address("[::]:80".parse().unwrap()),
            "[::1]:80".parse().unwrap()
        );
        assert_eq!(
            wake_address("127.0.0.2:80".parse().unwrap()),
            "127.0.0.2:80".parse().unwrap()
        );
    }

    #[test]
    fn trigger_before_arm_is_remembered() {
        let s = Shutdown::new();
        s.trigger();
        assert!(s.clone().is_triggered());
    }
}
