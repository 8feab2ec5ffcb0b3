//! Who gets a message: everyone else (RF5), only the named user (RF6), nobody for oneself (RF7).

use super::fenced_absence;
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
    let what = "nothing of her own message back (everyone else sees it)";
    fenced_absence(ctx, &mut p, (1, 0), marks[0], &tok, what)
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
    // Alice then speaks to everyone: had carol got the private one, it came before that. A
    // copy back to alice herself (a confirmation) is no leak: only a third user's copy is.
    let what = "nothing of alice's private message to bob";
    fenced_absence(ctx, &mut p, (0, 2), marks[2], &tok, what)
}

pub(super) fn self_private(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut p = group(ctx, &["alice", "bob"])?;
    let marks: Vec<usize> = p.iter().map(Peer::mark).collect();
    let tok = token(ctx, "self");
    let me = p[0].name.clone();
    p[0].send(&format!("@{me} {tok}"))?;
    let what = "nothing of alice's private message to herself";
    fenced_absence(ctx, &mut p, (0, 1), marks[1], &tok, what)?;
    let what = "her private message to herself not delivered";
    fenced_absence(ctx, &mut p, (1, 0), marks[0], &tok, what)
}
