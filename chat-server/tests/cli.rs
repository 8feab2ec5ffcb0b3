//! The real `chat-server` binary: flags, its first stdout line, signals and exit codes.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

use assert_cmd::cargo::cargo_bin;
use assert_cmd::Command as AssertCommand;
use predicates::prelude::*;

mod common;
use common::{ServerProcess, TIMEOUT};

#[test]
fn first_line_is_the_real_address_when_started_on_port_zero() {
    let server = ServerProcess::spawn(&["--listen", "127.0.0.1:0"]);
    let addr = server.addr;
    assert_ne!(addr.port(), 0);
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut hello = String::new();
    BufReader::new(&s).read_line(&mut hello).unwrap();
    assert!(hello.starts_with("HELLO chat/1 "), "{hello:?}");
    s.write_all(b"/quit\n").unwrap();
}

#[test]
fn sigterm_says_bye_and_exits_zero() {
    let mut server = ServerProcess::spawn(&["--listen", "127.0.0.1:0"]);
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut reader = BufReader::new(s.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    s.write_all(b"alice\n").unwrap();
    for expected in ["WELCOME alice", "USERS alice"] {
        line.clear();
        reader.read_line(&mut line).unwrap();
        assert!(line.starts_with(expected), "{line:?}");
    }
    server.signal(libc::SIGTERM);
    line.clear();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("BYE "), "{line:?}");
    let (status, log) = server.wait_exit(TIMEOUT).unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(log.contains("alice joined from"), "{log}");
    assert!(log.contains("shutdown complete"), "{log}");
}

#[test]
fn ctrl_c_exits_zero() {
    let mut server = ServerProcess::spawn(&["--listen", "127.0.0.1:0"]);
    server.signal(libc::SIGINT);
    assert_eq!(server.wait_exit(TIMEOUT).unwrap().0.code(), Some(0));
}

#[test]
fn config_file_is_read_and_flags_win() {
    let dir = std::env::temp_dir().join(format!("batepapo-srv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("server.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:1\"\nmax-clients = 1\n").unwrap();
    let server = ServerProcess::spawn(&[
        "--config",
        file.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    let addr = server.addr;
    // A registered user takes the one slot (one that had not registered would make room).
    let first = TcpStream::connect(addr).unwrap();
    first.set_read_timeout(Some(TIMEOUT)).unwrap();
    (&first).write_all(b"alice\n").unwrap();
    let mut first_lines = BufReader::new(&first).lines();
    for expected in ["HELLO ", "WELCOME alice "] {
        let l = first_lines.next().unwrap().unwrap();
        assert!(l.starts_with(expected), "{l:?}");
    }
    // max-clients = 1 came from the file: a second connection is turned away.
    let second = TcpStream::connect(addr).unwrap();
    second.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut lines = BufReader::new(second).lines();
    let mut saw_full = false;
    while let Some(Ok(l)) = lines.next() {
        saw_full |= l.starts_with("ERR server-full ");
    }
    assert!(saw_full);
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn help_teaches_the_flags() {
    AssertCommand::new(cargo_bin("chat-server"))
        .arg("--help")
        .assert()
        .success()
        .stdout(
            predicate::str::contains("--listen")
                .and(predicate::str::contains("--max-clients"))
                .and(predicate::str::contains("--stall-timeout"))
                .and(predicate::str::contains("--max-backlog"))
                .and(predicate::str::contains("--backlog-budget"))
                .and(predicate::str::contains("--flood-watermark"))
                .and(predicate::str::contains("--name-timeout"))
                .and(predicate::str::contains("--config"))
                .and(predicate::str::contains("--metrics"))
                .and(predicate::str::contains("--write-mode"))
                .and(predicate::str::contains("nc 127.0.0.1 7777")),
        );
}

#[test]
fn bad_flag_value_is_a_usage_error() {
    AssertCommand::new(cargo_bin("chat-server"))
        .args(["--name-timeout", "soon"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid duration"));
}

#[test]
fn the_removed_queue_depth_flag_says_what_replaced_it() {
    AssertCommand::new(cargo_bin("chat-server"))
        .args(["--queue-depth", "1024"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("--queue-depth was removed")
                .and(predicate::str::contains("--max-backlog"))
                .and(predicate::str::contains("--stall-timeout")),
        );
}

#[test]
fn missing_config_file_names_the_file() {
    AssertCommand::new(cargo_bin("chat-server"))
        .args(["--config", "/nonexistent/batepapo.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/batepapo.toml"));
}

#[test]
fn address_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    AssertCommand::new(cargo_bin("chat-server"))
        .args(["--listen", &addr])
        .timeout(TIMEOUT)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!("cannot listen on {addr}")));
}

#[test]
fn metrics_flag_prints_where_the_figures_are_and_serves_them() {
    let mut server = ServerProcess::spawn(&["--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0"]);
    assert!(server.addr.ip().is_loopback(), "{}", server.addr);
    let at = server.metrics_addr();
    let mut s = TcpStream::connect(at).unwrap();
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\n\r\n").unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut s, &mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("\nbatepapo_connections 0\n"), "{answer}");
    assert!(answer.contains("\nprocess_cpu_seconds_total "), "{answer}");
    server.signal(libc::SIGTERM);
    let (status, log) = server.wait_exit(TIMEOUT).unwrap();
    assert!(status.success(), "{status:?}\n{log}");
}
