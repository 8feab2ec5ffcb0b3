//! Joining, names and leaving: join notices with IP and port (RF3, RF12), names refused
//! (RF1, RF2), leave notices (RF8), and the chat after leaves (RF10).
use std::time::Duration;

use super::absent_before;
use crate::case::{Ctx, Failure};
use crate::i18n::{catalog, Msg};
use crate::plain::peer::Peer;
use crate::plain::{group, join, token};
use crate::t;

pub(super) fn join_notice(ctx: &mut Ctx) -> Result<(), Failure> {
    let p = group(ctx, &["alice", "bob"])?;
    let marks: Vec<usize> = p.iter().map(Peer::mark).collect();
    let present: Vec<&Peer> = p.iter().collect();
    let carol = join(ctx, "carol", &present)?;
    for (other, since) in p.iter().zip(marks) {
        other.wait_for_words(
            since,
            &[&carol.name, &carol.port(), &carol.ip()],
            t!(
                catalog::NOTICE_JOINED_WITH_ADDRESS,
                "carol",
                carol.ip(),
                carol.port()
            ),
            Some(ctx.target.scaled(Duration::from_secs(1))),
        )?;
    }
    Ok(())
}

pub(super) fn own_address(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut p = Peer::connect(ctx, "alice", true)?;
    let name = p.name.clone();
    p.send(&name)?;
    p.wait_for_words(
        0,
        &[&p.port(), &p.ip()],
        t!(catalog::OWN_ADDRESS, p.ip(), p.port()),
        None,
    )?;
    Ok(())
}

/// Tries a name that must not be admitted; then a newcomer's join notice is the fence: the
/// refused one's notice, had there been one, came before it. The evidence of a notice is the
/// refused connection's port, and its name too when `by_name` (a name nobody else has).
/// Returns the newcomer and the refused client, who both stay: a leave here would be another
/// requirement's business (and breaks some servers).
fn refused_name(
    ctx: &mut Ctx,
    present: &[&Peer],
    attempt: &str,
    (kind, forbidden): (Msg, Msg),
    n: usize,
    by_name: bool,
) -> Result<(Peer, Peer), Failure> {
    let marks: Vec<usize> = present.iter().map(|p| p.mark()).collect();
    let mut m = Peer::connect(ctx, &format!("mallory{n}"), true)?;
    let own = m.mark();
    m.send(attempt)?;
    // Its answer (a refusal, a request for another name, or the connection closed), if any.
    m.wait_any(own, ctx.target.scaled(Duration::from_secs(1)));
    let dave = join(ctx, &format!("dave{n}"), present)?;
    for (p, since) in present.iter().zip(marks) {
        let at = p.wait_for(since, &[&dave.name], catalog::LATER_NEWCOMER.text(), None)?[0];
        // A taken name is in the others' text anyway (its owner's messages, a USERS list):
        // then only the refused connection's port is evidence of a notice for it.
        let what = t!(catalog::NO_NOTICE_FOR_BAD_NAME, kind, forbidden);
        if by_name {
            absent_before(p, since, at, attempt, what.clone())?;
        }
        let own = m.port();
        if p.count_words_between(since, at, &own) > 0 {
            return Err(Failure::at(
                &p.label,
                what,
                t!(
                    catalog::PORT_ANNOUNCED,
                    own.as_str(),
                    p.shown_between(since, at)
                ),
            ));
        }
    }
    Ok((dave, m))
}

pub(super) fn taken_name(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut p = group(ctx, &["alice", "bob"])?;
    let taken = p[0].name.clone();
    // Each hears from the other first: what the server sent them about their own joining
    // (a welcome, a list of who is in) then lies before their marks.
    for (from, to) in [(0, 1), (1, 0)] {
        let since = p[to].mark();
        let tok = token(ctx, &format!("settle{from}"));
        p[from].send(&format!("hi {tok}"))?;
        let what = t!(catalog::MESSAGE_FROM, p[from].label.as_str());
        p[to].wait_for(since, &[&tok], what, None)?;
    }
    let marks: Vec<usize> = p.iter().map(Peer::mark).collect();
    let mut m = Peer::connect(ctx, "mallory", true)?;
    let own = m.mark();
    m.send(&taken)?;
    // Its answer (a refusal, a request for another name, or the connection closed), if any.
    m.wait_any(own, ctx.target.scaled(Duration::from_secs(1)));
    // Had it been admitted, this would reach the others as a message from a second alice.
    let tok = token(ctx, "dup");
    let _ = m.send(&tok);
    let present: Vec<&Peer> = p.iter().collect();
    let dave = join(ctx, "dave", &present)?;
    for (i, watcher) in p.iter().enumerate() {
        let fence = catalog::LATER_NEWCOMER.text();
        let at = watcher.wait_for(marks[i], &[&dave.name], fence, None)?[0];
        // The fence's own line may list everyone; what came before it may not name alice.
        // (Offsets are in bytes: the received bytes, not their text, which a lossy reading
        // of a Latin-1 server would lengthen.)
        let line_start = watcher
            .bytes_between(0, at)
            .iter()
            .rposition(|&b| b == b'\n')
            .map(|n| n + 1)
            .filter(|&n| n > marks[i])
            .unwrap_or(at);
        let seen = watcher.count_words_between(marks[i], line_start, &taken);
        if seen > 0 {
            return Err(Failure::at(
                &watcher.label,
                t!(catalog::NO_SECOND_NOTICE, "alice"),
                t!(
                    catalog::ANNOUNCED_AGAIN,
                    "alice",
                    watcher.shown_between(marks[i], line_start)
                ),
            ));
        }
    }
    for (i, watcher) in p.iter().enumerate() {
        // A message from a second alice carries her name just before it; a server that took
        // the token as a new name announces it instead, with no "alice" beside it. Bytes, not
        // text: a window may start inside a multi-byte character.
        let bytes = watcher.bytes_between(marks[i], usize::MAX);
        if let Some(at) = crate::plain::peer::find(&bytes, tok.as_bytes(), 0) {
            let start = bytes[..at]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |n| n + 1)
                .max(at.saturating_sub(24));
            let near = &bytes[start..at];
            if crate::plain::peer::find_word(near, taken.as_bytes(), 0, true).is_some() {
                return Err(Failure::at(
                    &watcher.label,
                    t!(catalog::NOTHING_FROM_SECOND, "alice"),
                    t!(
                        catalog::SECOND_SPOKE,
                        "alice",
                        format!("{:?}", String::from_utf8_lossy(&bytes[start..]))
                    ),
                ));
            }
        }
    }
    drop(m);
    Ok(())
}

pub(super) fn bad_names(ctx: &mut Ctx) -> Result<(), Failure> {
    let p = group(ctx, &["alice"])?;
    let spaced = format!("bad name{}", token(ctx, "space"));
    let (fence, _refused) = refused_name(
        ctx,
        &[&p[0]],
        &spaced,
        (catalog::A_NAME_WITH_SPACE, catalog::SPACES),
        0,
        true,
    )?;
    let at = format!("bad@name{}", token(ctx, "at"));
    let present = [&p[0], &fence];
    let why = (catalog::A_NAME_WITH_AT, catalog::AT_SIGN);
    let (_, _also) = refused_name(ctx, &present, &at, why, 1, true)?;
    Ok(())
}

pub(super) fn leave_by_closing(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut p = group(ctx, &["alice", "bob"])?;
    let bob = p.pop().expect("two");
    let name = bob.name.clone();
    let since = p[0].mark();
    bob.close();
    p[0].wait_for_words(since, &[&name], t!(catalog::NOTICE_LEFT, "bob"), None)?;
    Ok(())
}

pub(super) fn leave_by_breaking(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut p = group(ctx, &["alice", "bob", "carol"])?;
    let carol = p.pop().expect("three");
    let name = carol.name.clone();
    let marks: Vec<usize> = p.iter().map(Peer::mark).collect();
    carol.abort();
    p[0].wait_for_words(
        marks[0],
        &[&name],
        t!(catalog::NOTICE_LEFT_BROKEN, "carol"),
        None,
    )?;
    still_chatting(ctx, &mut p, &marks, catalog::AFTER_BREAK)
}

pub(super) fn join_after_break(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut p = group(ctx, &["alice", "bob", "carol"])?;
    let carol = p.pop().expect("three");
    leaves(ctx, &p[0], carol, true);
    let present: Vec<&Peer> = p.iter().collect();
    let dave = join(ctx, "dave", &present)?;
    p.push(dave);
    let marks: Vec<usize> = p.iter().map(Peer::mark).collect();
    still_chatting(ctx, &mut p, &marks, catalog::AFTER_BREAK_DAVE_NEW)
}

/// `gone` leaves (closing, or breaking its connection when `abrupt`), and `watcher` is given a
/// moment for its leave notice, if the server sends one: only a wait, since RF8 grades that.
fn leaves(ctx: &Ctx, watcher: &Peer, gone: Peer, abrupt: bool) {
    let name = gone.name.clone();
    let since = watcher.mark();
    if abrupt {
        gone.abort();
    } else {
        gone.close();
    }
    let _ = watcher.wait_for(
        since,
        &[&name],
        catalog::A_LEAVE_NOTICE.text(),
        Some(ctx.target.scaled(Duration::from_secs(1))),
    );
}

/// Each of `p` says something, and every other one hears it.
fn still_chatting(ctx: &Ctx, p: &mut [Peer], marks: &[usize], when: Msg) -> Result<(), Failure> {
    for i in 0..p.len() {
        let tok = token(ctx, &format!("still{i}"));
        p[i].send(&format!("hi {tok}"))?;
        for (j, other) in p.iter().enumerate().filter(|(j, _)| *j != i) {
            let what = t!(catalog::MESSAGE_FROM_WHEN, p[i].label.as_str(), when);
            other.wait_for(marks[j], &[&tok], what, None)?;
        }
    }
    Ok(())
}

pub(super) fn leave_by_quit_line(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut p = group(ctx, &["alice", "bob"])?;
    let name = p[1].name.clone();
    let line = ctx
        .target
        .plain
        .quit_line
        .clone()
        .unwrap_or_default()
        .replace("{name}", &name);
    let since = p[0].mark();
    p[1].send(&line)?;
    p[0].wait_for_words(since, &[&name], t!(catalog::NOTICE_LEFT, "bob"), None)?;
    Ok(())
}

pub(super) fn after_leaves(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut p = group(ctx, &["alice", "bob", "carol"])?;
    for _ in 0..2 {
        let gone = p.pop().expect("three");
        leaves(ctx, &p[0], gone, false);
    }
    let present: Vec<&Peer> = p.iter().collect();
    let dave = join(ctx, "dave", &present)?;
    let mut present: Vec<&Peer> = p.iter().collect();
    present.push(&dave);
    let mut erin = join(ctx, "erin", &present)?;
    let marks = [p[0].mark(), dave.mark()];
    let tok = token(ctx, "after");
    erin.send(&format!("hi {tok}"))?;
    p[0].wait_for(marks[0], &[&tok], t!(catalog::MESSAGE_FROM, "erin"), None)?;
    dave.wait_for(marks[1], &[&tok], t!(catalog::MESSAGE_FROM, "erin"), None)?;
    Ok(())
}
