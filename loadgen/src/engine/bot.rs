//! One bot: connect and register, then send on its planned schedule while a reader task records
//! every token that arrives. Bots run as tasks on their worker's single-threaded runtime and
//! record into the worker's stats ([`Worker`]), never into anything another thread touches.

use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use std::os::fd::AsRawFd;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{sleep_until, timeout, Instant};

use crate::engine::brief::{Phase, Worker};
use crate::engine::handshake::{self, Answer};
use crate::engine::reading;
use crate::plan::arrival;
use crate::plan::config::Protocol;
use crate::plan::schedule::Schedule;
use crate::recording::token::Token;

/// Runs bot `index` (among all the run's bots), this shard's `nth`, to the end of the run.
pub async fn run(index: u32, nth: usize, w: Rc<Worker>) {
    let plan = &w.plan;
    let connect_at = Duration::from_secs_f64(nth as f64 / plan.config.connect_rate);
    sleep_until(Instant::from_std(plan.clock.base + connect_at)).await;
    let started = std::time::Instant::now();
    let parts = match timeout(plan.config.connect_timeout, register(index, &w)).await {
        Ok(Ok(parts)) => parts,
        Ok(Err(kind)) => return gave_up(&w, kind),
        Err(_) => return gave_up(&w, "connect-timeout"),
    };
    let (reader, writer, leftover) = parts;
    crate::recording::stats::record(
        &mut w.stats.borrow_mut().connect,
        started.elapsed().as_micros() as u64,
    );
    let _ = w.ready.send(true);

    let receiving = tokio::task::spawn_local(reading::receive(index, reader, leftover, w.clone()));
    // Stopped from here rather than by a select in its loop, which would cost a watch poll
    // per read; what it recorded is in the worker's stats already.
    let stop_reading = receiving.abort_handle();
    let writer = send_loop(index, &w, writer).await;
    w.sender_done();
    let mut phase = w.phase.clone();
    let _ = phase.wait_for(|p| *p == Phase::Stop).await;
    if let Some(mut wr) = writer {
        if plan.config.protocol == Protocol::Chat1 {
            let _ = wr.write_all(handshake::QUIT).await;
        }
        let _ = wr.shutdown().await;
    }
    stop_reading.abort();
    let _ = receiving.await;
}

fn gave_up(w: &Worker, kind: &str) {
    w.stats.borrow_mut().error(kind);
    w.sender_done();
    let _ = w.ready.send(false);
}

type Registered = (OwnedReadHalf, OwnedWriteHalf, Vec<u8>);

/// Connects and registers; returns the halves and any bytes read past registration.
async fn register(index: u32, w: &Worker) -> Result<Registered, &'static str> {
    let source = crate::plan::source::for_bot(&w.plan.config.source_addresses, index);
    let stream = connect(w.plan.addr, source).await?;
    // Our own sends must not sit in Nagle's buffer: the server's delay is what we measure.
    let _ = stream.set_nodelay(true);
    // A light worker counts deliveries from their arrival, not from its reads (crate::engine::reading).
    if w.arrivals.borrow().stamped() {
        arrival::enable(stream.as_raw_fd()).map_err(|_| "timestamps")?;
    }
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    let name = &w.plan.names[index as usize];
    match w.plan.config.protocol {
        Protocol::Chat1 => {
            let mut line = String::new();
            read_line(&mut rd, &mut line).await?;
            if !handshake::is_greeting(line.as_bytes()) {
                return Err("no-hello");
            }
            write(&mut wr, handshake::name_line(name).as_bytes()).await?;
            loop {
                line.clear();
                read_line(&mut rd, &mut line).await?;
                match handshake::answer(line.as_bytes()) {
                    Some(Answer::Welcomed) => {
                        let rest = rd.buffer().to_vec();
                        return Ok((rd.into_inner(), wr, rest));
                    }
                    Some(Answer::Refused) => return Err("registration-refused"),
                    None => {}
                }
            }
        }
        Protocol::Plain => {
            write(&mut wr, handshake::name_line(name).as_bytes()).await?;
            let mut buf = vec![0u8; 4096];
            let n = rd.read(&mut buf).await.map_err(|_| "read")?;
            if n == 0 {
                return Err("closed-during-registration");
            }
            buf.truncate(n);
            Ok((rd.into_inner(), wr, buf))
        }
    }
}

async fn connect(addr: SocketAddr, source: Option<IpAddr>) -> Result<TcpStream, &'static str> {
    let connected = match source {
        None => TcpStream::connect(addr).await,
        Some(ip) => {
            let socket = if addr.is_ipv4() {
                TcpSocket::new_v4()
            } else {
                TcpSocket::new_v6()
            }
            .map_err(|_| "connect")?;
            socket
                .bind(SocketAddr::new(ip, 0))
                .map_err(|_| "bind-source")?;
            socket.connect(addr).await
        }
    };
    connected.map_err(|e| match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connect-refused",
        _ => "connect",
    })
}

async fn write(wr: &mut OwnedWriteHalf, bytes: &[u8]) -> Result<(), &'static str> {
    wr.write_all(bytes).await.map_err(|_| "write")
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
async fn send_loop(index: u32, w: &Worker, mut writer: OwnedWriteHalf) -> Option<OwnedWriteHalf> {
    let mut phase = w.phase.clone();
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
    let plan = &w.plan;
    let cfg = &plan.config;
    let bots = plan.names.len() as u32;
    let schedule = Schedule::new(
        cfg.seed,
        index,
        bots,
        cfg.rate,
        cfg.arrival,
        cfg.private_ratio,
    );
    let mut text = String::with_capacity(cfg.size + 64);
    for planned in schedule {
        let at = start + planned.at;
        if at >= end {
            break;
        }
        tokio::select! {
            _ = w.timer.sleep_until(plan.clock.base + at) => {}
            _ = phase.wait_for(Phase::sending_over) => break,
        }
        // Offsets from the start of sending, which every shard shares.
        let planned_us = planned.at.as_micros() as u64;
        let sent_us = plan.clock.since_start_us();
        text.clear();
        if let Some(t) = planned.to {
            text.push('@');
            text.push_str(&plan.names[t as usize]);
            text.push(' ');
        }
        let body_start = text.len();
        let token = Token {
            sender: index,
            seq: planned.seq,
            planned_us,
            sent_us,
        };
        token.write(&mut text);
        while text.len() - body_start < cfg.size {
            text.push('x');
        }
        text.push('\n');
        let recipients = match planned.to {
            Some(to) => (1, plan.clock.own(to) as u32),
            None => (bots - 1, plan.own_bots - 1),
        };
        w.stats.borrow_mut().sent(
            &plan.clock,
            &w.live,
            &token,
            recipients,
            sent_us.saturating_sub(planned_us),
        );
        if writer.write_all(text.as_bytes()).await.is_err() {
            w.stats.borrow_mut().error("write");
            return None;
        }
        if cfg.hold_back_us > 0 {
            // On purpose, for tests of the generator-bound checks: the whole worker stalls.
            std::thread::sleep(Duration::from_micros(cfg.hold_back_us));
        }
    }
    Some(writer)
}
