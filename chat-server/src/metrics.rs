//! What the server counts about its own work, and its rendering in the Prometheus text format.
//!
//! Counters are plain relaxed atomics bumped where the work happens: a `send` or `read` system
//! call, a line in or out, a connection admitted, a name registered, a thread started. They cost
//! one uncontended-in-the-common-case atomic add beside a system call, so they are always on;
//! only serving them over HTTP (`--metrics`, see [`crate::exporter`]) is optional. Anchors: the
//! figures an operator reads from NATS `/varz` or Redis `INFO`, named the Prometheus way.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::admission::Refusal;
use crate::budget::BacklogStats;

/// The server's counters and gauges; one per server, shared by every thread.
#[derive(Debug, Default)]
pub struct Metrics {
    connections_accepted: AtomicU64,
    // Counted by reason, each on its own: a total kept beside one reason and subtracted from
    // could be read between the two increments and underflow.
    refused_server_full: AtomicU64,
    refused_per_address: AtomicU64,
    unregistered_dropped: AtomicU64,
    connections_open: AtomicI64,
    registrations: AtomicU64,
    users: AtomicI64,
    lines_in: AtomicU64,
    lines_out: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    sends: AtomicU64,
    receives: AtomicU64,
    threads: AtomicI64,
    threads_started: AtomicU64,
}

/// The figures at one instant, as plain numbers: what [`crate::RunningServer::metrics`] hands an
/// embedding program (the load generator) and what the exporter renders.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Connections accepted, including those turned away.
    pub connections_accepted: u64,
    /// Connections turned away, for any reason: `ERR server-full` or `ERR
    /// too-many-connections`.
    pub connections_refused: u64,
    /// Of those, turned away because their address held too many connections.
    pub refused_per_address: u64,
    /// Connections dropped with `ERR timeout` before registering, to make room for newer ones
    /// (or at the registration deadline shortened while many wait for a name).
    pub unregistered_dropped: u64,
    /// Connections open now, registered or not.
    pub connections_open: u64,
    /// Names registered.
    pub registrations: u64,
    /// Registered users now.
    pub users: u64,
    /// Lines read from clients.
    pub lines_in: u64,
    /// Lines queued for recipients (a broadcast to 99 others counts 99).
    pub lines_out: u64,
    /// Bytes read from clients.
    pub bytes_in: u64,
    /// Bytes the kernel accepted from `send` calls.
    pub bytes_out: u64,
    /// `send` system calls on client sockets, including those that found the socket full.
    pub sends: u64,
    /// `read` system calls on client sockets.
    pub receives: u64,
    /// The server's threads alive now (sessions, flushers, poller, monitor, accept loop,
    /// exporter).
    pub threads: u64,
    /// Threads the server has started.
    pub threads_started: u64,
    /// The backlog account: bytes waiting, peak, cut-offs by reason, flood-control waits.
    pub backlog: BacklogStats,
}

/// Counts one live thread of the server while it exists.
#[must_use = "the thread counts as alive only while the guard is held"]
pub struct ThreadGuard<'a>(&'a Metrics);

impl Drop for ThreadGuard<'_> {
    fn drop(&mut self) {
        self.0.threads.fetch_sub(1, Ordering::Relaxed);
    }
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

impl Metrics {
    /// A connection was accepted and admitted.
    pub fn connection_admitted(&self) {
        add(&self.connections_accepted, 1);
        self.connections_open.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection was accepted and turned away.
    pub fn connection_refused(&self, why: Refusal) {
        add(&self.connections_accepted, 1);
        match why {
            Refusal::ServerFull => add(&self.refused_server_full, 1),
            Refusal::PerAddress => add(&self.refused_per_address, 1),
        }
    }

    /// A connection that had not registered was dropped to make room (it is also closed).
    pub fn unregistered_dropped(&self) {
        add(&self.unregistered_dropped, 1);
    }

    /// An admitted connection closed.
    pub fn connection_closed(&self) {
        self.connections_open.fetch_sub(1, Ordering::Relaxed);
    }

    /// A name was registered.
    pub fn registered(&self) {
        add(&self.registrations, 1);
        self.users.fetch_add(1, Ordering::Relaxed);
    }

    /// A registered user left.
    pub fn unregistered(&self) {
        self.users.fetch_sub(1, Ordering::Relaxed);
    }

    /// One `read` call on a client socket returned `n` bytes (0 at the end of the stream or on
    /// an error).
    pub fn received(&self, n: usize) {
        add(&self.receives, 1);
        add(&self.bytes_in, n as u64);
    }

    /// A line was read from a client.
    pub fn line_in(&self) {
        add(&self.lines_in, 1);
    }

    /// `n` lines were queued for recipients.
    pub fn lines_out(&self, n: u64) {
        add(&self.lines_out, n);
    }

    /// One `send` call on a client socket; `n` bytes were accepted (0 when it failed).
    pub fn sent(&self, n: usize) {
        add(&self.sends, 1);
        add(&self.bytes_out, n as u64);
    }

    /// Counts the calling thread as alive until the guard drops.
    pub fn thread(&self) -> ThreadGuard<'_> {
        add(&self.threads_started, 1);
        self.threads.fetch_add(1, Ordering::Relaxed);
        ThreadGuard(self)
    }

    /// Every figure now, with the backlog account's.
    pub fn snapshot(&self, backlog: BacklogStats) -> Snapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let gauge = |g: &AtomicI64| g.load(Ordering::Relaxed).max(0) as u64;
        let refused_per_address = get(&self.refused_per_address);
        Snapshot {
            connections_accepted: get(&self.connections_accepted),
            connections_refused: get(&self.refused_server_full) + refused_per_address,
            refused_per_address,
            unregistered_dropped: get(&self.unregistered_dropped),
            connections_open: gauge(&self.connections_open),
            registrations: get(&self.registrations),
            users: gauge(&self.users),
            lines_in: get(&self.lines_in),
            lines_out: get(&self.lines_out),
            bytes_in: get(&self.bytes_in),
            bytes_out: get(&self.bytes_out),
            sends: get(&self.sends),
            receives: get(&self.receives),
            threads: gauge(&self.threads),
            threads_started: get(&self.threads_started),
            backlog,
        }
    }
}

/// Figures about the whole process, read from `/proc/self` where there is one.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Process {
    /// User plus system CPU time, seconds.
    pub cpu_seconds: f64,
    /// Resident set size, bytes.
    pub resident_bytes: u64,
    /// Threads of the process.
    pub threads: u64,
    /// Open file descriptors.
    pub open_fds: u64,
}

impl Process {
    /// Reads this process's figures; `None` without `/proc`.
    pub fn read() -> Option<Process> {
        let me = procfs::process::Process::myself().ok()?;
        let status = me.status().ok()?;
        // SAFETY: getrusage only writes into the struct it is given.
        let cpu_seconds = unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
                return None;
            }
            let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
            secs(usage.ru_utime) + secs(usage.ru_stime)
        };
        Some(Process {
            cpu_seconds,
            resident_bytes: status.vmrss.unwrap_or(0) * 1024,
            threads: status.threads,
            open_fds: me.fd_count().map_or(0, |n| n as u64),
        })
    }
}

/// One metric family: name, type, help, and its samples (label text, value).
fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(&str, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

/// Renders the figures in the Prometheus text exposition format (version 0.0.4).
pub fn render(s: &Snapshot, process: Option<&Process>) -> String {
    let mut out = String::new();
    let counter = |out: &mut String, name: &str, help: &str, v: u64| {
        family(out, name, "counter", help, &[("", v as f64)])
    };
    let gauge = |out: &mut String, name: &str, help: &str, v: u64| {
        family(out, name, "gauge", help, &[("", v as f64)])
    };
    counter(
        &mut out,
        "batepapo_connections_accepted_total",
        "Connections accepted, including those turned away because the server was full.",
        s.connections_accepted,
    );
    family(
        &mut out,
        "batepapo_connections_refused_total",
        "counter",
        "Connections turned away, by reason: server_full (ERR server-full), per_address (ERR too-many-connections).",
        &[
            (
                "{reason=\"server_full\"}",
                (s.connections_refused - s.refused_per_address) as f64,
            ),
            ("{reason=\"per_address\"}", s.refused_per_address as f64),
        ],
    );
    counter(
        &mut out,
        "batepapo_unregistered_dropped_total",
        "Connections dropped with ERR timeout before registering, to make room for newer ones.",
        s.unregistered_dropped,
    );
    gauge(
        &mut out,
        "batepapo_connections",
        "Connections open now, registered or not.",
        s.connections_open,
    );
    counter(
        &mut out,
        "batepapo_registrations_total",
        "Names registered.",
        s.registrations,
    );
    gauge(&mut out, "batepapo_users", "Registered users now.", s.users);
    counter(
        &mut out,
        "batepapo_lines_in_total",
        "Lines read from clients.",
        s.lines_in,
    );
    counter(
        &mut out,
        "batepapo_lines_out_total",
        "Lines queued for recipients; a broadcast counts once per recipient.",
        s.lines_out,
    );
    counter(
        &mut out,
        "batepapo_bytes_in_total",
        "Bytes read from clients.",
        s.bytes_in,
    );
    counter(
        &mut out,
        "batepapo_bytes_out_total",
        "Bytes written to clients (accepted by send).",
        s.bytes_out,
    );
    counter(
        &mut out,
        "batepapo_socket_sends_total",
        "send system calls on client sockets, including those that found the socket full.",
        s.sends,
    );
    counter(
        &mut out,
        "batepapo_socket_receives_total",
        "read system calls on client sockets.",
        s.receives,
    );
    let b = &s.backlog;
    family(
        &mut out,
        "batepapo_cutoffs_total",
        "counter",
        "Clients cut off for their backlog, by reason.",
        &[
            ("{reason=\"stalled\"}", b.cut_stalled as f64),
            ("{reason=\"backlog_cap\"}", b.cut_backlog_cap as f64),
            ("{reason=\"total_budget\"}", b.cut_total_budget as f64),
        ],
    );
    gauge(
        &mut out,
        "batepapo_backlog_bytes",
        "Bytes waiting to be written to clients.",
        b.bytes as u64,
    );
    gauge(
        &mut out,
        "batepapo_backlog_peak_bytes",
        "The most bytes that ever waited at once.",
        b.peak_bytes as u64,
    );
    counter(
        &mut out,
        "batepapo_flood_waits_total",
        "Times a session read its client's input later because of flood control.",
        b.flood_waits,
    );
    gauge(
        &mut out,
        "batepapo_threads",
        "The server's threads alive now: one per connection plus a few shared ones.",
        s.threads,
    );
    counter(
        &mut out,
        "batepapo_threads_started_total",
        "Threads the server has started.",
        s.threads_started,
    );
    if let Some(p) = process {
        let mut f = |name: &str, kind: &str, help: &str, v: f64| {
            family(&mut out, name, kind, help, &[("", v)])
        };
        f(
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
            p.cpu_seconds,
        );
        f(
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            p.resident_bytes as f64,
        );
        f(
            "process_threads",
            "gauge",
            "Threads of the process.",
            p.threads as f64,
        );
        f(
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            p.open_fds as f64,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_counts_while_its_guard_lives() {
        let m = Metrics::default();
        {
            let _a = m.thread();
            let _b = m.thread();
            assert_eq!(m.snapshot(BacklogStats::default()).threads, 2);
        }
        let s = m.snapshot(BacklogStats::default());
        assert_eq!((s.threads, s.threads_started), (0, 2));
    }

    #[test]
    fn refused_connections_are_accepted_but_never_open() {
        let m = Metrics::default();
        m.connection_admitted();
        m.connection_refused(Refusal::ServerFull);
        m.connection_refused(Refusal::PerAddress);
        let s = m.snapshot(BacklogStats::default());
        assert_eq!(
            (
                s.connections_accepted,
                s.connections_refused,
                s.refused_per_address,
                s.connections_open
            ),
            (3, 2, 1, 1)
        );
        let text = render(&s, None);
        assert!(text.contains("\nbatepapo_connections_refused_total{reason=\"server_full\"} 1\n"));
        assert!(text.contains("\nbatepapo_connections_refused_total{reason=\"per_address\"} 1\n"));
        m.connection_closed();
        assert_eq!(m.snapshot(BacklogStats::default()).connections_open, 0);
    }

    #[test]
    fn a_send_counts_one_call_and_its_bytes() {
        let m = Metrics::default();
        m.sent(10);
        m.sent(0);
        let s = m.snapshot(BacklogStats::default());
        assert_eq!((s.sends, s.bytes_out), (2, 10));
    }

    #[test]
    fn render_gives_help_type_and_value_for_every_family() {
        let m = Metrics::default();
        m.sent(7);
        let backlog = BacklogStats {
            cut_stalled: 3,
            ..BacklogStats::default()
        };
        let text = render(&m.snapshot(backlog), None);
        assert!(text.contains("# TYPE batepapo_socket_sends_total counter\n"));
        assert!(text.contains("\nbatepapo_socket_sends_total 1\n"));
        assert!(text.contains("\nbatepapo_bytes_out_total 7\n"));
        assert!(text.contains("\nbatepapo_cutoffs_total{reason=\"stalled\"} 3\n"));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            assert!(
                text.contains(&format!("# TYPE {name} ")),
                "{name} has no TYPE line"
            );
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
        assert!(!text.contains("process_"), "no process figures were given");
    }

    #[test]
    fn process_figures_are_read_on_linux() {
        if !std::path::Path::new("/proc/self/status").exists() {
            return;
        }
        let p = Process::read().unwrap();
        assert!(p.threads >= 1 && p.resident_bytes > 0 && p.open_fds > 0);
        let text = render(&Snapshot::default(), Some(&p));
        assert!(text.contains("\nprocess_cpu_seconds_total "));
    }
}
