//! `--spawn`: start the server under test for the run and read its address.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why the server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The command could not be run at all.
    #[error("cannot run {command:?}")]
    Start {
        /// The command.
        command: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// It never printed `listening on ADDR`.
    #[error("{command:?} did not print \"listening on ADDR\" within {seconds} s{}", stderr_tail(.stderr))]
    NoAddress {
        /// The command.
        command: String,
        /// How long we waited.
        seconds: u64,
        /// The end of its stderr.
        stderr: String,
    },
}

fn stderr_tail(s: &str) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!("; its stderr ended with:\n{s}")
    }
}

/// A server started for the run; killed when dropped.
pub struct Spawned {
    child: Child,
    /// The address it printed.
    pub addr: SocketAddr,
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `command` through `sh` with `--listen 127.0.0.1:0` appended, and waits for its
/// `listening on ADDR` line.
pub fn spawn(command: &str, wait: Duration) -> Result<Spawned, SpawnError> {
    let mut child = Command::new("sh")
        .arg("-c")
        // `exec` makes the server the child itself, so killing the child stops the server.
        .arg(format!("exec {command} \"$@\""))
        .arg("sh")
        .args(["--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| SpawnError::Start {
            command: command.to_string(),
            source,
        })?;
    let tail: Arc<Mutex<VecDeque<String>>> = Arc::default();
    let stderr = child.stderr.take().expect("piped stderr");
    let keep = tail.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut t = keep.lock().unwrap_or_else(|e| e.into_inner());
            if t.len() == 20 {
                t.pop_front();
            }
            t.push_back(line);
        }
    });
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            let found = line
                .trim_end()
                .strip_prefix("listening on ")
                .and_then(|a| a.trim().parse::<SocketAddr>().ok());
            if let Some(addr) = found {
                let _ = tx.send(addr);
                break;
            }
            line.clear();
        }
        // Keep draining so the server never blocks on a full stdout pipe.
        let _ = std::io::copy(&mut reader.take(u64::MAX), &mut std::io::sink());
    });
    match rx.recv_timeout(wait) {
        Ok(addr) => Ok(Spawned { child, addr }),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = tail
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join("\n");
            Err(SpawnError::NoAddress {
                command: command.to_string(),
                seconds: wait.as_secs(),
                stderr,
            })
        }
    }
}
