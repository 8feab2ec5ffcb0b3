//! What the client's integration tests share: an in-process reference server and a running
//! `chat-client` process whose stdout lines are watched with timeouts.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;
use chat_server::{Config, RunningServer};

/// How long any expected line may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The reference server on a free loopback port.
pub fn server() -> RunningServer {
    RunningServer::start(Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Config::default()
    })
    .unwrap()
}

/// A running client process whose stdout lines arrive on a channel.
pub struct Client {
    label: String,
    child: Child,
    /// The client's stdin, until it is closed.
    pub stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    /// Every stdout line seen so far.
    pub seen: Vec<String>,
}

impl Client {
    pub fn spawn(addr: SocketAddr, args: &[&str], label: &str) -> Client {
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
    pub fn watch(mut child: Child, label: &str) -> Client {
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

    pub fn named(addr: SocketAddr, name: &str) -> Client {
        let mut c = Client::spawn(addr, &["--name", name], name);
        c.expect(&format!("connected to {addr} as {name}"));
        c.expect("users online");
        c
    }

    pub fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// Waits for a stdout line containing `needle`; earlier lines are kept in the transcript.
    pub fn expect(&mut self, needle: &str) -> String {
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

    pub fn finish(mut self) -> (Option<i32>, String, Vec<String>) {
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
