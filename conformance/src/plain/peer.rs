//! A client of a free-form server: it sends names and messages the way the server frames them,
//! and keeps every byte it receives so that cases can look for tokens wherever they land.
//!
//! A thread per client reads all the time (so no client of a case is a stopped reader unless
//! the case asks for one) into a buffer that cases search by position: `mark` before an
//! action, then wait for what must arrive after it. Searches are incremental, so a client that
//! received megabytes is not rescanned on every read.
//!
//! Names, ports and addresses are matched as words ([`Peer::wait_for_words`]): `bob_1f` is not
//! in `bob_1f7 joined`. Tokens are matched anywhere, since a server may glue messages together.
//!
//! A client leaves politely: it stops sending (FIN), reads what it was still sent, and closes
//! once the server closes or 2 s pass, so the kernel never resets a connection the grader did
//! not mean to break. [`Peer::abort`] breaks it on purpose (a reset, data unread).
//!
//! Every wait also watches the server ([`crate::watch`]): once it is known to have exited or
//! stopped, the wait fails at once with that reason.

use std::io::{Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::settings::Framing;
use crate::case::{Ctx, Failure, Transcript};
use crate::i18n::{catalog, Text};
use crate::t;
use crate::watch::Watch;

/// How long a client that left keeps reading what it was still sent.
const LINGER: Duration = Duration::from_secs(2);

/// How long received bytes must rest before a word that ends them counts as whole.
const SETTLE: Duration = Duration::from_millis(200);

/// Between two messages sent as writes, so that a server taking each `recv` as one message
/// gets them apart.
pub const GAP: Duration = Duration::from_millis(40);

#[derive(Default)]
struct Inbox {
    bytes: Vec<u8>,
    ended: Option<String>,
}

type Shared = Arc<(Mutex<Inbox>, Condvar)>;

/// One client of a case.
pub struct Peer {
    /// The label in transcripts.
    pub label: String,
    /// The name it registers with.
    pub name: String,
    stream: TcpStream,
    inbox: Shared,
    framing: Framing,
    transcript: Transcript,
    timeout: Duration,
    last_write: Option<Instant>,
    watch: Option<Arc<Watch>>,
    leaving: Arc<AtomicBool>,
    reader: Option<thread::JoinHandle<()>>,
    gone: bool,
}

impl Peer {
    /// Connects; `reading` false leaves what arrives unread (a stopped reader, with a small
    /// receive buffer so that it fills soon).
    pub fn connect(ctx: &Ctx, label: &str, reading: bool) -> Result<Peer, Failure> {
        let name = ctx.name(label);
        let addr = ctx.target.addr;
        let timeout = ctx.target.read_timeout();
        let rcvbuf = (!reading).then_some(4096);
        let stream = crate::net::connect(ctx.target.ns, addr, timeout, rcvbuf).map_err(|e| {
            let why = ctx
                .target
                .broke()
                .map_or_else(|| io_error(&e), |b| b.text());
            Failure::at(label, t!(catalog::CONNECT_TO, addr), why)
        })?;
        let _ = stream.set_nodelay(true);
        let _ = stream.set_write_timeout(Some(ctx.target.scaled(Duration::from_secs(30))));
        ctx.transcript.record(label, "--", "connected");
        let inbox: Shared = Arc::default();
        let leaving = Arc::new(AtomicBool::new(false));
        let mut reader = None;
        if reading {
            let mut rd = stream
                .try_clone()
                .map_err(|e| Failure::at(label, catalog::SECOND_HANDLE, io_error(&e)))?;
            // Short reads, so that a client that left stops reading even if the server never
            // closes its side.
            let _ = rd.set_read_timeout(Some(Duration::from_millis(200)));
            let (inbox, transcript, label, leaving) = (
                inbox.clone(),
                ctx.transcript.clone(),
                label.to_string(),
                leaving.clone(),
            );
            reader = Some(thread::spawn(move || {
                read_all(&mut rd, &inbox, &transcript, &label, &leaving)
            }));
        }
        Ok(Peer {
            label: label.to_string(),
            name,
            stream,
            inbox,
            framing: ctx.target.plain.framing.unwrap_or(Framing::Lines),
            transcript: ctx.transcript.clone(),
            timeout,
            last_write: None,
            watch: ctx.target.watch.clone(),
            leaving,
            reader,
            gone: false,
        })
    }

    /// Its own address, as the server sees it on loopback.
    pub fn local(&self) -> SocketAddr {
        self.stream
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Its port, as text.
    pub fn port(&self) -> String {
        self.local().port().to_string()
    }

    /// Its IP address, as text.
    pub fn ip(&self) -> String {
        match self.local().ip() {
            IpAddr::V6(v6) => v6.to_canonical().to_string(),
            v4 => v4.to_string(),
        }
    }

    /// Sends one message (or the name), framed as the server expects.
    pub fn send(&mut self, text: &str) -> Result<(), Failure> {
        let bytes = match self.framing {
            Framing::Lines => format!("{text}\n"),
            Framing::Writes => {
                if let Some(last) = self.last_write {
                    // The input's shape, not synchronisation: separate writes, separate reads.
                    thread::sleep(GAP.saturating_sub(last.elapsed()));
                }
                text.to_string()
            }
        };
        self.transcript.record(&self.label, ">>", text);
        self.last_write = Some(Instant::now());
        (&self.stream).write_all(bytes.as_bytes()).map_err(|e| {
            let why = match e.kind() {
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => t!(
                    catalog::SEND_STALLED,
                    format!(
                        "{:.0}",
                        self.stream
                            .write_timeout()
                            .ok()
                            .flatten()
                            .unwrap_or_default()
                            .as_secs_f64()
                    )
                ),
                _ => io_error(&e),
            };
            Failure::at(&self.label, catalog::SEND_A_LINE, why)
        })
    }

    /// How long a send may wait for the server to take it before it fails.
    pub fn set_send_patience(&self, d: Duration) {
        let _ = self.stream.set_write_timeout(Some(d));
    }

    /// A second handle on the socket, for a thread that sends in bulk.
    pub fn try_clone_stream(&self) -> std::io::Result<TcpStream> {
        self.stream.try_clone()
    }

    /// Where the received bytes end now: what arrives later is after this mark.
    pub fn mark(&self) -> usize {
        self.inbox
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .bytes
            .len()
    }

    /// Waits until every needle has arrived after `since`, anywhere in the bytes; returns
    /// where each starts. Fails after the read timeout (or `within`), saying what came, or at
    /// once when the server is known to be dead.
    pub fn wait_for(
        &self,
        since: usize,
        needles: &[&str],
        what: Text,
        within: Option<Duration>,
    ) -> Result<Vec<usize>, Failure> {
        self.wait(since, needles, false, what, within)
    }

    /// [`Peer::wait_for`], each needle as a word: not next to a letter, digit or `_`.
    pub fn wait_for_words(
        &self,
        since: usize,
        needles: &[&str],
        what: Text,
        within: Option<Duration>,
    ) -> Result<Vec<usize>, Failure> {
        self.wait(since, needles, true, what, within)
    }

    fn wait(
        &self,
        since: usize,
        needles: &[&str],
        words: bool,
        what: Text,
        within: Option<Duration>,
    ) -> Result<Vec<usize>, Failure> {
        let deadline = Instant::now() + within.unwrap_or(self.timeout);
        let (lock, arrived) = &*self.inbox;
        let mut inbox = lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut found: Vec<Option<usize>> = vec![None; needles.len()];
        let mut scanned = since;
        let mut grown = Instant::now();
        loop {
            if inbox.bytes.len() != scanned {
                grown = Instant::now();
            }
            // A word at the very end may go on in the next read; it counts once the bytes rest.
            let settled = inbox.ended.is_some() || grown.elapsed() >= SETTLE;
            for (i, n) in needles.iter().enumerate() {
                if found[i].is_none() {
                    let from = scanned.saturating_sub(n.len() + 1).max(since);
                    found[i] = if words {
                        find_word(&inbox.bytes, n.as_bytes(), from, settled)
                    } else {
                        find(&inbox.bytes, n.as_bytes(), from)
                    };
                }
            }
            scanned = inbox.bytes.len();
            if found.iter().all(Option::is_some) {
                return Ok(found.into_iter().flatten().collect());
            }
            let broke = self.watch.as_ref().and_then(|w| w.broke());
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || inbox.ended.is_some() || broke.is_some() {
                let missing: Vec<&str> = needles
                    .iter()
                    .zip(&found)
                    .filter(|(_, f)| f.is_none())
                    .map(|(n, _)| *n)
                    .collect();
                let tail = tail_of(&inbox.bytes[since.min(inbox.bytes.len())..]);
                drop(inbox);
                self.transcript
                    .record(&self.label, "--", &format!("gave up waiting for {what}"));
                if let Some((broke, _)) = broke {
                    return Err(Failure::at(&self.label, what, broke.text()));
                }
                let inbox = lock.lock().unwrap_or_else(|e| e.into_inner());
                let ended = match inbox.ended.as_deref() {
                    None => Text::data(""),
                    Some(e) if e.starts_with("end of stream") => catalog::ENDED_CLOSED.text(),
                    Some(e) => t!(catalog::ENDED_BROKEN, e),
                };
                let secs = format!("{:.1}", within.unwrap_or(self.timeout).as_secs_f64());
                // Names, addresses and ports are worth naming; the grader's tokens are not.
                let actual = if words {
                    t!(
                        catalog::WORDS_MISSING,
                        format!("{missing:?}"),
                        secs,
                        ended,
                        tail
                    )
                } else {
                    t!(catalog::NOTHING_CAME, secs, ended, tail)
                };
                return Err(Failure::at(&self.label, what, actual));
            }
            // Woken by every arrival; at least every 100 ms to look at the server's watch.
            inbox = arrived
                .wait_timeout(inbox, left.min(Duration::from_millis(100)))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Whether the connection ended (closed by the server, or failed).
    pub fn ended(&self) -> bool {
        self.inbox
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .ended
            .is_some()
    }

    /// Whether anything at all arrived after `since`.
    pub fn got_any_since(&self, since: usize) -> bool {
        self.mark() > since
    }

    /// How many times `word` arrived, as a word, in `[since, until)`.
    pub fn count_words_between(&self, since: usize, until: usize, word: &str) -> usize {
        let inbox = self.inbox.0.lock().unwrap_or_else(|e| e.into_inner());
        let until = until.min(inbox.bytes.len());
        let hay = &inbox.bytes[..until];
        let mut n = 0;
        let mut from = since.min(until);
        while let Some(at) = find_word(hay, word.as_bytes(), from, true) {
            n += 1;
            from = at + word.len();
        }
        n
    }

    /// The received bytes in `[since, until)`.
    pub fn bytes_between(&self, since: usize, until: usize) -> Vec<u8> {
        let inbox = self.inbox.0.lock().unwrap_or_else(|e| e.into_inner());
        let until = until.min(inbox.bytes.len());
        inbox.bytes[since.min(until)..until].to_vec()
    }

    /// Waits until anything arrives after `since` or the connection ends, at most `within`.
    pub fn wait_any(&self, since: usize, within: Duration) {
        let deadline = Instant::now() + within;
        let (lock, arrived) = &*self.inbox;
        let mut inbox = lock.lock().unwrap_or_else(|e| e.into_inner());
        while inbox.bytes.len() <= since && inbox.ended.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            inbox = arrived
                .wait_timeout(inbox, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Whether `needle` arrived in `[since, until)`.
    pub fn got_between(&self, since: usize, until: usize, needle: &str) -> bool {
        let inbox = self.inbox.0.lock().unwrap_or_else(|e| e.into_inner());
        let until = until.min(inbox.bytes.len());
        let since = since.min(until);
        find(&inbox.bytes[..until], needle.as_bytes(), since).is_some()
    }

    /// What arrived in `[since, until)`, as text, shortened for a report.
    pub fn shown_between(&self, since: usize, until: usize) -> Text {
        let inbox = self.inbox.0.lock().unwrap_or_else(|e| e.into_inner());
        let until = until.min(inbox.bytes.len());
        tail_of(&inbox.bytes[since.min(until)..until])
    }

    /// Leaves politely (no quit message): stops sending, reads what it was still sent, and
    /// closes when the server closes or after a moment.
    pub fn close(self) {
        // Drop does it.
    }

    /// Breaks the connection as a crashed client would: a reset, with data unread.
    pub fn abort(mut self) {
        self.transcript
            .record(&self.label, "--", "connection broken by client (reset)");
        self.gone = true;
        let _ = socket2::SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
        // Ends the reader's blocked read at once, so that our handle is the socket's last and
        // closing it sends the reset now.
        self.leaving.store(true, Ordering::Release);
        let _ = self.stream.shutdown(Shutdown::Read);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if self.gone {
            // Aborted: closing with linger 0 sends the reset, and nothing may come first (a
            // FIN would let the server read a clean end of stream instead).
            return;
        }
        self.transcript
            .record(&self.label, "--", "closed by client");
        // The reading thread holds a handle too: it reads until the server closes, or LINGER.
        self.leaving.store(true, Ordering::Release);
        let _ = self.stream.shutdown(Shutdown::Write);
        if self.reader.is_none() {
            // A stopped reader has nothing to drain: its unread data goes with it.
            let _ = self.stream.shutdown(Shutdown::Both);
        }
    }
}

fn read_all(
    rd: &mut TcpStream,
    inbox: &Shared,
    transcript: &Transcript,
    label: &str,
    leaving: &AtomicBool,
) {
    let mut buf = vec![0u8; 64 * 1024];
    let (lock, arrived) = &**inbox;
    let mut recorded = 0usize;
    let mut left_at: Option<Instant> = None;
    let ended = loop {
        if leaving.load(Ordering::Acquire) {
            let at = *left_at.get_or_insert_with(Instant::now);
            if at.elapsed() > LINGER {
                let _ = rd.shutdown(Shutdown::Both);
                break "closed".to_string();
            }
        }
        match rd.read(&mut buf) {
            Ok(0) => break "end of stream".to_string(),
            Ok(n) => {
                // The transcript keeps the first 16 KB a client receives, not megabytes.
                if recorded < 16 * 1024 {
                    transcript.record(label, "<<", &String::from_utf8_lossy(&buf[..n]));
                    recorded += n;
                }
                let mut i = lock.lock().unwrap_or_else(|e| e.into_inner());
                i.bytes.extend_from_slice(&buf[..n]);
                arrived.notify_all();
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::Interrupted
                        | std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => break format!("read failed: {e}"),
        }
    };
    transcript.record(label, "--", &ended);
    let mut i = lock.lock().unwrap_or_else(|e| e.into_inner());
    i.ended = Some(ended);
    arrived.notify_all();
}

/// Where `needle` first occurs in `hay` at or after `from`.
pub fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from >= hay.len() {
        return None;
    }
    memchr::memmem::find(&hay[from..], needle).map(|p| p + from)
}

/// Where `word` first occurs in `hay` at or after `from` as a whole word: what follows it
/// does not go on in its kind (no letter, digit, `_` or multi-byte character after a name; no
/// digit after a number), and a number has no digit before it either. Text before a name is
/// not checked, since a server that does not end its messages glues them together. A word
/// that ends `hay` counts only when `end_is_boundary` (nothing more will come).
pub fn find_word(hay: &[u8], word: &[u8], from: usize, end_is_boundary: bool) -> Option<usize> {
    let (Some(&first), Some(&last)) = (word.first(), word.last()) else {
        return None;
    };
    let goes_on = |b: u8| {
        if last.is_ascii_digit() {
            b.is_ascii_digit()
        } else {
            b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
        }
    };
    let mut from = from;
    while let Some(at) = find(hay, word, from) {
        let before = at.checked_sub(1).map(|i| hay[i]);
        let after = hay.get(at + word.len()).copied();
        let ends_well = match after {
            Some(b) => !goes_on(b),
            None => end_is_boundary,
        };
        let starts_well = !(first.is_ascii_digit() && before.is_some_and(|b| b.is_ascii_digit()));
        if starts_well && ends_well {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn tail_of(bytes: &[u8]) -> Text {
    let text = String::from_utf8_lossy(bytes);
    let n = text.chars().count();
    if n == 0 {
        catalog::NOTHING_AT_ALL.text()
    } else if n <= 300 {
        Text::data(format!("{text:?}"))
    } else {
        let tail: String = text.chars().skip(n - 300).collect();
        Text::data(format!("...{tail:?}"))
    }
}

/// An I/O error in a student's words: the common ones translated, the rest as the OS says.
pub fn io_error(e: &std::io::Error) -> Text {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => catalog::IO_REFUSED.text(),
        ConnectionReset | ConnectionAborted => catalog::IO_RESET.text(),
        BrokenPipe => catalog::IO_CLOSED.text(),
        TimedOut | WouldBlock => catalog::IO_TIMED_OUT.text(),
        _ => t!(catalog::IO_OTHER, e.to_string()),
    }
}
