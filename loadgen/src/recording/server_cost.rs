//! What the server spent on the load: CPU time, socket sends and bytes written per delivery, and
//! threads and memory per client. Unlike latency, these are counted (by the kernel, or by the
//! server at each system call), so they hardly move with a noisy machine and a CI gate can hold
//! them tightly.
//!
//! Where the figures come from, best first:
//! - the embedded server: its own counters ([`chat_server::RunningServer::metrics`]) and the CPU
//!   time of this process's threads that are not loadgen's;
//! - a server process on this machine (`--server-pid`, or found by its listening port):
//!   `/proc/PID/stat` for CPU time, `/proc/PID/status` for threads and resident memory. The
//!   kernel keeps no per-process count of socket sends (`/proc/PID/io` counts `write`, not
//!   `send`), so those need:
//! - the server's Prometheus endpoint (`--server-metrics HOST:PORT`, the reference server's
//!   `--metrics`): `batepapo_socket_sends_total`, `batepapo_bytes_out_total`, and the standard
//!   `process_*` figures when no process is visible.
//!
//! Three samples: before the bots connect (what the server costs idle), and at the start and end
//! of the measurement (what the load costs).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use procfs::net::TcpState;
use procfs::process::{FDTarget, Process};

/// Where to look, decided once before the run.
#[derive(Debug, Clone, Default)]
pub struct Probe {
    /// A server process on this machine.
    pub pid: Option<u32>,
    /// How the process was found, for the report.
    pub pid_from: Option<String>,
    /// The server's Prometheus endpoint, `HOST:PORT`.
    pub metrics: Option<String>,
}

/// The server's figures at one instant; `None` where no source gives them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    /// CPU seconds used so far.
    pub cpu_s: Option<f64>,
    /// `send` calls so far.
    pub sends: Option<u64>,
    /// Bytes written so far.
    pub bytes_out: Option<u64>,
    /// Threads now.
    pub threads: Option<u64>,
    /// Resident memory now, bytes.
    pub rss: Option<u64>,
}

/// Per-delivery and per-client costs of the server, for the report and the gates.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ServerCost {
    /// Where each figure came from, in words.
    pub sources: Vec<String>,
    /// Deliveries the per-delivery figures are divided by (received in the measured window).
    pub deliveries: u64,
    /// Server CPU time per delivery, µs.
    pub cpu_us_per_delivery: Option<f64>,
    /// Server `send` calls per delivery.
    pub sends_per_delivery: Option<f64>,
    /// Bytes the server wrote per delivery.
    pub bytes_per_delivery: Option<f64>,
    /// Server threads added per connected client.
    pub threads_per_client: Option<f64>,
    /// Server resident memory added per connected client, KiB.
    pub rss_kib_per_client: Option<f64>,
    /// What the server spent over the cost window (CPU seconds, sends, bytes): what the
    /// per-delivery figures divide, and what `loadgen merge` divides by every shard's
    /// deliveries.
    pub window: Option<[Option<f64>; 3]>,
}

/// Why a figure could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The metrics endpoint did not answer.
    #[error("cannot scrape http://{0}/metrics")]
    Scrape(String, #[source] std::io::Error),
    /// The endpoint answered with something else than Prometheus text.
    #[error("http://{0}/metrics answered {1:?}, not 200 with Prometheus text")]
    Status(String, String),
    /// No such process.
    #[error("no process {0} to read figures from")]
    NoProcess(u32),
}

impl Probe {
    /// Checks the sources once before the run, so a wrong `--server-metrics` or `--server-pid`
    /// is a usage error instead of empty figures at the end.
    pub fn check(&self) -> Result<(), ProbeError> {
        if let Some(pid) = self.pid {
            if proc_cpu(pid).is_none() {
                return Err(ProbeError::NoProcess(pid));
            }
        }
        if let Some(at) = &self.metrics {
            scrape(at)?;
        }
        Ok(())
    }

    /// The figures now. `embedded` gives the embedded server's counters and the CPU of this
    /// process's non-loadgen threads.
    pub fn sample(&self, embedded: Option<(&chat_server::Snapshot, f64)>) -> Sample {
        let mut s = Sample::default();
        if let Some((snap, cpu)) = embedded {
            s.cpu_s = Some(cpu);
            s.sends = Some(snap.sends);
            s.bytes_out = Some(snap.bytes_out);
            s.threads = Some(snap.threads);
        }
        if let Some(pid) = self.pid {
            s.cpu_s = proc_cpu(pid);
            let (threads, rss) = proc_status(pid);
            s.threads = threads;
            s.rss = rss;
        }
        if let Some(m) = self.metrics.as_deref().and_then(|at| scrape(at).ok()) {
            let get = |name: &str| m.get(name).copied();
            s.sends = get("batepapo_socket_sends_total").map(|v| v as u64);
            s.bytes_out = get("batepapo_bytes_out_total").map(|v| v as u64);
            if self.pid.is_none() && embedded.is_none() {
                s.cpu_s = get("process_cpu_seconds_total");
                s.threads = get("process_threads").map(|v| v as u64);
                s.rss = get("process_resident_memory_bytes").map(|v| v as u64);
            }
        }
        s
    }

    /// Where the figures come from, in words.
    pub fn sources(&self, embedded: bool) -> Vec<String> {
        let mut out = Vec::new();
        if embedded {
            out.push("embedded server: its counters and its threads' CPU time".to_string());
        }
        if let (Some(pid), Some(from)) = (self.pid, &self.pid_from) {
            out.push(format!(
                "process {pid} ({from}): CPU, threads, memory from /proc"
            ));
        }
        if let Some(m) = &self.metrics {
            out.push(format!("http://{m}/metrics: socket sends, bytes written"));
        }
        out
    }
}

/// The idle figures once the server's thread count has stopped moving: a server just started is
/// still starting threads, and one that just answered loadgen's opening check is still ending
/// that connection's. Samples every 20 ms until three agree, for at most a second.
pub fn settled(mut sample: impl FnMut() -> Sample) -> Sample {
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    let mut last = sample();
    let mut same = 0;
    while same < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        let next = sample();
        same = if next.threads == last.threads {
            same + 1
        } else {
            0
        };
        last = next;
    }
    last
}

impl ServerCost {
    /// The per-delivery figures of a window (CPU seconds, sends, bytes) over `deliveries`.
    fn divide(window: [Option<f64>; 3], deliveries: u64) -> [Option<f64>; 3] {
        let [cpu, sends, bytes] = window;
        let per = |v: Option<f64>, scale: f64| {
            v.filter(|_| deliveries > 0)
                .map(|v| v * scale / deliveries as f64)
        };
        [per(cpu, 1e6), per(sends, 1.0), per(bytes, 1.0)]
    }

    /// A shard's figures: only the raw window, for the merge to divide (this shard's deliveries
    /// are a part of what the server served; its clients a part of who connected).
    pub fn for_merge(self) -> ServerCost {
        ServerCost {
            window: self.window,
            sources: self.sources,
            deliveries: self.deliveries,
            ..ServerCost::default()
        }
    }

    /// The merged figures of shards that drove one server: the first shard's window divided by
    /// every shard's deliveries in the same window.
    pub fn merged(shards: &[ServerCost]) -> ServerCost {
        let deliveries: u64 = shards.iter().map(|c| c.deliveries).sum();
        let Some(first) = shards.iter().find(|c| c.window.is_some()) else {
            return ServerCost::default();
        };
        let [cpu, sends, bytes] = Self::divide(first.window.unwrap_or_default(), deliveries);
        ServerCost {
            sources: first.sources.clone(),
            deliveries,
            cpu_us_per_delivery: cpu,
            sends_per_delivery: sends,
            bytes_per_delivery: bytes,
            ..ServerCost::default()
        }
    }
}

/// Costs over the measured window: `idle` before the bots connected, `start` and `end` of the
/// measurement, `deliveries` received meanwhile by `clients` bots.
pub fn cost(
    idle: &Sample,
    start: &Sample,
    end: &Sample,
    deliveries: u64,
    clients: usize,
) -> ServerCost {
    let delta = |a: Option<f64>, b: Option<f64>| Some((b? - a?).max(0.0));
    let f = |v: Option<u64>| v.map(|v| v as f64);
    let window = [
        delta(start.cpu_s, end.cpu_s),
        delta(f(start.sends), f(end.sends)),
        delta(f(start.bytes_out), f(end.bytes_out)),
    ];
    let [cpu, sends, bytes] = ServerCost::divide(window, deliveries);
    let per_client = |a: Option<u64>, b: Option<u64>, scale: f64| match (a, b) {
        (Some(a), Some(b)) if clients > 0 => {
            Some((b as f64 - a as f64).max(0.0) * scale / clients as f64)
        }
        _ => None,
    };
    ServerCost {
        sources: Vec::new(),
        window: Some(window),
        deliveries,
        cpu_us_per_delivery: cpu,
        sends_per_delivery: sends,
        bytes_per_delivery: bytes,
        threads_per_client: per_client(idle.threads, end.threads, 1.0),
        rss_kib_per_client: per_client(idle.rss, end.rss, 1.0 / 1024.0),
    }
}

/// CPU seconds of a whole process, exited threads included: its CPU clock (nanoseconds), or the
/// 10 ms ticks of `/proc/PID/stat` where the clock is not readable.
fn proc_cpu(pid: u32) -> Option<f64> {
    if let Some(secs) = crate::recording::cpu::cpu_clock(pid, false) {
        return Some(secs);
    }
    let stat = Process::new(pid as i32).ok()?.stat().ok()?;
    Some((stat.utime + stat.stime) as f64 / procfs::ticks_per_second() as f64)
}

/// Threads and resident bytes of a process.
fn proc_status(pid: u32) -> (Option<u64>, Option<u64>) {
    let Some(status) = Process::new(pid as i32).and_then(|p| p.status()).ok() else {
        return (None, None);
    };
    (Some(status.threads), status.vmrss.map(|kib| kib * 1024))
}

/// The process on this machine listening on `addr`'s port, found through `/proc/net/tcp{,6}`
/// and the processes' open sockets; `None` when it is not visible (another user's process, a
/// container, another machine).
pub fn find_listener(addr: SocketAddr) -> Option<u32> {
    let tables = [procfs::net::tcp(), procfs::net::tcp6()];
    let inodes: Vec<u64> = tables
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.state == TcpState::Listen && e.local_address.port() == addr.port())
        .map(|e| e.inode)
        .collect();
    if inodes.is_empty() {
        return None;
    }
    let me = std::process::id() as i32;
    let mut found = None;
    for p in procfs::process::all_processes().ok()?.flatten() {
        if p.pid == me {
            continue;
        }
        // Another user's process keeps its descriptors to itself: it is not ours to read.
        let Ok(fds) = p.fd() else {
            continue;
        };
        let holds = fds
            .flatten()
            .any(|fd| matches!(fd.target, FDTarget::Socket(i) if inodes.contains(&i)));
        if holds {
            if found.is_some() {
                // Several processes share the socket (a forking server): no single one to read.
                return None;
            }
            found = Some(p.pid as u32);
        }
    }
    found
}

/// Reads `http://addr/metrics` into sample name (labels included) -> value.
pub fn scrape(addr: &str) -> Result<BTreeMap<String, f64>, ProbeError> {
    let io = |e| ProbeError::Scrape(addr.to_string(), e);
    let target = addr
        .to_socket_addrs()
        .map_err(io)?
        .next()
        .ok_or_else(|| io(std::io::ErrorKind::NotFound.into()))?;
    let mut s = TcpStream::connect_timeout(&target, Duration::from_secs(2)).map_err(io)?;
    s.set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(io)?;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(io)?;
    let mut text = String::new();
    s.take(16 << 20).read_to_string(&mut text).map_err(io)?;
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.lines().next().unwrap_or("").to_string();
    if !status.contains(" 200 ") {
        return Err(ProbeError::Status(addr.to_string(), status));
    }
    Ok(parse_exposition(body))
}

/// Parses Prometheus text: `name{labels} value [timestamp]` lines; comments and unreadable lines
/// are skipped.
pub fn parse_exposition(body: &str) -> BTreeMap<String, f64> {
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            // Labels may hold spaces inside quotes; the name ends at '{' or the first space.
            let (name, rest) = match l.find('{') {
                Some(i) if i < l.find(' ').unwrap_or(usize::MAX) => {
                    let close = l.rfind('}')?;
                    (&l[..=close], &l[close + 1..])
                }
                _ => l.split_once(' ')?,
            };
            let value = rest.split_whitespace().next()?.parse::<f64>().ok()?;
            Some((name.trim().to_string(), value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_lines_are_read_with_and_without_labels() {
        let m = parse_exposition(
            "# HELP x y\n# TYPE x counter\nx 3\ncut{reason=\"a b\"} 2 1700000000\nbad line\n",
        );
        assert_eq!(m.get("x"), Some(&3.0));
        assert_eq!(m.get("cut{reason=\"a b\"}"), Some(&2.0));
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn costs_are_differences_over_the_window_divided_by_deliveries_and_clients() {
        let idle = Sample {
            threads: Some(5),
            rss: Some(1 << 20),
            ..Sample::default()
        };
        let start = Sample {
            cpu_s: Some(1.0),
            sends: Some(100),
            bytes_out: Some(1000),
            threads: Some(105),
            rss: Some(3 << 20),
        };
        let end = Sample {
            cpu_s: Some(1.5),
            sends: Some(600),
            bytes_out: Some(101_000),
            threads: Some(105),
            rss: Some(3 << 20),
        };
        let c = cost(&idle, &start, &end, 1000, 100);
        assert_eq!(c.cpu_us_per_delivery, Some(500.0));
        assert_eq!(c.sends_per_delivery, Some(0.5));
        assert_eq!(c.bytes_per_delivery, Some(100.0));
        assert_eq!(c.threads_per_client, Some(1.0));
        assert_eq!(c.rss_kib_per_client, Some(20.48));
    }

    #[test]
    fn a_figure_without_a_source_stays_unknown() {
        let c = cost(
            &Sample::default(),
            &Sample::default(),
            &Sample::default(),
            10,
            2,
        );
        assert!(c.cpu_us_per_delivery.is_none() && c.sends_per_delivery.is_none());
    }

    #[test]
    fn this_process_is_never_taken_for_the_server() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        assert_eq!(find_listener(l.local_addr().unwrap()), None);
    }
}
