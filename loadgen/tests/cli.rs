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
fn a_tiny_threshold_fails_the_gate_with_exit_1_unless_the_generator_was_the_limit() {
    let dir = std::env::temp_dir().join(format!("loadgen-tiny-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("run.json");
    let out = short_run()
        .args(["--threshold", "p99<1us", "--json"])
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(stdout.contains("FAIL p99<1us"), "{stdout}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    // Over its bound, a latency that is partly loadgen's own delay cannot fail the server: the
    // run says it cannot judge (2). Otherwise the gate fails (1).
    if report["self"]["generator_bound"] == true {
        assert_eq!(out.status.code(), Some(2), "{stdout}");
        assert!(stdout.contains("verdict: GENERATOR-BOUND"), "{stdout}");
    } else {
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        assert!(stdout.contains("verdict: FAIL: 1 of"), "{stdout}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_gate_that_stands_fails_with_exit_1_even_when_the_generator_is_the_limit() {
    // Held back on purpose: every worker stalls 3 ms after each send (a third of its time).
    let out = short_run()
        .args(["--workers", "1", "--hold-back", "3ms"])
        .args(["--threshold", "deliveries_per_s>=1000000000"])
        .args(["--threshold", "p99<1us"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("generator-bound: loadgen's own delay"),
        "{stdout}"
    );
    // A rate under its bound could be the generator's doing, a latency over its bound too:
    // neither can be told, so the run cannot be judged.
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("GENERATOR-BOUND: 2 gates cannot be judged"),
        "{stdout}"
    );
    let out = short_run()
        .args(["--workers", "1", "--hold-back", "3ms"])
        .args(["--threshold", "p99<1000s", "--threshold", "duplicated>=1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // A latency under a generous bound and a count of duplicates hold whatever the generator
    // did: the failed one fails the run.
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("1 gates failed that hold whatever"),
        "{stdout}"
    );
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
fn a_server_named_by_host_name_is_driven() {
    let server = chat_server::RunningServer::start(chat_server::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..chat_server::Config::default()
    })
    .unwrap();
    let port = server.addr().port();
    short_run()
        .args(["--server", &format!("localhost:{port}")])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "chat/1 at localhost:{port}"
        )));
}

#[test]
fn an_address_without_a_port_is_a_usage_error() {
    Command::new(cargo_bin("loadgen"))
        .args(["--server", "127.0.0.1"])
        .timeout(TIMEOUT)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot resolve --server \"127.0.0.1\"",
        ));
}

#[test]
fn a_server_that_refuses_connections_is_a_connection_error() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    Command::new(cargo_bin("loadgen"))
        .args(["--server", &format!("127.0.0.1:{port}")])
        .timeout(TIMEOUT)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "cannot connect to 127.0.0.1:{port}"
        )));
}

#[test]
fn a_server_speaking_another_protocol_is_named_as_such() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.write_all(b"Welcome to the chat! What is your name?\n");
            // Held open until the tool hangs up, so it reads the greeting on a live connection.
            let _ = std::io::copy(&mut s, &mut std::io::sink());
        }
    });
    Command::new(cargo_bin("loadgen"))
        .args(["--server", &addr.to_string()])
        .timeout(TIMEOUT)
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("does not speak chat/1")
                .and(predicate::str::contains("Welcome to the chat!"))
                .and(predicate::str::contains("--protocol plain")),
        );
}

#[test]
fn a_size_the_embedded_server_refuses_is_refused_before_the_run() {
    Command::new(cargo_bin("loadgen"))
        .args(["--clients", "2", "--size", "100000"])
        .timeout(TIMEOUT)
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("--size 100000 does not fit")
                .and(predicate::str::contains("line-too-long")),
        );
}

/// A chat/1 server that registers everyone and answers every message with an error, delivering
/// nothing: what a server with a smaller line limit does to oversized messages.
fn refusing_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut out = stream.try_clone().unwrap();
                let _ = out.write_all(b"HELLO chat/1 refusing\n");
                let mut lines = BufReader::new(stream).lines();
                let Some(Ok(name)) = lines.next() else { return };
                let _ = out.write_all(format!("WELCOME {name}\n").as_bytes());
                for line in lines.map_while(Result::ok) {
                    if line == "/quit" {
                        let _ = out.write_all(b"BYE\n");
                        return;
                    }
                    let _ = out.write_all(b"ERR line-too-long the line is too long\n");
                }
            });
        }
    });
    addr
}

#[test]
fn lost_deliveries_and_server_errors_fail_the_run_by_default() {
    let addr = refusing_server();
    short_run()
        .args(["--server", &addr.to_string()])
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("FAIL lost==0")
                .and(predicate::str::contains("FAIL errors==0"))
                .and(predicate::str::contains("err:line-too-long")),
        );
}

#[test]
fn thresholds_on_loss_and_errors_replace_the_default_gates() {
    let addr = refusing_server();
    short_run()
        .args([
            "--server",
            &addr.to_string(),
            "--threshold",
            "lost_pct<=100",
            "--threshold",
            "errors<1000000",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("FAIL").not());
}

#[test]
fn json_and_hgrm_are_written_and_the_json_works_as_a_baseline() {
    let dir = std::env::temp_dir().join(format!("loadgen-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("run.json");
    let hgrm = dir.join("run.hgrm");
    let hlog = dir.join("run.hlog");
    let html = dir.join("run.html");
    short_run()
        .arg("--json")
        .arg(&json)
        .arg("--hgrm")
        .arg(&hgrm)
        .arg("--hlog")
        .arg(&hlog)
        .arg("--html")
        .arg(&html)
        .args(["--arrival", "poisson"])
        .assert()
        .success()
        .stdout(predicate::str::contains("verdict: PASS"));
    let log = std::fs::read_to_string(&hlog).unwrap();
    assert!(
        log.starts_with("#[Histogram log format version 1.3]"),
        "{log}"
    );
    let intervals = log.lines().filter(|l| l.contains(",HISTF")).count();
    assert!(intervals >= 1, "one interval per measured second: {log}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.trim_end().ends_with("</html>"));
    assert_eq!(page.matches("<svg").count(), 4, "four charts");
    assert!(page.contains("PASS: all 2 gates hold"));
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
    assert_eq!(report["config"]["protocol"], "chat/1");
    assert!(report["self"]["loadgen_us_per_delivery"].as_f64().unwrap() > 0.0);
    assert!(!report["seconds"].as_array().unwrap().is_empty());
    let text = std::fs::read_to_string(&hgrm).unwrap();
    assert!(
        text.starts_with("       Value     Percentile TotalCount"),
        "{text}"
    );
    assert!(text.contains("#[Max"));
    // Compared with itself and a wide margin, the next run passes the regression gate.
    let again = dir.join("again.json");
    let out = short_run()
        .args(["--arrival", "poisson", "--baseline"])
        .arg(&json)
        .args(["--max-regress", "10000%", "--max-cost-regress", "10000%"])
        .args(["--max-cpu-regress", "10000%", "--json"])
        .arg(&again)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(stdout.contains("PASS p99 within"), "{stdout}");
    assert!(
        stdout.contains("PASS server_sends_per_delivery within"),
        "{stdout}"
    );
    let second: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&again).unwrap()).unwrap();
    // The server's CPU per delivery is a gate a generator that is the limit could move either
    // way: on a busy machine (a debug build among other tests) the run may not be judged.
    if second["self"]["generator_bound"] == true {
        assert_eq!(out.status.code(), Some(2), "{stdout}");
        assert!(stdout.contains("verdict: GENERATOR-BOUND"), "{stdout}");
    } else {
        assert_eq!(out.status.code(), Some(0), "{stdout}");
    }
    // A baseline of another load is refused, not compared.
    short_run()
        .arg("--baseline")
        .arg(&json)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "the baseline was made with --arrival poisson, this run has fixed",
        ));
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
        .stdout(predicate::str::contains("lost 0").and(predicate::str::contains(" plain at ")));
}

#[test]
fn a_worker_that_falls_behind_still_sends_every_message_planned_before_the_end() {
    // One worker stalls 10 ms after each of its 100 planned sends a second: by the end of
    // sending it is a second behind. Its late sends are still owed, and measured from their
    // planned times; dropping them would hide the generator's own lateness.
    let dir = std::env::temp_dir().join(format!("loadgen-late-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("late.json");
    let out = Command::new(cargo_bin("loadgen"))
        .args(["--clients", "2", "--rate", "50", "--warmup", "0s"])
        .args(["--duration", "1s", "--drain", "5s", "--workers", "1"])
        .args(["--hold-back", "10ms", "--seed", "3"])
        .arg("--json")
        .arg(&json)
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let text = std::fs::read_to_string(&json).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    let counts = &report["counts"];
    assert_eq!(
        counts["sent"], 100,
        "2 bots, 50 msg/s, 1 s: {counts}\n{stdout}"
    );
    assert_eq!(counts["lost"], 0, "{counts}\n{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}
