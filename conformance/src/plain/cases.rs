//! The requirements a free-form server is graded on, each judged by meaning (see the module
//! docs of [`crate::plain`]). A case's clause is the requirement's own words.
//!
//! Every case runs alone (one at a time), so that one case's leaves and floods never touch
//! another's, and a defect fails exactly the requirement it breaks.

use std::thread;
use std::time::Duration;

use super::peer::Peer;
use super::{group, join, join_as, token, Settings};
use crate::case::{Body, Case, CaseFn, Ctx, Failure, Level, Level::*};

fn case(id: &str, rf: &str, level: Level, title: &str, f: CaseFn) -> Case {
    Case {
        id: id.to_string(),
        rf: rf.to_string(),
        level,
        title: title.to_string(),
        clause: format!("requirement {rf}: {}", crate::requirements::text(rf)),
        exclusive: true,
        needs_client: false,
        body: Body::Code(f),
    }
}

/// The cases for a plain-protocol run. The quit-line case is there only when a quit line is
/// given (`--quit-line`).
pub fn cases(settings: &Settings) -> Vec<Case> {
    let mut all = vec![
        case(
            "P-RF1-01",
            "RF1",
            Should,
            "a name with a space or an @ is not admitted (the assignment lets the client check it)",
            bad_names,
        ),
        case(
            "P-RF2-01",
            "RF2",
            Must,
            "a name already in use is not admitted: nobody is told it joined",
            taken_name,
        ),
        case(
            "P-RF3-01",
            "RF3",
            Must,
            "everyone connected is told of a newcomer, with its name, IP and port",
            join_notice,
        ),
        case(
            "P-RF4-01",
            "RF4",
            Must,
            "four users sending at once each get every other user's messages",
            concurrent,
        ),
        case(
            "P-RF4-02",
            "RF4",
            Must,
            "a user that stops reading does not stop the others",
            stopped_reader,
        ),
        case(
            "P-RF5-01",
            "RF5",
            Must,
            "a message reaches everyone else, and not its sender",
            public,
        ),
        case(
            "P-RF6-01",
            "RF6",
            Must,
            "@name text reaches only that user",
            private,
        ),
        case(
            "P-RF7-01",
            "RF7",
            Should,
            "a private message to oneself reaches nobody (the assignment lets the client check it)",
            self_private,
        ),
        case(
            "P-RF8-01",
            "RF8",
            Must,
            "when a user closes its connection the others are told, by name",
            leave_by_closing,
        ),
        case(
            "P-RF10-01",
            "RF10",
            Must,
            "after users leave, newcomers join and chat",
            after_leaves,
        ),
        case(
            "P-RF12-01",
            "RF12",
            Must,
            "a newcomer is told its own IP and port",
            own_address,
        ),
    ];
    if settings.quit_line.is_some() {
        all.push(case(
            "P-RF8-02",
            "RF8",
            Must,
            "when a user sends the quit line the others are told, by name",
            leave_by_quit_line,
        ));
    }
    all.sort_by(|a, b| a.id.cmp(&b.id));
    all
}

/// Fails unless `token` was absent at `p` between `since` and the fence's arrival.
fn absent_before(
    p: &Peer,
    since: usize,
    fence: usize,
    tok: &str,
    what: &str,
) -> Result<(), Failure> {
    if p.got_between(since, fence, tok) {
        return Err(Failure::at(
            &p.label,
            what,
            format!("it arrived: {}", p.shown_between(since, fence)),
        ));
    }
    Ok(())
}

fn public(ctx: &mut Ctx) -> Result<(), Failure> {
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

fn private(ctx: &mut Ctx) -> Result<(), Failure> {
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

fn self_private(ctx: &mut Ctx) -> Result<(), Failure> {
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

fn join_notice(ctx: &mut Ctx) -> Result<(), Failure> {
    let p = group(ctx, &["alice", "bob"])?;
    let marks: Vec<usize> = p.iter().map(Peer::mark).collect();
    let present: Vec<&Peer> = p.iter().collect();
    let carol = join(ctx, "carol", &present)?;
    for (other, since) in p.iter().zip(marks) {
        other.wait_for(
            since,
            &[&carol.name, &carol.port(), &carol.ip()],
            &format!(
                "a notice that {} joined, with its IP {} and port {}",
                carol.name,
                carol.ip(),
                carol.port()
            ),
            Some(ctx.target.scaled(Duration::from_secs(1))),
        )?;
    }
    Ok(())
}

fn own_address(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut p = Peer::connect(ctx, "alice", true)?;
    let name = p.name.clone();
    p.send(&name)?;
    p.wait_for(
        0,
        &[&p.port(), &p.ip()],
        &format!("to be told its own IP {} and port {}", p.ip(), p.port()),
        None,
    )?;
    Ok(())
}

/// Tries a name that must not be admitted; then a newcomer's join notice is the fence: the
/// refused one's notice, had there been one, came before it. Returns the newcomer, who stays
/// (a leave here would be another requirement's business).
fn refused_name(
    ctx: &mut Ctx,
    present: &[&Peer],
    attempt: &str,
    why: &str,
    n: usize,
) -> Result<Peer, Failure> {
    let marks: Vec<usize> = present.iter().map(|p| p.mark()).collect();
    let mut m = Peer::connect(ctx, &format!("mallory{n}"), true)?;
    let own = m.mark();
    m.send(attempt)?;
    // Its answer (a refusal, a request for another name, or the connection closed), if any.
    m.wait_any(own, ctx.target.scaled(Duration::from_secs(1)));
    let dave = join(ctx, &format!("dave{n}"), present)?;
    for (p, since) in present.iter().zip(marks) {
        let fence = "a later newcomer's join notice (a fence)";
        let at = p.wait_for(since, &[&dave.name], fence, None)?[0];
        for needle in [attempt, &m.port()] {
            let what = format!("no join notice for {attempt:?} ({why})");
            absent_before(p, since, at, needle, &what)?;
        }
    }
    Ok(dave)
}

fn taken_name(ctx: &mut Ctx) -> Result<(), Failure> {
    let p = group(ctx, &["alice", "bob"])?;
    let taken = p[0].name.clone();
    // Bob watches: he must not be told a second time that alice joined.
    let present = [&p[1]];
    refused_name(ctx, &present, &taken, "the name is in use", 0).map(drop)
}

fn bad_names(ctx: &mut Ctx) -> Result<(), Failure> {
    let p = group(ctx, &["alice"])?;
    let spaced = format!("bad name{}", token(ctx, "space"));
    let fence = refused_name(ctx, &[&p[0]], &spaced, "names may not contain spaces", 0)?;
    let at = format!("bad@name{}", token(ctx, "at"));
    let present = [&p[0], &fence];
    refused_name(ctx, &present, &at, "names may not contain @", 1).map(drop)
}

fn leave_by_closing(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut p = group(ctx, &["alice", "bob"])?;
    let bob = p.pop().expect("two");
    let name = bob.name.clone();
    let since = p[0].mark();
    bob.close();
    p[0].wait_for(since, &[&name], &format!("a notice that {name} left"), None)?;
    Ok(())
}

fn leave_by_quit_line(ctx: &mut Ctx) -> Result<(), Failure> {
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
    p[0].wait_for(since, &[&name], &format!("a notice that {name} left"), None)?;
    Ok(())
}

fn after_leaves(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut p = group(ctx, &["alice", "bob", "carol"])?;
    for _ in 0..2 {
        let gone = p.pop().expect("three");
        let name = gone.name.clone();
        let since = p[0].mark();
        gone.close();
        // Its leave notice, if the server sends one (RF8 grades that): only a wait.
        let _ = p[0].wait_for(
            since,
            &[&name],
            "a leave notice",
            Some(ctx.target.scaled(Duration::from_secs(1))),
        );
    }
    let present: Vec<&Peer> = p.iter().collect();
    let dave = join(ctx, "dave", &present)?;
    let mut present: Vec<&Peer> = p.iter().collect();
    present.push(&dave);
    let mut erin = join(ctx, "erin", &present)?;
    let marks = [p[0].mark(), dave.mark()];
    let tok = token(ctx, "after");
    erin.send(&format!("hi {tok}"))?;
    p[0].wait_for(marks[0], &[&tok], &format!("erin's message {tok}"), None)?;
    dave.wait_for(marks[1], &[&tok], &format!("erin's message {tok}"), None)?;
    Ok(())
}

fn concurrent(ctx: &mut Ctx) -> Result<(), Failure> {
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

fn stopped_reader(ctx: &mut Ctx) -> Result<(), Failure> {
    // The stopped reader joins first, so the others' join notices already start to fill it.
    let stuck = join_as(ctx, "stuck", &[], false)?;
    let alice = join(ctx, "alice", &[])?;
    let mut bob = join(ctx, "bob", &[&alice])?;
    // Alice sends 8 MB as fast as the server takes it: more than a stopped reader's socket
    // buffers hold, so a server that writes to it with a blocking send under a lock blocks.
    let bulk = match ctx.target.plain.framing.unwrap_or(super::Framing::Lines) {
        super::Framing::Lines => format!("{}\n", "x".repeat(999)).repeat(32),
        super::Framing::Writes => "x".repeat(32 * 1024),
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
