//! `--metrics ADDR`: one thread serving the server's figures over HTTP in the Prometheus text
//! format, at `GET /metrics`.
//!
//! Scrapes are rare and tiny, so one thread answers them one at a time, with short timeouts so
//! that a scraper that stalls holds up only other scrapes, never a chat client. Stopping is a
//! flag plus a connection to the listener itself to wake the blocking `accept`, then a join.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use log::warn;

use crate::metrics::{render, Process};
use crate::shared::Shared;

/// How long a scraper has to send its request and take the answer.
const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest request head read; a scrape's is a few hundred bytes.
const MAX_HEAD: usize = 8 * 1024;

/// The exporter thread; [`Exporter::stop`] ends it.
pub(crate) struct Exporter {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Exporter {
    /// Serves `listener` on a new thread until [`Exporter::stop`].
    pub fn start(listener: TcpListener, shared: Arc<Shared>) -> io::Result<Exporter> {
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = thread::Builder::new()
            .name("metrics".into())
            .stack_size(128 * 1024)
            .spawn(move || {
                let _alive = shared.metrics.thread();
                serve(&listener, &shared, &flag)
            })?;
        Ok(Exporter {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the thread and joins it.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the blocking accept; the loop sees the flag and returns.
        let _ = TcpStream::connect_timeout(&crate::shutdown::wake_address(self.addr), IO_TIMEOUT);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(listener: &TcpListener, shared: &Shared, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                if let Err(e) = answer(stream, shared) {
                    log::debug!("metrics request failed: {e}");
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                warn!("metrics listener: accept failed: {e}");
                thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// Reads one request and answers it; the connection closes after each answer.
fn answer(mut stream: TcpStream, shared: &Shared) -> io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
        if head.len() > MAX_HEAD {
            return respond(&mut stream, "431 Request Header Fields Too Large", "", "");
        }
    }
    let text = String::from_utf8_lossy(&head);
    let mut parts = text.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET", "/metrics") => {
            let snapshot = shared.metrics.snapshot(shared.delivery.budget.stats());
            let body = render(&snapshot, Process::read().as_ref());
            respond(
                &mut stream,
                "200 OK",
                "text/plain; version=0.0.4; charset=utf-8",
                &body,
            )
        }
        ("GET", _) => respond(
            &mut stream,
            "404 Not Found",
            "text/plain; charset=utf-8",
            "the figures are at /metrics\n",
        ),
        _ => respond(
            &mut stream,
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            "only GET /metrics is served\n",
        ),
    }
}

fn respond(stream: &mut TcpStream, status: &str, kind: &str, body: &str) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    stream.flush()
}
