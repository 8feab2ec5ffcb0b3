//! Who gets a message: everyone else (RF5), only the named user (RF6), nobody for oneself (RF7).
use super::absent_before;
use crate::case::{Ctx, Failure};
use crate::plain::peer::Peer;
use crate::plain::{group, token};

pub(super) fn public(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut p = group(ctx, &["alice", "bob", "carol"])?;
    let marks: Vec<usize> = p.iter().map(Peer::mark).collect();
    let tok = token(ctx, "public");
    p[0].send(&format!("hello {tok}"))?;
    for i in 1..3 {
        p[i].wait_for(marks[i], &[&tok], &format!("alice's message {tok}"), None)?;
    }
    // A later message of bob's reaches alice: anything of her own sent back came before it.
    let fence = token(ctx, "fence");
    p[1].send(&fence)?;
    let at = p[0].wait_for(marks[0], &[&fence], "bob's later message (a fence)", None)?[0];
    absent_before(
        &p[0],
        marks[0],
        at,
        &tok,
        "nothing of her own message back (everyone else sees it)",
    )
}

pub(super) fn private(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut p = group(ctx, &["alice", "bob", "carol"])?;
    let marks: Vec<usize> = p.iter().map(Peer::mark).collect();
    let tok = token(ctx, "private");
    let to = p[1].name.clone();
    p[0].send(&format!("@{to} {tok}"))?;
    p[1].wait_for(
        marks[1],
        &[&tok],
        &format!("alice's private message {tok}"),
        None,
    )?;
    // Then alice speaks to everyone: carol gets that first-sent-last, so the private one, had
    // it reached her, came before.
    let fence = token(ctx, "fence");
    p[0].send(&fence)?;
    let at = p[2].wait_for(
        marks[2],
        &[&fence],
        "alice's later public message (a fence)",
        None,
    )?[0];
    absent_before(
        &p[2],
        marks[2],
        at,
        &tok,
        "nothing of alice's private message to bob",
    )?;
    let fence2 = token(ctx, "fence2");
    p[1].send(&fence2)?;
    let at = p[0].wait_for(marks[0], &[&fence2], "bob's later message (a fence)", None)?[0];
    absent_before(
        &p[0],
        marks[0],
        at,
        &tok,
        "nothing of her own private message back",
    )
}

pub(super) fn self_private(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut p = group(ctx, &["alice", "bob"])?;
    let marks: Vec<usize> = p.iter().map(Peer::mark).collect();
    let tok = token(ctx, "self");
    let me = p[0].name.clone();
    p[0].send(&format!("@{me} {tok}"))?;
    let fence = token(ctx, "fence");
    p[0].send(&fence)?;
    let at = p[1].wait_for(
        marks[1],
        &[&fence],
        "alice's later public message (a fence)",
        None,
    )?[0];
    absent_before(
        &p[1],
        marks[1],
        at,
        &tok,
        "nothing of alice's private message to herself",
    )?;
    let fence2 = token(ctx, "fence2");
    p[1].send(&fence2)?;
    let at = p[0].wait_for(marks[0], &[&fence2], "bob's later message (a fence)", None)?[0];
    absent_before(
        &p[0],
        marks[0],
        at,
        &tok,
        "her private message to herself not delivered",
    )
}
