//! A timer-free latency probe for light loads, to check loadgen's own timing against.
//!
//! One thread, blocking sends, `poll(2)` on every client socket: it sends each message when its
//! time has come (it never sleeps on a timer wheel; between sends it waits in `poll` for
//! deliveries, with the time left as the timeout), stamps it with the moment of the real send,
//! and times every delivery from that stamp. So its figures are the server's plus the kernel's,
//! with no scheduling lag in them: the floor a load generator's headline should come close to.
//! It shares no code with loadgen.
//!
//! ```text
//! cargo run --release -p loadgen --example timerless_probe -- ADDR CLIENTS RATE [WARMUP_S] [MEASURE_S]
//! ```

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: timerless_probe ADDR CLIENTS RATE [WARMUP_S] [MEASURE_S]");
        std::process::exit(2);
    }
    let addr = args[0].clone();
    let clients: usize = args[1].parse().expect("CLIENTS");
    let rate: f64 = args[2].parse().expect("RATE");
    let warmup = Duration::from_secs_f64(args.get(3).map_or(2.0, |s| s.parse().expect("WARMUP_S")));
    let measure =
        Duration::from_secs_f64(args.get(4).map_or(10.0, |s| s.parse().expect("MEASURE_S")));
    let base = Instant::now();
    let mut socks: Vec<TcpStream> = (0..clients).map(|i| register(&addr, i)).collect();
    for s in &socks {
        s.set_nonblocking(true).unwrap();
    }
    let mut bufs: Vec<Vec<u8>> = vec![Vec::new(); clients];
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    // One send every 1/(clients x rate) s, from each client in turn.
    let gap = Duration::from_secs_f64(1.0 / (clients as f64 * rate));
    let start = Instant::now() + Duration::from_millis(200);
    let (from, to) = (start + warmup, start + warmup + measure);
    let mut next = start;
    let mut n: u64 = 0;
    let mut fds: Vec<libc::pollfd> = socks
        .iter()
        .map(|s| libc::pollfd {
            fd: s.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let drain_until = to + Duration::from_millis(500);
    const PADDING: &str = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
    loop {
        let now = Instant::now();
        if now >= next && next < to {
            let sender = (n as usize) % clients;
            socks[sender].set_nonblocking(false).unwrap();
            // Stamped right before the write: formatting and the mode switch are not latency.
            let sent_ns = Instant::now().duration_since(base).as_nanos() as u64;
            let line = format!("ts={sent_ns}; {PADDING}\n");
            socks[sender].write_all(line.as_bytes()).unwrap();
            socks[sender].set_nonblocking(true).unwrap();
            n += 1;
            next += gap;
            continue;
        }
        if now >= drain_until {
            break;
        }
        let wait = if next < to { next } else { drain_until }.saturating_duration_since(now);
        // SAFETY: poll reads and writes the pollfd array we own, of the length we pass.
        let ready = unsafe {
            libc::poll(
                fds.as_mut_ptr(),
                fds.len() as libc::nfds_t,
                wait.as_millis().min(1000) as i32,
            )
        };
        if ready <= 0 {
            continue;
        }
        let received = Instant::now();
        for (i, pfd) in fds.iter_mut().enumerate() {
            if pfd.revents & libc::POLLIN == 0 {
                continue;
            }
            pfd.revents = 0;
            let mut chunk = [0u8; 65536];
            while let Ok(k @ 1..) = socks[i].read(&mut chunk) {
                bufs[i].extend_from_slice(&chunk[..k]);
            }
            let now_ns = received.duration_since(base).as_nanos() as u64;
            record(&mut bufs[i], now_ns, base, from, to, &mut hist);
        }
    }
    println!(
        "timerless probe: {clients} clients x {rate}/s, {} deliveries measured: p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms",
        hist.len(),
        hist.value_at_quantile(0.5) as f64 / 1e6,
        hist.value_at_quantile(0.99) as f64 / 1e6,
        hist.value_at_quantile(0.999) as f64 / 1e6,
        hist.max() as f64 / 1e6
    );
}

/// Connects, reads the greeting, registers, and reads up to the WELCOME line.
fn register(addr: &str, i: usize) -> TcpStream {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(format!("tlprobe{i}_{}\n", std::process::id() % 10_000).as_bytes())
        .unwrap();
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !String::from_utf8_lossy(&got).contains("WELCOME") || !got.ends_with(b"\n") {
        s.read_exact(&mut byte).expect("registration");
        got.push(byte[0]);
    }
    s
}

/// Takes every complete line out of `buf` and records the delay of each token in it.
fn record(
    buf: &mut Vec<u8>,
    now_ns: u64,
    base: Instant,
    from: Instant,
    to: Instant,
    hist: &mut Histogram<u64>,
) {
    let Some(end) = buf.iter().rposition(|&b| b == b'\n') else {
        return;
    };
    let lines: Vec<u8> = buf.drain(..=end).collect();
    let (from_ns, to_ns) = (
        from.duration_since(base).as_nanos() as u64,
        to.duration_since(base).as_nanos() as u64,
    );
    for line in lines.split(|&b| b == b'\n') {
        let text = String::from_utf8_lossy(line);
        let Some(at) = text.find("ts=") else { continue };
        let rest = &text[at + 3..];
        let Some(e) = rest.find(';') else { continue };
        let Ok(sent) = rest[..e].parse::<u64>() else {
            continue;
        };
        if (from_ns..to_ns).contains(&sent) {
            let _ = hist.record(now_ns.saturating_sub(sent).max(1));
        }
    }
}
