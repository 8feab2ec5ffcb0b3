//! The real `chat-server` binary as a child process: started with flags, its address read from
//! its first stdout line, signalled, and awaited, every wait bounded. Killed when dropped.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use assert_cmd::cargo::cargo_bin;

use super::TIMEOUT;

/// A running server process; see the module docs.
pub struct ServerProcess {
    child: Child,
    /// Where it listens, from its `listening on ADDR` line.
    pub addr: SocketAddr,
    stdout: Receiver<String>,
}

impl ServerProcess {
    /// Starts the binary with `args` (and `RUST_LOG=info`) and reads its first line.
    pub fn spawn(args: &[&str]) -> ServerProcess {
        let mut child = Command::new(cargo_bin("chat-server"))
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn chat-server");
        // Read on a thread, so a server that prints nothing fails the test instead of hanging it.
        let (tx, stdout) = mpsc::channel();
        let out = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut p = ServerProcess {
            child,
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            stdout,
        };
        let first = p.stdout_line();
        p.addr = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line was {first:?}"))
            .parse()
            .expect("an address");
        p
    }

    /// Its next stdout line; panics if none comes within the test timeout.
    pub fn stdout_line(&mut self) -> String {
        self.stdout
            .recv_timeout(TIMEOUT)
            .expect("a line on the server's stdout in time")
    }

    /// The address its second line gives (`metrics on http://ADDR/metrics`).
    pub fn metrics_addr(&mut self) -> SocketAddr {
        let line = self.stdout_line();
        line.strip_prefix("metrics on http://")
            .and_then(|s| s.strip_suffix("/metrics"))
            .unwrap_or_else(|| panic!("second line was {line:?}"))
            .parse()
            .expect("an address")
    }

    /// Sends it a signal.
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) with the pid of our own child and a valid signal number.
        let rc = unsafe { libc::kill(self.child.id() as i32, sig) };
        assert_eq!(rc, 0);
    }

    /// Waits for it to end (its stderr closes), at most `within`: its exit status and all it
    /// logged, or why not.
    pub fn wait_exit(&mut self, within: Duration) -> Result<(ExitStatus, String), String> {
        let mut stderr = self
            .child
            .stderr
            .take()
            .expect("piped stderr, waited for once");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut log = String::new();
            let _ = stderr.read_to_string(&mut log);
            let _ = tx.send(log);
        });
        let log = rx
            .recv_timeout(within)
            .map_err(|_| format!("the server did not exit within {within:?}"))?;
        Ok((self.child.wait().expect("wait"), log))
    }

    /// Stops it now.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
