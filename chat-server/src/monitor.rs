//! The monitor: one thread that applies the backlog policy as time passes.
//!
//! Every tick (and at once when the total passes the budget) it looks at every open outbox:
//! - lines have waited and the client took no bytes for the stall deadline: cut off;
//! - the total is past the budget: cut off clients that have taken nothing for a while (stuck),
//!   longest first, until it is back under. A client still taking bytes is never cut for the
//!   budget: while the total stays over, flood control holds the senders back instead;
//! - the backlog of clients that took nothing for a while is marked stuck in the budget, so
//!   flood control slows senders for readers that are behind, never for readers that stopped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::budget::CutReason;
use crate::outbox::Outbox;
use crate::shared::Shared;

/// Longest time between two looks.
const MAX_TICK: Duration = Duration::from_millis(100);

/// How often to look for a given stall deadline: often enough to cut within a few percent of it.
pub(crate) fn tick_for(stall: Duration) -> Duration {
    (stall / 20).clamp(Duration::from_millis(5), MAX_TICK)
}

/// After how long without progress a client's backlog stops counting as pressure.
pub(crate) fn stuck_after(stall: Duration) -> Duration {
    (stall / 2).min(Duration::from_secs(1))
}

/// Runs until the server shuts down.
pub(crate) fn run(shared: &Shared) {
    let tick = tick_for(shared.config.stall_timeout);
    while !shared.is_shutting_down() {
        shared.delivery.budget.wait_alarm(tick);
        look(shared, Instant::now());
        crate::connection::expire_unregistered(shared, Instant::now());
    }
}

struct Waiting {
    outbox: Arc<Outbox>,
    since: Option<Instant>,
}

/// One look at every outbox; see the module docs.
pub(crate) fn look(shared: &Shared, now: Instant) {
    let stall = shared.config.stall_timeout;
    let budget = &shared.delivery.budget;
    let mut waiting = Vec::new();
    for outbox in &shared.outboxes() {
        let Some((bytes, since)) = outbox.status() else {
            continue;
        };
        if bytes == 0 {
            continue;
        }
        if let Some(idle) = since.map(|t| now.saturating_duration_since(t)) {
            if idle >= stall {
                outbox.cut(CutReason::Stalled(idle));
                continue;
            }
        }
        waiting.push(Waiting {
            outbox: outbox.clone(),
            since,
        });
    }
    let stuck_after = stuck_after(stall);
    let is_stuck = |w: &Waiting| {
        w.since
            .is_some_and(|t| now.saturating_duration_since(t) >= stuck_after)
    };
    if budget.over_limit() {
        let mut victims: Vec<&Waiting> = waiting.iter().filter(|w| is_stuck(w)).collect();
        victims.sort_by_key(|w| w.since);
        let limit = budget.limit();
        for w in victims {
            if !budget.over_limit() {
                break;
            }
            w.outbox.cut(CutReason::TotalBudget(limit));
        }
        waiting.retain(|w| w.outbox.closed().is_none());
    }
    for w in &waiting {
        w.outbox.mark_stuck(is_stuck(w));
    }
}
