//! Load: users sending at once (RF4), and a user that stops reading while another floods.
//!
//! Eight users send at once: more than a small cap, which a server that caps users at four
//! must not pass. The stopped reader is filled for real: the grader watches, in the kernel's
//! tables, the bytes the server holds for it, until they stop growing (its sends to it would
//! now block), and only then checks, for several seconds, that the others still chat.
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::case::{Ctx, Failure};
use crate::i18n::{catalog, Text};
use crate::plain::peer::Peer;
use crate::plain::settings::Framing;
use crate::plain::{group, join, join_as, token};
use crate::t;

pub(super) fn concurrent(ctx: &mut Ctx) -> Result<(), Failure> {
    const EACH: usize = 5;
    let labels = [
        "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
    ];
    let mut p = group(ctx, &labels)?;
    let marks: Vec<usize> = p.iter().map(Peer::mark).collect();
    let tokens: Vec<Vec<String>> = (0..p.len())
        .map(|i| {
            (0..EACH)
                .map(|k| token(ctx, &format!("c{i}m{k}")))
                .collect()
        })
        .collect();
    let sent: Result<(), Failure> = thread::scope(|s| {
        let handles: Vec<_> = p
            .iter_mut()
            .zip(&tokens)
            .map(|(peer, toks)| {
                s.spawn(move || toks.iter().try_for_each(|t| peer.send(&format!("msg {t}"))))
            })
            .collect();
        handles.into_iter().try_for_each(|h| {
            h.join().unwrap_or_else(|_| {
                Err(Failure::new(
                    catalog::EVERY_SENDER,
                    t!(catalog::IT_PANICKED, ""),
                ))
            })
        })
    });
    sent?;
    for (i, peer) in p.iter().enumerate() {
        let others: Vec<&str> = tokens
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .flat_map(|(_, t)| t.iter().map(String::as_str))
            .collect();
        peer.wait_for(
            marks[i],
            &others,
            catalog::EVERY_OTHERS_MESSAGE.text(),
            None,
        )?;
    }
    Ok(())
}

pub(super) fn stopped_reader(ctx: &mut Ctx) -> Result<(), Failure> {
    // The stopped reader joins first, so the others' join notices already start to fill it.
    let stuck = join_as(ctx, "stuck", &[], false)?;
    let mut alice = join(ctx, "alice", &[])?;
    let mut bob = join(ctx, "bob", &[&alice])?;
    let bulk = match ctx.target.plain.framing.unwrap_or(Framing::Lines) {
        Framing::Lines => format!("{}\n", "x".repeat(999)).repeat(32),
        Framing::Writes => "x".repeat(32 * 1024),
    };
    ctx.transcript.record(
        "alice",
        ">>",
        "filler, as fast as the server takes it, until the server holds all it can for stuck",
    );
    let sent = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let flooding = {
        let out = alice.try_clone_stream().map_err(|e| {
            Failure::at(
                "alice",
                catalog::SECOND_HANDLE,
                crate::plain::peer::io_error(&e),
            )
        })?;
        let (sent, stop) = (sent.clone(), stop.clone());
        thread::spawn(move || {
            // A server blocked on stuck stops reading alice too: her writes must not hang, so
            // they never wait (a socket option would slow alice's own sends as well).
            let sock = socket2::SockRef::from(&out);
            let mut at = 0;
            // At most 24 MB: a server that takes all that keeps nothing for stuck anyway, and
            // one that queues it all for stuck has enough to chew on.
            while !stop.load(Ordering::Relaxed) && sent.load(Ordering::Relaxed) < 24 << 20 {
                match sock.send_with_flags(&bulk.as_bytes()[at..], libc::MSG_DONTWAIT) {
                    Ok(n) => {
                        sent.fetch_add(n as u64, Ordering::Relaxed);
                        at = (at + n) % bulk.len();
                    }
                    // Full: the server is not reading her now; look again in a moment.
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(5))
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => return,
                }
            }
        })
    };
    let filled = fill(ctx, &stuck, &sent);
    stop.store(true, Ordering::Relaxed);
    let _ = flooding.join();
    ctx.transcript.record("stuck", "--", &filled.to_string());
    // Now the others chat, over several seconds, while stuck's buffers stay full. A server
    // blocked on stuck stops reading alice too: her send fails after the usual wait.
    alice.set_send_patience(ctx.target.read_timeout());
    let rounds = 3;
    let mut result = Ok(());
    for round in 0..rounds {
        let started = Instant::now();
        let (a_mark, b_mark) = (alice.mark(), bob.mark());
        let tok_b = token(ctx, &format!("meanwhileb{round}"));
        let tok_a = token(ctx, &format!("meanwhilea{round}"));
        // The first message may queue behind the filler the server is still digesting.
        let first = (round == 0).then(|| ctx.target.read_timeout() * 2);
        let exchange = bob
            .send(&format!("still there? {tok_b}"))
            .and_then(|_| {
                alice.wait_for(
                    a_mark,
                    &[&tok_b],
                    t!(catalog::MESSAGE_WHILE_STUCK, "bob", filled.clone()),
                    first,
                )
            })
            .and_then(|_| alice.send(&format!("yes {tok_a}")))
            .and_then(|_| {
                bob.wait_for(
                    b_mark,
                    &[&tok_a],
                    t!(catalog::MESSAGE_WHILE_STUCK, "alice", filled.clone()),
                    first,
                )
            });
        if let Err(f) = exchange {
            result = Err(f);
            break;
        }
        // The check spans seconds: a server that blocks later is caught too.
        if round + 1 < rounds {
            thread::sleep(
                ctx.target
                    .scaled(Duration::from_secs(1))
                    .saturating_sub(started.elapsed()),
            );
        }
    }
    drop(stuck);
    alice.close();
    result
}

/// Waits until the bytes the kernel holds on the server's way to `stuck` (the server's send
/// queue and stuck's receive queue) stop growing for a second, and says how much that took.
/// Without the kernel's tables, it waits for 8 MB to be sent.
fn fill(ctx: &Ctx, stuck: &Peer, sent: &AtomicU64) -> Text {
    let (mine, server) = (stuck.local(), ctx.target.addr);
    let held = || {
        let ns = ctx.target.ns;
        let theirs = crate::kernel::queues(server, mine, ns)?.0;
        let ours = crate::kernel::queues(mine, server, ns)?.1;
        Some(theirs + ours)
    };
    let limit = Instant::now() + ctx.target.scaled(Duration::from_secs(20));
    let still = ctx.target.scaled(Duration::from_secs(1));
    let (mut most, mut grew) = (0u64, Instant::now());
    loop {
        let now = Instant::now();
        match held() {
            None => {
                if sent.load(Ordering::Relaxed) >= 8 << 20 || now >= limit {
                    return t!(catalog::STUCK_UNMEASURED, sent.load(Ordering::Relaxed));
                }
            }
            Some(h) => {
                if h > most {
                    (most, grew) = (h, now);
                }
                if most > 0 && now.duration_since(grew) >= still || now >= limit {
                    return t!(catalog::STUCK_FILLED, most, sent.load(Ordering::Relaxed));
                }
            }
        }
        // The kernel tells nobody when a queue stops growing: look again soon.
        thread::sleep(Duration::from_millis(50));
    }
}
