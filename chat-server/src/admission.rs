//! Who gets a connection slot: the table of open connections, and the limits that keep one
//! host, or a crowd of connections that never register, from taking the server.
//!
//! Every open connection is in the [`Table`] from admission until its thread ends (or until it
//! is dropped to make room). The table counts connections per address and keeps the ones that
//! have not registered in arrival order, so admission decides at once:
//! - an address that already holds `max_per_address` connections is refused with
//!   `ERR too-many-connections` (loopback is exempt unless `limit_loopback`: local tools such as
//!   the load generator and the grader open hundreds of connections from one address);
//! - when the connections waiting for a name fill their share (`max_unregistered`), or the
//!   server is full, one of them is dropped with `ERR timeout` to make room: the oldest of the
//!   address that has the most waiting. So a flood of silent connections from one address
//!   evicts its own, and a user from elsewhere who sends its name is never reached. A server is
//!   only "full" for a newcomer when registered users fill it (`ERR server-full`);
//! - while more than half that share is taken, the monitor drops those that have waited longer
//!   than a shortened registration deadline ([`Config::pressured_name_timeout`]).
//!
//! Refusals are answered on the accept thread, never with a thread of their own, counted by
//! reason, and logged at most once per address per minute ([`RefusalLog`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::metrics::Metrics;
use crate::outbox::Outbox;

/// One open connection, registered or not.
pub(crate) struct Open {
    pub stream: Arc<TcpStream>,
    pub outbox: Arc<Outbox>,
    pub addr: SocketAddr,
    /// Set when the connection was dropped to make room; its session then ends with
    /// `ERR timeout`.
    pub dropped: Arc<AtomicBool>,
}

impl Open {
    /// Counts it dropped and closed (it has left the table), tells its session, and wakes
    /// that session from reading its name. Call it with the table's lock released.
    pub fn drop_unregistered(&self, metrics: &Metrics) {
        metrics.unregistered_dropped();
        metrics.connection_closed();
        self.dropped.store(true, SeqCst);
        let _ = self.stream.shutdown(std::net::Shutdown::Read);
    }
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// Its address already holds the most connections one address may.
    PerAddress,
    /// Registered users fill the server.
    ServerFull,
}

/// What admission decided for a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// There is room.
    Admit,
    /// Admit it after dropping this connection: of those waiting for a name, the oldest from
    /// the address with the most waiting.
    AdmitDropping(u64),
    /// Turn it away.
    Refuse(Refusal),
}

/// The open connections and their counts; see the module docs. Lives under `Shared::open`.
#[derive(Default)]
pub(crate) struct Table {
    open: HashMap<u64, Open>,
    per_ip: HashMap<IpAddr, usize>,
    /// Connections waiting for a name, by id (ids grow with arrival: the first is the oldest),
    /// with when they arrived.
    unregistered: BTreeMap<u64, Instant>,
    /// The same connections by address, oldest first.
    waiting_by_ip: HashMap<IpAddr, BTreeSet<u64>>,
}

impl Table {
    /// Connections open now.
    pub fn len(&self) -> usize {
        self.open.len()
    }

    /// Connections open now that have not registered.
    pub fn unregistered(&self) -> usize {
        self.unregistered.len()
    }

    /// Every open connection.
    pub fn values(&self) -> impl Iterator<Item = &Open> {
        self.open.values()
    }

    /// What to do with a new connection from `ip`.
    pub fn decide(&self, ip: IpAddr, config: &Config) -> Decision {
        let from_ip = self.per_ip.get(&ip).copied().unwrap_or(0);
        if config.limits_address(ip) && from_ip >= config.max_per_address {
            return Decision::Refuse(Refusal::PerAddress);
        }
        if self.unregistered.len() >= config.max_unregistered()
            || self.open.len() >= config.max_clients
        {
            // The address with the most waiting (the oldest such on a tie, so a lone attacker
            // and a lone user never tie in the user's disfavour), then its oldest.
            let busiest = self
                .waiting_by_ip
                .values()
                .max_by(|a, b| a.len().cmp(&b.len()).then(b.first().cmp(&a.first())));
            return match busiest.and_then(|ids| ids.first()) {
                Some(&oldest) => Decision::AdmitDropping(oldest),
                None => Decision::Refuse(Refusal::ServerFull),
            };
        }
        Decision::Admit
    }

    /// Adds a connection that is waiting for its name.
    pub fn insert(&mut self, id: u64, open: Open, now: Instant) {
        let ip = open.addr.ip();
        *self.per_ip.entry(ip).or_default() += 1;
        self.open.insert(id, open);
        self.wait(id, ip, now);
    }

    /// Removes a connection, whatever its state; `None` if it is not in the table (it was
    /// dropped to make room, or already removed).
    pub fn remove(&mut self, id: u64) -> Option<Open> {
        let open = self.open.remove(&id)?;
        let ip = open.addr.ip();
        self.unwait(id, ip);
        if let Some(n) = self.per_ip.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                self.per_ip.remove(&ip);
            }
        }
        Some(open)
    }

    /// A connection is registering: it can no longer be dropped to make room. Returns false
    /// if it already was.
    pub fn registering(&mut self, id: u64) -> bool {
        match self.open.get(&id).map(|o| o.addr.ip()) {
            Some(ip) => self.unwait(id, ip),
            None => false,
        }
    }

    /// Its name was refused: it waits again, keeping its place by age.
    pub fn still_unregistered(&mut self, id: u64, since: Instant) {
        if let Some(ip) = self.open.get(&id).map(|o| o.addr.ip()) {
            self.wait(id, ip, since);
        }
    }

    fn wait(&mut self, id: u64, ip: IpAddr, since: Instant) {
        self.unregistered.insert(id, since);
        self.waiting_by_ip.entry(ip).or_default().insert(id);
    }

    /// Takes a connection out of the waiting line; returns whether it was in it.
    fn unwait(&mut self, id: u64, ip: IpAddr) -> bool {
        if self.unregistered.remove(&id).is_none() {
            return false;
        }
        if let Some(ids) = self.waiting_by_ip.get_mut(&ip) {
            ids.remove(&id);
            if ids.is_empty() {
                self.waiting_by_ip.remove(&ip);
            }
        }
        true
    }

    /// Whether connections waiting for a name take more than half their share.
    pub fn pressured(&self, config: &Config) -> bool {
        self.unregistered.len() * 2 > config.max_unregistered()
    }

    /// Connections that have waited for a name since before `cutoff`, oldest first.
    pub fn waiting_since_before(&self, cutoff: Instant) -> Vec<u64> {
        self.unregistered
            .iter()
            .take_while(|(_, &since)| since < cutoff)
            .map(|(&id, _)| id)
            .collect()
    }
}

/// Refusals logged at most once per address per minute.
#[derive(Default)]
pub(crate) struct RefusalLog {
    /// Per address: when it was last logged, and the refusals since then not logged.
    seen: HashMap<IpAddr, (Instant, u64)>,
}

/// How often one address's refusals are logged.
pub(crate) const LOG_EVERY: Duration = Duration::from_secs(60);

impl RefusalLog {
    /// Records a refusal of `ip`. Returns `Some(n)` when this one is to be logged, with the `n`
    /// refusals of that address since its last line that were not (0 for its first).
    pub fn note(&mut self, ip: IpAddr, now: Instant) -> Option<u64> {
        if self.seen.len() > 4096 {
            // Bounded memory: addresses not refused for a minute are forgotten.
            self.seen
                .retain(|_, (at, _)| now.saturating_duration_since(*at) < LOG_EVERY);
        }
        match self.seen.get_mut(&ip) {
            Some((at, quiet)) if now.saturating_duration_since(*at) < LOG_EVERY => {
                *quiet += 1;
                None
            }
            Some((at, quiet)) => {
                let n = *quiet;
                *at = now;
                *quiet = 0;
                Some(n)
            }
            None => {
                self.seen.insert(ip, (now, 0));
                Some(0)
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::budget::Budget;
    use crate::config::WriteMode;
    use crate::delivery::Delivery;
    use std::net::TcpListener;
    use std::sync::OnceLock;

    fn limits() -> Config {
        Config {
            max_clients: 4,
            max_unregistered: Some(2),
            max_per_address: 2,
            limit_loopback: true,
            ..Config::default()
        }
    }

    /// An entry with a real socket (the table only counts it) from `ip`.
    fn open(ip: &str) -> Open {
        static DELIVERY: OnceLock<Arc<Delivery>> = OnceLock::new();
        let delivery = DELIVERY.get_or_init(|| {
            let budget = Arc::new(Budget::new(1 << 30, 1 << 28));
            Delivery::start(1, 1 << 20, WriteMode::Batched, budget, Arc::default()).unwrap()
        });
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        std::mem::forget(client);
        let (server, _) = listener.accept().unwrap();
        let stream = Arc::new(server);
        Open {
            outbox: Arc::new(Outbox::new(0, stream.clone(), delivery.clone())),
            stream,
            addr: SocketAddr::new(ip.parse().unwrap(), 1),
            dropped: Arc::default(),
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_address_at_its_limit_is_refused_and_others_are_not() {
        let mut t = Table::default();
        let now = Instant::now();
        for id in [1, 2] {
            t.insert(id, open("10.0.0.1"), now);
            assert!(t.registering(id));
        }
        assert_eq!(
            t.decide(ip("10.0.0.1"), &limits()),
            Decision::Refuse(Refusal::PerAddress)
        );
        assert_eq!(t.decide(ip("10.0.0.2"), &limits()), Decision::Admit);
        t.remove(1);
        assert_eq!(t.decide(ip("10.0.0.1"), &limits()), Decision::Admit);
    }

    #[test]
    fn loopback_is_exempt_from_the_address_limit_unless_asked() {
        let mut t = Table::default();
        for id in [1, 2] {
            t.insert(id, open("127.0.0.1"), Instant::now());
            t.registering(id);
        }
        let exempt = Config {
            limit_loopback: false,
            ..limits()
        };
        assert_eq!(t.decide(ip("127.0.0.1"), &exempt), Decision::Admit);
        assert_eq!(t.decide(ip("::1"), &exempt), Decision::Admit);
        assert_eq!(
            t.decide(ip("127.0.0.1"), &limits()),
            Decision::Refuse(Refusal::PerAddress)
        );
    }

    #[test]
    fn a_full_share_of_unregistered_drops_the_oldest_first() {
        let mut t = Table::default();
        let now = Instant::now();
        t.insert(7, open("10.0.0.1"), now);
        t.insert(9, open("10.0.0.2"), now);
        assert_eq!(
            t.decide(ip("10.0.0.3"), &limits()),
            Decision::AdmitDropping(7)
        );
        // Registering takes a connection out of the line: the next oldest goes instead.
        assert!(t.registering(7));
        t.insert(10, open("10.0.0.3"), now);
        assert_eq!(
            t.decide(ip("10.0.0.4"), &limits()),
            Decision::AdmitDropping(9)
        );
    }

    #[test]
    fn the_address_with_the_most_waiting_gives_up_its_oldest() {
        let mut t = Table::default();
        let now = Instant::now();
        let l = Config {
            max_clients: 10,
            max_unregistered: Some(3),
            ..limits()
        };
        t.insert(1, open("10.0.0.9"), now);
        t.insert(2, open("10.0.0.1"), now);
        t.insert(3, open("10.0.0.1"), now);
        assert_eq!(t.decide(ip("10.0.0.5"), &l), Decision::AdmitDropping(2));
    }

    #[test]
    fn only_a_server_full_of_registered_users_refuses() {
        let mut t = Table::default();
        let now = Instant::now();
        for id in 1..=3 {
            t.insert(id, open(&format!("10.0.0.{id}")), now);
            t.registering(id);
        }
        t.insert(4, open("10.0.0.4"), now);
        assert_eq!(
            t.decide(ip("10.0.0.5"), &limits()),
            Decision::AdmitDropping(4)
        );
        t.registering(4);
        assert_eq!(
            t.decide(ip("10.0.0.5"), &limits()),
            Decision::Refuse(Refusal::ServerFull)
        );
    }

    #[test]
    fn a_dropped_connection_cannot_register_and_a_refused_name_keeps_its_age() {
        let mut t = Table::default();
        let early = Instant::now();
        t.insert(1, open("10.0.0.1"), early);
        t.insert(2, open("10.0.0.1"), early + Duration::from_secs(1));
        assert!(t.registering(1));
        t.still_unregistered(1, early);
        assert_eq!(
            t.waiting_since_before(early + Duration::from_secs(5)),
            vec![1, 2]
        );
        t.remove(2);
        assert!(!t.registering(2), "removed: it was dropped");
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn counts_follow_removals() {
        let mut t = Table::default();
        t.insert(1, open("10.0.0.1"), Instant::now());
        assert!(t.remove(1).is_some());
        assert!(t.remove(1).is_none());
        assert_eq!((t.len(), t.unregistered()), (0, 0));
        assert!(t.per_ip.is_empty() && t.waiting_by_ip.is_empty());
    }

    #[test]
    fn pressure_starts_past_half_the_share() {
        let mut t = Table::default();
        let l = Config {
            max_unregistered: Some(4),
            ..limits()
        };
        for id in 1..=2 {
            t.insert(id, open(&format!("10.0.0.{id}")), Instant::now());
        }
        assert!(!t.pressured(&l));
        t.insert(3, open("10.0.0.3"), Instant::now());
        assert!(t.pressured(&l));
        assert_eq!(l.pressured_name_timeout(), Duration::from_secs(10));
    }

    #[test]
    fn refusals_are_logged_once_a_minute_per_address_with_the_count_between() {
        let mut log = RefusalLog::default();
        let t0 = Instant::now();
        assert_eq!(log.note(ip("10.0.0.1"), t0), Some(0));
        assert_eq!(log.note(ip("10.0.0.2"), t0), Some(0));
        for s in 1..=5 {
            assert_eq!(log.note(ip("10.0.0.1"), t0 + Duration::from_secs(s)), None);
        }
        assert_eq!(log.note(ip("10.0.0.1"), t0 + LOG_EVERY), Some(5));
        assert_eq!(log.note(ip("10.0.0.1"), t0 + LOG_EVERY), None);
    }
}
