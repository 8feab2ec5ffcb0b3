//! The grader's stand-in for the assignment's server, as a client meets it: it takes the
//! name the client sends first, welcomes it with its IP and port in the assignment's words,
//! and keeps everything the client sends after that; the cases inject lines (messages, join
//! and leave notices) and watch for the connection to close.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
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
    stop: Arc<AtomicBool>,
    /// The fixed address it holds (see [`FakeServer::start_at`]), given back when it ends.
    fixed: Option<SocketAddr>,
}

/// Fixed addresses in use by stand-ins of this process: clients graded at once that connect
/// to the same hard-coded address take turns.
static FIXED: (Mutex<Option<HashSet<SocketAddr>>>, Condvar) = (Mutex::new(None), Condvar::new());

impl FakeServer {
    /// Listens on a free loopback port and serves the first client that connects.
    pub fn start() -> std::io::Result<FakeServer> {
        FakeServer::serve_on(TcpListener::bind("127.0.0.1:0")?, None)
    }

    /// Listens on `addr` itself (a client's hard-coded address, where nothing can redirect
    /// its connection), once no other stand-in of this process holds it; a port a previous
    /// stand-in left a moment ago is waited for, 10 s at most.
    pub fn start_at(addr: SocketAddr) -> std::io::Result<FakeServer> {
        let (lock, cv) = &FIXED;
        let mut held = lock.lock().unwrap_or_else(|e| e.into_inner());
        while held.get_or_insert_with(HashSet::new).contains(&addr) {
            held = cv.wait(held).unwrap_or_else(|e| e.into_inner());
        }
        held.get_or_insert_with(HashSet::new).insert(addr);
        drop(held);
        let give_back = || release(addr);
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match TcpListener::bind(addr) {
                Ok(l) => break l,
                Err(e)
                    if e.kind() == std::io::ErrorKind::AddrInUse && Instant::now() < deadline =>
                {
                    // The kernel says nothing when a port is freed: try again shortly.
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => {
                    give_back();
                    return Err(e);
                }
            }
        };
        FakeServer::serve_on(listener, Some(addr)).inspect_err(|_| give_back())
    }

    fn serve_on(listener: TcpListener, fixed: Option<SocketAddr>) -> std::io::Result<FakeServer> {
        let addr = listener.local_addr()?;
        let seen = Shared::default();
        let writer = Arc::new(Mutex::new(None));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, w, halt) = (seen.clone(), writer.clone(), stop.clone());
        std::thread::spawn(move || {
            if let Ok((stream, peer)) = listener.accept() {
                if !halt.load(Ordering::SeqCst) {
                    serve(stream, peer, &s, &w);
                }
            }
        });
        Ok(FakeServer {
            addr,
            seen,
            writer,
            stop,
            fixed,
        })
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

/// Gives a fixed address back, for the next stand-in that waits for it.
fn release(addr: SocketAddr) {
    let (lock, cv) = &FIXED;
    let mut held = lock.lock().unwrap_or_else(|e| e.into_inner());
    held.get_or_insert_with(HashSet::new).remove(&addr);
    cv.notify_all();
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        // A client that never connected leaves the accept waiting, and the port held: wake it.
        self.stop.store(true, Ordering::SeqCst);
        if self.seen().peer.is_none() {
            let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        }
        if let Some(addr) = self.fixed {
            release(addr);
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
