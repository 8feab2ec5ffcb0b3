//! The server's figures: served at `--metrics` in the Prometheus text format, counting what
//! clients see, and telling batched writes from one write per line.

mod common;

use std::net::TcpStream;

use chat_server::config::WriteMode;
use chat_server::Config;
use common::scrape::{http, scrape};
use common::{start, Client};

fn with_metrics(config: Config) -> chat_server::RunningServer {
    start(Config {
        metrics: Some("127.0.0.1:0".parse().unwrap()),
        ..config
    })
}

#[test]
fn metrics_count_what_clients_did() {
    let server = with_metrics(Config::default());
    let at = server.metrics_addr().expect("a metrics address");
    let mut ana = Client::join(server.addr(), "ana");
    let mut bia = Client::join(server.addr(), "bia");
    ana.expect_prefix("JOIN bia");
    ana.send("hello");
    bia.expect("MSG ana hello");
    // A reply to ana's next line proves the server has handled the broadcast before it.
    ana.send("/users");
    ana.expect_prefix("USERS ");
    let m = scrape(at);
    let get = |name: &str| {
        m.get(name)
            .copied()
            .unwrap_or_else(|| panic!("no {name}: {m:?}"))
    };
    assert_eq!(get("batepapo_registrations_total"), 2.0);
    assert_eq!(get("batepapo_users"), 2.0);
    assert_eq!(get("batepapo_connections"), 2.0);
    assert_eq!(get("batepapo_connections_accepted_total"), 2.0);
    // Names, "hello" and "/users".
    assert_eq!(get("batepapo_lines_in_total"), 4.0);
    // HELLO, WELCOME and USERS each; JOIN bia to ana; MSG to bia; USERS to ana.
    assert_eq!(get("batepapo_lines_out_total"), 9.0);
    assert!(get("batepapo_socket_sends_total") >= 1.0);
    assert!(get("batepapo_socket_receives_total") >= 4.0);
    assert!(get("batepapo_bytes_out_total") > 0.0);
    assert_eq!(get("batepapo_cutoffs_total{reason=\"stalled\"}"), 0.0);
    // Two sessions, the accept loop, the monitor, the poller, the exporter, the flushers.
    let fixed = 4.0 + Config::default().flushers as f64;
    assert_eq!(get("batepapo_threads"), 2.0 + fixed);
    assert!(get("process_threads") >= get("batepapo_threads"));
    assert!(get("process_resident_memory_bytes") > 0.0);
    let s = server.metrics();
    assert_eq!((s.registrations, s.users, s.lines_out), (2, 2, 9));
    bia.send("/quit");
    bia.expect_prefix("BYE");
    ana.expect_prefix("LEAVE bia");
    ana.send("/users");
    ana.expect("USERS ana");
    assert_eq!(server.metrics().users, 1);
}

#[test]
fn other_paths_and_methods_get_an_answer_that_says_where_the_figures_are() {
    let server = with_metrics(Config::default());
    let at = server.metrics_addr().unwrap();
    let (status, body) = http(at, "GET / HTTP/1.1\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    assert!(body.contains("/metrics"), "{body}");
    let (status, _) = http(at, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 405 Method Not Allowed");
}

#[test]
fn a_scraper_that_never_sends_a_request_does_not_block_the_chat() {
    let server = with_metrics(Config::default());
    let _silent = TcpStream::connect(server.metrics_addr().unwrap()).unwrap();
    let mut ana = Client::join(server.addr(), "ana");
    ana.send("/users");
    ana.expect("USERS ana");
}

#[test]
fn shutdown_finishes_with_the_exporter_running() {
    let server = with_metrics(Config::default());
    let _c = Client::join(server.addr(), "ana");
    let at = server.metrics_addr().unwrap();
    scrape(at);
    server.stop().expect("clean stop");
    assert!(
        TcpStream::connect(at).is_err(),
        "the metrics port still accepts after the stop"
    );
}

#[test]
fn per_line_writes_make_at_least_one_send_per_line_out() {
    let server = start(Config {
        write_mode: WriteMode::PerLine,
        ..Config::default()
    });
    let mut tx = Client::join(server.addr(), "tx");
    let mut rx = Client::join(server.addr(), "rx");
    tx.expect_prefix("JOIN rx");
    for i in 0..200 {
        tx.send(&format!("line {i}"));
    }
    for i in 0..200 {
        rx.expect(&format!("MSG tx line {i}"));
    }
    // Lines that waited together (the queue unit tests show batching) still cost one call each.
    let s = server.metrics();
    assert!(
        s.sends >= s.lines_out,
        "{} sends for {} lines: some call carried two lines",
        s.sends,
        s.lines_out
    );
}
