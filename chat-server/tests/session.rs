//! The server's behaviour per requirement, driven over real sockets against an in-process server.

mod common;

use std::time::{Duration, Instant};

use chat_server::Config;
use common::{start, start_default, Client};

#[test]
fn rf3_rf12_newcomer_is_announced_with_its_address_and_sees_itself() {
    let server = start_default();
    let mut alice = Client::join(server.addr(), "alice");
    let mut bob = Client::connect(server.addr(), "bob");
    bob.expect_prefix("HELLO chat/1 ");
    bob.send("bob");
    bob.expect(&format!("WELCOME bob {}", bob.local()));
    bob.expect("USERS alice bob");
    alice.expect(&format!("JOIN bob {}", bob.local()));
    // Never told about itself.
    bob.expect_quiet();
}

#[test]
fn rf1_invalid_names_are_refused_and_another_is_asked_on_the_same_connection() {
    let server = start_default();
    let mut c = Client::connect(server.addr(), "c");
    c.expect_prefix("HELLO ");
    let too_long = "x".repeat(33);
    for bad in [
        "two words",
        "at@sign",
        "@lead",
        "/slash",
        too_long.as_str(),
        "tab\there",
    ] {
        c.send(bad);
        c.expect_err("invalid-name");
    }
    c.send("good");
    c.expect_prefix("WELCOME good ");
}

#[test]
fn rf2_taken_name_is_refused_ignoring_case_then_another_accepted() {
    let server = start_default();
    let _alice = Client::join(server.addr(), "Alice");
    let mut c = Client::connect(server.addr(), "second");
    c.expect_prefix("HELLO ");
    c.send("alice");
    c.expect_err("name-taken");
    c.send("ALICE");
    c.expect_err("name-taken");
    c.send("alice2");
    c.expect_prefix("WELCOME alice2 ");
    c.expect("USERS Alice alice2");
}

#[test]
fn rf5_public_message_reaches_all_others_and_is_not_echoed() {
    let server = start_default();
    let mut a = Client::join(server.addr(), "a");
    let mut b = Client::join(server.addr(), "b");
    let mut c = Client::join(server.addr(), "c");
    a.expect_prefix("JOIN b ");
    a.expect_prefix("JOIN c ");
    b.expect_prefix("JOIN c ");
    a.send("olá, pessoal");
    b.expect("MSG a olá, pessoal");
    c.expect("MSG a olá, pessoal");
    a.expect_quiet();
}

#[test]
fn rf6_private_message_reaches_only_its_target_matched_ignoring_case() {
    let server = start_default();
    let mut a = Client::join(server.addr(), "a");
    let mut bob = Client::join(server.addr(), "Bob");
    let mut c = Client::join(server.addr(), "c");
    bob.expect_prefix("JOIN c ");
    a.send("@bOB only for you");
    bob.expect("PRIV a only for you");
    // Fence: a's next public message must be c's very next line.
    a.send("fence");
    c.expect("MSG a fence");
    bob.expect("MSG a fence");
    a.expect_prefix("JOIN Bob");
    a.expect_prefix("JOIN c");
    a.expect_quiet();
}

#[test]
fn rf7_private_message_to_oneself_is_refused_and_reaches_nobody() {
    let server = start_default();
    let mut a = Client::join(server.addr(), "Ann");
    let mut b = Client::join(server.addr(), "b");
    a.expect_prefix("JOIN b");
    a.send("@ann talking to myself");
    a.expect_err("self-message");
    a.send("@ANN");
    a.expect_err("self-message");
    a.send("fence");
    b.expect("MSG Ann fence");
}

#[test]
fn private_message_errors_no_such_user_and_empty() {
    let server = start_default();
    let mut a = Client::join(server.addr(), "a");
    let _b = Client::join(server.addr(), "b");
    a.expect_prefix("JOIN b");
    a.send("@nobody hi");
    a.expect_err("no-such-user");
    a.send("@ hi");
    a.expect_err("no-such-user");
    a.send("@b");
    a.expect_err("empty-message");
    a.send("@b    ");
    a.expect_err("empty-message");
}

#[test]
fn users_command_lists_everyone_in_join_order() {
    let server = start_default();
    let mut a = Client::join(server.addr(), "zed");
    let _b = Client::join(server.addr(), "amy");
    a.expect_prefix("JOIN amy");
    a.send("/users");
    a.expect("USERS zed amy");
}

#[test]
fn unknown_command_is_refused_and_the_connection_kept() {
    let server = start_default();
    let mut a = Client::join(server.addr(), "a");
    a.send("/dance");
    a.expect_err("unknown-command");
    a.expect_quiet();
}

#[test]
fn rf8_rf9_quit_gets_bye_and_close_others_get_leave_and_name_is_free() {
    let server = start_default();
    let mut a = Client::join(server.addr(), "a");
    let mut b = Client::join(server.addr(), "b");
    a.expect_prefix("JOIN b");
    let b_addr = b.local();
    b.send("/quit");
    b.expect_prefix("BYE ");
    b.expect_eof();
    a.expect(&format!("LEAVE b {b_addr}"));
    let _b2 = Client::join(server.addr(), "B");
    a.expect_prefix("JOIN B ");
}

#[test]
fn rf8_lost_connection_gives_leave_and_frees_the_name() {
    let server = start_default();
    let mut a = Client::join(server.addr(), "a");
    let b = Client::join(server.addr(), "b");
    a.expect_prefix("JOIN b");
    let b_addr = b.local();
    b.close();
    a.expect(&format!("LEAVE b {b_addr}"));
    let _again = Client::join(server.addr(), "b");
}

#[test]
fn rf10_after_churn_new_users_still_join_and_chat() {
    let server = start_default();
    let mut watcher = Client::join(server.addr(), "watcher");
    for round in 0..20 {
        let name = format!("u{round}");
        let mut c = Client::join(server.addr(), &name);
        watcher.expect_prefix(&format!("JOIN {name} "));
        c.send("hi");
        watcher.expect(&format!("MSG {name} hi"));
        if round % 2 == 0 {
            c.send("/quit");
            c.expect_prefix("BYE");
        } else {
            c.close();
        }
        watcher.expect_prefix(&format!("LEAVE {name} "));
    }
    // Registration that never finished must not leak either.
    for _ in 0..5 {
        Client::connect(server.addr(), "half").close();
    }
    let mut late = Client::join(server.addr(), "late");
    late.send("still here");
    watcher.expect_prefix("JOIN late");
    watcher.expect("MSG late still here");
}

#[test]
fn rf4_concurrent_senders_are_delivered_completely_in_per_sender_order() {
    let server = start_default();
    const SENDERS: usize = 4;
    const LINES: usize = 300;
    let mut receiver = Client::join(server.addr(), "rx");
    let mut senders: Vec<Client> = (0..SENDERS)
        .map(|i| Client::join(server.addr(), &format!("s{i}")))
        .collect();
    for i in 0..SENDERS {
        receiver.expect_prefix(&format!("JOIN s{i} "));
    }
    let threads: Vec<_> = senders
        .drain(..)
        .map(|mut s| {
            std::thread::spawn(move || {
                for n in 0..LINES {
                    s.send(&format!("line {n}"));
                }
                s
            })
        })
        .collect();
    let mut next = [0usize; SENDERS];
    for _ in 0..SENDERS * LINES {
        let line = receiver.line().expect("line");
        let rest = line.strip_prefix("MSG s").expect("a MSG");
        let (who, text) = rest.split_once(' ').unwrap();
        let who: usize = who.parse().unwrap();
        assert_eq!(text, format!("line {}", next[who]), "{}", receiver.dump());
        next[who] += 1;
    }
    assert_eq!(next, [LINES; SENDERS]);
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn overlong_line_is_refused_and_the_connection_kept() {
    let server = start(Config {
        max_line: 100,
        ..Config::default()
    });
    let mut a = Client::join(server.addr(), "a");
    let mut b = Client::join(server.addr(), "b");
    a.expect_prefix("JOIN b");
    a.send(&"z".repeat(101));
    a.expect_err("line-too-long");
    a.send(&"z".repeat(100));
    b.expect(&format!("MSG a {}", "z".repeat(100)));
}

#[test]
fn overlong_name_line_is_refused_during_registration() {
    let server = start(Config {
        max_line: 50,
        ..Config::default()
    });
    let mut c = Client::connect(server.addr(), "c");
    c.expect_prefix("HELLO");
    c.send(&"n".repeat(500));
    c.expect_err("line-too-long");
    c.send("fine");
    c.expect_prefix("WELCOME fine");
}

#[test]
fn invalid_utf8_is_refused_and_the_connection_kept() {
    let server = start_default();
    let mut a = Client::join(server.addr(), "a");
    let mut b = Client::join(server.addr(), "b");
    a.expect_prefix("JOIN b");
    a.send_raw(b"bad \xff\xfe bytes\n");
    a.expect_err("invalid-utf8");
    a.send("ok");
    b.expect("MSG a ok");
}

#[test]
fn crlf_split_writes_and_empty_lines_are_handled() {
    let server = start_default();
    let mut a = Client::connect(server.addr(), "a");
    a.expect_prefix("HELLO");
    a.send_raw(b"\r\n\nal");
    a.send_raw(b"ice\r\n");
    a.expect_prefix("WELCOME alice ");
    a.expect("USERS alice");
    let mut b = Client::join(server.addr(), "b");
    for piece in ["he", "llo", " wor", "ld\r", "\n"] {
        a.send_raw(piece.as_bytes());
    }
    a.send_raw(b"\n\r\n");
    b.expect("MSG alice hello world");
    b.expect_quiet();
}

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
