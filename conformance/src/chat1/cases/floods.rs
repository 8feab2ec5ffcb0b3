//! Slow readers and floods (RF4, protocol "Slow readers and floods"): a reader that keeps
//! reading gets everything however far behind a burst leaves it, and a sender that floods is
//! slowed, never cut off, and never loses a line; and while many clients flood, newcomers still
//! register and chat.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::case;
use crate::case::{Case, Ctx, Failure, Level::*};
use crate::chat1::wire::Wire;

pub(super) fn cases() -> Vec<Case> {
    // Megabytes to everyone would flood the clients of cases running beside them.
    vec![
        case(
            "RF4-07",
            "RF4",
            Must,
            "a reader slower than 8 senders bursting 14 MB at once gets every line, in order, and stays connected",
            burst_to_a_slow_reader,
        ).alone(),
        case(
            "RF4-08",
            "RF4",
            Must,
            "a sender flooding 20 MB as fast as it can is never cut off, and every line arrives intact and in order",
            flood,
        ).alone(),
        case(
            "RF4-09",
            "RF4",
            Must,
            "while 6 clients flood 4 MB each and read everything, newcomers register and exchange a line in time, and no reader loses a line",
            newcomers_during_a_flood,
        ).alone(),
    ]
}

/// How long the bulk phases of these cases may take in all, on a slow server.
fn bulk_limit(ctx: &Ctx) -> Duration {
    ctx.target.scaled(Duration::from_secs(60)) + ctx.target.stall_timeout * 2
}

/// Writes `lines` numbered lines of `width` bytes on the raw socket, in big writes, on a thread.
/// The transcript gets one entry for the lot rather than megabytes.
fn send_bulk(ctx: &Ctx, w: Wire, lines: usize, width: usize) -> JoinHandle<Result<Wire, Failure>> {
    let limit = bulk_limit(ctx);
    ctx.transcript.record(
        &w.label,
        ">>",
        &format!("{lines} lines \"N www...\" of {width} bytes, as fast as the socket takes them"),
    );
    thread::spawn(move || {
        let _ = w.stream().set_write_timeout(Some(limit));
        let text = "w".repeat(width);
        let mut batch = Vec::new();
        for n in 0..lines {
            batch.extend_from_slice(format!("{n} {text}\n").as_bytes());
            if batch.len() >= 256 * 1024 || n + 1 == lines {
                w.stream().write_all(&batch).map_err(|e| {
                    Failure::at(
                        &w.label,
                        format!("to send line {n}"),
                        format!("write failed: {e}"),
                    )
                })?;
                batch.clear();
            }
        }
        Ok(w)
    })
}

fn joined(handle: JoinHandle<Result<Wire, Failure>>) -> Result<Wire, Failure> {
    handle
        .join()
        .map_err(|_| Failure::new("the sending thread to finish", "it panicked"))?
}

fn burst_to_a_slow_reader(ctx: &mut Ctx) -> Result<(), Failure> {
    const SENDERS: usize = 8;
    const LINES: usize = 600;
    const WIDTH: usize = 3000;
    let mut reader = Wire::join(ctx, "reader")?;
    let mut senders = Vec::new();
    for i in 0..SENDERS {
        senders.push(Wire::join(ctx, &format!("burst{i}"))?);
    }
    for s in &senders {
        reader.expect(&format!("JOIN {} *", s.name))?;
    }
    let names: Vec<String> = senders.iter().map(|s| s.name.clone()).collect();
    // Each sender also receives the others' 12 MB; it reads them, so only the reader is behind.
    let limit = bulk_limit(ctx);
    let mut drains = Vec::new();
    for s in &senders {
        drains.push(s.drain_in_background(limit)?);
    }
    // At most 16 MB/s: the senders write far faster.
    reader.slow_down(16 * 1024, Duration::from_millis(1));
    let sending: Vec<_> = senders
        .into_iter()
        .map(|s| send_bulk(ctx, s, LINES, WIDTH))
        .collect();
    let mut next = [0usize; SENDERS];
    for _ in 0..SENDERS * LINES {
        let line = reader.next_relevant()?.ok_or_else(|| {
            Failure::at(
                "reader",
                "more MSG lines (it kept reading)",
                "end of stream: cut off",
            )
        })?;
        let parsed = line.strip_prefix("MSG ").and_then(|r| r.split_once(' '));
        let shown: String = line.chars().take(60).collect();
        let Some((from, text)) = parsed else {
            return Err(Failure::at(
                "reader",
                "only MSG lines",
                format!("{shown:?}..."),
            ));
        };
        let Some(i) = names.iter().position(|n| n == from) else {
            return Err(Failure::at(
                "reader",
                "a MSG from a sender",
                format!("{shown:?}..."),
            ));
        };
        let expected = format!("{} {}", next[i], "w".repeat(WIDTH));
        if text != expected {
            return Err(Failure::at(
                "reader",
                format!(
                    "MSG {from} {} www... (per-sender order, nothing lost)",
                    next[i]
                ),
                format!("{shown:?}..."),
            ));
        }
        next[i] += 1;
    }
    let mut senders = Vec::new();
    for s in sending {
        senders.push(joined(s)?);
    }
    // Still connected, and nobody left: the fence is the next line.
    reader.pace_off();
    reader.expect_quiet()?;
    // Shut down, not just dropped: the drains hold their own handles on the sockets.
    for s in senders {
        s.close();
    }
    for d in drains {
        let _ = d.join();
    }
    Ok(())
}

fn flood(ctx: &mut Ctx) -> Result<(), Failure> {
    const LINES: usize = 20_000;
    const WIDTH: usize = 1000;
    let mut reader = Wire::join(ctx, "reader")?;
    let flooder = Wire::join(ctx, "flooder")?;
    reader.expect(&format!("JOIN {} *", flooder.name))?;
    let name = flooder.name.clone();
    let flooding = send_bulk(ctx, flooder, LINES, WIDTH);
    let text = "w".repeat(WIDTH);
    for n in 0..LINES {
        let line = reader.next_relevant()?.ok_or_else(|| {
            Failure::at("reader", format!("MSG {name} {n} www..."), "end of stream")
        })?;
        if line != format!("MSG {name} {n} {text}") {
            let shown: String = line.chars().take(60).collect();
            return Err(Failure::at(
                "reader",
                format!("MSG {name} {n} www... (intact, in order, nothing lost)"),
                format!("{shown:?}..."),
            ));
        }
    }
    let mut flooder = joined(flooding)?;
    // Slowed at most, never cut off: it still gets answers.
    flooder.expect_quiet()?;
    flooder.fence(&mut reader)
}

/// Reads everything `w` receives on a thread of its own, checking that every line from each of
/// `senders` arrives, intact and in order (`send_bulk`'s numbered lines), until all `lines` of
/// each have; lines from anyone else are skipped. Adds each line it checks to `progress` and
/// rings `bell` every so often. What it reads is not recorded, only what went wrong.
fn check_in_background(
    w: &Wire,
    senders: Vec<String>,
    lines: usize,
    width: usize,
    limit: Duration,
    progress: (Arc<AtomicUsize>, mpsc::Sender<()>),
) -> Result<JoinHandle<Result<(), Failure>>, Failure> {
    let stream = w
        .stream()
        .try_clone()
        .map_err(|e| Failure::at(&w.label, "a second handle on the socket", e.to_string()))?;
    let label = w.label.clone();
    Ok(thread::spawn(move || {
        let deadline = Instant::now() + limit;
        let text = "w".repeat(width);
        let mut next = vec![0usize; senders.len()];
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        let (received, bell) = progress;
        while next.iter().any(|&n| n < lines) {
            let left = deadline.saturating_duration_since(Instant::now());
            let _ = reader
                .get_ref()
                .set_read_timeout(Some(left.max(Duration::from_millis(1))));
            line.clear();
            let progress_so_far = || format!("{next:?} of {lines} lines from {senders:?}");
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => {
                    return Err(Failure::at(
                        &label,
                        format!("every flooded line (had {})", progress_so_far()),
                        "end of stream",
                    ))
                }
                Ok(_) => {}
                Err(e) => {
                    return Err(Failure::at(
                        &label,
                        format!("every flooded line (had {})", progress_so_far()),
                        format!("read failed or timed out: {e}"),
                    ))
                }
            }
            let got = String::from_utf8_lossy(&line);
            let Some((from, rest)) = got
                .trim_end_matches('\n')
                .strip_prefix("MSG ")
                .and_then(|r| r.split_once(' '))
            else {
                continue;
            };
            let Some(i) = senders.iter().position(|s| s == from) else {
                continue;
            };
            if rest != format!("{} {text}", next[i]) {
                let shown: String = got.chars().take(60).collect();
                return Err(Failure::at(
                    &label,
                    format!(
                        "MSG {from} {} www... (intact, in order, nothing lost)",
                        next[i]
                    ),
                    format!("{shown:?}..."),
                ));
            }
            next[i] += 1;
            if received.fetch_add(1, Ordering::SeqCst) % 64 == 0 {
                let _ = bell.send(());
            }
        }
        Ok(())
    }))
}

/// Registers a fresh pair while the flood goes on; one sends a line, the other must get it
/// within the read timeout (reading past the flood, which is not recorded).
fn newcomer_pair(ctx: &mut Ctx, k: usize) -> Result<(), Failure> {
    let a = Wire::join(ctx, &format!("newcomer-a{k}"))?;
    let b = Wire::join(ctx, &format!("newcomer-b{k}"))?;
    let mut a = a;
    let token = format!("hello-during-the-flood-{k}");
    a.send(&token)?;
    let want = format!("MSG {} {token}", a.name);
    let timeout = ctx.target.read_timeout();
    let deadline = Instant::now() + timeout;
    let stream: TcpStream = b
        .stream()
        .try_clone()
        .map_err(|e| Failure::at(&b.label, "a second handle on the socket", e.to_string()))?;
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    let mut skipped = 0u64;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let _ = reader.get_ref().set_read_timeout(Some(left));
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(n) if n > 0 => {
                if String::from_utf8_lossy(&line).trim_end_matches('\n') == want {
                    ctx.transcript.record(
                        &b.label,
                        "<<",
                        &format!("{want} (after {skipped} other lines)"),
                    );
                    a.close();
                    b.close();
                    return Ok(());
                }
                skipped += 1;
            }
            _ => break,
        }
    }
    Err(Failure::at(
        &b.label,
        format!(
            "{want:?} within {:.1} s, during the flood",
            timeout.as_secs_f64()
        ),
        format!("not there after {skipped} other lines"),
    ))
}

/// A flood slows its sender and never stops anyone else: while several clients flood as fast
/// as they can and read everything, newcomers register and exchange a line in time, and every
/// reader gets every flooded line, in order.
fn newcomers_during_a_flood(ctx: &mut Ctx) -> Result<(), Failure> {
    const FLOODERS: usize = 6;
    const LINES: usize = 2800;
    const WIDTH: usize = 1500;
    const PAIRS: usize = 3;
    let mut flooders = Vec::new();
    for i in 0..FLOODERS {
        flooders.push(Wire::join(ctx, &format!("flood{i}"))?);
    }
    let names: Vec<String> = flooders.iter().map(|f| f.name.clone()).collect();
    let limit = bulk_limit(ctx);
    let received = Arc::new(AtomicUsize::new(0));
    let (bell, rung) = mpsc::channel();
    let mut checkers = Vec::new();
    for f in &flooders {
        let others = names.iter().filter(|n| **n != f.name).cloned().collect();
        let progress = (received.clone(), bell.clone());
        checkers.push(check_in_background(
            f, others, LINES, WIDTH, limit, progress,
        )?);
    }
    drop(bell);
    // Kept to end the flood early if the server stops serving, so the case fails promptly.
    let sockets: Vec<TcpStream> = flooders
        .iter()
        .filter_map(|f| f.stream().try_clone().ok())
        .collect();
    let sending: Vec<_> = flooders
        .into_iter()
        .map(|f| send_bulk(ctx, f, LINES, WIDTH))
        .collect();
    // Newcomers come at even steps through the flood; between steps the flood must keep
    // moving, or the server has stopped relaying.
    let total = FLOODERS * (FLOODERS - 1) * LINES;
    let quiet = ctx.target.read_timeout();
    let moving = |upto: usize| -> Result<(), Failure> {
        while received.load(Ordering::SeqCst) < upto {
            match rung.recv_timeout(quiet) {
                Ok(()) => {}
                // Every reader has stopped (done or failed): their results tell.
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(Failure::new(
                        "the flood to keep reaching the readers",
                        format!(
                            "they had {} of its {total} lines and got no more within {:.1} s",
                            received.load(Ordering::SeqCst),
                            quiet.as_secs_f64()
                        ),
                    ))
                }
            }
        }
        Ok(())
    };
    let mut result = (0..PAIRS).try_for_each(|k| {
        moving(total * (k + 1) / (PAIRS + 1))?;
        newcomer_pair(ctx, k)
    });
    if result.is_err() {
        for s in &sockets {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
    for s in sending {
        let sent = joined(s);
        if result.is_ok() {
            result = sent.map(|_| ());
        }
    }
    for c in checkers {
        let checked = c
            .join()
            .map_err(|_| Failure::new("the reading thread to finish", "it panicked"))
            .and_then(|r| r);
        if result.is_ok() {
            result = checked;
        }
    }
    result
}
