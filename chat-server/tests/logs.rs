//! The console lines an operator reads: every departure is logged once, with how it happened
//! (quit, connection lost, cut off with its reason, server shutdown), and a connection that never
//! registered leaves no line. The contract promises the cut-off line; the others are how an
//! operator tells a quit from a crash.
//!
//! One test, because a process has one logger: a capturing logger records every line, and the
//! test waits on it for each expected line (a condition variable, never a sleep).

mod common;

use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use chat_server::Config;
use common::{start, Client};

struct Capture {
    lines: Mutex<Vec<String>>,
    added: Condvar,
}

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }

    fn log(&self, record: &log::Record) {
        let line = format!("{} {}", record.level(), record.args());
        self.lines.lock().unwrap().push(line);
        self.added.notify_all();
    }

    fn flush(&self) {}
}

fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<&'static Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let c: &'static Capture = Box::leak(Box::new(Capture {
            lines: Mutex::new(Vec::new()),
            added: Condvar::new(),
        }));
        log::set_logger(c).expect("no other logger in this test binary");
        log::set_max_level(log::LevelFilter::Debug);
        c
    })
}

/// Waits for a logged line that starts with `level` and contains every one of `parts`.
fn wait_for_line(level: &str, parts: &[&str]) -> String {
    let c = capture();
    let deadline = Instant::now() + common::TIMEOUT;
    let mut lines = c.lines.lock().unwrap();
    loop {
        if let Some(l) = lines
            .iter()
            .find(|l| l.starts_with(level) && parts.iter().all(|p| l.contains(p)))
        {
            return l.clone();
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "no {level} line with {parts:?}; logged:\n{}",
            lines.join("\n")
        );
        lines = c.added.wait_timeout(lines, left).unwrap().0;
    }
}

fn lines_about(name: &str) -> Vec<String> {
    capture()
        .lines
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains(name))
        .cloned()
        .collect()
}

#[test]
fn each_departure_is_logged_once_with_how_it_happened() {
    capture();
    let server = start(Config {
        stall_timeout: Duration::from_secs(1),
        ..Config::default()
    });
    let addr = server.addr();
    let mut watcher = Client::join(addr, "watcher");

    let mut quitter = Client::join(addr, "quitter");
    watcher.expect_prefix("JOIN quitter ");
    quitter.send("/quit");
    quitter.expect_prefix("BYE ");
    watcher.expect_prefix("LEAVE quitter ");
    wait_for_line("INFO", &["quitter left (quit)", "connected"]);

    let dropper = Client::join(addr, "dropper");
    watcher.expect_prefix("JOIN dropper ");
    dropper.close();
    watcher.expect_prefix("LEAVE dropper ");
    wait_for_line("INFO", &["dropper left (connection lost)"]);

    // A connection that never registers: its end is not a departure.
    let mut anonymous = Client::connect(addr, "anonymous");
    anonymous.expect_prefix("HELLO");
    anonymous.close();

    // A client that stops reading while lines wait for it is cut off, with the reason.
    let stuck = Client::join(addr, "stuck");
    watcher.expect_prefix("JOIN stuck ");
    let text = "z".repeat(4000);
    let mut n = 0;
    loop {
        watcher.send(&format!("{n} {text}"));
        n += 1;
        if !lines_about("stuck (").is_empty() || n == 4000 {
            break;
        }
    }
    let cut = wait_for_line("WARN", &["stuck (", "cut off: stalled"]);
    assert!(cut.contains(&stuck.local().to_string()), "{cut}");
    watcher.expect(&format!("LEAVE stuck {}", stuck.local()));
    drop(stuck);

    let stayer = Client::join(addr, "stayer");
    watcher.expect_prefix("JOIN stayer ");
    server.stop().expect("clean stop");
    wait_for_line("DEBUG", &["stayer left (server shutdown)"]);

    // Each departure once, and nothing about the connection that never registered.
    for (name, how) in [
        ("quitter", "left (quit)"),
        ("dropper", "left (connection lost)"),
        ("stuck (", "cut off"),
        ("stayer", "left (server shutdown)"),
    ] {
        let about: Vec<String> = lines_about(name)
            .into_iter()
            .filter(|l| l.contains(" left ") || l.contains("cut off"))
            .collect();
        assert_eq!(about.len(), 1, "{name}: {about:?}");
        assert!(about[0].contains(how), "{name}: {about:?}");
    }
    assert!(
        lines_about("had not registered").is_empty(),
        "{:?}",
        lines_about("had not registered")
    );
    drop(stayer);
}
