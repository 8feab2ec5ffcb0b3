//! A minimal, independent latency probe for a chat/1 server, to check loadgen against.
//!
//! It shares no code with loadgen on purpose: one current-thread tokio runtime, one
//! HdrHistogram per client, timestamp tokens scanned from the byte stream, latency from the
//! planned send time. It prints p50/p99 of the deliveries planned in the measured window and its
//! own CPU time per delivery.
//!
//! ```text
//! cargo run --release -p loadgen --example probe -- ADDR CLIENTS RATE [WARMUP_S] [MEASURE_S]
//! ```

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(u.ru_utime) + tv(u.ru_stime)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: probe ADDR CLIENTS RATE [WARMUP_S] [MEASURE_S]");
        std::process::exit(2);
    }
    let addr = args[0].clone();
    let clients: usize = args[1].parse().expect("CLIENTS");
    let rate: f64 = args[2].parse().expect("RATE");
    let warmup: f64 = args.get(3).map_or(2.0, |s| s.parse().expect("WARMUP_S"));
    let measure: f64 = args.get(4).map_or(10.0, |s| s.parse().expect("MEASURE_S"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let base = Instant::now();
        let mut conns = Vec::new();
        for i in 0..clients {
            let s = TcpStream::connect(&addr).await.expect("connect");
            s.set_nodelay(true).unwrap();
            let mut r = BufReader::new(s);
            let mut line = String::new();
            r.read_line(&mut line).await.unwrap();
            r.get_mut()
                .write_all(format!("probe{i}\n").as_bytes())
                .await
                .unwrap();
            loop {
                line.clear();
                r.read_line(&mut line).await.unwrap();
                if line.starts_with("WELCOME") {
                    break;
                }
            }
            conns.push(r.into_inner());
        }
        let start_us = base.elapsed().as_micros() as u64 + 100_000;
        let from_us = start_us + (warmup * 1e6) as u64;
        let end_us = from_us + (measure * 1e6) as u64;
        let interval_us = 1e6 / rate;
        let delivered = Rc::new(Cell::new(0u64));
        let mut readers = Vec::new();
        let cpu0 = Rc::new(Cell::new(0.0));
        for (i, s) in conns.into_iter().enumerate() {
            let (mut rd, mut wr) = s.into_split();
            let offset = interval_us * (i as f64 / clients as f64);
            tokio::task::spawn_local(async move {
                let mut k = 0u64;
                loop {
                    let planned = start_us + (offset + k as f64 * interval_us) as u64;
                    if planned >= end_us {
                        break;
                    }
                    tokio::time::sleep_until((base + Duration::from_micros(planned)).into()).await;
                    let mut text = format!("#p{planned}#");
                    while text.len() < 64 {
                        text.push('x');
                    }
                    text.push('\n');
                    if wr.write_all(text.as_bytes()).await.is_err() {
                        break;
                    }
                    k += 1;
                }
                tokio::time::sleep(Duration::from_secs(3)).await;
                drop(wr);
            });
            let delivered = delivered.clone();
            let cpu0 = cpu0.clone();
            let hist = Rc::new(std::cell::RefCell::new(
                Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap(),
            ));
            readers.push(hist.clone());
            tokio::task::spawn_local(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let mut tail: Vec<u8> = Vec::new();
                while let Ok(n) = rd.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let now = base.elapsed().as_micros() as u64;
                    if cpu0.get() == 0.0 && now >= from_us {
                        cpu0.set(cpu_seconds());
                    }
                    // Scan the unfinished token kept from the last read, then the new bytes.
                    tail.extend_from_slice(&buf[..n]);
                    let data = &tail[..];
                    let mut i = 0;
                    let mut keep = data.len();
                    while let Some(at) = memchr::memchr(b'#', &data[i..]) {
                        let start = i + at;
                        if data.get(start + 1) != Some(&b'p') {
                            if start + 1 == data.len() {
                                keep = start;
                                break;
                            }
                            i = start + 1;
                            continue;
                        }
                        let Some(len) = memchr::memchr(b'#', &data[start + 2..]) else {
                            keep = start;
                            break;
                        };
                        let body = &data[start + 2..start + 2 + len];
                        if let Some(p) = std::str::from_utf8(body).ok().and_then(|t| t.parse::<u64>().ok()) {
                            if p >= from_us && p < end_us {
                                hist.borrow_mut().saturating_record(now.saturating_sub(p).max(1));
                                delivered.set(delivered.get() + 1);
                            }
                        }
                        i = start + 2 + len + 1;
                    }
                    tail.drain(..keep);
                }
            });
        }
        let stop = base + Duration::from_micros(end_us) + Duration::from_secs(2);
        tokio::time::sleep_until(stop.into()).await;
        let mut all = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
        for r in readers {
            all.add(&*r.borrow()).unwrap();
        }
        let cpu = cpu_seconds() - cpu0.get();
        let n = delivered.get();
        println!(
            "probe: {clients} x {rate}/s: deliveries {n}, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, cpu {:.3} us/delivery (incl. 2 s tail)",
            all.value_at_quantile(0.5) as f64 / 1e3,
            all.value_at_quantile(0.99) as f64 / 1e3,
            all.max() as f64 / 1e3,
            cpu * 1e6 / n.max(1) as f64
        );
    });
}
