//! When a delivery counts as received: a line counts only once its last byte has arrived,
//! however the server cuts it, and a light run reports how much later it read what it had.
//!
//! The server here writes every relayed line in two parts, [`SPLIT`] apart: a delivery counted
//! from its first part (from the wake-up that announced it, or the kernel's stamp of its first
//! segment) would come out at a fraction of a millisecond instead of at least [`SPLIT`].

use std::io::{BufRead, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use assert_cmd::cargo::cargo_bin;
use assert_cmd::Command;
use loadgen::summary::report::Summary;

mod common;
use common::show;

/// How long the server waits between the two parts of every line it writes.
const SPLIT: Duration = Duration::from_millis(30);

type Outboxes = Arc<Mutex<Vec<(usize, mpsc::Sender<String>)>>>;

/// A chat/1 server that relays every line to everyone else, writing each copy in two parts
/// [`SPLIT`] apart (in order, per recipient, on the recipient's own writer thread).
fn split_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let outboxes: Outboxes = Arc::default();
    std::thread::spawn(move || {
        for (id, stream) in listener.incoming().enumerate() {
            let Ok(stream) = stream else { continue };
            let outboxes = outboxes.clone();
            std::thread::spawn(move || session(id, stream, outboxes));
        }
    });
    addr
}

fn session(id: usize, stream: TcpStream, outboxes: Outboxes) {
    let _ = stream.set_nodelay(true);
    let Some((name, mut writer, mut reader)) = common::greet(stream, "split-line test server")
    else {
        return;
    };
    let (tx, rx) = mpsc::channel::<String>();
    let mut out = writer.try_clone().unwrap();
    std::thread::spawn(move || {
        for line in rx {
            let (head, tail) = line.split_at(line.len() - 4);
            if out.write_all(head.as_bytes()).is_err() {
                return;
            }
            // The server's cut, what the test measures, not a wait for the test's sake.
            std::thread::sleep(SPLIT);
            if out.write_all(tail.as_bytes()).is_err() {
                return;
            }
        }
    });
    outboxes.lock().unwrap().push((id, tx));
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if line.trim_end() == "/quit" => {
                let _ = writer.write_all(b"BYE bye\n");
                break;
            }
            Ok(_) => {
                let msg = format!("MSG {name} {}\n", line.trim_end());
                for (other, tx) in outboxes.lock().unwrap().iter() {
                    if *other != id {
                        let _ = tx.send(msg.clone());
                    }
                }
            }
        }
    }
    outboxes.lock().unwrap().retain(|o| o.0 != id);
}

#[test]
fn a_line_written_in_two_parts_counts_from_its_last_part() {
    let addr = split_server();
    let dir = std::env::temp_dir().join(format!("loadgen-arrival-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("run.json");
    let out = Command::new(cargo_bin("loadgen"))
        .args(["--server", &addr.to_string()])
        .args(["--clients", "3", "--rate", "5"])
        .args(["--warmup", "500ms", "--duration", "2s", "--drain", "3s"])
        .args(["--threshold", "lost==0", "--json"])
        .arg(&json)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let s: Summary = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let planned = s
        .histogram("from_planned")
        .expect("the latency distribution");
    assert!(!planned.is_empty(), "no delivery measured\n{}", show(&out));
    let split_us = SPLIT.as_micros() as u64;
    assert!(
        planned.min() >= split_us && s.latency.p50 >= SPLIT.as_secs_f64() * 1e3,
        "expected every delivery at least {split_us} µs after its planned send (the server \
         wrote its last part then), came min {} µs, p50 {} ms\n{}",
        planned.min(),
        s.latency.p50,
        show(&out)
    );
    // A light run is stamped: how late it noticed and read what arrived is reported, per
    // read; a notice needs both the kernel's stamp and the loop's wake-up note.
    assert!(
        s.self_check.read_lag.count > 0 && s.self_check.notice_lag.count > 0,
        "expected the read and notice lags of a light run to be measured, came {:?} and {:?}\n{}",
        s.self_check.read_lag,
        s.self_check.notice_lag,
        show(&out)
    );
}
