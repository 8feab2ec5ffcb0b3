//! A raw protocol client: bytes on a socket, its own line splitting, a timeout on every read.
//!
//! Deliberately independent of the project's protocol crate, so that a bug shared by the
//! reference server and its parser cannot hide from the grader.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::case::{Ctx, Failure, Transcript};
use crate::glob;

/// A connection to the server under test, as one named client of a case.
pub struct Wire {
    /// The case's label for this client (`alice`).
    pub label: String,
    /// The real, unique name it registers with.
    pub name: String,
    stream: TcpStream,
    buf: Vec<u8>,
    eof: bool,
    timeout: Duration,
    transcript: Transcript,
    relevant: Arc<Mutex<Vec<String>>>,
    /// Read at most this many bytes at a time, pausing before each read: a slow reader.
    pace: Option<(usize, Duration)>,
}

/// Tags whose second field names the user a line is about.
const ABOUT_A_USER: [&str; 4] = ["JOIN", "LEAVE", "MSG", "PRIV"];

impl Wire {
    /// Connects a client labelled `label`.
    pub fn connect(ctx: &Ctx, label: &str) -> Result<Wire, Failure> {
        Wire::connect_from(ctx, label, None)
    }

    /// Connects a client labelled `label` from a chosen local address (`None`: the system's
    /// choice).
    pub fn connect_from(ctx: &Ctx, label: &str, source: Option<IpAddr>) -> Result<Wire, Failure> {
        let name = ctx.name(label);
        let timeout = ctx.target.read_timeout();
        let addr = ctx.target.addr;
        let connected = match source {
            None => TcpStream::connect_timeout(&addr, timeout),
            Some(ip) => {
                use socket2::{Domain, Socket, Type};
                Socket::new(Domain::for_address(addr), Type::STREAM, None)
                    .and_then(|s| s.bind(&SocketAddr::new(ip, 0).into()).map(|_| s))
                    .and_then(|s| s.connect_timeout(&addr.into(), timeout).map(|_| s.into()))
            }
        };
        let from = source.map_or_else(String::new, |ip| format!(" from {ip}"));
        let stream = connected.map_err(|e| {
            Failure::at(label, format!("to connect to {addr}{from}"), e.to_string())
        })?;
        let _ = stream.set_read_timeout(Some(timeout));
        let _ = stream.set_write_timeout(Some(timeout));
        ctx.transcript.record(label, "--", "connected");
        Ok(Wire {
            label: label.to_string(),
            name,
            stream,
            buf: Vec::new(),
            eof: false,
            timeout,
            transcript: ctx.transcript.clone(),
            relevant: ctx.relevant_names(),
            pace: None,
        })
    }

    /// Connects and reads the greeting.
    pub fn hello(ctx: &Ctx, label: &str) -> Result<Wire, Failure> {
        let mut w = Wire::connect(ctx, label)?;
        w.expect("HELLO chat/1 *")?;
        Ok(w)
    }

    /// Connects, registers its name, and checks `WELCOME <name> <own addr>` and a `USERS` that
    /// lists it.
    pub fn join(ctx: &Ctx, label: &str) -> Result<Wire, Failure> {
        let mut w = Wire::hello(ctx, label)?;
        w.register()?;
        Ok(w)
    }

    /// Sends its name and checks the answer (`WELCOME`, then `USERS` including the name).
    pub fn register(&mut self) -> Result<(), Failure> {
        let name = self.name.clone();
        self.send(&name)?;
        self.expect(&format!("WELCOME {name} {}", self.local_addr()))?;
        let users = self.expect("USERS *")?;
        if !users.split(' ').skip(1).any(|n| n == name) {
            return Err(Failure::at(
                &self.label,
                format!("USERS to list {name}"),
                users,
            ));
        }
        Ok(())
    }

    /// From now on, reads at most `bytes` (up to 16 KiB) at a time and pauses `pause` before
    /// each read: a reader that keeps reading, slower than the senders.
    pub fn slow_down(&mut self, bytes: usize, pause: Duration) {
        self.pace = Some((bytes.clamp(1, 16 * 1024), pause));
    }

    /// Back to reading at full speed.
    pub fn pace_off(&mut self) {
        self.pace = None;
    }

    /// Reads and discards whatever this client receives, on a thread of its own, until end of
    /// stream (or `limit` passes), so a client that only sends never becomes a stopped reader.
    /// What it discards is not recorded.
    pub fn drain_in_background(
        &self,
        limit: Duration,
    ) -> Result<std::thread::JoinHandle<()>, Failure> {
        let mut stream = self.stream.try_clone().map_err(|e| {
            Failure::at(&self.label, "a second handle on the socket", e.to_string())
        })?;
        let deadline = Instant::now() + limit;
        Ok(std::thread::spawn(move || {
            let mut buf = [0u8; 64 * 1024];
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
                    return;
                }
                match stream.read(&mut buf) {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => return,
                }
            }
        }))
    }

    /// Changes the time allowed for each expected line.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// This client's address as the server should report it.
    pub fn local_addr(&self) -> SocketAddr {
        self.stream
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Sends a line; a LF is added.
    pub fn send(&mut self, line: &str) -> Result<(), Failure> {
        self.transcript.record(&self.label, ">>", line);
        let mut bytes = line.as_bytes().to_vec();
        bytes.push(b'\n');
        self.write(&bytes)
    }

    /// Sends bytes exactly as given.
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.transcript
            .record(&self.label, ">>", &String::from_utf8_lossy(bytes));
        self.write(bytes)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.stream
            .write_all(bytes)
            .map_err(|e| Failure::at(&self.label, "to send", format!("write failed: {e}")))
    }

    /// The next line of any kind, or `None` at end of stream.
    pub fn next_line(&mut self) -> Result<Option<String>, Failure> {
        let deadline = Instant::now() + self.timeout;
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let raw: Vec<u8> = self.buf.drain(..=i).collect();
                let raw = &raw[..i];
                let line = match std::str::from_utf8(raw) {
                    Ok(s) => s.to_string(),
                    Err(_) => {
                        let lossy = String::from_utf8_lossy(raw).to_string();
                        self.transcript.record(&self.label, "<<", &lossy);
                        return Err(Failure::at(
                            &self.label,
                            "a UTF-8 line from the server",
                            format!("invalid UTF-8: {lossy:?}"),
                        ));
                    }
                };
                self.transcript.record(&self.label, "<<", &line);
                return Ok(Some(line));
            }
            if self.eof {
                if !self.buf.is_empty() {
                    let rest = String::from_utf8_lossy(&self.buf).to_string();
                    self.transcript.record(&self.label, "<<", &rest);
                    self.buf.clear();
                    return Err(Failure::at(
                        &self.label,
                        "every server line to end with LF",
                        format!("the stream ended inside a line: {rest:?}"),
                    ));
                }
                return Ok(None);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                self.transcript.record(&self.label, "--", "read timed out");
                return Err(Failure::at(
                    &self.label,
                    "a line",
                    format!("nothing within {:.1} s", self.timeout.as_secs_f64()),
                ));
            }
            let _ = self.stream.set_read_timeout(Some(left));
            let mut chunk = [0u8; 16 * 1024];
            let room = self.pace.map_or(chunk.len(), |(bytes, _)| bytes);
            if let Some((_, pause)) = self.pace {
                // The behaviour under test, not synchronisation: a reader slower than the senders.
                std::thread::sleep(pause);
            }
            match self.stream.read(&mut chunk[..room]) {
                Ok(0) => {
                    self.transcript.record(&self.label, "--", "end of stream");
                    self.eof = true;
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => {
                    self.transcript
                        .record(&self.label, "--", &format!("read failed: {e}"));
                    self.eof = true;
                }
            }
        }
    }

    /// Moves whatever has already arrived from the socket into the buffer, without waiting, so
    /// a client busy sending never looks like a reader that stopped.
    pub fn pump(&mut self) -> Result<(), Failure> {
        if self.eof || self.stream.set_nonblocking(true).is_err() {
            return Ok(());
        }
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    self.transcript.record(&self.label, "--", "end of stream");
                    self.eof = true;
                    break;
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        self.stream
            .set_nonblocking(false)
            .map_err(|e| Failure::at(&self.label, "a usable socket", e.to_string()))
    }

    /// Whether a line concerns this case: lines about users of other cases sharing the server
    /// (their JOIN, LEAVE, MSG, PRIV) are noise to skip.
    fn is_relevant(&self, line: &str) -> bool {
        let mut fields = line.split(' ');
        let tag = fields.next().unwrap_or("");
        if !ABOUT_A_USER.contains(&tag) {
            return true;
        }
        let who = fields.next().unwrap_or("").to_lowercase();
        self.relevant
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&who)
    }

    /// The next line that concerns this case, or `None` at end of stream.
    pub fn next_relevant(&mut self) -> Result<Option<String>, Failure> {
        loop {
            match self.next_line()? {
                Some(line) if !self.is_relevant(&line) => continue,
                other => return Ok(other),
            }
        }
    }

    /// The next relevant line must match `pattern` (`*` is a wildcard); returns it.
    pub fn expect(&mut self, pattern: &str) -> Result<String, Failure> {
        match self.next_relevant()? {
            Some(line) if glob::matches(pattern, &line) => Ok(line),
            Some(line) => Err(Failure::at(
                &self.label,
                format!("{pattern:?}"),
                format!("{line:?}"),
            )),
            None => Err(Failure::at(
                &self.label,
                format!("{pattern:?}"),
                "end of stream",
            )),
        }
    }

    /// Like [`expect`](Self::expect), but first skips `JOIN` and `LEAVE` lines: for cases where
    /// other clients of the same case come and go concurrently.
    pub fn expect_skipping_presence(&mut self, pattern: &str) -> Result<String, Failure> {
        loop {
            match self.next_relevant()? {
                Some(line) if glob::matches(pattern, &line) => return Ok(line),
                Some(line) if line.starts_with("JOIN ") || line.starts_with("LEAVE ") => {}
                Some(line) => {
                    return Err(Failure::at(
                        &self.label,
                        format!("{pattern:?}"),
                        format!("{line:?}"),
                    ))
                }
                None => {
                    return Err(Failure::at(
                        &self.label,
                        format!("{pattern:?}"),
                        "end of stream",
                    ))
                }
            }
        }
    }

    /// The server must close the connection next (relevant lines before it are a failure).
    pub fn expect_eof(&mut self) -> Result<(), Failure> {
        match self.next_relevant()? {
            None => Ok(()),
            Some(line) => Err(Failure::at(
                &self.label,
                "the connection to be closed",
                format!("{line:?}"),
            )),
        }
    }

    /// Proves nothing relevant is queued for this client: it asks `/users`, which the server
    /// answers in order, so the next relevant line must be that `USERS`.
    pub fn expect_quiet(&mut self) -> Result<(), Failure> {
        self.send("/users")?;
        match self.next_relevant()? {
            Some(line) if line.starts_with("USERS") => Ok(()),
            Some(line) => Err(Failure::at(
                &self.label,
                "nothing before the USERS answering a /users fence",
                format!("{line:?}"),
            )),
            None => Err(Failure::at(&self.label, "USERS", "end of stream")),
        }
    }

    /// Proves `observer` received nothing more from `self` (the sender): per-sender ordering
    /// means a private fence sent now must be the observer's next line from this sender.
    pub fn fence(&mut self, observer: &mut Wire) -> Result<(), Failure> {
        let token = format!("fence-{}", observer.transcript.len());
        self.send(&format!("@{} {token}", observer.name))?;
        let expected = format!("PRIV {} {token}", self.name);
        match observer.next_relevant()? {
            Some(line) if line == expected => Ok(()),
            Some(line) => Err(Failure::at(
                &observer.label,
                format!("nothing before the fence {expected:?}"),
                format!("{line:?}"),
            )),
            None => Err(Failure::at(
                &observer.label,
                format!("{expected:?}"),
                "end of stream",
            )),
        }
    }

    /// Closes the connection abruptly (no `/quit`).
    pub fn close(self) {
        self.transcript
            .record(&self.label, "--", "closed by client");
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// The socket, for cases that need raw control.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }
}
