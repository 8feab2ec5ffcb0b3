//! What only the server can be tested for, over real sockets against an in-process server: its
//! settings (registration timeout, client limit) and its shutdown. The behaviour every chat/1
//! server owes is graded by the conformance suite, which `cargo test --workspace` runs against
//! this server case by case; the tests that repeated those cases here are gone.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
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
fn a_client_still_sending_at_shutdown_gets_its_bye_rather_than_a_reset() {
    // A socket shut both ways while its peer is still sending answers with a reset, and the
    // reset throws away what the server's side had not sent yet. So a client whose receive
    // window is full (it reads a moment late) and that is still talking would lose the lines
    // owed to it and its BYE. The server keeps the connection open while the peer has not
    // taken everything (up to its linger time), so the client reads everything, BYE last.
    let server = start_default();
    let mut talker = Client::register(
        Client::connect_small_window(server.addr(), "talker"),
        "talker",
    );
    let mut source = Client::join(server.addr(), "source");
    talker.expect_prefix("JOIN source");
    let mut witness = Client::join(server.addr(), "witness");
    talker.expect_prefix("JOIN witness");
    source.expect_prefix("JOIN witness");
    // 8 KB for the talker: more than its window, well within the server's send buffer.
    let lines = 80;
    for i in 0..lines {
        source.send(&format!("{i:03} {}", "s".repeat(96)));
    }
    let last = format!("MSG source {:03} ", lines - 1);
    while !witness.expect_prefix("MSG source ").starts_with(&last) {}
    let (stopped_tx, stopped) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = stopped_tx.send(server.stop());
    });
    // The witness's BYE: the shutdown has queued and written every BYE.
    witness.expect_prefix("BYE ");
    // Then the talker talks: with both directions of its socket shut, the kernel would reset
    // it at its first line (and its writes would soon fail); kept open, lines keep going.
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let flooding = talker.flood_in_background(stop.clone(), sent.clone(), 1_000_000);
    let deadline = Instant::now() + Duration::from_secs(10);
    while sent.load(Ordering::Relaxed) < 500 && !flooding.is_finished() {
        assert!(
            Instant::now() < deadline,
            "the talker's lines neither went nor failed"
        );
        std::thread::yield_now();
    }
    for i in 0..lines {
        talker.expect_prefix(&format!("MSG source {i:03} "));
    }
    talker.expect_prefix("BYE ");
    stop.store(true, Ordering::Relaxed);
    flooding.join().unwrap();
    drop(talker);
    stopped
        .recv_timeout(Duration::from_secs(10))
        .expect("the server stops once the talker has everything")
        .expect("clean stop");
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
