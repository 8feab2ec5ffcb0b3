//! Is the server still working? Asked after a case fails (was it the server's defect, or did
//! the server die?) and, on a server the grader cannot restart, after every case.
//!
//! Three questions, cheapest first: did the process exit (the [`Watch`] knows), does it still
//! accept connections (the kernel's accept queue says whether a connection waits unaccepted),
//! and, for a free-form server, does it still relay (two newcomers join; a server that sends
//! them nothing at all, not even a refusal, for 5 s has stopped).

use crate::i18n::catalog;
use crate::t;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::case::{Ctx, Target};
use crate::watch::Broke;

/// How the server at `target` is broken, if it is; `relay` also asks whether a free-form
/// server still relays.
pub fn check(target: &Target, relay: bool) -> Option<Broke> {
    if let Some(b) = target.broke() {
        return Some(b);
    }
    let patience = target.scaled(Duration::from_secs(2));
    let stream = match accepting(target.addr, patience, target.ns) {
        Ok(s) => s,
        Err(b) => {
            // A process that exited refuses connections before its monitor has told us: give
            // the monitor a moment, so the finding says it exited.
            let exited = target
                .watch
                .as_ref()
                .and_then(|w| w.wait(Duration::from_secs(1)));
            return Some(exited.map_or(b, |(exited, _)| exited));
        }
    };
    drop(stream);
    if relay {
        // A second pair a second later: a racy server may miss one announcement, a frozen one
        // misses both.
        if relaying(target).is_some() {
            std::thread::sleep(target.scaled(Duration::from_secs(1)));
            if let Some(b) = relaying(target) {
                return Some(b);
            }
        }
    }
    // It may have died of the probe itself.
    target.broke()
}

/// Connects and, where the kernel's tables can be read, waits until the server accepted it.
pub fn accepting(
    addr: SocketAddr,
    patience: Duration,
    ns: Option<u32>,
) -> Result<TcpStream, Broke> {
    let stream = crate::net::connect(ns, addr, patience, None).map_err(|e| {
        let seen = match e.kind() {
            std::io::ErrorKind::ConnectionRefused => {
                t!(catalog::REFUSED_NOTHING_LISTENS, addr.port())
            }
            _ => t!(catalog::CONNECTING_FAILED, crate::plain::peer::io_error(&e)),
        };
        Broke::StoppedAccepting { seen }
    })?;
    if !addr.ip().is_loopback() {
        return Ok(stream);
    }
    let deadline = Instant::now() + patience;
    loop {
        match crate::kernel::accept_queue(addr.port(), ns) {
            None | Some(0) => return Ok(stream),
            Some(_) if Instant::now() >= deadline => {
                return Err(Broke::StoppedAccepting {
                    seen: t!(
                        catalog::NEVER_ACCEPTED,
                        format!("{:.0}", patience.as_secs_f64())
                    ),
                })
            }
            // The kernel offers no wake-up for an accept by another process: look again soon.
            Some(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Two newcomers join; `Some` when the first is not told of the second within the read
/// timeout, although neither was refused (a server that closes them is full, not stopped).
/// The framing's detection showed that a working server tells it.
fn relaying(target: &Target) -> Option<Broke> {
    let ctx = Ctx::new(Target {
        watch: None,
        ..target.clone()
    });
    let started = Instant::now();
    // As cases join: the first is in (welcomed, or a moment passed) before the second comes,
    // so a working server cannot have announced the second before the first was listed.
    let a = crate::plain::join(&ctx, "checka", &[]).ok()?;
    let name = a.name.clone();
    if crate::plain::join(&ctx, "checkb", &[&a]).is_ok() {
        return None;
    }
    let since_a = 0;
    // A server that closes a newcomer it never welcomed is full, not stopped; one that
    // welcomed it by name and then dropped it broke.
    let welcomed = a
        .wait_for(
            since_a,
            &[&name],
            catalog::A_WELCOME.text(),
            Some(Duration::ZERO),
        )
        .is_ok();
    if a.ended() && !welcomed {
        return None;
    }
    Some(Broke::StoppedRelaying {
        seconds: started.elapsed().as_secs_f64(),
        silent: !a.got_any_since(0),
    })
}
