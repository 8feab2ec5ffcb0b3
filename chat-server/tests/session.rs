//! What only the server can be tested for, over real sockets against an in-process server: its
//! settings (registration timeout, client limit) and its shutdown. The behaviour every chat/1
//! server owes is graded by the conformance suite, which `cargo test --workspace` runs against
//! this server case by case; the tests that repeated those cases here are gone.

mod common;

use std::time::{Duration, Instant};

use chat_server::Config;
use common::{start, start_default, Client};

#[test]
fn registration_times_out_with_err_timeout_then_close() {
    let server = start(Config {
        name_timeout: Duration::from_millis(300),
        ..Config::default()
    });
    let mut c = Client::connect(server.addr(), "slowpoke");
    c.expect_prefix("HELLO");
    c.expect_err("timeout");
    c.expect_eof();
}

#[test]
fn server_full_is_refused_then_closed_and_room_reopens() {
    let server = start(Config {
        max_clients: 2,
        ..Config::default()
    });
    let _a = Client::join(server.addr(), "a");
    let b = Client::join(server.addr(), "b");
    let mut c = Client::connect(server.addr(), "c");
    c.expect_err("server-full");
    c.expect_eof();
    b.close();
    // The slot is released when b's session ends; a new client eventually gets in.
    let deadline = Instant::now() + common::TIMEOUT;
    loop {
        let mut d = Client::connect(server.addr(), "d");
        let first = d.line().expect("a line");
        if first.starts_with("HELLO") {
            break;
        }
        assert!(first.starts_with("ERR server-full"), "{}", d.dump());
        assert!(Instant::now() < deadline, "the slot never reopened");
        std::thread::yield_now();
    }
}

#[test]
fn shutdown_says_bye_to_everyone_and_finishes() {
    let server = start_default();
    let mut a = Client::join(server.addr(), "a");
    let mut b = Client::join(server.addr(), "b");
    let mut pending = Client::connect(server.addr(), "pending");
    pending.expect_prefix("HELLO");
    a.expect_prefix("JOIN b");
    let started = Instant::now();
    server.stop().expect("clean stop");
    assert!(started.elapsed() < Duration::from_secs(5));
    for c in [&mut a, &mut b, &mut pending] {
        c.expect_prefix("BYE ");
        c.expect_eof();
    }
}

#[test]
fn shutdown_finishes_even_when_a_client_never_reads() {
    let server = start(Config {
        max_backlog: 1 << 30,
        backlog_budget: Some(1 << 30),
        ..Config::default()
    });
    let mut talker = Client::join(server.addr(), "talker");
    let stuck = Client::join(server.addr(), "stuck");
    talker.expect_prefix("JOIN stuck");
    let text = "q".repeat(4000);
    for _ in 0..2000 {
        talker.send(&text);
    }
    talker.expect_quiet();
    let started = Instant::now();
    server.stop().expect("clean stop");
    assert!(started.elapsed() < Duration::from_secs(10));
    drop(stuck);
}
