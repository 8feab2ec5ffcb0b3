//! `--protocol plain`: grading servers that speak free text, as students write the classic
//! assignment (`Bem-vindo, bob!`, `bob entrou no chat. (IP: 127.0.0.1, Porta: 50512)`).
//!
//! It judges meaning, never wording. Every client has a unique name and sends unique tokens,
//! and the grader knows each client's real `ip:port` from its own socket:
//! - a **join notice** is whatever reaches the others after a newcomer registered and carries
//!   its name (and, for RF3, its port and IP);
//! - a **message arrived** when its token arrived, wherever it sits in the bytes, split across
//!   reads or glued to other text;
//! - an **absence** is proven with a fence: a later message from the same sender (or a later
//!   newcomer's join notice) must arrive, and the token must not have come before it.
//!
//! Parts: [`detect`] finds out how the server frames input (by line, or one message per
//! write); [`peer`] is a client that sends that way and searches what it receives; [`cases`]
//! holds the requirements graded server-side (RF1 to RF12 where a server can be checked), each
//! with a MUST or SHOULD level and the requirement's own words as its clause.

pub mod cases;
pub mod detect;
pub mod peer;
pub mod settings;

pub use settings::{Framing, Protocol, Settings};

use std::time::Duration;

use crate::case::{Ctx, Failure};
use crate::i18n::catalog;
use crate::t;
use peer::Peer;

/// A unique token for `label` in this case.
pub fn token(ctx: &Ctx, label: &str) -> String {
    format!("tok{}", ctx.name(label).replace('_', "x"))
}

/// Registers a newcomer while `present` are in the chat: sends its name, then waits until each
/// of them has received it (its join notice). Without anyone present it waits (at most a
/// second) for a welcome that names it.
pub fn join(ctx: &Ctx, label: &str, present: &[&Peer]) -> Result<Peer, Failure> {
    join_as(ctx, label, present, true)
}

/// [`join`], for a client that never reads what it is sent.
pub fn join_as(ctx: &Ctx, label: &str, present: &[&Peer], reading: bool) -> Result<Peer, Failure> {
    let mut p = Peer::connect(ctx, label, reading)?;
    let marks: Vec<usize> = present.iter().map(|o| o.mark()).collect();
    let own = p.mark();
    let name = p.name.clone();
    p.send(&name)?;
    if present.is_empty() {
        // Nobody to announce it to: a welcome that names it (most servers send one) says it is
        // in; otherwise a moment for the server to take it in.
        if reading {
            let _ = p.wait_for(
                own,
                &[&name],
                catalog::A_WELCOME.text(),
                Some(ctx.target.scaled(Duration::from_secs(1))),
            );
        }
        return Ok(p);
    }
    for (other, since) in present.iter().zip(marks) {
        other.wait_for(since, &[&name], t!(catalog::NOTICE_JOINED, label), None)?;
    }
    Ok(p)
}

/// Registers `labels` one after another, each announced to those before it.
pub fn group(ctx: &Ctx, labels: &[&str]) -> Result<Vec<Peer>, Failure> {
    let mut peers: Vec<Peer> = Vec::new();
    for label in labels {
        let present: Vec<&Peer> = peers.iter().collect();
        let p = join(ctx, label, &present).map_err(|mut f| {
            if peers.len() >= 2 {
                f.actual = t!(catalog::CAP_NOTE, f.actual, peers.len());
            }
            f
        })?;
        peers.push(p);
    }
    Ok(peers)
}
