//! Admission: one address, or a crowd of connections that never register, cannot lock other
//! users out. Per-address limits answered with `ERR too-many-connections`, the oldest
//! unregistered connection dropped with `ERR timeout` to make room, a shortened registration
//! deadline while many wait, and refusals counted by reason.

mod common;

use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use chat_server::Config;
use common::scrape::scrape;
use common::{start, Client, TIMEOUT};

#[test]
fn an_address_past_its_limit_gets_too_many_connections_and_other_addresses_get_in() {
    let server = start(Config {
        max_per_address: 2,
        limit_loopback: true,
        metrics: Some("127.0.0.1:0".parse().unwrap()),
        ..Config::default()
    });
    let mut held = Vec::new();
    for i in 0..2 {
        let mut c = Client::connect_from(server.addr(), "127.0.0.1", &format!("held{i}"));
        c.expect_prefix("HELLO ");
        held.push(c);
    }
    let mut refused = Client::connect_from(server.addr(), "127.0.0.1", "third");
    let err = refused.expect_prefix("ERR too-many-connections ");
    assert!(err.contains("at most 2"), "{err}");
    refused.expect_eof();
    // Another address is not affected.
    let other = Client::register(
        Client::connect_from(server.addr(), "127.0.0.2", "bob"),
        "bob",
    );
    // Nor is the same address once it holds fewer.
    held.pop().unwrap().close();
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let mut again = Client::connect_from(server.addr(), "127.0.0.1", "again");
        if again.line().is_some_and(|l| l.starts_with("HELLO ")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the address never got its slot back"
        );
        thread::yield_now();
    }
    let scraped = scrape(server.metrics_addr().unwrap());
    let refused = "batepapo_connections_refused_total{reason=\"per_address\"}";
    assert!(
        scraped.get(refused).is_some_and(|n| *n >= 1.0),
        "{scraped:?}"
    );
    let s = server.metrics();
    assert!(s.refused_per_address >= 1, "{s:?}");
    assert_eq!(s.connections_refused, s.refused_per_address, "{s:?}");
    drop(other);
}

#[test]
fn loopback_is_exempt_from_the_address_limit_by_default() {
    let server = start(Config {
        max_per_address: 2,
        ..Config::default()
    });
    let mut held = Vec::new();
    for i in 0..6 {
        let mut c = Client::connect(server.addr(), &format!("c{i}"));
        c.expect_prefix("HELLO ");
        held.push(c);
    }
    assert_eq!(server.metrics().connections_refused, 0);
}

#[test]
fn the_oldest_unregistered_connection_is_dropped_first_with_err_timeout() {
    let server = start(Config {
        max_clients: 8,
        max_unregistered: Some(3),
        ..Config::default()
    });
    let mut silent: Vec<Client> = (0..3)
        .map(|i| {
            let mut c = Client::connect(server.addr(), &format!("silent{i}"));
            c.expect_prefix("HELLO ");
            c
        })
        .collect();
    let mut newest = Client::connect(server.addr(), "newest");
    newest.expect_prefix("HELLO ");
    let oldest = &mut silent[0];
    let err = oldest.expect_prefix("ERR timeout ");
    assert!(err.contains("room for newer connections"), "{err}");
    oldest.expect_eof();
    // The others kept their place: they can still register, and so can the newest.
    for (c, name) in silent[1..].iter_mut().zip(["second", "third"]) {
        c.send(name);
        c.expect_prefix(&format!("WELCOME {name} "));
    }
    newest.send("newest");
    newest.expect_prefix("WELCOME newest ");
    assert_eq!(server.metrics().unregistered_dropped, 1);
}

#[test]
fn a_server_full_of_registered_users_refuses_with_server_full() {
    let server = start(Config {
        max_clients: 2,
        ..Config::default()
    });
    let _a = Client::join(server.addr(), "a");
    let _b = Client::join(server.addr(), "b");
    let mut c = Client::connect(server.addr(), "c");
    c.expect_err("server-full");
    c.expect_eof();
    assert_eq!(server.metrics().refused_per_address, 0);
}

#[test]
fn a_user_from_elsewhere_who_registers_at_once_is_never_dropped_or_refused_during_an_attack() {
    const ATTACK: usize = 400;
    const USERS: usize = 30;
    let server = start(Config {
        max_clients: 64,
        ..Config::default()
    });
    let addr = server.addr();
    // Silent connections from one address, as fast as they open, all held until the end.
    let attacker = thread::spawn(move || {
        let mut held = Vec::new();
        for _ in 0..ATTACK {
            match TcpStream::connect(addr) {
                Ok(s) => held.push(s),
                Err(_) => break,
            }
        }
        held
    });
    for i in 0..USERS {
        let name = format!("user{i}");
        let c = Client::register(Client::connect_from(addr, "127.0.0.2", &name), &name);
        c.close();
    }
    let held = attacker.join().unwrap();
    // The attacker's connects return once the kernel has queued them, before the server has
    // accepted them: wait (bounded) until it has seen every one, so a refusal would show.
    let seen = (held.len() + USERS) as u64;
    let deadline = Instant::now() + TIMEOUT;
    let mut s = server.metrics();
    while s.connections_accepted < seen && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
        s = server.metrics();
    }
    assert!(
        s.connections_accepted >= seen,
        "the server never saw them all: {s:?}"
    );
    assert_eq!(s.connections_refused, 0, "{s:?}");
    assert!(
        s.unregistered_dropped > 0,
        "the attack never filled the share; the test proves nothing: {s:?} ({} held)",
        held.len()
    );
}

#[test]
fn while_many_wait_for_a_name_the_registration_deadline_shortens() {
    let server = start(Config {
        max_clients: 16,
        max_unregistered: Some(4),
        name_timeout: Duration::from_secs(30),
        ..Config::default()
    });
    let started = Instant::now();
    // Three of four: more than half the share, so the deadline falls to 5 s (a sixth of 30).
    let mut silent: Vec<Client> = (0..3)
        .map(|i| {
            let mut c = Client::connect(server.addr(), &format!("silent{i}"));
            c.expect_prefix("HELLO ");
            c
        })
        .collect();
    for c in &mut silent {
        c.expect_prefix("ERR timeout ");
        c.expect_eof();
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_secs(20),
        "dropped after {took:?}; the shortened deadline is 5 s, the normal one 30 s"
    );
}

#[test]
fn refusals_are_logged_once_per_address_not_once_per_connection() {
    let mut server = common::ServerProcess::spawn(&[
        "--listen",
        "127.0.0.1:0",
        "--max-per-address",
        "1",
        "--limit-loopback",
        "true",
    ]);
    let addr = server.addr;
    let mut held = Client::connect(addr, "held");
    held.expect_prefix("HELLO ");
    for i in 0..5 {
        let mut c = Client::connect(addr, &format!("refused{i}"));
        c.expect_prefix("ERR too-many-connections ");
        c.expect_eof();
    }
    let mut other = Client::connect_from(addr, "127.0.0.2", "other");
    other.expect_prefix("HELLO ");
    server.signal(libc::SIGTERM);
    let (_, log) = server.wait_exit(TIMEOUT).expect("the server exits");
    let refusals: Vec<&str> = log.lines().filter(|l| l.contains("refused ")).collect();
    assert_eq!(refusals.len(), 1, "{log}");
    assert!(
        refusals[0]
            .contains("refused 127.0.0.1: it holds as many connections as one address may (1, --max-per-address)"),
        "{}",
        refusals[0]
    );
}
