//! `--source-addresses`: bots spread over local addresses get past a server's per-address
//! limit, which stops a run from one address.

use assert_cmd::Command;
use predicates::prelude::*;

fn limited_server() -> chat_server::RunningServer {
    chat_server::RunningServer::start(chat_server::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        max_per_address: 5,
        limit_loopback: true,
        ..chat_server::Config::default()
    })
    .unwrap()
}

fn loadgen(server: &chat_server::RunningServer) -> Command {
    let mut cmd = Command::cargo_bin("loadgen").unwrap();
    cmd.args(["--server", &server.addr().to_string()])
        .args([
            "--clients",
            "30",
            "--rate",
            "2",
            "--warmup",
            "0s",
            "--duration",
            "1s",
        ])
        .args(["--drain", "2s"])
        .timeout(std::time::Duration::from_secs(60));
    cmd
}

#[test]
fn bots_spread_over_local_addresses_pass_a_per_address_limit() {
    let server = limited_server();
    loadgen(&server)
        .args(["--source-addresses", "127.0.0.2-127.0.0.7"])
        .assert()
        .success()
        .stdout(predicate::str::contains("(30 registered"))
        .stdout(predicate::str::contains("lost 0"));
    assert_eq!(server.metrics().connections_refused, 0);
}

#[test]
fn from_one_address_the_same_run_is_refused_and_says_so() {
    let server = limited_server();
    loadgen(&server)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("only 5 of 30 bots registered"));
    assert!(server.metrics().refused_per_address >= 25);
}

#[test]
fn an_address_this_machine_cannot_send_from_is_a_usage_error() {
    let server = limited_server();
    loadgen(&server)
        .args(["--source-addresses", "203.0.113.7"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot connect from 203.0.113.7"));
}
