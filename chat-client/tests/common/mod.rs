//! What the client's integration tests share: an in-process reference server and a running
//! `chat-client` process whose stdout lines are watched with timeouts.

#![allow(dead_code)]

use std::io::Write;
use std::net::SocketAddr;
use std::process::{Child, Command};
use std::time::Duration;

use assert_cmd::cargo::cargo_bin;
use chat_server::{Config, RunningServer};
use conformance::case::{Failure, Transcript};
use conformance::client_proc::ClientProc;

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

/// A running `chat-client` driven through the grader's client-process harness, so that the
/// client's tests and the grader's client-side cases share one way of running the binary.
/// Failures panic with what was expected and the client's whole transcript.
pub struct Client {
    proc: Option<ClientProc>,
    transcript: Transcript,
}

impl Client {
    /// Starts the client against `addr` with extra `args`.
    pub fn spawn(addr: SocketAddr, args: &[&str], label: &str) -> Client {
        let mut command = Command::new(cargo_bin("chat-client"));
        command.arg("--server").arg(addr.to_string()).args(args);
        let transcript = Transcript::new();
        let proc = ClientProc::start(command, label, transcript.clone(), TIMEOUT)
            .unwrap_or_else(|f| panic!("cannot start chat-client: {f}"));
        Client {
            proc: Some(proc),
            transcript,
        }
    }

    /// Takes over a child with piped stdio (e.g. the client under `script(1)`).
    pub fn watch(child: Child, label: &str) -> Client {
        let transcript = Transcript::new();
        Client {
            proc: Some(ClientProc::watch(child, label, transcript.clone(), TIMEOUT)),
            transcript,
        }
    }

    /// Starts the client under `name` and waits until it is connected and has the user list.
    pub fn named(addr: SocketAddr, name: &str) -> Client {
        let mut c = Client::spawn(addr, &["--name", name], name);
        c.expect(&format!("connected to {addr} as {name}"));
        c.expect("users online");
        c
    }

    fn proc(&mut self) -> &mut ClientProc {
        self.proc.as_mut().expect("the client is still running")
    }

    fn fail(&self, failure: Failure) -> ! {
        let lines: Vec<String> = self
            .transcript
            .entries()
            .iter()
            .map(|e| format!("{:8.3}s {} {} {}", e.at, e.client, e.dir, e.text))
            .collect();
        panic!("{failure}\ntranscript:\n{}", lines.join("\n"))
    }

    /// Types a line and Enter.
    pub fn type_line(&mut self, line: &str) {
        if let Err(f) = self.proc().type_line(line) {
            self.fail(f)
        }
    }

    /// Raw bytes to the client's stdin (a terminal's carriage returns).
    pub fn type_raw(&mut self, bytes: &[u8]) {
        let stdin = self.proc().stdin().expect("stdin open");
        stdin
            .write_all(bytes)
            .and_then(|_| stdin.flush())
            .expect("write to the client");
    }

    /// Waits for a stdout line containing `needle`; earlier lines stay in the transcript.
    pub fn expect(&mut self, needle: &str) -> String {
        match self.proc().expect_containing(&[needle]) {
            Ok(line) => line,
            Err(f) => self.fail(f),
        }
    }

    /// Every stdout line so far.
    pub fn seen(&self) -> Vec<String> {
        self.proc
            .as_ref()
            .map(|p| p.lines_seen().to_vec())
            .unwrap_or_default()
    }

    /// Closes stdin, waits for the exit, and returns the code, stderr and every stdout line.
    pub fn finish(mut self) -> (Option<i32>, String, Vec<String>) {
        let proc = self.proc.take().expect("the client is still running");
        match proc.finish_all() {
            Ok(done) => done,
            Err(f) => self.fail(f),
        }
    }
}
