//! The grader's stand-in for the assignment's server, as a client meets it: it takes the
//! name the client sends first, welcomes it with its IP and port in the assignment's words,
//! and keeps everything the client sends after that; the cases inject lines (messages, join
//! and leave notices) and watch for the connection to close.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// What the client did, as the server saw it.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// The client's address, once connected.
    pub peer: Option<SocketAddr>,
    /// What it sent first (its name), trimmed.
    pub name: Option<String>,
    /// Everything it sent after its name.
    pub after_name: Vec<u8>,
    /// Whether it closed (or broke) the connection.
    pub closed: bool,
}

type Shared = Arc<(Mutex<Seen>, Condvar)>;

/// A stand-in server for one client.
pub struct FakeServer {
    addr: SocketAddr,
    seen: Shared,
    writer: Arc<Mutex<Option<TcpStream>>>,
}

impl FakeServer {
    /// Listens on a free loopback port and serves the first client that connects.
    pub fn start() -> std::io::Result<FakeServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let seen = Shared::default();
        let writer = Arc::new(Mutex::new(None));
        let (s, w) = (seen.clone(), writer.clone());
        std::thread::spawn(move || {
            if let Ok((stream, peer)) = listener.accept() {
                serve(stream, peer, &s, &w);
            }
        });
        Ok(FakeServer { addr, seen, writer })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the client has done so far.
    pub fn seen(&self) -> Seen {
        self.seen
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits until `wanted` holds of what the client did, up to `within`; whether it did.
    pub fn wait(&self, within: Duration, wanted: impl Fn(&Seen) -> bool) -> bool {
        let deadline = Instant::now() + within;
        let (lock, cv) = &*self.seen;
        let mut seen = lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if wanted(&seen) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            seen = cv
                .wait_timeout(seen, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Sends `line` (and a newline) to the client.
    pub fn send(&self, line: &str) -> std::io::Result<()> {
        let mut w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        match w.as_mut() {
            Some(s) => s.write_all(format!("{line}\n").as_bytes()),
            None => Err(std::io::ErrorKind::NotConnected.into()),
        }
    }
}

fn serve(
    mut stream: TcpStream,
    peer: SocketAddr,
    seen: &Shared,
    writer: &Mutex<Option<TcpStream>>,
) {
    let (lock, cv) = &**seen;
    let update = |f: &dyn Fn(&mut Seen)| {
        f(&mut lock.lock().unwrap_or_else(|e| e.into_inner()));
        cv.notify_all();
    };
    update(&|s| s.peer = Some(peer));
    if let Ok(w) = stream.try_clone() {
        *writer.lock().unwrap_or_else(|e| e.into_inner()) = Some(w);
    }
    let mut buf = [0u8; 4096];
    let mut named = false;
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let got = &buf[..n];
        if named {
            update(&|s| s.after_name.extend_from_slice(got));
            continue;
        }
        // The assignment's server takes the first read as the name, as its clients send it.
        let text = String::from_utf8_lossy(got);
        let (name, rest) = match text.split_once('\n') {
            Some((name, rest)) => (name.trim().to_string(), rest.as_bytes().to_vec()),
            None => (text.trim().to_string(), Vec::new()),
        };
        named = true;
        let welcome = format!(
            "Bem-vindo, {name}! Seu IP: {}, Porta: {}\nConectado ao servidor.\n",
            peer.ip(),
            peer.port()
        );
        update(&|s| {
            s.name = Some(name.clone());
            s.after_name.extend_from_slice(&rest);
        });
        let _ = stream.write_all(welcome.as_bytes());
    }
    update(&|s| s.closed = true);
}
