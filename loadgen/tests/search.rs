//! `loadgen search` against servers whose limits are known: a chat/1 server written here that
//! relays at most N lines per second and queues the rest must be found within the search's
//! precision; a generator held back on purpose must end the search with the generator-bound
//! sentence.
//!
//! The server holds every line 10 ms before relaying it, so that its latency under capacity is
//! well above what a debug build of loadgen adds on a busy machine (a step that measured loadgen
//! would end the search), and the SLO (50 ms) is far from both that and a passing step's
//! latency, so a scheduling hiccup under capacity does not fail a step; over capacity the queue
//! grows by the excess every second and passes 50 ms within the step. The searches run one at a
//! time.

use std::io::{BufRead, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;
use assert_cmd::Command;

mod common;
use common::show;

const TIMEOUT: Duration = Duration::from_secs(240);

type Clients = Arc<Mutex<Vec<(usize, String, TcpStream)>>>;
type Queue = mpsc::Sender<(usize, String, Instant)>;

/// How long the paced server holds each line before relaying it.
const HOLD: Duration = Duration::from_millis(10);

/// The searches run one at a time: each is timed, and together they would share two cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// A chat/1 server that relays at most `lines_per_s` lines per second, first in first out,
/// each at least [`HOLD`] after it came, and queues the rest without limit: its capacity is
/// `lines_per_s * (users - 1)` deliveries/s.
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
        let (queue, relay_rx) = mpsc::channel::<(usize, String, Instant)>();
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

fn session(id: usize, stream: TcpStream, clients: Clients, queue: Queue) {
    let Some((name, mut writer, mut reader)) = common::greet(stream, "paced test server") else {
        return;
    };
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
                if queue.send((id, text, Instant::now())).is_err() {
                    break;
                }
            }
        }
    }
    clients.lock().unwrap().retain(|c| c.0 != id);
}

/// Relays one line every 1/lines_per_s seconds at most, in arrival order, each at least
/// [`HOLD`] after it came.
fn relay(
    queue: mpsc::Receiver<(usize, String, Instant)>,
    clients: Clients,
    lines_per_s: f64,
    stop: Arc<AtomicBool>,
) {
    let gap = Duration::from_secs_f64(1.0 / lines_per_s);
    let mut next = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let Ok((from, text, came)) = queue.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        // The server's latency and pace (what the test measures), not a wait for the test's
        // sake.
        let due = next.max(came + HOLD);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        next = due + gap;
        let mut list = clients.lock().unwrap();
        let Some(name) = list.iter().find(|c| c.0 == from).map(|c| c.1.clone()) else {
            continue;
        };
        let msg = format!("MSG {name} {text}\n");
        list.retain_mut(|c| c.0 == from || c.2.write_all(msg.as_bytes()).is_ok());
    }
}

#[test]
fn a_server_of_known_capacity_is_found_within_the_precision() {
    known_capacity_is_found(&[], 0.9 * 0.97);
}

#[test]
fn a_generator_held_back_a_little_still_finds_the_capacity() {
    // 1 ms of blocking after each send on one worker: up to 64% of its time at the steps
    // above the capacity; it keeps its plan, so every step is judged, and none stops the
    // search.
    // What it must show is that the search is not stopped by loadgen's own delay: the answer
    // may sit lower (the delay adds to every p99 near the capacity), and steps just under the
    // capacity may fail on it, so neither is held to the precision.
    known_capacity_is_found(&["--workers", "1", "--hold-back", "1ms"], 0.6);
}

/// Searches the paced server of known capacity with `extra` flags, and checks the answer: at
/// least `least` of the capacity and confirmed. Where `least` is within the precision (0.8 or
/// more), every step clearly below the capacity must also have passed, and every step above
/// it failed.
fn known_capacity_is_found(extra: &[&str], least: f64) {
    let _alone = one_at_a_time();
    // 4 bots; 333 lines/s relayed, to 3 others each: 999 deliveries/s, 83.25 msg/s per bot.
    let lines_per_s = 333.0;
    let server = PacedServer::start(lines_per_s);
    let capacity = lines_per_s * 3.0;
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
        .args(["--slo", "p99<50ms", "--precision", "10%"])
        .args(["--warmup", "1s", "--duration", "2s", "--drain", "3s"])
        .args(["--threshold", "capacity>=700"])
        .args(extra)
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
        found >= capacity * least && found <= capacity * 1.03,
        "found {found:.0} deliveries/s for a capacity of {capacity:.0}\n{}",
        show(&out)
    );
    assert_eq!(answer["purpose"], "confirm", "{}", show(&out));
    assert_eq!(report["stop"], "precision", "{}", show(&out));
    // The capacity, explicitly: deliveries, load, latency, confirmed, and a lower bound since
    // loadgen and the server share this machine.
    let c = &report["capacity"];
    assert_eq!(c["deliveries_per_s"].as_f64(), Some(found), "{c}");
    assert_eq!(c["clients"], 4, "{c}");
    assert!(c["msgs_per_s"].as_f64().unwrap() > 0.0, "{c}");
    assert_eq!(c["confirmed"], true, "{c}");
    assert_eq!(c["lower_bound"], true, "{c}");
    assert!(c["p99_ms"].as_f64().unwrap() < 50.0, "{c}");
    // Every step above the capacity failed, every one below passed.
    for s in steps {
        let load = s["load"].as_f64().unwrap();
        let verdict = s["verdict"].as_str().unwrap();
        let expect = if load * 4.0 < lines_per_s * 0.97 && least > 0.8 {
            Some("pass")
        } else if load * 4.0 > lines_per_s * 1.03 {
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
    let _alone = one_at_a_time();
    let server = PacedServer::start(200.0);
    let out = search(&[
        "--server",
        &server.addr.to_string(),
        "--clients",
        "3",
        "--from",
        "40",
        "--to",
        "160",
        "--slo",
        "p99<50ms",
        "--precision",
        "50%",
        "--warmup",
        "500ms",
        "--duration",
        "1s",
        "--drain",
        "2s",
        "--threshold",
        "capacity>=100000",
    ]);
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
    let _alone = one_at_a_time();
    let out = search(&[
        "--clients",
        "4",
        "--workers",
        "1",
        "--from",
        "10",
        "--slo",
        "p99<10s",
        "--hold-back",
        "40ms",
        "--warmup",
        "500ms",
        "--duration",
        "1s",
        "--drain",
        "5s",
    ]);
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

/// `loadgen search` with these arguments, to its end.
fn search(args: &[&str]) -> Output {
    Command::new(cargo_bin("loadgen"))
        .arg("search")
        .args(args)
        .timeout(TIMEOUT)
        .output()
        .unwrap()
}

/// A search these arguments make impossible: exit 2 with `why` on stderr, before any step.
fn refused(args: &[&str], why: &str) {
    let out = search(args);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(why), "{why:?} expected\n{}", show(&out));
    assert!(
        !stderr.contains("step 1 ("),
        "refused after a step\n{}",
        show(&out)
    );
}

#[test]
fn a_search_without_an_slo_is_a_usage_error() {
    refused(&["--clients", "4"], "--slo");
}

#[test]
fn a_threshold_on_another_metric_is_refused_before_any_step() {
    refused(
        &["--slo", "p99<50ms", "--threshold", "p99<5ms"],
        "capacity>=N",
    );
}

#[test]
fn search_help_teaches_the_search_with_examples_and_exit_codes() {
    let out = search(&["--help"]);
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

#[test]
fn a_search_refuses_the_flags_of_a_run_spread_over_processes() {
    let why = "--start-at and --shard";
    refused(&["--slo", "p99<50ms", "--shard", "0/2"], why);
    refused(&["--slo", "p99<50ms", "--start-at", "2000000000"], why);
}
