//! The requirements a free-form server is graded on, each judged by meaning (see the module
//! docs of [`crate::plain`]). A case's clause is the requirement's own words.
//!
//! Where the grader starts the server, every case gets a fresh one (see [`crate::grade`]), so
//! that a defect fails exactly the requirement it breaks; on a shared server they run one at a
//! time. The stopped reader's flood runs alone either way, for the machine's sake. [`messages`]: who gets a
//! message; [`presence`]: joining, names and leaving; [`load`]: many senders and a stopped
//! reader.

use super::peer::Peer;
use super::{token, Settings};
use crate::case::{Body, Case, CaseFn, Ctx, Failure, Level, Level::*};
use load::{concurrent, stopped_reader};
use messages::{private, public, self_private};
use presence::{
    after_leaves, bad_names, join_after_break, join_notice, leave_by_breaking, leave_by_closing,
    leave_by_quit_line, own_address, taken_name,
};

mod load;
mod messages;
mod presence;

fn case(id: &str, rf: &str, level: Level, title: &str, f: CaseFn) -> Case {
    let clause = format!("requirement {rf}: {}", crate::requirements::text(rf));
    Case::new(id, rf, level, title, Body::Code(f)).with_clause(clause)
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
            "eight users sending at once each get every other user's messages",
            concurrent,
        ),
        case(
            "P-RF4-02",
            "RF4",
            Must,
            "a user that stops reading does not stop the others",
            stopped_reader,
        )
        .alone(),
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
            "@name text reaches only that user (a copy back to its sender is allowed)",
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
            "P-RF8-03",
            "RF8",
            Must,
            "when a user's connection breaks (a reset, data unread) the others are told, by name, and chat on",
            leave_by_breaking,
        ),
        case(
            "P-RF10-01",
            "RF10",
            Must,
            "after users leave, newcomers join and chat",
            after_leaves,
        ),
        case(
            "P-RF10-02",
            "RF10",
            Must,
            "after a user's connection breaks, a newcomer joins and everyone chats",
            join_after_break,
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
pub(super) fn absent_before(
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

/// Proves `tok` never reached peer `observer` after `since`: peer `sender` sends a fresh
/// message (to everyone), which must arrive; per-sender order means that anything `sender` sent
/// earlier would have come first, and the token must not be among it.
pub(super) fn fenced_absence(
    ctx: &Ctx,
    p: &mut [Peer],
    (sender, observer): (usize, usize),
    since: usize,
    tok: &str,
    what: &str,
) -> Result<(), Failure> {
    let fence = token(ctx, &format!("fence{sender}x{observer}"));
    p[sender].send(&fence)?;
    let about = format!("{}'s later message (a fence)", p[sender].label);
    let at = p[observer].wait_for(since, &[&fence], &about, None)?[0];
    absent_before(&p[observer], since, at, tok, what)
}
