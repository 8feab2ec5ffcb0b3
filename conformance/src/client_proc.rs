//! A client program run as a child process, driven through its stdin and read through its
//! stdout with timeouts: how the grader proves the client-side requirements, and how the
//! client's own tests drive it.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use crate::case::{Failure, Transcript};

/// A running client process whose stdout lines arrive on a channel, each recorded in a
/// transcript; every wait has a timeout.
pub struct ClientProc {
    label: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    transcript: Transcript,
    timeout: Duration,
    seen: Vec<String>,
}

impl ClientProc {
    /// Runs `command` with piped stdio.
    pub fn start(
        mut command: Command,
        label: &str,
        transcript: Transcript,
        timeout: Duration,
    ) -> Result<ClientProc, Failure> {
        let program = command.get_program().to_string_lossy().to_string();
        let child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Failure::new(format!("to run {program}"), e.to_string()))?;
        Ok(ClientProc::watch(child, label, transcript, timeout))
    }

    /// Takes over a child started with piped stdio.
    pub fn watch(
        mut child: Child,
        label: &str,
        transcript: Transcript,
        timeout: Duration,
    ) -> ClientProc {
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        ClientProc {
            label: label.to_string(),
            stdin: child.stdin.take(),
            child,
            lines,
            transcript,
            timeout,
            seen: Vec::new(),
        }
    }

    /// The process's stdin, for raw bytes (a terminal's carriage returns); `None` once closed.
    pub fn stdin(&mut self) -> Option<&mut ChildStdin> {
        self.stdin.as_mut()
    }

    /// Every stdout line received so far, as the client printed it.
    pub fn lines_seen(&self) -> &[String] {
        &self.seen
    }

    /// Types a line and Enter.
    pub fn type_line(&mut self, line: &str) -> Result<(), Failure> {
        self.transcript.record(&self.label, ">>", line);
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}")
            .and_then(|_| stdin.flush())
            .map_err(|e| Failure::at(&self.label, "to type a line", e.to_string()))
    }

    /// Waits for a stdout line containing every one of `needles`.
    pub fn expect_containing(&mut self, needles: &[&str]) -> Result<String, Failure> {
        let deadline = Instant::now() + self.timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.transcript.record(&self.label, "<<", &line);
                    self.seen.push(line.clone());
                    if needles.iter().all(|n| line.contains(n)) {
                        return Ok(line);
                    }
                }
                Err(_) => {
                    return Err(Failure::at(
                        &self.label,
                        format!("an output line containing {needles:?}"),
                        "no such line",
                    ))
                }
            }
        }
    }

    /// Closes stdin and waits for the exit; returns the code and stderr.
    pub fn finish(self) -> Result<(Option<i32>, String), Failure> {
        self.finish_all().map(|(code, err, _)| (code, err))
    }

    /// [`finish`](Self::finish), also returning every stdout line of the run.
    pub fn finish_all(mut self) -> Result<(Option<i32>, String, Vec<String>), Failure> {
        drop(self.stdin.take());
        // The forwarding thread ends, closing the channel, when stdout ends with the process.
        let deadline = Instant::now() + self.timeout;
        loop {
            match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) => {
                    self.transcript.record(&self.label, "<<", &line);
                    self.seen.push(line);
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    return Err(Failure::at(
                        &self.label,
                        "the client to exit",
                        "it kept running",
                    ));
                }
            }
        }
        let status = self
            .child
            .wait()
            .map_err(|e| Failure::at(&self.label, "the client's exit status", e.to_string()))?;
        let mut err = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = stderr.read_to_string(&mut err);
        }
        self.transcript.record(
            &self.label,
            "--",
            &format!("exit {:?}; stderr: {}", status.code(), err.trim()),
        );
        Ok((status.code(), err, std::mem::take(&mut self.seen)))
    }
}

impl Drop for ClientProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
