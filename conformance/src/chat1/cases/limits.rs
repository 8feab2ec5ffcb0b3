//! Admission under abuse (RF4: a stuck connection blocks nobody): connections that never
//! register, many of them from one address, must not lock out a user who does. The contract
//! leaves limits to the server, so this is graded SHOULD; the reference server drops the oldest
//! silent connection of the busiest address to make room, and limits connections per address.

use std::net::{IpAddr, Ipv4Addr};

use super::case;
use crate::case::{Case, Ctx, Failure, Level::*};
use crate::chat1::wire::Wire;

pub(super) fn cases() -> Vec<Case> {
    vec![case(
        "RF4-10",
        "RF4",
        Should,
        "many connections that never send a name, from one address, do not stop a user from another address from registering and chatting",
        silent_crowd,
    )
    .alone()]
}

/// Another loopback address for the users, when the server is on IPv4 loopback (every address
/// of 127.0.0.0/8 is loopback on Linux); otherwise the grader's own.
fn other_address(ctx: &Ctx) -> Option<IpAddr> {
    match ctx.target.addr.ip() {
        IpAddr::V4(ip) if ip.is_loopback() => {
            let own = u32::from(ip);
            // The silent crowd comes from the system's choice, the server's own address.
            let other = if own & 0xff == 2 {
                own + 1
            } else {
                (own & !0xff) | 2
            };
            Some(IpAddr::V4(Ipv4Addr::from(other)))
        }
        _ => None,
    }
}

fn silent_crowd(ctx: &mut Ctx) -> Result<(), Failure> {
    let cap = ctx.target.max_connections;
    let mut crowd = Vec::new();
    let mut limited = None;
    for i in 0..cap {
        let Ok(mut w) = Wire::connect(ctx, &format!("silent{i}")) else {
            break;
        };
        match w.next_line()? {
            Some(l) if l.starts_with("HELLO ") => crowd.push(w),
            Some(l) if l.starts_with("ERR too-many-connections ") => {
                limited = Some(l);
                break;
            }
            // Full, or closed: the crowd is as big as this server lets it be.
            _ => break,
        }
    }
    ctx.transcript.record(
        "silent",
        "--",
        &format!("{} connections opened and held without a name", crowd.len()),
    );
    let from = other_address(ctx);
    if from.is_none() && limited.is_some() {
        // One address cannot crowd it out: that is the protection. A user from another
        // address cannot be tried from here.
        ctx.transcript.record(
            "silent",
            "--",
            "the server limits connections per address; not a loopback server, so no other address to try",
        );
        return Ok(());
    }
    let mut users = Vec::new();
    for label in ["alice", "bob"] {
        let mut w = Wire::connect_from(ctx, label, from)?;
        let first = w.next_line()?;
        if !first.as_deref().is_some_and(|l| l.starts_with("HELLO ")) {
            return Err(Failure::at(
                label,
                format!(
                    "HELLO, with {} silent connections from one address open",
                    crowd.len()
                ),
                format!("{first:?}"),
            ));
        }
        w.register()?;
        users.push(w);
    }
    let (alice, bob) = users.split_at_mut(1);
    let (alice, bob) = (&mut alice[0], &mut bob[0]);
    alice.send("still here")?;
    bob.expect_skipping_presence(&format!("MSG {} still here", alice.name))?;
    for w in crowd {
        w.close();
    }
    Ok(())
}
