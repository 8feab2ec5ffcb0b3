//! What an idle registered client costs the server: threads and resident memory.
//!
//! Starts the server in this process on loopback, registers N clients that then do nothing,
//! and reads the process's thread count and RSS from /proc before and after (Linux only). The
//! clients are bare sockets in this same process, which add file descriptors but no threads and
//! next to no memory.
//!
//! ```sh
//! cargo run --release -p chat-server --example idle_cost -- 2000
//! ```

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use chat_server::{Config, RunningServer};

fn status(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status (Linux)");
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

fn main() {
    let clients: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("usage: idle_cost [CLIENTS]"))
        .unwrap_or(2000);
    let server = RunningServer::start(Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        max_clients: clients + 10,
        ..Config::default()
    })
    .expect("server starts");
    let (threads_before, rss_before) = (status("Threads:"), status("VmRSS:"));
    let mut held = Vec::with_capacity(clients);
    for i in 0..clients {
        let mut s = TcpStream::connect(server.addr()).expect("connect");
        s.write_all(format!("idle{i}\n").as_bytes()).unwrap();
        held.push(s);
    }
    // Registration is in order per connection: the last client's USERS line means all are in.
    let last = held
        .last()
        .expect("at least one client")
        .try_clone()
        .unwrap();
    last.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut lines = BufReader::new(last).lines();
    while !lines
        .next()
        .expect("a line")
        .expect("read")
        .starts_with("USERS ")
    {}
    // Let the last JOIN lines reach everyone's socket.
    std::thread::sleep(Duration::from_secs(1));
    let (threads, rss) = (status("Threads:"), status("VmRSS:"));
    let per_client = (rss - rss_before) as f64 / clients as f64;
    let added_threads = threads - threads_before;
    println!(
        "{clients} idle clients: {threads} threads in all ({added_threads} added, {:.3} per client), \
         RSS {rss_before} -> {rss} KiB ({per_client:.1} KiB per client)",
        added_threads as f64 / clients as f64
    );
    drop(held);
    server.stop().expect("clean stop");
}
