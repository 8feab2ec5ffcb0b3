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
use crate::i18n::{catalog, Msg, Text};
use crate::t;
use load::{concurrent, stopped_reader};
use messages::{private, public, self_private};
use presence::{
    after_leaves, bad_names, join_after_break, join_notice, leave_by_breaking, leave_by_closing,
    leave_by_quit_line, own_address, taken_name,
};

mod load;
mod messages;
mod presence;

/// A free-form case. Its clause is its requirement, which every report already states beside
/// it, so the clause is left empty rather than said twice.
fn case(id: &str, rf: &str, level: Level, title: Msg, f: CaseFn) -> Case {
    Case::new(id, rf, level, title, Body::Code(f)).with_clause("")
}

/// The cases for a plain-protocol run. The quit-line case is there only when a quit line is
/// given (`--quit-line`).
pub fn cases(settings: &Settings) -> Vec<Case> {
    let mut all = vec![
        case(
            "P-RF1-01",
            "RF1",
            Should,
            catalog::TITLE_BAD_NAMES,
            bad_names,
        ),
        case(
            "P-RF2-01",
            "RF2",
            Must,
            catalog::TITLE_TAKEN_NAME,
            taken_name,
        ),
        case(
            "P-RF3-01",
            "RF3",
            Must,
            catalog::TITLE_JOIN_NOTICE,
            join_notice,
        ),
        case(
            "P-RF4-01",
            "RF4",
            Must,
            catalog::TITLE_CONCURRENT,
            concurrent,
        ),
        case(
            "P-RF4-02",
            "RF4",
            Must,
            catalog::TITLE_STOPPED_READER,
            stopped_reader,
        )
        .alone(),
        case("P-RF5-01", "RF5", Must, catalog::TITLE_PUBLIC, public),
        case("P-RF6-01", "RF6", Must, catalog::TITLE_PRIVATE, private),
        case(
            "P-RF7-01",
            "RF7",
            Should,
            catalog::TITLE_SELF_PRIVATE,
            self_private,
        ),
        case(
            "P-RF8-01",
            "RF8",
            Must,
            catalog::TITLE_LEAVE_CLOSING,
            leave_by_closing,
        ),
        case(
            "P-RF8-03",
            "RF8",
            Must,
            catalog::TITLE_LEAVE_BREAKING,
            leave_by_breaking,
        ),
        case(
            "P-RF10-01",
            "RF10",
            Must,
            catalog::TITLE_AFTER_LEAVES,
            after_leaves,
        ),
        case(
            "P-RF10-02",
            "RF10",
            Must,
            catalog::TITLE_JOIN_AFTER_BREAK,
            join_after_break,
        ),
        case(
            "P-RF12-01",
            "RF12",
            Must,
            catalog::TITLE_OWN_ADDRESS,
            own_address,
        ),
    ];
    if settings.quit_line.is_some() {
        all.push(case(
            "P-RF8-02",
            "RF8",
            Must,
            catalog::TITLE_LEAVE_QUIT_LINE,
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
    what: Text,
) -> Result<(), Failure> {
    if p.got_between(since, fence, tok) {
        return Err(Failure::at(
            &p.label,
            what,
            t!(catalog::IT_ARRIVED, p.shown_between(since, fence)),
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
    what: Text,
) -> Result<(), Failure> {
    let fence = token(ctx, &format!("fence{sender}x{observer}"));
    p[sender].send(&fence)?;
    let about = t!(catalog::LATER_MESSAGE_FROM, p[sender].label.as_str());
    let at = p[observer].wait_for(since, &[&fence], about, None)?[0];
    absent_before(&p[observer], since, at, tok, what)
}
