//! Who gets a message: everyone else (RF5), only the named user (RF6), nobody for oneself (RF7).

use super::fenced_absence;
use crate::case::{Ctx, Failure};
use crate::i18n::catalog;
use crate::plain::peer::Peer;
use crate::plain::{group, token};
use crate::t;

pub(super) fn public(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut p = group(ctx, &["alice", "bob", "carol"])?;
    let marks: Vec<usize> = p.iter().map(Peer::mark).collect();
    let tok = token(ctx, "public");
    p[0].send(&format!("hello {tok}"))?;
    for i in 1..3 {
        p[i].wait_for(marks[i], &[&tok], t!(catalog::MESSAGE_FROM, "alice"), None)?;
    }
    let what = catalog::NOT_OWN_MESSAGE_BACK.text();
    fenced_absence(ctx, &mut p, (1, 0), marks[0], &tok, what)
}

pub(super) fn private(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut p = group(ctx, &["alice", "bob", "carol"])?;
    let marks: Vec<usize> = p.iter().map(Peer::mark).collect();
    let tok = token(ctx, "private");
    let to = p[1].name.clone();
    p[0].send(&format!("@{to} {tok}"))?;
    p[1].wait_for(marks[1], &[&tok], t!(catalog::PRIVATE_FROM, "alice"), None)?;
    // Alice then speaks to everyone: had carol got the private one, it came before that. A
    // copy back to alice herself (a confirmation) is no leak: only a third user's copy is.
    let what = catalog::NO_PRIVATE_LEAK.text();
    fenced_absence(ctx, &mut p, (0, 2), marks[2], &tok, what)
}

pub(super) fn self_private(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut p = group(ctx, &["alice", "bob"])?;
    let marks: Vec<usize> = p.iter().map(Peer::mark).collect();
    let tok = token(ctx, "self");
    let me = p[0].name.clone();
    p[0].send(&format!("@{me} {tok}"))?;
    let what = catalog::NO_SELF_PRIVATE.text();
    fenced_absence(ctx, &mut p, (0, 1), marks[1], &tok, what)?;
    let what = catalog::SELF_PRIVATE_NOT_BACK.text();
    fenced_absence(ctx, &mut p, (1, 0), marks[0], &tok, what)
}
