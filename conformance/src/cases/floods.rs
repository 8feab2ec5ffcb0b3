//! Slow readers and floods (RF4, protocol "Slow readers and floods"): a reader that keeps
//! reading gets everything however far behind a burst leaves it, and a sender that floods is
//! slowed, never cut off, and never loses a line.

use std::io::Write;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::case;
use crate::case::{Case, Ctx, Failure, Level::*};
use crate::wire::Wire;

pub(super) fn cases() -> Vec<Case> {
    // Megabytes to everyone would flood the clients of cases running beside them.
    let alone = |mut c: Case| {
        c.exclusive = true;
        c
    };
    vec![
        alone(case(
            "RF4-07",
            "RF4",
            Must,
            "a reader slower than 8 senders bursting 14 MB at once gets every line, in order, and stays connected",
            burst_to_a_slow_reader,
        )),
        alone(case(
            "RF4-08",
            "RF4",
            Must,
            "a sender flooding 20 MB as fast as it can is never cut off, and every line arrives intact and in order",
            flood,
        )),
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
