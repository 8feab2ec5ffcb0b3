//! The real `loadgen` binary: short runs against the embedded server and a foreign plain-text
//! server, the gates, and the output files.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assert_cmd::cargo::cargo_bin;
use assert_cmd::Command;
use predicates::prelude::*;

const TIMEOUT: Duration = Duration::from_secs(60);

/// A short run: 20 bots, half a second of warm-up, one second measured.
fn short_run() -> Command {
    let mut cmd = Command::new(cargo_bin("loadgen"));
    cmd.args([
        "--clients",
        "20",
        "--rate",
        "5",
        "--warmup",
        "500ms",
        "--duration",
        "1s",
        "--drain",
        "5s",
    ])
    .timeout(TIMEOUT);
    cmd
}

#[test]
fn embedded_run_delivers_everything_and_passes_generous_gates() {
    short_run()
        .args([
            "--threshold",
            "lost==0",
            "--threshold",
            "p99<5s",
            "--private-ratio",
            "0.2",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("lost 0")
                .and(predicate::str::contains("embedded reference server"))
                .and(predicate::str::contains("PASS lost==0"))
                .and(predicate::str::contains("run: valid")),
        );
}

#[test]
fn a_tiny_threshold_fails_the_gate_with_exit_1() {
    short_run()
        .args(["--threshold", "p99<1us"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("FAIL p99<1us"));
}

#[test]
fn an_unknown_metric_is_a_usage_error_not_a_pass() {
    Command::new(cargo_bin("loadgen"))
        .args(["--threshold", "p98<50ms"])
        .timeout(TIMEOUT)
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("unknown metric \"p98\"").and(predicate::str::contains("p99")),
        );
}

#[test]
fn a_non_loopback_server_is_refused() {
    Command::new(cargo_bin("loadgen"))
        .args(["--server", "192.0.2.1:7777"])
        .timeout(TIMEOUT)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("loopback"));
}

#[test]
fn json_and_hgrm_are_written_and_the_json_works_as_a_baseline() {
    let dir = std::env::temp_dir().join(format!("loadgen-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("run.json");
    let hgrm = dir.join("run.hgrm");
    short_run()
        .arg("--json")
        .arg(&json)
        .arg("--hgrm")
        .arg(&hgrm)
        .assert()
        .success();
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["counts"]["lost"], 0);
    assert!(report["counts"]["delivered"].as_u64().unwrap() > 0);
    assert!(report["latency"]["p99"].as_f64().unwrap() > 0.0);
    assert!(!report["histograms"]["from_planned"]
        .as_str()
        .unwrap()
        .is_empty());
    assert_eq!(report["config"]["clients"], 20);
    let text = std::fs::read_to_string(&hgrm).unwrap();
    assert!(
        text.starts_with("       Value     Percentile TotalCount"),
        "{text}"
    );
    assert!(text.contains("#[Max"));
    // Compared with itself and a wide margin, the next run passes the regression gate.
    short_run()
        .arg("--baseline")
        .arg(&json)
        .args(["--max-regress", "10000%"])
        .assert()
        .success()
        .stdout(predicate::str::contains("PASS p99 within"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A minimal foreign chat server: the first line is the name, then every line goes to
/// everyone else, with no framing guarantees beyond what TCP gives.
fn plain_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let clients: Arc<Mutex<Vec<(usize, TcpStream)>>> = Arc::default();
    std::thread::spawn(move || {
        for (id, stream) in listener.incoming().flatten().enumerate() {
            let clients = clients.clone();
            std::thread::spawn(move || {
                let mut lines = BufReader::new(stream.try_clone().unwrap()).lines();
                let Some(Ok(name)) = lines.next() else { return };
                let mut out = stream.try_clone().unwrap();
                let _ = out.write_all(format!("welcome {name}\n").as_bytes());
                clients.lock().unwrap().push((id, out));
                for line in lines.map_while(Result::ok) {
                    // Glue sender and text without a separator line, like many assignments do.
                    let msg = format!("{name}: {line}\n");
                    for (other, s) in clients.lock().unwrap().iter_mut() {
                        if *other != id {
                            let _ = s.write_all(msg.as_bytes());
                        }
                    }
                }
                clients.lock().unwrap().retain(|(other, _)| *other != id);
            });
        }
    });
    addr
}

#[test]
fn plain_protocol_drives_a_foreign_line_server() {
    let addr = plain_server();
    short_run()
        .args([
            "--protocol",
            "plain",
            "--server",
            &addr.to_string(),
            "--threshold",
            "lost==0",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("lost 0").and(predicate::str::contains("Plain")));
}
