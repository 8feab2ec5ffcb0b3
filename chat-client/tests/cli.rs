//! The real `chat-client` binary in line mode, against an in-process reference server.

mod common;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;
use assert_cmd::Command as AssertCommand;
use common::{server, Client, TIMEOUT};
use predicates::prelude::*;

#[test]
fn rf11_no_server_running_is_a_clear_error_within_two_seconds() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let started = Instant::now();
    AssertCommand::new(cargo_bin("chat-client"))
        .args(["--server", &addr, "--name", "alice"])
        .timeout(TIMEOUT)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(&addr).and(predicate::str::contains("not running")));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn rf3_rf5_rf12_two_clients_chat_and_see_addresses() {
    let server = server();
    let mut alice = Client::named(server.addr(), "alice");
    let own = alice.seen()[0].clone();
    assert!(own.contains("your address is 127.0.0.1:"), "{own}");
    let mut bob = Client::named(server.addr(), "bob");
    let bob_addr = bob.seen()[0].rsplit(' ').next().unwrap().to_string();
    alice.expect(&format!("bob joined from {bob_addr}"));
    bob.type_line("olá alice");
    alice.expect("bob: olá alice");
    alice.type_line("oi bob");
    bob.expect("alice: oi bob");
}

#[test]
fn rf6_private_message_is_marked_and_reaches_only_its_target() {
    let server = server();
    let mut alice = Client::named(server.addr(), "alice");
    let mut bob = Client::named(server.addr(), "bob");
    let mut carol = Client::named(server.addr(), "carol");
    alice.expect("carol joined");
    bob.expect("carol joined");
    alice.type_line("@bob just you");
    bob.expect("[private] alice: just you");
    alice.type_line("everyone");
    let line = carol.expect("alice: ");
    assert_eq!(line, "alice: everyone", "carol saw {:?}", carol.seen());
}

#[test]
fn rf7_private_message_to_self_is_refused_locally() {
    let server = server();
    let mut alice = Client::named(server.addr(), "Alice");
    alice.type_line("@alice hello me");
    alice.expect("you cannot send a private message to yourself");
}

#[test]
fn rf8_rf9_quit_leaves_cleanly_and_others_are_told() {
    let server = server();
    let mut alice = Client::named(server.addr(), "alice");
    let mut bob = Client::named(server.addr(), "bob");
    alice.expect("bob joined");
    bob.type_line("/quit");
    bob.expect("you left the chat");
    let (code, err, _) = bob.finish();
    assert_eq!(code, Some(0), "stderr: {err}");
    alice.expect("bob left (127.0.0.1:");
}

#[test]
fn end_of_input_leaves_like_quit() {
    let server = server();
    let mut alice = Client::named(server.addr(), "alice");
    let bob = Client::named(server.addr(), "bob");
    alice.expect("bob joined");
    let (code, err, _) = bob.finish();
    assert_eq!(code, Some(0), "stderr: {err}");
    alice.expect("bob left");
}

#[test]
fn rf2_taken_name_without_a_terminal_exits_1_with_the_reason() {
    let server = server();
    let _alice = Client::named(server.addr(), "alice");
    let (code, err, _) = Client::spawn(server.addr(), &["--name", "ALICE"], "dup").finish();
    assert_eq!(code, Some(1));
    assert!(err.contains("name-taken") && err.contains("ALICE"), "{err}");
}

#[test]
fn rf1_invalid_name_is_refused_locally_with_exit_1() {
    let server = server();
    let (code, err, _) = Client::spawn(server.addr(), &["--name", "bad name"], "bad").finish();
    assert_eq!(code, Some(1));
    assert!(err.contains("may not contain spaces"), "{err}");
}

#[test]
fn name_is_read_from_the_first_input_line_when_not_given() {
    let server = server();
    let mut c = Client::spawn(server.addr(), &[], "piped");
    c.type_line("dora");
    c.expect(&format!("connected to {} as dora", server.addr()));
}

#[test]
fn server_shutdown_is_reported_and_ends_the_client() {
    let server = server();
    let mut alice = Client::named(server.addr(), "alice");
    server.stop().unwrap();
    alice.expect("the server ended the session");
    let (code, _, _) = alice.finish();
    assert_eq!(code, Some(0));
}

#[test]
fn other_users_escape_sequences_are_neutralised() {
    let server = server();
    let mut alice = Client::named(server.addr(), "alice");
    let mut raw = TcpStream::connect(server.addr()).unwrap();
    raw.set_read_timeout(Some(TIMEOUT)).unwrap();
    raw.write_all(b"mallory\n\x1b[2J\x1b]0;owned\x07 hi\n")
        .unwrap();
    let line = alice.expect("mallory: ");
    assert!(
        !line.contains('\u{1b}') && !line.contains('\u{7}'),
        "{line:?}"
    );
    assert!(line.ends_with("owned\u{fffd} hi"), "{line:?}");
}

#[test]
fn help_explains_usage_and_exit_codes() {
    AssertCommand::new(cargo_bin("chat-client"))
        .arg("--help")
        .assert()
        .success()
        .stdout(
            predicate::str::contains("--server")
                .and(predicate::str::contains("--name"))
                .and(predicate::str::contains("Exit codes")),
        );
}
