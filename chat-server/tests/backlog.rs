//! The slow-reader and flood policy (protocol "Slow readers and floods"), over real sockets:
//! readers that keep reading get everything, readers that stop are cut, memory stays within the
//! budget, and floods slow their sender instead of costing anyone a line.

mod common;

use std::time::{Duration, Instant};

use chat_server::Config;
use common::{start, Client};

/// Reads `count` MSG lines from `senders` (by name), failing unless each sender's lines come in
/// order with the numbers 0, 1, 2, ... as their first word. Skips nothing else.
fn expect_in_order(rx: &mut Client, senders: &[String], per_sender: usize) {
    let mut next = vec![0usize; senders.len()];
    for _ in 0..senders.len() * per_sender {
        let line = rx.line().expect("a line before end of stream");
        let rest = line
            .strip_prefix("MSG ")
            .unwrap_or_else(|| panic!("expected only MSG, got {line:.80}\n{}", rx.dump()));
        let (from, text) = rest.split_once(' ').unwrap();
        let i = senders.iter().position(|s| s == from).unwrap();
        let n: usize = text.split(' ').next().unwrap().parse().unwrap();
        assert_eq!(
            n,
            next[i],
            "{from}'s lines out of order or lost\n{}",
            rx.dump()
        );
        next[i] += 1;
    }
}

fn assert_nobody_cut(stats: &chat_server::BacklogStats) {
    let cuts = (
        stats.cut_stalled,
        stats.cut_backlog_cap,
        stats.cut_total_budget,
    );
    assert_eq!(cuts, (0, 0, 0), "somebody was cut off: {stats:?}");
}

fn send_lines(mut c: Client, lines: usize, width: usize) -> std::thread::JoinHandle<Client> {
    std::thread::spawn(move || {
        let text = "w".repeat(width);
        for n in 0..lines {
            c.send(&format!("{n} {text}"));
        }
        c
    })
}

#[test]
fn a_reader_slower_than_a_burst_from_several_senders_gets_every_line_in_order_and_stays() {
    const SENDERS: usize = 8;
    const LINES: usize = 300;
    let server = start(Config {
        stall_timeout: Duration::from_secs(2),
        ..Config::default()
    });
    let mut reader = Client::join(server.addr(), "reader");
    let names: Vec<String> = (0..SENDERS).map(|i| format!("s{i}")).collect();
    let senders: Vec<Client> = names
        .iter()
        .map(|n| Client::join(server.addr(), n))
        .collect();
    for n in &names {
        reader.expect_prefix(&format!("JOIN {n} "));
    }
    // The senders read what the others send, so the reader is the only one behind.
    let drains: Vec<_> = senders.iter().map(Client::drain_in_background).collect();
    // 7.2 MB at once, against a reader taking at most 8 MB/s.
    reader.slow_down(8 * 1024, Duration::from_millis(1));
    let threads: Vec<_> = senders
        .into_iter()
        .map(|s| send_lines(s, LINES, 3000))
        .collect();
    expect_in_order(&mut reader, &names, LINES);
    let _senders: Vec<Client> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    // Nobody was cut off: no LEAVE before the fence.
    reader.expect_quiet();
    let stats = server.backlog_stats();
    assert_nobody_cut(&stats);
    assert!(
        stats.peak_bytes > 0,
        "the reader never fell behind: {stats:?}"
    );
    server.stop().unwrap();
    for d in drains {
        d.join().unwrap();
    }
}

#[test]
fn a_reader_that_stays_behind_longer_than_the_stall_deadline_but_keeps_reading_stays() {
    let server = start(Config {
        stall_timeout: Duration::from_secs(1),
        ..Config::default()
    });
    let mut reader = Client::join(server.addr(), "reader");
    let sender = Client::join(server.addr(), "sender");
    reader.expect_prefix("JOIN sender ");
    // 12 MB against a reader taking at most 4 MB/s: behind for about 3 s, three stall
    // deadlines, and never stopped.
    reader.slow_down(4 * 1024, Duration::from_millis(1));
    let sending = send_lines(sender, 4000, 3000);
    let started = Instant::now();
    expect_in_order(&mut reader, &["sender".to_string()], 4000);
    let behind = started.elapsed();
    let _sender = sending.join().unwrap();
    reader.expect_quiet();
    assert!(
        behind > Duration::from_secs(2),
        "never fell behind: {behind:?}"
    );
    assert_eq!(server.backlog_stats().cut_stalled, 0);
}

#[test]
fn a_reader_that_stops_is_cut_within_the_stall_deadline_and_the_others_get_its_leave() {
    let stall = Duration::from_secs(1);
    let server = start(Config {
        stall_timeout: stall,
        ..Config::default()
    });
    let mut talker = Client::join(server.addr(), "talker");
    let mut listener = Client::join(server.addr(), "listener");
    let stuck = Client::join(server.addr(), "stuck");
    listener.expect_prefix("JOIN stuck ");
    talker.expect_prefix("JOIN listener ");
    talker.expect_prefix("JOIN stuck ");
    let stuck_addr = stuck.local();
    let started = Instant::now();
    // About 8 MB: more than loopback's socket buffers, so lines wait for the stuck client.
    let text = "y".repeat(4000);
    for n in 0..2000 {
        talker.send(&format!("{n} {text}"));
        let line = listener.line().expect("line");
        if line.starts_with("LEAVE stuck ") {
            // Cut while the talk goes on: the next line is still this message.
            listener.expect_prefix(&format!("MSG talker {n} "));
        } else {
            assert!(
                line.starts_with(&format!("MSG talker {n} ")),
                "{}",
                listener.dump()
            );
        }
    }
    talker.expect(&format!("LEAVE stuck {stuck_addr}"));
    let waited = started.elapsed();
    assert!(waited >= stall, "cut after {waited:?}, before the deadline");
    assert!(
        waited < stall + Duration::from_secs(5),
        "cut only after {waited:?}"
    );
    assert_eq!(server.backlog_stats().cut_stalled, 1);
    drop(stuck);
}

#[test]
fn a_reader_that_pauses_for_less_than_the_stall_deadline_keeps_every_line() {
    let server = start(Config {
        stall_timeout: Duration::from_secs(3),
        ..Config::default()
    });
    let mut talker = Client::join(server.addr(), "talker");
    let mut lagger = Client::join(server.addr(), "lagger");
    talker.expect_prefix("JOIN lagger ");
    let text = "L".repeat(4000);
    for n in 0..2000 {
        talker.send(&format!("{n} {text}"));
    }
    talker.expect_quiet();
    assert!(
        server.backlog_stats().bytes > 0,
        "nothing waited for the lagger"
    );
    expect_in_order(&mut lagger, &["talker".to_string()], 2000);
    talker.send("fence");
    lagger.expect("MSG talker fence");
}

#[test]
fn many_stopped_readers_under_a_flood_keep_backlog_memory_within_the_budget() {
    const STUCK: usize = 10;
    let budget = 6 << 20;
    let server = start(Config {
        stall_timeout: Duration::from_secs(60),
        max_backlog: 2 << 20,
        backlog_budget: Some(budget),
        flood_watermark: Some(512 << 10),
        ..Config::default()
    });
    let talker = Client::join(server.addr(), "talker");
    let mut listener = Client::join(server.addr(), "listener");
    let stuck: Vec<Client> = (0..STUCK)
        .map(|i| Client::join(server.addr(), &format!("stuck{i}")))
        .collect();
    for i in 0..STUCK {
        listener.expect_prefix(&format!("JOIN stuck{i} "));
    }
    let drain = talker.drain_in_background();
    // 24 MB to each: far more than the socket buffers hold.
    let talking = send_lines(talker, 12_000, 2000);
    let mut next = 0;
    let mut left = 0;
    while next < 12_000 {
        let line = listener.line().expect("line");
        if line.starts_with("LEAVE stuck") {
            left += 1;
            continue;
        }
        assert!(
            line.starts_with(&format!("MSG talker {next} ")),
            "{}",
            listener.dump()
        );
        next += 1;
    }
    let mut talker = talking.join().unwrap();
    while left < STUCK {
        listener.expect_prefix("LEAVE stuck");
        left += 1;
    }
    let stats = server.backlog_stats();
    assert_eq!(stats.cut_stalled, 0, "{stats:?}");
    assert_eq!(
        stats.cut_backlog_cap + stats.cut_total_budget,
        STUCK as u64,
        "{stats:?}"
    );
    // Enforced on the pushing thread: at most one line's fan-out over.
    let slack = (STUCK + 1) * 2100;
    assert!(stats.peak_bytes <= budget + slack, "{stats:?}");
    // The talker and the listener were never cut.
    listener.send("/users");
    listener.expect("USERS talker listener");
    talker.send("still here");
    listener.expect("MSG talker still here");
    drop(stuck);
    server.stop().unwrap();
    drain.join().unwrap();
}

#[test]
fn a_flooder_is_slowed_not_cut_and_its_lines_arrive_intact_and_in_order() {
    const LINES: usize = 16_000;
    let watermark = 256 << 10;
    let server = start(Config {
        flood_watermark: Some(watermark),
        ..Config::default()
    });
    let flooder = Client::join(server.addr(), "flooder");
    let mut readers: Vec<Client> = (0..2)
        .map(|i| Client::join(server.addr(), &format!("r{i}")))
        .collect();
    readers[0].expect_prefix("JOIN r1 ");
    for r in &mut readers {
        // 16 MB each, read at most 16 MB/s: the flooder sends much faster.
        r.slow_down(16 * 1024, Duration::from_millis(1));
    }
    let drain = flooder.drain_in_background();
    let flooding = send_lines(flooder, LINES, 1000);
    let checks: Vec<_> = readers
        .into_iter()
        .map(|mut r| {
            std::thread::spawn(move || {
                let mut n = 0;
                while n < LINES {
                    let line = r.line().expect("line");
                    if line.starts_with("JOIN ") {
                        continue;
                    }
                    let want = format!("MSG flooder {n} {}", "w".repeat(1000));
                    assert!(
                        line == want,
                        "line {n}: {line:.60}
{}",
                        r.dump()
                    );
                    n += 1;
                }
                r
            })
        })
        .collect();
    let mut readers: Vec<Client> = checks.into_iter().map(|t| t.join().unwrap()).collect();
    let mut flooder = flooding.join().unwrap();
    let stats = server.backlog_stats();
    assert!(
        stats.flood_waits > 0,
        "the flooder was never slowed: {stats:?}"
    );
    assert_nobody_cut(&stats);
    assert!(stats.peak_bytes <= 2 * watermark, "{stats:?}");
    // Still connected, and still heard.
    flooder.send("done");
    for r in &mut readers {
        r.expect("MSG flooder done");
    }
    server.stop().unwrap();
    drain.join().unwrap();
}
