//! `--spawn`: start the server under test for the run and read its address.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    /// It ended before printing `listening on ADDR`.
    #[error("{command:?} exited ({status}) before printing \"listening on ADDR\"{}", stderr_tail(.stderr))]
    Exited {
        /// The command.
        command: String,
        /// How it ended.
        status: std::process::ExitStatus,
        /// The end of its stderr.
        stderr: String,
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

impl Spawned {
    /// How it ended, if it has.
    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Stops it now.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
    spawn_in(command, None, wait)
}

/// [`spawn`], in the working directory `dir` when given.
pub fn spawn_in(
    command: &str,
    dir: Option<&std::path::Path>,
    wait: Duration,
) -> Result<Spawned, SpawnError> {
    let mut sh = Command::new("sh");
    if let Some(dir) = dir {
        sh.current_dir(dir);
    }
    let mut child = sh
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
    let (stderr_done, stderr_ended) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut t = keep.lock().unwrap_or_else(|e| e.into_inner());
            if t.len() == 20 {
                t.pop_front();
            }
            t.push_back(line);
        }
        drop(stderr_done);
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
    let stderr_text = |tail: &Mutex<VecDeque<String>>| {
        tail.lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    };
    let deadline = Instant::now() + wait;
    let mut stdout_open = true;
    loop {
        if stdout_open {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(addr) => return Ok(Spawned { child, addr }),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => stdout_open = false,
            }
        } else {
            // Its stdout ended without an address: nothing to wait on but its exit.
            std::thread::sleep(Duration::from_millis(50));
        }
        // A command that ended is reported at once, not after the whole wait.
        if let Ok(Some(status)) = child.try_wait() {
            // Its stderr closes with it; let the reader take the last lines (a grandchild
            // holding the pipe open must not keep us waiting).
            let _ = stderr_ended.recv_timeout(Duration::from_secs(1));
            return Err(SpawnError::Exited {
                command: command.to_string(),
                status,
                stderr: stderr_text(&tail),
            });
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(SpawnError::NoAddress {
                command: command.to_string(),
                seconds: wait.as_secs(),
                stderr: stderr_text(&tail),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_that_exits_at_once_is_reported_at_once_with_status_and_stderr() {
        let started = Instant::now();
        let err = spawn(
            "sh -c 'echo bad flag --listen >&2; exit 3'",
            Duration::from_secs(30),
        )
        .err()
        .expect("it cannot start");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "took {:?}",
            started.elapsed()
        );
        let text = err.to_string();
        assert!(text.contains("exited (exit status: 3)"), "{text}");
        assert!(text.contains("bad flag --listen"), "{text}");
    }

    #[test]
    fn a_command_that_never_says_where_it_listens_times_out() {
        let err = spawn("sh -c 'sleep 5'", Duration::from_millis(300))
            .err()
            .expect("no address");
        assert!(matches!(err, SpawnError::NoAddress { .. }), "{err}");
    }

    #[test]
    fn the_address_it_prints_is_taken() {
        let s = spawn(
            "echo listening on 127.0.0.1:4567; sleep 5",
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(s.addr, "127.0.0.1:4567".parse().unwrap());
    }
}
