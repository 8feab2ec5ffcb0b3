//! Liveness under a flood, on the real binary: the contract says a flood slows its sender and
//! never stops anyone else.
//!
//! Many registered clients flood (8 lines of 1,500 B per write, as fast as the server takes
//! them) while reading everything they are sent, with a tiny flood watermark so that flood
//! control is engaged the whole time. Every second a fresh pair of clients must register and
//! exchange a line within a deadline. Then SIGTERM during the flood must end the server: BYE to
//! every flooder after every line it was owed (no gaps, per sender in order), every thread
//! joined ("shutdown complete"), exit code 0. Bounded: a fixed number of checks, every read and
//! write with a timeout, and the server killed if it does not exit.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

mod common;
use common::ServerProcess;

const FLOODERS: usize = 24;
const LINE_BYTES: usize = 1500;
const LINES_PER_WRITE: usize = 8;
/// A flooder stops by itself after this many lines, whatever happens.
const MAX_LINES: u64 = 200_000;
const CHECKS: usize = 8;
/// A newcomer pair must register and exchange its line within this.
const CHECK_DEADLINE: Duration = Duration::from_secs(5);
const IO_TIMEOUT: Duration = Duration::from_secs(10);

fn spawn_server() -> (ServerProcess, SocketAddr) {
    let mut server = ServerProcess::spawn(&[
        "--listen",
        "127.0.0.1:0",
        "--metrics",
        "127.0.0.1:0",
        "--flood-watermark",
        "16KiB",
    ]);
    let metrics = server.metrics_addr();
    (server, metrics)
}

/// Connects and registers `name`; returns the stream, a reader over it, and how long it took.
fn join(
    addr: SocketAddr,
    name: &str,
) -> Result<(TcpStream, BufReader<TcpStream>, Duration), String> {
    let started = Instant::now();
    let stream = TcpStream::connect(addr).map_err(|e| format!("{name}: connect: {e}"))?;
    stream.set_read_timeout(Some(CHECK_DEADLINE)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    let mut next = |what: &str| -> Result<String, String> {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => Err(format!("{name}: end of stream waiting for {what}")),
            Ok(_) => Ok(line.trim_end().to_string()),
            Err(e) => Err(format!(
                "{name}: no {what} after {:.1} s: {e}",
                started.elapsed().as_secs_f64()
            )),
        }
    };
    let hello = next("HELLO")?;
    if !hello.starts_with("HELLO chat/1") {
        return Err(format!("{name}: expected HELLO, got {hello:?}"));
    }
    (&stream)
        .write_all(format!("{name}\n").as_bytes())
        .map_err(|e| format!("{name}: send name: {e}"))?;
    let welcome = next("WELCOME")?;
    if !welcome.starts_with(&format!("WELCOME {name} ")) {
        return Err(format!("{name}: expected WELCOME, got {welcome:?}"));
    }
    next("USERS")?;
    Ok((stream, reader, started.elapsed()))
}

/// What a flooder's reading side saw, up to end of stream.
#[derive(Debug, Default)]
struct Seen {
    msgs: u64,
    bye: bool,
    gaps: Vec<String>,
    ended: String,
}

/// Reads everything, checking that each sender's numbered lines come one after the other with
/// none missing, until end of stream.
fn read_all(mut reader: BufReader<TcpStream>) -> Seen {
    let mut seen = Seen::default();
    let mut next: HashMap<String, u64> = HashMap::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => {
                seen.ended = "end of stream".into();
                return seen;
            }
            Ok(_) => {}
            Err(e) => {
                seen.ended = format!("read failed: {e}");
                return seen;
            }
        }
        let text = String::from_utf8_lossy(&line);
        if text.starts_with("BYE ") {
            seen.bye = true;
        }
        let Some(rest) = text.strip_prefix("MSG ") else {
            continue;
        };
        let mut words = rest.splitn(3, ' ');
        let (Some(from), Some(n)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        seen.msgs += 1;
        // A sender's first line here may be any: it may have flooded before this client joined.
        let want = next.entry(from.to_string()).or_insert(n);
        if n != *want && seen.gaps.len() < 5 {
            seen.gaps
                .push(format!("from {from}: expected line {want}, got {n}"));
        }
        *want = n + 1;
    }
}

fn flood(mut stream: TcpStream, stop: Arc<AtomicBool>) -> JoinHandle<u64> {
    thread::spawn(move || {
        let pad = "f".repeat(LINE_BYTES - 16);
        let mut batch = String::new();
        let mut n = 0u64;
        while n < MAX_LINES && !stop.load(Ordering::Relaxed) {
            batch.clear();
            for _ in 0..LINES_PER_WRITE {
                batch.push_str(&format!("{n:08} {pad}\n"));
                n += 1;
            }
            if stream.write_all(batch.as_bytes()).is_err() {
                break;
            }
        }
        n
    })
}

/// One liveness check: a fresh pair registers and one line goes from one to the other.
/// Returns the slower registration time.
fn check(addr: SocketAddr, k: usize) -> Result<Duration, String> {
    let started = Instant::now();
    let (a, _a_reader, a_took) = join(addr, &format!("new-a{k}"))?;
    let (b, mut b_reader, b_took) = join(addr, &format!("new-b{k}"))?;
    let token = format!("token-{k}-{}", std::process::id());
    (&a).write_all(format!("{token}\n").as_bytes())
        .map_err(|e| format!("new-a{k}: send: {e}"))?;
    let want = format!("MSG new-a{k} {token}");
    let mut line = Vec::new();
    loop {
        if started.elapsed() > CHECK_DEADLINE {
            return Err(format!(
                "new-b{k} did not get new-a{k}'s line within {CHECK_DEADLINE:?}"
            ));
        }
        line.clear();
        match b_reader.read_until(b'\n', &mut line) {
            Ok(0) => return Err(format!("new-b{k}: end of stream before the line")),
            Ok(_) if String::from_utf8_lossy(&line).trim_end() == want => break,
            Ok(_) => {}
            Err(e) => return Err(format!("new-b{k}: no line from new-a{k}: {e}")),
        }
    }
    let _ = a.shutdown(std::net::Shutdown::Both);
    let _ = b.shutdown(std::net::Shutdown::Both);
    Ok(a_took.max(b_took))
}

/// One figure of the server's `/metrics`.
fn figure(metrics: SocketAddr, name: &str) -> f64 {
    let scraped = common::scrape::scrape(metrics);
    scraped
        .get(name)
        .copied()
        .unwrap_or_else(|| panic!("no {name} in the scrape: {scraped:?}"))
}

#[test]
fn newcomers_register_and_chat_during_a_flood_and_sigterm_ends_it_cleanly() {
    let (mut server, metrics) = spawn_server();
    let stop = Arc::new(AtomicBool::new(false));
    let mut flooders = Vec::new();
    let mut sockets = Vec::new();
    for i in 0..FLOODERS {
        let (stream, reader, _) =
            join(server.addr, &format!("f{i}")).unwrap_or_else(|e| panic!("setup: {e}"));
        reader.get_ref().set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        sockets.push(stream.try_clone().unwrap());
        let reading = thread::spawn(move || read_all(reader));
        flooders.push((flood(stream, stop.clone()), reading));
    }

    let flood_started = Instant::now();
    let mut worst = Duration::ZERO;
    let mut failures = Vec::new();
    for k in 0..CHECKS {
        // The load's shape, not synchronisation: one check a second while the flood goes on.
        let due = flood_started + Duration::from_secs(k as u64 + 1);
        thread::sleep(due.saturating_duration_since(Instant::now()));
        match check(server.addr, k) {
            Ok(took) => worst = worst.max(took),
            Err(e) => failures.push(format!(
                "check {k} at {:.1} s: {e}",
                flood_started.elapsed().as_secs_f64()
            )),
        }
    }
    let flood_waits = if failures.is_empty() {
        figure(metrics, "batepapo_flood_waits_total")
    } else {
        -1.0
    };
    server.signal(libc::SIGTERM);
    let exit = server.wait_exit(IO_TIMEOUT);
    stop.store(true, Ordering::Relaxed);
    if exit.is_err() {
        server.kill();
    }
    // A writer may sit in a zero-window send to the closed server until its timeout: end it.
    for s in &sockets {
        let _ = s.shutdown(std::net::Shutdown::Write);
    }
    let mut sent = 0;
    let mut seen = Vec::new();
    for (writer, reader) in flooders {
        sent += writer.join().unwrap();
        seen.push(reader.join().unwrap());
    }
    eprintln!(
        "{CHECKS} liveness checks over {:.1} s of flood: {} failed, worst newcomer registration \
         {:.1} ms; {sent} lines sent, {} delivered; {flood_waits} flood waits",
        flood_started.elapsed().as_secs_f64(),
        failures.len(),
        worst.as_secs_f64() * 1e3,
        seen.iter().map(|s| s.msgs).sum::<u64>(),
    );
    assert!(
        failures.is_empty(),
        "newcomers were shut out by the flood:\n{}",
        failures.join("\n")
    );
    assert!(
        flood_waits > 0.0,
        "the flood never engaged flood control; the test proves nothing"
    );
    let (status, log) = exit.unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "exit status {status}; log:\n{log}");
    assert!(
        log.contains("shutdown complete"),
        "threads not all joined; log:\n{log}"
    );
    for (i, s) in seen.iter().enumerate() {
        assert!(s.msgs > 0, "f{i} received nothing: {s:?}");
        assert!(
            s.gaps.is_empty(),
            "f{i} lost or reordered lines: {:?}",
            s.gaps
        );
        assert!(
            s.bye,
            "f{i} got no BYE before the connection ended ({})",
            s.ended
        );
    }
}
