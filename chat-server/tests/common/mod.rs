//! Test clients for the in-process server: raw sockets, reads with timeouts, transcripts; and
//! [`ServerProcess`], the real binary as a child process.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Once;
use std::time::{Duration, Instant};

use chat_server::{Config, RunningServer};

pub mod process;
pub mod scrape;
#[allow(unused_imports)] // each test binary uses part of this module
pub use process::ServerProcess;

/// Generous: CI machines are slow, and a passing test never waits this long.
pub const TIMEOUT: Duration = Duration::from_secs(10);

pub fn start(config: Config) -> RunningServer {
    static LOG: Once = Once::new();
    LOG.call_once(|| {
        let _ = env_logger::builder().is_test(true).try_init();
    });
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..config
    };
    RunningServer::start(config).expect("server starts")
}

pub fn start_default() -> RunningServer {
    start(Config::default())
}

/// A raw protocol client that records everything it sends and receives.
pub struct Client {
    pub label: String,
    pub stream: TcpStream,
    buf: Vec<u8>,
    started: Instant,
    transcript: Vec<String>,
    eof: bool,
    /// Read at most this many bytes at a time, pausing after each read: a slow reader.
    pace: Option<(usize, Duration)>,
}

impl Client {
    pub fn connect(addr: SocketAddr, label: &str) -> Client {
        Client::over(TcpStream::connect(addr).expect("connect"), label)
    }

    /// Connects from a chosen local address (any of 127.0.0.0/8 is loopback on Linux).
    pub fn connect_from(addr: SocketAddr, source: &str, label: &str) -> Client {
        use socket2::{Domain, Socket, Type};
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None).expect("socket");
        let source: std::net::IpAddr = source.parse().expect("a source address");
        socket
            .bind(&SocketAddr::new(source, 0).into())
            .expect("bind the source address");
        socket.connect(&addr.into()).expect("connect");
        Client::over(socket.into(), label)
    }

    /// Connects with the smallest receive buffer the kernel allows: a few KiB of what the
    /// server sends fill it, and the rest waits in the server's own socket.
    pub fn connect_small_window(addr: SocketAddr, label: &str) -> Client {
        use socket2::{Domain, Socket, Type};
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None).expect("socket");
        socket
            .set_recv_buffer_size(1)
            .expect("a small receive buffer");
        socket.connect(&addr.into()).expect("connect");
        Client::over(socket.into(), label)
    }

    fn over(stream: TcpStream, label: &str) -> Client {
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        Client {
            label: label.to_string(),
            stream,
            buf: Vec::new(),
            started: Instant::now(),
            transcript: Vec::new(),
            eof: false,
            pace: None,
        }
    }

    /// Connects, reads HELLO, registers `name`, and reads WELCOME and USERS.
    pub fn join(addr: SocketAddr, name: &str) -> Client {
        Client::register(Client::connect(addr, name), name)
    }

    /// Registers `name` on a connected client, as [`Client::join`] does.
    pub fn register(mut c: Client, name: &str) -> Client {
        c.expect_prefix("HELLO chat/1");
        c.send(name);
        let welcome = c.expect_prefix("WELCOME ");
        assert_eq!(
            welcome,
            format!("WELCOME {name} {}", c.local()),
            "{}",
            c.dump()
        );
        c.expect_prefix("USERS ");
        c
    }

    pub fn local(&self) -> SocketAddr {
        self.stream.local_addr().unwrap()
    }

    fn note(&mut self, dir: &str, text: &str) {
        let t = self.started.elapsed().as_secs_f64();
        self.transcript.push(format!("{t:8.3}s {dir} {text:?}"));
    }

    pub fn send(&mut self, line: &str) {
        self.note(">>", line);
        self.stream
            .write_all(format!("{line}\n").as_bytes())
            .expect("send");
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.note(">>", &String::from_utf8_lossy(bytes));
        self.stream.write_all(bytes).expect("send raw");
    }

    /// The next line, or None at end of stream. Panics with the transcript on timeout.
    pub fn line(&mut self) -> Option<String> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                let line = String::from_utf8(line[..i].to_vec()).expect("server sent UTF-8");
                self.note("<<", &line);
                return Some(line);
            }
            if self.eof {
                return None;
            }
            if Instant::now() > deadline {
                panic!(
                    "{}: timed out waiting for a line\n{}",
                    self.label,
                    self.dump()
                );
            }
            let mut chunk = [0u8; 65536];
            let room = self.pace.map_or(chunk.len(), |(bytes, _)| bytes);
            if let Some((_, pause)) = self.pace {
                // The behaviour under test, not synchronisation: a reader slower than the senders.
                std::thread::sleep(pause);
            }
            match self.stream.read(&mut chunk[..room]) {
                Ok(0) => {
                    self.note("<<", "<end of stream>");
                    self.eof = true;
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                    self.note("<<", "<connection reset>");
                    self.eof = true;
                }
                Err(e) => panic!("{}: read failed: {e}\n{}", self.label, self.dump()),
            }
        }
    }

    pub fn expect(&mut self, expected: &str) {
        match self.line() {
            Some(l) if l == expected => {}
            other => panic!(
                "{}: expected {expected:?}, got {other:?}\n{}",
                self.label,
                self.dump()
            ),
        }
    }

    pub fn expect_prefix(&mut self, prefix: &str) -> String {
        match self.line() {
            Some(l) if l.starts_with(prefix) => l,
            other => panic!(
                "{}: expected a line starting {prefix:?}, got {other:?}\n{}",
                self.label,
                self.dump()
            ),
        }
    }

    pub fn expect_err(&mut self, code: &str) {
        self.expect_prefix(&format!("ERR {code} "));
    }

    pub fn expect_eof(&mut self) {
        if let Some(l) = self.line() {
            panic!(
                "{}: expected end of stream, got {l:?}\n{}",
                self.label,
                self.dump()
            );
        }
    }

    /// Proves nothing else arrived before a fence: `/users` is answered in order, so if the
    /// next line is USERS, nothing was queued ahead of it.
    pub fn expect_quiet(&mut self) {
        self.send("/users");
        self.expect_prefix("USERS ");
    }

    /// From now on, reads at most `bytes` at a time and pauses `pause` before each read.
    pub fn slow_down(&mut self, bytes: usize, pause: Duration) {
        self.pace = Some((bytes.min(65536), pause));
    }

    /// Reads and discards everything this client receives, on a thread of its own, until end
    /// of stream; returns the byte count. For clients that send but must not fall behind.
    pub fn drain_in_background(&self) -> std::thread::JoinHandle<usize> {
        let mut stream = self.stream.try_clone().expect("clone");
        stream.set_read_timeout(None).unwrap();
        std::thread::spawn(move || {
            let mut total = 0;
            let mut buf = [0u8; 65536];
            while let Ok(n @ 1..) = stream.read(&mut buf) {
                total += n;
            }
            total
        })
    }

    /// Sends numbered lines as fast as the server takes them, on a thread of its own, until
    /// `stop` is set, a write fails, or `most` lines are sent; counts them in `sent` as they go.
    pub fn flood_in_background(
        &self,
        stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
        sent: std::sync::Arc<std::sync::atomic::AtomicU64>,
        most: u64,
    ) -> std::thread::JoinHandle<()> {
        use std::sync::atomic::Ordering;
        let mut stream = self.stream.try_clone().expect("clone");
        stream.set_write_timeout(Some(TIMEOUT)).unwrap();
        std::thread::spawn(move || {
            let mut n = 0;
            while n < most && !stop.load(Ordering::Relaxed) {
                if stream
                    .write_all(format!("{n:08} still talking\n").as_bytes())
                    .is_err()
                {
                    break;
                }
                n += 1;
                sent.store(n, Ordering::Relaxed);
            }
        })
    }

    pub fn close(self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    pub fn dump(&self) -> String {
        format!(
            "--- transcript of {} ---\n{}",
            self.label,
            self.transcript.join("\n")
        )
    }
}
