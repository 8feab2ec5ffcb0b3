//! Load: users sending at once (RF4), and a user that stops reading while another floods.
use std::thread;

use crate::case::{Ctx, Failure};
use crate::plain::peer::Peer;
use crate::plain::settings::Framing;
use crate::plain::{group, join, join_as, token};

pub(super) fn concurrent(ctx: &mut Ctx) -> Result<(), Failure> {
    const EACH: usize = 5;
    let mut p = group(ctx, &["alice", "bob", "carol", "dave"])?;
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
            h.join()
                .unwrap_or_else(|_| Err(Failure::new("a sender", "it panicked")))
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
        peer.wait_for(marks[i], &others, "every message of the three others", None)?;
    }
    Ok(())
}

pub(super) fn stopped_reader(ctx: &mut Ctx) -> Result<(), Failure> {
    // The stopped reader joins first, so the others' join notices already start to fill it.
    let stuck = join_as(ctx, "stuck", &[], false)?;
    let alice = join(ctx, "alice", &[])?;
    let mut bob = join(ctx, "bob", &[&alice])?;
    // Alice sends 8 MB as fast as the server takes it: more than a stopped reader's socket
    // buffers hold, so a server that writes to it with a blocking send under a lock blocks.
    let bulk = match ctx.target.plain.framing.unwrap_or(Framing::Lines) {
        Framing::Lines => format!("{}\n", "x".repeat(999)).repeat(32),
        Framing::Writes => "x".repeat(32 * 1024),
    };
    ctx.transcript.record(
        "alice",
        ">>",
        "8 MB of filler, as fast as the server takes it",
    );
    let flooding = {
        let out = alice
            .try_clone_stream()
            .map_err(|e| Failure::at("alice", "a second handle on the socket", e.to_string()))?;
        thread::spawn(move || {
            for _ in 0..(8 << 20) / bulk.len() {
                if std::io::Write::write_all(&mut &out, bulk.as_bytes()).is_err() {
                    return;
                }
            }
        })
    };
    let since = alice.mark();
    let tok = token(ctx, "meanwhile");
    // Bob speaks once the flood is under way: he receives it.
    bob.wait_for(
        0,
        &["xxxxxxxxxxxxxxxx"],
        "alice's filler reaching bob",
        None,
    )?;
    bob.send(&format!("still there? {tok}"))?;
    let result = alice
        .wait_for(
            since,
            &[&tok],
            &format!("bob's message {tok}, while stuck reads nothing"),
            None,
        )
        .map(|_| ());
    drop(stuck);
    alice.close();
    let _ = flooding.join();
    result
}
