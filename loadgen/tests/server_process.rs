//! loadgen against a server in another process: the process found by its listening port for
//! CPU, threads and memory, and its Prometheus endpoint for sends and bytes written.
//!
//! The server process is this test binary run again with `SERVE_FOR_TEST` set, so the test
//! needs no other binary: it starts the reference server with `--metrics` on port 0, prints both
//! addresses, and serves until its stdin closes.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use assert_cmd::cargo::cargo_bin;
use predicates::prelude::*;

const CHILD: &str = "SERVE_FOR_TEST";

#[test]
fn serve_for_test() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let server = chat_server::RunningServer::start(chat_server::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        metrics: Some("127.0.0.1:0".parse().unwrap()),
        ..chat_server::Config::default()
    })
    .unwrap();
    println!("chat-at {}", server.addr());
    println!("metrics-at {}", server.metrics_addr().unwrap());
    // Serves until the parent closes our stdin (or dies).
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

/// A server in its own process; dropped, it ends.
struct ServerProcess {
    child: Child,
    chat: String,
    metrics: String,
}

impl ServerProcess {
    fn start() -> ServerProcess {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "serve_for_test",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(CHILD, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        // Read on a thread, so that a child that prints nothing fails the test instead of
        // hanging it.
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let find = |prefix: &str| loop {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .expect("the server process printed its address");
            // libtest prints the test's name on the same line, before the test's own output.
            if let Some((_, rest)) = line.split_once(prefix) {
                return rest.trim().to_string();
            }
        };
        let chat = find("chat-at ");
        let metrics = find("metrics-at ");
        ServerProcess {
            child,
            chat,
            metrics,
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn loadgen(server: &ServerProcess) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(cargo_bin("loadgen"));
    cmd.args(["--server", &server.chat])
        .args(["--clients", "20", "--rate", "5", "--arrival", "burst"])
        .args(["--warmup", "500ms", "--duration", "2s"])
        .timeout(Duration::from_secs(60));
    cmd
}

#[test]
fn a_server_process_is_found_by_its_port_and_its_metrics_are_scraped() {
    let server = ServerProcess::start();
    let dir = std::env::temp_dir().join(format!("loadgen-process-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("run.json");
    loadgen(&server)
        .args(["--server-metrics", &server.metrics])
        .arg("--json")
        .arg(&json)
        .args(["--threshold", "server_sends_per_delivery<=1.5"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "process {} (listening on {})",
            server.child.id(),
            server.chat
        )));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let cost = &report["server_cost"];
    let get = |name: &str| {
        cost[name]
            .as_f64()
            .unwrap_or_else(|| panic!("no {name} in {cost}"))
    };
    assert!(get("cpu_us_per_delivery") > 0.0, "{cost}");
    assert!(get("sends_per_delivery") > 0.0, "{cost}");
    // A MSG line from a bot: "MSG " + name + " " + the 64-byte text + "\n".
    assert!((70.0..90.0).contains(&get("bytes_per_delivery")), "{cost}");
    // One session thread per client; the preflight connection's has ended.
    assert!((0.9..=1.1).contains(&get("threads_per_client")), "{cost}");
    assert!(get("rss_kib_per_client") >= 0.0, "{cost}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn without_its_endpoint_a_server_process_gives_cpu_but_not_sends() {
    let server = ServerProcess::start();
    loadgen(&server)
        .assert()
        .success()
        .stdout(predicate::str::contains("sends n/a, bytes n/a"));
    // A threshold on a figure the run could not measure fails rather than passes.
    loadgen(&server)
        .args(["--threshold", "server_sends_per_delivery<1"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("not measured in this run"));
}

#[test]
fn a_wrong_metrics_address_or_pid_is_a_usage_error_before_the_run() {
    let server = ServerProcess::start();
    // The chat port speaks chat/1, not HTTP.
    loadgen(&server)
        .args(["--server-metrics", &server.chat])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/metrics"));
    loadgen(&server)
        .args(["--server-pid", "999999999"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no process 999999999"));
}
