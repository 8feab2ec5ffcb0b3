//! One bot: connect and register, then send on a fixed schedule while a reader task records
//! every token that arrives.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{sleep_until, timeout, Instant};

use crate::config::{Config, Protocol};
use crate::rng::Rng;
use crate::stats::{RecvStats, SendStats, Shared};
use crate::token::{Scanner, Token};

/// Where the run is; bots wait for the controller to move it on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Phase {
    /// Connecting and registering.
    Connecting,
    /// Everyone is registered: send from `start` (an offset from the run's time zero) until
    /// `end`.
    Sending { start: Duration, end: Duration },
    /// Stop reading and leave.
    Stop,
}

/// Everything a bot needs to know about the run.
pub struct BotSpec {
    /// The bot's index.
    pub index: u32,
    /// All bots' names, for private targets.
    pub names: Arc<Vec<String>>,
    /// The server.
    pub addr: SocketAddr,
    /// The run's settings.
    pub config: Arc<Config>,
    /// Shared clock and completion table.
    pub shared: Arc<Shared>,
    /// Phase changes from the controller.
    pub phase: watch::Receiver<Phase>,
    /// Tells the controller this bot is registered (or gave up).
    pub ready: tokio::sync::mpsc::UnboundedSender<bool>,
}

/// What a bot reports when it ends.
pub struct BotResult {
    /// Its sending side.
    pub send: SendStats,
    /// Its receiving side, if it got that far.
    pub recv: Option<RecvStats>,
}

/// Runs a bot to the end of the run.
pub async fn run(spec: BotSpec) -> BotResult {
    let mut send = SendStats::new();
    let shared = spec.shared.clone();
    let connect_at = Duration::from_secs_f64(spec.index as f64 / spec.config.connect_rate);
    sleep_until(Instant::from_std(shared.base + connect_at)).await;
    let started = std::time::Instant::now();
    let registered = timeout(spec.config.connect_timeout, register(&spec)).await;
    let (reader, writer, leftover) = match registered {
        Ok(Ok(parts)) => parts,
        Ok(Err(kind)) => {
            send.error(kind);
            let _ = spec.ready.send(false);
            return BotResult { send, recv: None };
        }
        Err(_) => {
            send.error("connect-timeout");
            let _ = spec.ready.send(false);
            return BotResult { send, recv: None };
        }
    };
    send.connect_us = Some(started.elapsed().as_micros() as u64);
    let _ = spec.ready.send(true);

    let recv_task = tokio::spawn(receive(
        spec.index,
        spec.names.len(),
        reader,
        leftover,
        shared.clone(),
        spec.phase.clone(),
    ));
    let writer = send_loop(&spec, writer, &mut send).await;
    let mut phase = spec.phase.clone();
    let _ = phase.wait_for(|p| *p == Phase::Stop).await;
    if let Some(mut w) = writer {
        if spec.config.protocol == Protocol::Chat1 {
            let _ = w.write_all(b"/quit\n").await;
        }
        let _ = w.shutdown().await;
    }
    let recv = recv_task.await.ok();
    BotResult { send, recv }
}

type Registered = (BufReader<OwnedReadHalf>, OwnedWriteHalf, Vec<u8>);

/// Connects and registers; returns the halves and any bytes read past registration.
async fn register(spec: &BotSpec) -> Result<Registered, &'static str> {
    let stream = TcpStream::connect(spec.addr)
        .await
        .map_err(|_| "connect-refused")?;
    // Our own sends must not sit in Nagle's buffer: the server's delay is what we measure.
    let _ = stream.set_nodelay(true);
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    let name = &spec.names[spec.index as usize];
    match spec.config.protocol {
        Protocol::Chat1 => {
            let mut line = String::new();
            read_line(&mut rd, &mut line).await?;
            if !line.starts_with("HELLO ") {
                return Err("no-hello");
            }
            wr.write_all(format!("{name}\n").as_bytes())
                .await
                .map_err(|_| "write")?;
            loop {
                line.clear();
                read_line(&mut rd, &mut line).await?;
                if line.starts_with("WELCOME ") {
                    return Ok((rd, wr, Vec::new()));
                }
                if line.starts_with("ERR ") {
                    return Err("registration-refused");
                }
            }
        }
        Protocol::Plain => {
            wr.write_all(format!("{name}\n").as_bytes())
                .await
                .map_err(|_| "write")?;
            let mut buf = vec![0u8; 4096];
            let n = rd.read(&mut buf).await.map_err(|_| "read")?;
            if n == 0 {
                return Err("closed-during-registration");
            }
            buf.truncate(n);
            Ok((rd, wr, buf))
        }
    }
}

async fn read_line(
    rd: &mut BufReader<OwnedReadHalf>,
    line: &mut String,
) -> Result<(), &'static str> {
    match rd.read_line(line).await {
        Ok(0) => Err("closed-during-registration"),
        Ok(_) => Ok(()),
        Err(_) => Err("read"),
    }
}

/// Sends on schedule until the end of the sending phase. Returns the writer unless it failed.
async fn send_loop(
    spec: &BotSpec,
    mut writer: OwnedWriteHalf,
    stats: &mut SendStats,
) -> Option<OwnedWriteHalf> {
    let mut phase = spec.phase.clone();
    let Ok(p) = phase
        .wait_for(|p| *p != Phase::Connecting)
        .await
        .map(|p| *p)
    else {
        return Some(writer);
    };
    let Phase::Sending { start, end } = p else {
        return Some(writer);
    };
    let cfg = &spec.config;
    let shared = &spec.shared;
    let mut rng = Rng::new(cfg.seed, spec.index as u64);
    let interval = Duration::from_secs_f64(1.0 / cfg.rate);
    // Spread the bots over one interval so they do not all send at the same instant.
    let offset = interval.mul_f64(rng.unit());
    let others = spec.names.len() as u32 - 1;
    let mut text = String::with_capacity(cfg.size + 48);
    for seq in 0u32.. {
        let planned = start + offset + interval * seq;
        if planned >= end {
            break;
        }
        sleep_until(Instant::from_std(shared.base + planned)).await;
        let private = cfg.private_ratio > 0.0 && rng.unit() < cfg.private_ratio;
        let target = if private {
            // Any bot but this one.
            let t = rng.below(others as u64) as u32;
            Some(if t >= spec.index { t + 1 } else { t })
        } else {
            None
        };
        let planned_us = planned.as_micros() as u64;
        let sent_us = shared.now_us();
        stats.lag(sent_us.saturating_sub(planned_us));
        text.clear();
        if let Some(t) = target {
            text.push('@');
            text.push_str(&spec.names[t as usize]);
            text.push(' ');
        }
        let body_start = text.len();
        Token {
            sender: spec.index,
            seq,
            planned_us,
            sent_us,
        }
        .write(&mut text);
        while text.len() - body_start < cfg.size {
            text.push('x');
        }
        text.push('\n');
        if shared.measured(planned_us) {
            shared.sent(spec.index, seq, if private { 1 } else { others });
            stats.sent += 1;
        }
        stats.sent_total += 1;
        if writer.write_all(text.as_bytes()).await.is_err() {
            stats.error("write");
            return None;
        }
    }
    Some(writer)
}

/// Reads until the run stops or the connection ends, recording every token.
async fn receive(
    me: u32,
    senders: usize,
    mut reader: BufReader<OwnedReadHalf>,
    leftover: Vec<u8>,
    shared: Arc<Shared>,
    mut phase: watch::Receiver<Phase>,
) -> RecvStats {
    let mut stats = RecvStats::new(me, senders);
    let mut scanner = Scanner::default();
    let mut errs = ErrScanner::default();
    let mut on_bytes = |bytes: &[u8], stats: &mut RecvStats| {
        let now = shared.now_us();
        scanner.feed(bytes, |t| stats.token(t, now, &shared));
        stats.report(&shared);
        errs.feed(bytes, stats);
    };
    on_bytes(&leftover, &mut stats);
    let mut buf = vec![0u8; 64 * 1024];
    let stopping = phase.clone();
    loop {
        tokio::select! {
            read = reader.read(&mut buf) => match read {
                Ok(0) => {
                    if *stopping.borrow() != Phase::Stop {
                        stats.error("closed-by-server");
                    }
                    break;
                }
                Ok(n) => on_bytes(&buf[..n], &mut stats),
                Err(_) => {
                    stats.error("read");
                    break;
                }
            },
            changed = phase.wait_for(|p| *p == Phase::Stop) => {
                let _ = changed;
                break;
            }
        }
    }
    stats
}

/// Counts `ERR <code>` lines from a chat/1 server by code.
#[derive(Default)]
struct ErrScanner {
    partial: Vec<u8>,
}

impl ErrScanner {
    fn feed(&mut self, bytes: &[u8], stats: &mut RecvStats) {
        // Only the first 40 bytes of each line matter: enough for "ERR <code>". Whole lines are
        // skipped at once; this runs on every byte the bots receive.
        for piece in bytes.split_inclusive(|&b| b == b'\n') {
            let (body, ends) = match piece.strip_suffix(b"\n") {
                Some(body) => (body, true),
                None => (piece, false),
            };
            let room = 40usize.saturating_sub(self.partial.len());
            self.partial
                .extend_from_slice(&body[..body.len().min(room)]);
            if ends {
                if let Some(rest) = self.partial.strip_prefix(b"ERR ") {
                    let code = rest.split(|&c| c == b' ').next().unwrap_or_default();
                    stats.error(&format!("err:{}", String::from_utf8_lossy(code)));
                }
                self.partial.clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn err_lines_are_counted_by_code_even_when_split() {
        let mut stats = RecvStats::new(0, 2);
        let mut scanner = ErrScanner::default();
        let input: &[u8] = b"MSG a x\nERR line-too-long too long\nMSG ERR no\nER";
        scanner.feed(input, &mut stats);
        scanner.feed(b"R timeout late\n", &mut stats);
        assert_eq!(stats.errors.get("err:line-too-long"), Some(&1));
        assert_eq!(stats.errors.get("err:timeout"), Some(&1));
        assert_eq!(stats.errors.len(), 2);
    }
}
