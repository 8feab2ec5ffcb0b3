//! Is the server still working? Asked after a case fails (was it the server's defect, or did
//! the server die?) and, on a server the grader cannot restart, after every case.
//!
//! Three questions, cheapest first: did the process exit (the [`Watch`] knows), does it still
//! accept connections (the kernel's accept queue says whether a connection waits unaccepted),
//! and, for a free-form server, does it still relay (two newcomers join; a server that sends
//! them nothing at all, not even a refusal, for 5 s has stopped).

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::case::{Ctx, Target};
use crate::plain::peer::Peer;
use crate::watch::Broke;

/// How the server at `target` is broken, if it is; `relay` also asks whether a free-form
/// server still relays.
pub fn check(target: &Target, relay: bool) -> Option<Broke> {
    if let Some(b) = target.broke() {
        return Some(b);
    }
    let patience = target.scaled(Duration::from_secs(2));
    let stream = match accepting(target.addr, patience) {
        Ok(s) => s,
        Err(b) => return Some(b),
    };
    drop(stream);
    if relay {
        if let Some(b) = relaying(target) {
            return Some(b);
        }
    }
    // It may have died of the probe itself.
    target.broke()
}

/// Connects and, where the kernel's tables can be read, waits until the server accepted it.
pub fn accepting(addr: SocketAddr, patience: Duration) -> Result<TcpStream, Broke> {
    let stream = TcpStream::connect_timeout(&addr, patience).map_err(|e| {
        let seen = match e.kind() {
            std::io::ErrorKind::ConnectionRefused => format!(
                "connections are refused: nothing listens on port {} any more",
                addr.port()
            ),
            _ => format!("connecting failed: {e}"),
        };
        Broke::StoppedAccepting { seen }
    })?;
    if !addr.ip().is_loopback() {
        return Ok(stream);
    }
    let deadline = Instant::now() + patience;
    loop {
        match crate::kernel::accept_queue(addr.port()) {
            None | Some(0) => return Ok(stream),
            Some(_) if Instant::now() >= deadline => {
                return Err(Broke::StoppedAccepting {
                    seen: format!(
                        "a new connection waited {:.0} s in its queue and was never accepted",
                        patience.as_secs_f64()
                    ),
                })
            }
            // The kernel offers no wake-up for an accept by another process: look again soon.
            Some(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Two newcomers join; `Some` when neither got a single byte (a welcome, a refusal, the
/// other's join notice, a close) within the read timeout.
fn relaying(target: &Target) -> Option<Broke> {
    let ctx = Ctx::new(Target {
        watch: None,
        ..target.clone()
    });
    let started = Instant::now();
    let mut a = Peer::connect(&ctx, "checka", true).ok()?;
    let since_a = a.mark();
    let name = a.name.clone();
    a.send(&name).ok()?;
    let mut b = Peer::connect(&ctx, "checkb", true).ok()?;
    let name_b = b.name.clone();
    b.send(&name_b).ok()?;
    if a.wait_for(since_a, &[&name_b], "the second newcomer's name", None)
        .is_ok()
    {
        return None;
    }
    let silent = !a.got_any_since(0) && !b.got_any_since(0) && !a.ended() && !b.ended();
    silent.then(|| Broke::StoppedRelaying {
        seconds: started.elapsed().as_secs_f64(),
    })
}
