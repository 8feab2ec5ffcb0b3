//! The real `chat-client` binary in line mode, against an in-process reference server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;
use assert_cmd::Command as AssertCommand;
use chat_server::{Config, RunningServer};
use predicates::prelude::*;

const TIMEOUT: Duration = Duration::from_secs(10);

fn server() -> RunningServer {
    RunningServer::start(Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Config::default()
    })
    .unwrap()
}

/// A running client process whose stdout lines arrive on a channel.
struct Client {
    label: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Client {
    fn spawn(addr: SocketAddr, args: &[&str], label: &str) -> Client {
        let child = Command::new(cargo_bin("chat-client"))
            .arg("--server")
            .arg(addr.to_string())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn chat-client");
        Client::watch(child, label)
    }

    /// Takes over a child with piped stdio, forwarding its stdout lines to a channel.
    fn watch(mut child: Child, label: &str) -> Client {
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Client {
            label: label.into(),
            stdin: child.stdin.take(),
            child,
            lines,
            seen: Vec::new(),
        }
    }

    fn named(addr: SocketAddr, name: &str) -> Client {
        let mut c = Client::spawn(addr, &["--name", name], name);
        c.expect(&format!("connected to {addr} as {name}"));
        c.expect("users online");
        c
    }

    fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// Waits for a stdout line containing `needle`; earlier lines are kept in the transcript.
    fn expect(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "{}: expected a line containing {needle:?}; stdout so far:\n{}",
                    self.label,
                    self.seen.join("\n")
                ),
            }
        }
    }

    fn finish(mut self) -> (Option<i32>, String, Vec<String>) {
        drop(self.stdin.take());
        // The forwarding thread ends, closing the channel, when stdout ends with the process.
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) => self.seen.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!("{}: client did not exit", self.label);
                }
            }
        }
        let status = self.child.wait().unwrap();
        let mut err = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        (status.code(), err, self.seen)
    }
}

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
    let own = alice.seen[0].clone();
    assert!(own.contains("your address is 127.0.0.1:"), "{own}");
    let mut bob = Client::named(server.addr(), "bob");
    let bob_addr = bob.seen[0].rsplit(' ').next().unwrap().to_string();
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
    assert_eq!(line, "alice: everyone", "carol saw {:?}", carol.seen);
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

/// Runs the client on a pseudo-terminal through `script(1)`, so that it is interactive.
fn spawn_on_terminal(addr: SocketAddr, extra: &str) -> Option<Client> {
    let available = Command::new("script")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        eprintln!("script(1) is not installed; skipping the terminal test");
        return None;
    }
    // A fixed size: a pseudo-terminal made from a pipe starts with none.
    let command = format!(
        "stty cols 100 rows 30; {} --server {addr} {extra}",
        cargo_bin("chat-client").display()
    );
    let child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn script");
    Some(Client::watch(child, "terminal"))
}

#[test]
fn rf1_rf2_on_a_terminal_a_refused_name_is_asked_again() {
    let server = server();
    let _alice = Client::named(server.addr(), "alice");
    let Some(mut c) = spawn_on_terminal(server.addr(), "--plain") else {
        return;
    };
    // Typed ahead: the client reads each answer when it asks for a name.
    c.type_line("ALICE");
    c.type_line("bad name");
    c.type_line("alice2");
    c.expect("name refused (name-taken)");
    c.expect("name refused (invalid-name)");
    c.expect(&format!("connected to {} as alice2", server.addr()));
    c.type_line("/quit");
    c.expect("you left the chat");
    let (code, _, _) = c.finish();
    assert_eq!(code, Some(0));
}

#[test]
fn full_screen_client_chats_with_a_line_client_and_leaves() {
    let server = server();
    let mut bob = Client::named(server.addr(), "bob");
    let Some(mut screen) = spawn_on_terminal(server.addr(), "--name zoe") else {
        return;
    };
    bob.expect("zoe joined from 127.0.0.1:");
    // Keys as a terminal sends them: Enter is a carriage return.
    let stdin = screen.stdin.as_mut().unwrap();
    stdin.write_all(b"hello from the screen\r").unwrap();
    stdin.flush().unwrap();
    bob.expect("zoe: hello from the screen");
    bob.type_line("hi zoe");
    stdin.write_all(b"/quit\r").unwrap();
    stdin.flush().unwrap();
    bob.expect("zoe left (127.0.0.1:");
    let (code, _, _) = screen.finish();
    assert_eq!(code, Some(0));
}
