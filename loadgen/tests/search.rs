//! `loadgen search` against servers whose limits are known: a chat/1 server written here that
//! relays at most N lines per second and queues the rest must be found within the search's
//! precision; a generator held back on purpose must end the search with the generator-bound
//! sentence.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;
use assert_cmd::Command;

const TIMEOUT: Duration = Duration::from_secs(240);

type Clients = Arc<Mutex<Vec<(usize, String, TcpStream)>>>;

/// A chat/1 server that relays at most `lines_per_s` lines per second, first in first out, and
/// queues the rest without limit: its capacity is `lines_per_s * (users - 1)` deliveries/s.
struct PacedServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl PacedServer {
    fn start(lines_per_s: f64) -> PacedServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Clients = Arc::default();
        let (queue, relay_rx) = mpsc::channel::<(usize, String)>();
        {
            let clients = clients.clone();
            let stop = stop.clone();
            std::thread::spawn(move || relay(relay_rx, clients, lines_per_s, stop));
        }
        {
            let stop = stop.clone();
            std::thread::spawn(move || {
                for (id, stream) in listener.incoming().enumerate() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    let (clients, queue) = (clients.clone(), queue.clone());
                    std::thread::spawn(move || session(id, stream, clients, queue));
                }
            });
        }
        PacedServer { addr, stop }
    }
}

impl Drop for PacedServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn session(id: usize, stream: TcpStream, clients: Clients, queue: mpsc::Sender<(usize, String)>) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    if writer
        .write_all(b"HELLO chat/1 paced test server\n")
        .is_err()
    {
        return;
    }
    let mut name = String::new();
    if reader.read_line(&mut name).unwrap_or(0) == 0 {
        return;
    }
    let name = name.trim().to_string();
    let peer = writer.peer_addr().unwrap();
    let _ = writer.write_all(format!("WELCOME {name} {peer}\n").as_bytes());
    clients
        .lock()
        .unwrap()
        .push((id, name, writer.try_clone().unwrap()));
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let text = line.trim_end().to_string();
                if text == "/quit" {
                    let _ = writer.write_all(b"BYE bye\n");
                    break;
                }
                if queue.send((id, text)).is_err() {
                    break;
                }
            }
        }
    }
    clients.lock().unwrap().retain(|c| c.0 != id);
}

/// Relays one line every 1/lines_per_s seconds at most, in arrival order.
fn relay(
    queue: mpsc::Receiver<(usize, String)>,
    clients: Clients,
    lines_per_s: f64,
    stop: Arc<AtomicBool>,
) {
    let gap = Duration::from_secs_f64(1.0 / lines_per_s);
    let mut next = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let Ok((from, text)) = queue.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        // The server's pace (what the test measures), not a wait for the test's sake.
        next = next.max(Instant::now());
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        next += gap;
        let mut list = clients.lock().unwrap();
        let Some(name) = list.iter().find(|c| c.0 == from).map(|c| c.1.clone()) else {
            continue;
        };
        let msg = format!("MSG {name} {text}\n");
        list.retain_mut(|c| c.0 == from || c.2.write_all(msg.as_bytes()).is_ok());
    }
}

fn show(out: &std::process::Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_server_of_known_capacity_is_found_within_the_precision() {
    // 4 bots; 333 lines/s relayed, to 3 others each: 999 deliveries/s, 83.25 msg/s per bot.
    let server = PacedServer::start(333.0);
    let capacity = 333.0 * 3.0;
    let dir = std::env::temp_dir().join(format!("loadgen-search-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("search.json");
    let html = dir.join("search.html");
    let out = Command::new(cargo_bin("loadgen"))
        .args(["search", "--server", &server.addr.to_string()])
        .args([
            "--clients",
            "4",
            "--vary",
            "rate",
            "--from",
            "40",
            "--to",
            "400",
        ])
        .args(["--slo", "p99<25ms", "--precision", "10%"])
        .args(["--warmup", "1s", "--duration", "2s", "--drain", "3s"])
        .args(["--threshold", "capacity>=700"])
        .arg("--json")
        .arg(&json)
        .arg("--html")
        .arg(&html)
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let steps = report["steps"].as_array().unwrap();
    let answer_n = report["answer"].as_u64().expect("an answer");
    let answer = steps
        .iter()
        .find(|s| s["number"].as_u64() == Some(answer_n))
        .unwrap();
    let found = answer["deliveries_per_s"].as_f64().unwrap();
    // Within the precision below the capacity; a little above it is measurement edge.
    assert!(
        found >= capacity * 0.9 * 0.97 && found <= capacity * 1.03,
        "found {found:.0} deliveries/s for a capacity of {capacity:.0}\n{}",
        show(&out)
    );
    assert_eq!(answer["purpose"], "confirm", "{}", show(&out));
    assert_eq!(report["stop"], "precision", "{}", show(&out));
    // Every step above the capacity failed, every one below passed.
    for s in steps {
        let load = s["load"].as_f64().unwrap();
        let verdict = s["verdict"].as_str().unwrap();
        let expect = if load * 4.0 < 333.0 * 0.97 {
            Some("pass")
        } else if load * 4.0 > 333.0 * 1.03 {
            Some("fail")
        } else {
            None
        };
        if let Some(expect) = expect {
            assert_eq!(
                verdict,
                expect,
                "step at {load} msg/s per bot\n{}",
                show(&out)
            );
        }
        assert!(
            s["report"]["latency"]["p99"].is_number(),
            "each step keeps its report"
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("capacity: "), "{}", show(&out));
    assert!(
        stdout.contains("PASS capacity gate capacity>=700"),
        "{}",
        show(&out)
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("Latency against throughput"),
        "the curve is drawn"
    );
    assert!(page.contains("stroke-dasharray"), "the SLO line is drawn");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_capacity_gate_above_what_the_server_takes_fails_with_exit_1() {
    let server = PacedServer::start(200.0);
    let out = Command::new(cargo_bin("loadgen"))
        .args(["search", "--server", &server.addr.to_string()])
        .args(["--clients", "3", "--from", "40", "--to", "160"])
        .args(["--slo", "p99<25ms", "--precision", "50%"])
        .args(["--warmup", "500ms", "--duration", "1s", "--drain", "2s"])
        .args(["--threshold", "capacity>=100000"])
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("FAIL capacity gate capacity>=100000"),
        "{}",
        show(&out)
    );
}

#[test]
fn a_generator_held_back_ends_the_search_with_the_generator_bound_sentence() {
    let out = Command::new(cargo_bin("loadgen"))
        .args(["search", "--clients", "4", "--workers", "1", "--from", "10"])
        .args(["--slo", "p99<10s", "--hold-back", "40ms"])
        .args(["--warmup", "500ms", "--duration", "1s", "--drain", "5s"])
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("the generator is the limit, not the server"),
        "{}",
        show(&out)
    );
    assert!(stdout.contains("--shard"), "{}", show(&out));
    assert!(stdout.contains("GENERATOR-BOUND"), "{}", show(&out));
}

#[test]
fn a_search_without_an_slo_is_a_usage_error() {
    let out = Command::new(cargo_bin("loadgen"))
        .args(["search", "--clients", "4"])
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--slo"));
}

#[test]
fn a_threshold_on_another_metric_is_refused_before_any_step() {
    let out = Command::new(cargo_bin("loadgen"))
        .args(["search", "--slo", "p99<50ms", "--threshold", "p99<5ms"])
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("capacity>=N"),
        "{}",
        show(&out)
    );
}

#[test]
fn search_help_teaches_the_search_with_examples_and_exit_codes() {
    let out = Command::new(cargo_bin("loadgen"))
        .args(["search", "--help"])
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let help = String::from_utf8_lossy(&out.stdout);
    for needed in [
        "doubling",
        "bisect",
        "--slo",
        "--vary",
        "capacity>=",
        "Exit codes",
    ] {
        assert!(help.contains(needed), "{needed:?} missing from:\n{help}");
    }
}
