//! Real time under concurrency (RF4) and continued service through churn (RF10).

use std::thread;

use super::case;
use crate::case::{Case, Ctx, Failure, Level::*};
use crate::chat1::wire::Wire;

pub(super) fn cases() -> Vec<Case> {
    // Several MB broadcast to everyone would flood the clients of cases running beside them.
    vec![
        case(
            "RF4-01",
            "RF4",
            Must,
            "many clients sending at once: every line delivered, in per-sender order",
            concurrent_senders,
        ),
        case(
            "RF4-02",
            "RF4",
            Must,
            "a registered client that never reads (several MB pushed at it) delays nobody",
            slow_reader_delays_nobody,
        )
        .alone(),
        case(
            "RF4-03",
            "RF4",
            Must,
            "a client that stops reading is disconnected within the stall deadline and the others get its LEAVE",
            slow_reader_cut_off,
        )
        .alone(),
        case(
            "RF4-06",
            "RF4",
            Must,
            "a client that stops reading for half the stall deadline, 6 MB behind, then reads gets every line, in order",
            lagging_reader_catches_up,
        )
        .alone(),
        case(
            "RF4-04",
            "RF4",
            Must,
            "a connection stuck mid-registration or mid-line blocks nobody",
            half_open_blocks_nobody,
        ),
        case(
            "RF10-01",
            "RF10",
            Must,
            "after 20 rounds of join, talk, quit or drop, new users still join and chat",
            sequential_churn,
        ),
        case(
            "RF10-02",
            "RF10",
            Must,
            "parallel churn of joins, quits and drops leaves a consistent user list",
            parallel_churn,
        ),
    ]
}

fn join_all(ctx: &Ctx, labels: &[String]) -> Result<Vec<Wire>, Failure> {
    labels.iter().map(|l| Wire::join(ctx, l)).collect()
}

fn concurrent_senders(ctx: &mut Ctx) -> Result<(), Failure> {
    const SENDERS: usize = 6;
    const LINES: usize = 200;
    let mut rx = Wire::join(ctx, "rx")?;
    let labels: Vec<String> = (0..SENDERS).map(|i| format!("tx{i}")).collect();
    let senders = join_all(ctx, &labels)?;
    for s in &senders {
        rx.expect(&format!("JOIN {} *", s.name))?;
    }
    let names: Vec<String> = senders.iter().map(|s| s.name.clone()).collect();
    let handles: Vec<_> = senders
        .into_iter()
        .map(|mut s| {
            thread::spawn(move || -> Result<Wire, Failure> {
                for n in 0..LINES {
                    s.send(&format!("seq {n}"))?;
                }
                Ok(s)
            })
        })
        .collect();
    let mut next = [0usize; SENDERS];
    for _ in 0..SENDERS * LINES {
        let line = rx
            .next_relevant()?
            .ok_or_else(|| Failure::at("rx", "more MSG lines", "end of stream"))?;
        let parsed = line.strip_prefix("MSG ").and_then(|r| r.split_once(' '));
        let Some((from, text)) = parsed else {
            return Err(Failure::at("rx", "a MSG line", format!("{line:?}")));
        };
        let Some(i) = names.iter().position(|n| n == from) else {
            return Err(Failure::at(
                "rx",
                "a MSG from a sender",
                format!("{line:?}"),
            ));
        };
        let expected = format!("seq {}", next[i]);
        if text != expected {
            return Err(Failure::at(
                "rx",
                format!("MSG {from} {expected} (per-sender order, nothing lost)"),
                format!("{line:?}"),
            ));
        }
        next[i] += 1;
    }
    let mut senders = Vec::new();
    for h in handles {
        senders.push(
            h.join()
                .map_err(|_| Failure::new("sender threads to finish", "a sender panicked"))??,
        );
    }
    // The senders are still connected, so no LEAVE may come before the fence either.
    rx.expect_quiet()
}

/// Messages of 4 kB pushed past the stuck reader: 8 MB, more than loopback's socket buffers
/// hold, so lines wait for it at the server, and far less than the 32 MiB cap.
const PUSHED: usize = 2000;

/// Joins talker, listener and a client that never reads, and pushes about 8 MB at everyone.
/// Returns whether the listener saw the stuck client's LEAVE.
fn push_past_a_stuck_reader(ctx: &mut Ctx) -> Result<(Wire, Wire, Wire, bool), Failure> {
    let mut talker = Wire::join(ctx, "talker")?;
    let mut listener = Wire::join(ctx, "listener")?;
    let stuck = Wire::join(ctx, "stuck")?;
    listener.expect(&format!("JOIN {} *", stuck.name))?;
    let text = "z".repeat(4000);
    let mut leave_seen = false;
    for n in 0..PUSHED {
        talker.send(&format!("{n} {text}"))?;
        // The talker must not become a slow reader itself.
        talker.pump()?;
        let line = listener
            .next_relevant()?
            .ok_or_else(|| Failure::at("listener", format!("message {n}"), "end of stream"))?;
        let line = if line.starts_with(&format!("LEAVE {} ", stuck.name)) {
            leave_seen = true;
            listener
                .next_relevant()?
                .ok_or_else(|| Failure::at("listener", format!("message {n}"), "end of stream"))?
        } else {
            line
        };
        if !line.starts_with(&format!("MSG {} {n} ", talker.name)) {
            let shown: String = line.chars().take(80).collect();
            return Err(Failure::at(
                "listener",
                format!("MSG {} {n} zzz...", talker.name),
                format!("{shown:?}..."),
            ));
        }
    }
    talker.expect(&format!("JOIN {} *", listener.name))?;
    talker.expect(&format!("JOIN {} *", stuck.name))?;
    Ok((talker, listener, stuck, leave_seen))
}

fn slow_reader_delays_nobody(ctx: &mut Ctx) -> Result<(), Failure> {
    // Every listener read has the case timeout: a server that blocks on the stuck client
    // fails here with "nothing within N s".
    push_past_a_stuck_reader(ctx).map(drop)
}

fn slow_reader_cut_off(ctx: &mut Ctx) -> Result<(), Failure> {
    let (mut talker, mut listener, stuck, leave_seen) = push_past_a_stuck_reader(ctx)?;
    // Lines now wait for the stuck client; within the stall deadline, plus margin, it must go.
    let wait = ctx.target.stall_timeout.mul_f64(1.5) + ctx.target.read_timeout();
    listener.set_timeout(wait);
    talker.set_timeout(wait);
    if !leave_seen {
        listener.expect(&format!("LEAVE {} {}", stuck.name, stuck.local_addr()))?;
    }
    talker.expect(&format!("LEAVE {} {}", stuck.name, stuck.local_addr()))?;
    Ok(())
}

fn lagging_reader_catches_up(ctx: &mut Ctx) -> Result<(), Failure> {
    const LINES: usize = 1500;
    let mut talker = Wire::join(ctx, "talker")?;
    let mut lagger = Wire::join(ctx, "lagger")?;
    talker.expect(&format!("JOIN {} *", lagger.name))?;
    // More than loopback socket buffers hold, so the server must queue the rest, and less than
    // a reasonable bound, so it should not give up on the lagger.
    let text = "L".repeat(4000);
    for n in 0..LINES {
        talker.send(&format!("{n} {text}"))?;
        talker.pump()?;
    }
    // The behaviour under test, not synchronisation: a reader that pauses for less than the
    // stall deadline has not stopped, and must not be cut off.
    thread::sleep(ctx.target.stall_timeout / 2);
    talker.pump()?;
    for n in 0..LINES {
        let line = lagger
            .next_relevant()?
            .ok_or_else(|| Failure::at("lagger", format!("message {n}"), "end of stream"))?;
        if !line.starts_with(&format!("MSG {} {n} LLL", talker.name)) {
            let shown: String = line.chars().take(80).collect();
            return Err(Failure::at(
                "lagger",
                format!("MSG {} {n} LLL... (every line, in order)", talker.name),
                format!("{shown:?}..."),
            ));
        }
    }
    talker.fence(&mut lagger)
}

fn half_open_blocks_nobody(ctx: &mut Ctx) -> Result<(), Failure> {
    let silent = Wire::hello(ctx, "silent")?;
    let mut partial = Wire::hello(ctx, "partial")?;
    partial.send_raw(b"half a na")?;
    let mut alice = Wire::join(ctx, "alice")?;
    let mut mid = Wire::join(ctx, "mid")?;
    mid.send_raw(b"an unfinished line")?;
    let mut bob = Wire::join(ctx, "bob")?;
    alice.expect(&format!("JOIN {} {}", mid.name, mid.local_addr()))?;
    alice.expect(&format!("JOIN {} {}", bob.name, bob.local_addr()))?;
    bob.send("nobody is blocking me")?;
    alice.expect(&format!("MSG {} nobody is blocking me", bob.name))?;
    mid.expect(&format!("JOIN {} *", bob.name))?;
    mid.expect(&format!("MSG {} nobody is blocking me", bob.name))?;
    mid.send_raw(b", finished\n")?;
    alice.expect(&format!("MSG {} an unfinished line, finished", mid.name))?;
    drop(silent);
    Ok(())
}

fn sequential_churn(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut watcher = Wire::join(ctx, "watcher")?;
    for round in 0..20 {
        let mut c = Wire::join(ctx, &format!("churn{round}"))?;
        watcher.expect(&format!("JOIN {} {}", c.name, c.local_addr()))?;
        c.send(&format!("round {round}"))?;
        watcher.expect(&format!("MSG {} round {round}", c.name))?;
        let (name, addr) = (c.name.clone(), c.local_addr());
        if round % 2 == 0 {
            c.send("/quit")?;
            c.expect("BYE *")?;
            c.expect_eof()?;
        } else {
            c.close();
        }
        watcher.expect(&format!("LEAVE {name} {addr}"))?;
    }
    let mut late = Wire::join(ctx, "late")?;
    watcher.expect(&format!("JOIN {} *", late.name))?;
    late.send("the chat still works")?;
    watcher.expect(&format!("MSG {} the chat still works", late.name))?;
    watcher.send(&format!("@{} and private too", late.name))?;
    late.expect(&format!("PRIV {} and private too", watcher.name))?;
    Ok(())
}

fn parallel_churn(ctx: &mut Ctx) -> Result<(), Failure> {
    const THREADS: usize = 6;
    const ROUNDS: usize = 5;
    let mut watcher = Wire::join(ctx, "watcher")?;
    let mut labels = Vec::new();
    for t in 0..THREADS {
        for r in 0..ROUNDS {
            labels.push(format!("p{t}r{r}"));
        }
    }
    let names: Vec<String> = labels.iter().map(|l| ctx.name(l)).collect();
    let handles: Vec<_> = labels
        .chunks(ROUNDS)
        .map(|chunk| {
            let my_labels = chunk.to_vec();
            let ctx = ctx.share();
            thread::spawn(move || -> Result<(), Failure> {
                for (r, label) in my_labels.iter().enumerate() {
                    let mut c = Wire::join(&ctx, label)?;
                    if r % 2 == 0 {
                        c.send("/quit")?;
                        // Other churners' JOIN and LEAVE may come first.
                        c.expect_skipping_presence("BYE *")?;
                    } else {
                        c.close();
                    }
                }
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join()
            .map_err(|_| Failure::new("churn threads to finish", "a thread panicked"))??;
    }
    let mut left = 0;
    while left < names.len() {
        let line = watcher
            .next_relevant()?
            .ok_or_else(|| Failure::at("watcher", "JOIN and LEAVE lines", "end of stream"))?;
        if line.starts_with("LEAVE ") {
            left += 1;
        } else if !line.starts_with("JOIN ") {
            return Err(Failure::at(
                "watcher",
                "only JOIN and LEAVE",
                format!("{line:?}"),
            ));
        }
    }
    watcher.send("/users")?;
    let users = watcher.expect("USERS *")?;
    if let Some(ghost) = users.split(' ').find(|u| names.contains(&u.to_string())) {
        return Err(Failure::at(
            "watcher",
            "a USERS without any user that left",
            format!("{ghost} still listed: {users:?}"),
        ));
    }
    let mut late = Wire::join(ctx, "late")?;
    watcher.expect(&format!("JOIN {} *", late.name))?;
    late.send("after the storm")?;
    watcher.expect(&format!("MSG {} after the storm", late.name))?;
    Ok(())
}
