//! Framing, limits and error handling on raw bytes (PROTO), plus leave-state checks.

use std::time::{Duration, Instant};

use super::case;
use crate::case::{Case, Ctx, Failure, Level::*};
use crate::chat1::wire::Wire;

pub(super) fn cases() -> Vec<Case> {
    let full = case("PROTO-09", "PROTO", Should, "when full the server answers ERR server-full and closes, and takes clients again once room frees", server_full).alone();
    vec![
        case("PROTO-01", "PROTO", Must, "a line over the limit gets line-too-long; the connection stays and a line at the limit passes", overlong_line),
        case("PROTO-02", "PROTO", Must, "a line that is not UTF-8 gets invalid-utf8 and the connection stays", invalid_utf8),
        case("PROTO-03", "PROTO", Must, "a line split across many small writes is one line", split_writes),
        case("PROTO-04", "PROTO", Must, "CRLF line endings are accepted and the CR is dropped", crlf),
        case("PROTO-08", "PROTO", Must, "no name within the registration timeout gives ERR timeout and a close", registration_timeout),
        full,
        case("PROTO-10", "PROTO", Must, "several lines glued into one write are each handled", glued_lines),
        case("PROTO-11", "PROTO", Must, "an overlong line during registration gets line-too-long, and registration still works", overlong_name_line),
        case("PROTO-13", "PROTO", Must, "server lines end with LF alone and the greeting is HELLO chat/1", server_line_endings),
        case("PROTO-14", "PROTO", Must, "a line of exactly the limit ending in CRLF is accepted: the CR does not count", limit_with_crlf),
        case("PROTO-15", "PROTO", Must, "an overlong line arriving in many pieces is discarded whole; the next line is intact", overlong_in_pieces),
        case("PROTO-16", "PROTO", Should, "an overlong line is refused as soon as it passes the limit, before its end arrives", overlong_refused_early),
        case("PROTO-17", "PROTO", Should, "a last line ended by closing the connection instead of a LF is still taken, then the user leaves", unterminated_last_line),
        case("RF9-02", "RF9", Must, "a user who quit is no longer listed by /users", gone_from_users),
    ]
}

fn pair(ctx: &Ctx) -> Result<(Wire, Wire), Failure> {
    let mut a = Wire::join(ctx, "alice")?;
    let mut b = Wire::join(ctx, "bob")?;
    a.expect(&format!("JOIN {} {}", b.name, b.local_addr()))?;
    b.expect_quiet()?;
    Ok((a, b))
}

fn overlong_line(ctx: &mut Ctx) -> Result<(), Failure> {
    let (mut a, mut b) = pair(ctx)?;
    let limit = ctx.target.max_line;
    a.send(&"x".repeat(limit + 1))?;
    a.expect("ERR line-too-long *")?;
    // Far beyond the limit, sent in one go: still only that line is lost.
    a.send(&"y".repeat(limit * 4))?;
    a.expect("ERR line-too-long *")?;
    let at_limit = "w".repeat(limit);
    a.send(&at_limit)?;
    b.expect(&format!("MSG {} {at_limit}", a.name))?;
    a.send("still connected")?;
    b.expect(&format!("MSG {} still connected", a.name))?;
    Ok(())
}

fn limit_with_crlf(ctx: &mut Ctx) -> Result<(), Failure> {
    let (mut a, mut b) = pair(ctx)?;
    let at_limit = "c".repeat(ctx.target.max_line);
    a.send_raw(format!("{at_limit}\r\n").as_bytes())?;
    b.expect(&format!("MSG {} {at_limit}", a.name))?;
    Ok(())
}

fn overlong_in_pieces(ctx: &mut Ctx) -> Result<(), Failure> {
    let (mut a, mut b) = pair(ctx)?;
    let _ = a.stream().set_nodelay(true);
    let piece = "p".repeat(ctx.target.max_line / 4 + 1);
    // Past the limit after five pieces, and five more while it is being discarded.
    for _ in 0..10 {
        a.send_raw(piece.as_bytes())?;
        a.pump()?;
    }
    a.send_raw(b"\nintact\n")?;
    a.expect("ERR line-too-long *")?;
    b.expect(&format!("MSG {} intact", a.name))?;
    a.expect_quiet()
}

fn overlong_refused_early(ctx: &mut Ctx) -> Result<(), Failure> {
    let (mut a, mut b) = pair(ctx)?;
    // No LF yet: a server that waits for the end of the line would buffer without limit.
    a.send_raw("e".repeat(ctx.target.max_line * 2).as_bytes())?;
    a.expect("ERR line-too-long *")?;
    a.send_raw(b"eee\nafter\n")?;
    b.expect(&format!("MSG {} after", a.name))?;
    Ok(())
}

fn invalid_utf8(ctx: &mut Ctx) -> Result<(), Failure> {
    let (mut a, mut b) = pair(ctx)?;
    a.send_raw(b"broken \xff\xfe\xc3 bytes\n")?;
    a.expect("ERR invalid-utf8 *")?;
    a.send("valid again: ação")?;
    b.expect(&format!("MSG {} valid again: ação", a.name))?;
    Ok(())
}

fn split_writes(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut a = Wire::hello(ctx, "alice")?;
    let _ = a.stream().set_nodelay(true);
    let name = format!("{}\n", a.name);
    for b in name.as_bytes() {
        a.send_raw(std::slice::from_ref(b))?;
    }
    a.expect(&format!("WELCOME {} {}", a.name, a.local_addr()))?;
    a.expect("USERS *")?;
    let mut b = Wire::join(ctx, "bob")?;
    let line = format!("@{} piece by piece, ação\n", b.name);
    for b in line.as_bytes() {
        a.send_raw(std::slice::from_ref(b))?;
    }
    b.expect(&format!("PRIV {} piece by piece, ação", a.name))?;
    Ok(())
}

fn unterminated_last_line(ctx: &mut Ctx) -> Result<(), Failure> {
    let (mut a, mut b) = pair(ctx)?;
    let (name, addr) = (a.name.clone(), a.local_addr());
    a.send_raw(b"last words without a newline")?;
    // Half-close: the server reads end of stream after the bytes, as from a client that exits.
    a.stream()
        .shutdown(std::net::Shutdown::Write)
        .map_err(|e| Failure::at("alice", "to close its sending side", e.to_string()))?;
    b.expect(&format!("MSG {name} last words without a newline"))?;
    b.expect(&format!("LEAVE {name} {addr}"))?;
    Ok(())
}

fn crlf(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut a = Wire::hello(ctx, "alice")?;
    let name = a.name.clone();
    a.send_raw(format!("{name}\r\n").as_bytes())?;
    a.expect(&format!("WELCOME {name} {}", a.local_addr()))?;
    a.expect("USERS *")?;
    let mut b = Wire::join(ctx, "bob")?;
    a.expect(&format!("JOIN {} *", b.name))?;
    a.send_raw(b"windows style\r\n")?;
    b.expect(&format!("MSG {name} windows style"))?;
    a.send_raw(format!("@{} private\r\n", b.name).as_bytes())?;
    b.expect(&format!("PRIV {name} private"))?;
    a.send_raw(b"/users\r\n")?;
    a.expect("USERS *")?;
    Ok(())
}

fn glued_lines(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut a = Wire::hello(ctx, "alice")?;
    let mut b = Wire::join(ctx, "bob")?;
    let name = a.name.clone();
    let glued = format!("{name}\nfirst\nsecond\n@{} third\n/users\n", b.name);
    a.send_raw(glued.as_bytes())?;
    a.expect(&format!("WELCOME {name} *"))?;
    a.expect("USERS *")?;
    b.expect(&format!("JOIN {name} *"))?;
    b.expect(&format!("MSG {name} first"))?;
    b.expect(&format!("MSG {name} second"))?;
    b.expect(&format!("PRIV {name} third"))?;
    a.expect("USERS *")?;
    Ok(())
}

fn overlong_name_line(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut a = Wire::hello(ctx, "alice")?;
    a.send(&"n".repeat(ctx.target.max_line + 10))?;
    a.expect("ERR line-too-long *")?;
    a.register()
}

fn registration_timeout(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut a = Wire::hello(ctx, "sleepy")?;
    let allowed = ctx
        .target
        .scaled(ctx.target.name_timeout.mul_f64(1.5) + Duration::from_secs(5));
    a.set_timeout(allowed);
    a.expect("ERR timeout *")?;
    a.expect_eof()
}

fn server_line_endings(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut a = Wire::connect(ctx, "alice")?;
    let mut lines = Vec::new();
    let hello = a
        .next_line()?
        .ok_or_else(|| Failure::at("alice", "HELLO", "end of stream"))?;
    lines.push(hello.clone());
    if !hello.starts_with("HELLO chat/1 ") {
        return Err(Failure::at(
            "alice",
            "\"HELLO chat/1 ...\"",
            format!("{hello:?}"),
        ));
    }
    let name = a.name.clone();
    a.send(&name)?;
    a.expect(&format!("WELCOME {name} *"))?;
    a.expect("USERS *")?;
    a.send("/nope")?;
    a.expect("ERR unknown-command *")?;
    a.send("/quit")?;
    a.expect("BYE *")?;
    // `expect` matches whole lines, so a CR before the LF would already have failed above;
    // this checks the line that no pattern pins down.
    if hello.ends_with('\r') {
        return Err(Failure::at(
            "alice",
            "lines ended by LF alone",
            "a CR before the LF",
        ));
    }
    Ok(())
}

fn gone_from_users(ctx: &mut Ctx) -> Result<(), Failure> {
    let (mut a, mut b) = pair(ctx)?;
    let gone = b.name.clone();
    b.send("/quit")?;
    b.expect("BYE *")?;
    a.expect(&format!("LEAVE {gone} *"))?;
    a.send("/users")?;
    let users = a.expect("USERS *")?;
    if users.split(' ').any(|u| u.eq_ignore_ascii_case(&gone)) {
        return Err(Failure::at("alice", format!("USERS without {gone}"), users));
    }
    Ok(())
}

fn server_full(ctx: &mut Ctx) -> Result<(), Failure> {
    let cap = ctx.target.max_connections;
    let mut held: Vec<Wire> = Vec::new();
    let mut refused = None;
    // Registered users fill it: a server may make room by dropping connections that have not
    // registered, so silent ones would not.
    for i in 0..cap {
        let mut w = Wire::connect(ctx, &format!("fill{i}"))?;
        let first = w
            .next_line()?
            .ok_or_else(|| Failure::at(&w.label, "HELLO or ERR server-full", "end of stream"))?;
        if first.starts_with("HELLO ") {
            w.register()?;
            held.push(w);
        } else if first.starts_with("ERR server-full ") {
            refused = Some(w);
            break;
        } else if first.starts_with("ERR too-many-connections ") {
            return Err(Failure::at(
                &w.label,
                "HELLO or ERR server-full",
                format!(
                    "{first:?}: the server limits connections per address before it is full; \
                     grade from loopback or raise that limit to check this case"
                ),
            ));
        } else {
            return Err(Failure::at(
                &w.label,
                "HELLO or ERR server-full",
                format!("{first:?}"),
            ));
        }
    }
    let Some(mut refused) = refused else {
        return Err(Failure::new(
            format!("ERR server-full within {cap} connections"),
            format!("{cap} connections all got HELLO (raise --max-connections if the server allows more)"),
        ));
    };
    refused.expect_eof()?;
    // Free one slot, then a newcomer must eventually be let in.
    if let Some(w) = held.pop() {
        w.close();
    }
    let deadline = Instant::now() + ctx.target.read_timeout();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut w = Wire::connect(ctx, &format!("retry{attempt}"))?;
        match w.next_line()? {
            Some(l) if l.starts_with("HELLO ") => return Ok(()),
            Some(l) if l.starts_with("ERR server-full ") && Instant::now() < deadline => {
                std::thread::yield_now();
            }
            other => {
                return Err(Failure::at(
                    &w.label,
                    "HELLO once a slot was freed",
                    format!("{other:?}"),
                ))
            }
        }
    }
}
