//! Unit tests of [`super::Outbox`], over real loopback sockets.

use super::*;
use crate::budget::Budget;
use crate::config::WriteMode;
use std::io::Read;
use std::net::TcpListener;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

fn pair() -> (Arc<TcpStream>, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    client.set_read_timeout(Some(TIMEOUT)).unwrap();
    (Arc::new(server), client)
}

fn line(s: &str) -> Line {
    Arc::from(s.as_bytes())
}

fn delivery(max_backlog: usize) -> Arc<Delivery> {
    delivery_writing(max_backlog, WriteMode::Batched)
}

fn delivery_writing(max_backlog: usize, mode: WriteMode) -> Arc<Delivery> {
    Delivery::start(
        1,
        max_backlog,
        mode,
        Arc::new(Budget::new(1 << 30, 1 << 29)),
        Arc::default(),
    )
    .unwrap()
}

/// Occupies the only flusher until the returned sender is dropped or sent to.
fn hold_the_flusher(d: &Delivery) -> std::sync::mpsc::Sender<()> {
    struct Hold(
        Mutex<std::sync::mpsc::Receiver<()>>,
        std::sync::mpsc::Sender<()>,
    );
    impl Flush for Hold {
        fn flush(self: Arc<Self>) {
            let _ = self.1.send(());
            let _ = self.0.lock().recv_timeout(TIMEOUT);
        }
    }
    let (release, held) = std::sync::mpsc::channel();
    let (started, on_it) = std::sync::mpsc::channel();
    d.flusher
        .schedule(Arc::new(Hold(Mutex::new(held), started)));
    on_it
        .recv_timeout(TIMEOUT)
        .expect("the flusher took the hold");
    release
}

/// Sends for 100 lines pushed while the flusher was busy elsewhere, all read by the peer.
fn sends_for_lines_that_waited(mode: WriteMode) -> u64 {
    let d = delivery_writing(1 << 20, mode);
    let (server, mut client) = pair();
    let o = outbox(1, server, &d);
    let release = hold_the_flusher(&d);
    let mut expected = Vec::new();
    for i in 0..100 {
        let l = format!("MSG a {i}\n");
        expected.extend_from_slice(l.as_bytes());
        assert!(o.push(&line(&l)));
    }
    drop(release);
    let mut got = vec![0u8; expected.len()];
    client.read_exact(&mut got).unwrap();
    assert_eq!(got, expected);
    // A flusher counts a send once it returns, which can be after the peer has read its
    // bytes: joining the flushers first makes the count final.
    d.shutdown();
    d.metrics.snapshot(Default::default()).sends
}

#[test]
fn lines_that_waited_for_a_flusher_leave_in_one_send() {
    assert_eq!(sends_for_lines_that_waited(WriteMode::Batched), 1);
}

#[test]
fn per_line_writing_makes_one_send_per_line() {
    assert_eq!(sends_for_lines_that_waited(WriteMode::PerLine), 100);
}

fn outbox(key: u64, stream: Arc<TcpStream>, d: &Arc<Delivery>) -> Arc<Outbox> {
    Arc::new(Outbox::new(key, stream, d.clone()))
}

/// Pushes 64 KiB lines until the socket is full and the outbox has parked.
fn push_until_parked(o: &Arc<Outbox>) -> Vec<u8> {
    let big = line(&"p".repeat(64 * 1024 - 1)).to_vec();
    let big: Line = Arc::from([&big[..], b"\n"].concat());
    let mut pushed = Vec::new();
    let deadline = Instant::now() + TIMEOUT;
    while o.status().unwrap().1.is_none() {
        assert!(Instant::now() < deadline, "the socket never filled");
        if o.status().unwrap().0 < 1 << 20 {
            assert!(o.push(&big));
            pushed.extend_from_slice(&big);
        } else {
            std::thread::yield_now();
        }
    }
    pushed
}

#[test]
fn a_pushed_line_reaches_the_peer() {
    let d = delivery(1 << 20);
    let (server, mut client) = pair();
    let o = outbox(1, server, &d);
    assert!(o.push(&line("MSG a hi\n")));
    let mut buf = [0u8; 9];
    client.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"MSG a hi\n");
    d.shutdown();
}

#[test]
fn lines_arrive_complete_and_in_order_through_a_full_socket_and_close() {
    let d = delivery(1 << 30);
    let (server, mut client) = pair();
    let o = outbox(1, server, &d);
    let mut expected = push_until_parked(&o);
    for i in 0..50_000 {
        let l = format!("MSG a {i:08}\n");
        expected.extend_from_slice(l.as_bytes());
        assert!(o.push(&line(&l)));
    }
    o.close_after_flush();
    let mut got = Vec::new();
    client.read_to_end(&mut got).unwrap();
    assert_eq!(got.len(), expected.len());
    assert!(got == expected, "lines arrived out of order");
    assert!(o.wait_closed(Instant::now() + TIMEOUT));
    assert_eq!(o.closed(), Some(Closed::ByServer));
    assert_eq!(d.budget.total(), 0, "every byte written is counted out");
    d.shutdown();
}

#[test]
fn passing_the_cap_cuts_the_client_and_refuses_more() {
    let cap = 256 * 1024;
    let d = delivery(cap);
    let (server, _client) = pair();
    let o = outbox(1, server, &d);
    // Not a divisor of the cap, so only "more than the cap" can trigger the cut.
    let big = line(&"x".repeat(16 * 1024 + 1));
    let mut pushed = 0;
    while o.push(&big) {
        pushed += 1;
        assert!(pushed < 100_000, "the cap was never enforced");
    }
    assert_eq!(o.closed(), Some(Closed::Cut(CutReason::BacklogCap(cap))));
    assert!(!o.push(&line("late\n")));
    assert_eq!(d.budget.stats().cut_backlog_cap, 1);
    d.shutdown();
}

#[test]
fn a_cut_counts_the_discarded_backlog_out_of_the_budget() {
    let d = delivery(1 << 30);
    let (server, _client) = pair();
    let o = outbox(1, server, &d);
    push_until_parked(&o);
    assert!(d.budget.total() > 0);
    assert!(o.cut(CutReason::Stalled(Duration::from_secs(10))));
    assert!(
        !o.cut(CutReason::Stalled(Duration::from_secs(10))),
        "cut once"
    );
    assert_eq!(d.budget.total(), 0);
    assert_eq!(o.status(), None);
    assert_eq!(d.budget.stats().cut_stalled, 1);
    d.shutdown();
}

#[test]
fn a_full_socket_starts_the_stall_clock_and_draining_stops_it() {
    let d = delivery(1 << 30);
    let (server, mut client) = pair();
    let o = outbox(1, server, &d);
    let pushed = push_until_parked(&o);
    let (waiting, since) = o.status().unwrap();
    assert!(waiting > 0 && since.is_some());
    let mut got = vec![0u8; pushed.len()];
    client.read_exact(&mut got).unwrap();
    let deadline = Instant::now() + TIMEOUT;
    while o.status().unwrap() != (0, None) {
        assert!(Instant::now() < deadline, "{:?}", o.status());
        std::thread::yield_now();
    }
    d.shutdown();
}

#[test]
fn close_now_wakes_a_blocked_reader() {
    let d = delivery(1 << 20);
    let (server, mut client) = pair();
    let reader = {
        let server = server.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 16];
            (&*server).read(&mut buf)
        })
    };
    let o = outbox(1, server, &d);
    o.close_now();
    assert_eq!(reader.join().unwrap().unwrap(), 0);
    let mut buf = [0u8; 1];
    assert_eq!(client.read(&mut buf).unwrap_or(0), 0);
    assert_eq!(o.closed(), Some(Closed::ByServer));
    d.shutdown();
}

#[test]
fn close_after_flush_with_nothing_queued_closes_at_once() {
    let d = delivery(1 << 20);
    let (server, mut client) = pair();
    let o = outbox(1, server, &d);
    o.close_after_flush();
    assert_eq!(o.closed(), Some(Closed::ByServer));
    assert!(!o.push(&line("late\n")));
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    d.shutdown();
}

#[test]
fn wait_closed_gives_up_at_its_deadline() {
    let d = delivery(1 << 20);
    let (server, _client) = pair();
    let o = outbox(1, server, &d);
    assert!(!o.wait_closed(Instant::now() + Duration::from_millis(20)));
    d.shutdown();
}

#[test]
fn push_all_reaches_every_recipient_and_counts_every_copy() {
    let d = delivery(1 << 20);
    let pairs: Vec<_> = (0..3).map(|_| pair()).collect();
    let outboxes: Vec<_> = pairs
        .iter()
        .enumerate()
        .map(|(i, (s, _))| outbox(i as u64, s.clone(), &d))
        .collect();
    push_all(&outboxes, &line("JOIN z 1.2.3.4:5\n"));
    for (_, mut client) in pairs {
        let mut buf = [0u8; 17];
        client.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"JOIN z 1.2.3.4:5\n");
    }
    let deadline = Instant::now() + TIMEOUT;
    while d.budget.total() != 0 {
        assert!(Instant::now() < deadline, "{}", d.budget.total());
        std::thread::yield_now();
    }
    assert!(d.budget.stats().peak_bytes <= 3 * 17);
    d.shutdown();
}

#[test]
fn a_peer_that_vanishes_fails_the_write_and_closes_the_outbox() {
    let d = delivery(1 << 30);
    let (server, client) = pair();
    let o = outbox(1, server, &d);
    push_until_parked(&o);
    drop(client);
    let deadline = Instant::now() + TIMEOUT;
    while o.closed().is_none() {
        assert!(Instant::now() < deadline, "the failed write went unnoticed");
        std::thread::yield_now();
    }
    assert_eq!(o.closed(), Some(Closed::WriteFailed));
    assert_eq!(d.budget.total(), 0);
    d.shutdown();
}

#[test]
fn the_budget_and_the_backlog_agree_after_a_partial_send() {
    let d = delivery(1 << 30);
    let (server, _client) = pair();
    let o = outbox(1, server, &d);
    push_until_parked(&o);
    let (backlog, total) = o.backlog_and_total();
    assert!(backlog > 0);
    assert_eq!(backlog, total);
    d.shutdown();
}

#[test]
fn a_cut_after_a_partial_send_counts_out_exactly_its_own_bytes() {
    let d = delivery(1 << 30);
    let (s1, _c1) = pair();
    let (s2, _c2) = pair();
    let (o1, o2) = (outbox(1, s1, &d), outbox(2, s2, &d));
    push_until_parked(&o1);
    push_until_parked(&o2);
    assert!(o1.cut(CutReason::BacklogCap(1)));
    // A flush of o1 under way when it was cut counts its bytes out when it returns.
    let deadline = Instant::now() + TIMEOUT;
    while d.budget.total() != o2.status().unwrap().0 {
        assert!(
            Instant::now() < deadline,
            "the budget never matched what o2 holds"
        );
        std::thread::yield_now();
    }
    d.shutdown();
}

#[test]
fn a_wake_that_finds_the_socket_still_full_keeps_the_stuck_mark() {
    let d = delivery(1 << 30);
    let (server, _client) = pair();
    let o = outbox(1, server, &d);
    push_until_parked(&o);
    o.mark_stuck(true);
    let (stuck, _) = o.backlog_and_total();
    assert_eq!(d.budget.stuck(), stuck);
    o.clone().writable();
    // Shutting the pool down runs what it has queued, so the flush is done when it returns.
    d.flusher.shutdown();
    let (left, _) = o.backlog_and_total();
    // Only bytes written take the mark back (the kernel may still take a few).
    if left == stuck {
        assert_eq!(d.budget.stuck(), stuck, "unmarked without progress");
    }
    d.poller.shutdown();
}

#[test]
fn progress_takes_the_stuck_mark_back_without_the_monitor() {
    let d = delivery(1 << 30);
    let (server, mut client) = pair();
    let o = outbox(1, server, &d);
    push_until_parked(&o);
    o.mark_stuck(true);
    assert!(d.budget.stuck() > 0);
    let mut buf = vec![0u8; 1 << 20];
    let deadline = Instant::now() + TIMEOUT;
    while d.budget.stuck() != 0 {
        assert!(Instant::now() < deadline, "still stuck after progress");
        let _ = client.read(&mut buf);
    }
    d.shutdown();
}

#[test]
fn a_reader_that_keeps_taking_bytes_restarts_the_stall_clock() {
    let d = delivery(1 << 30);
    let (server, mut client) = pair();
    let o = outbox(1, server, &d);
    push_until_parked(&o);
    // Far more waiting than reading a little will drain, whatever the kernel buffers hold.
    let big: Line = Arc::from(vec![b'q'; 64 << 20]);
    assert!(o.push(&big));
    let first = o.status().unwrap().1.expect("parked");
    let mut buf = vec![0u8; 256 * 1024];
    let deadline = Instant::now() + TIMEOUT;
    loop {
        client.read_exact(&mut buf).unwrap();
        match o.status().unwrap() {
            (_, Some(since)) if since > first => break,
            // A whole batch was written: the clock is cleared until the socket fills again.
            (waiting, None) if waiting > 0 => break,
            (0, None) => panic!("drained before the clock was seen to restart"),
            _ => {}
        }
        assert!(Instant::now() < deadline, "the stall clock never restarted");
    }
    d.shutdown();
}

#[test]
fn a_line_that_fills_the_backlog_exactly_to_the_cap_is_taken() {
    let cap = 4 << 20;
    let d = delivery(cap);
    let (server, _client) = pair();
    let o = outbox(1, server, &d);
    push_until_parked(&o);
    let (backlog, _) = o.backlog_and_total();
    // Only shrinks from here (the kernel may still take some), so the line fits.
    let exact: Line = Arc::from(vec![b'e'; cap - backlog]);
    assert!(o.push(&exact), "{:?}", o.closed());
    assert!(o.closed().is_none());
    d.shutdown();
}

#[test]
fn the_budget_and_the_backlog_agree_at_every_instant_while_a_reader_drains() {
    let d = delivery(1 << 30);
    let (server, mut client) = pair();
    let o = outbox(1, server, &d);
    let pushed = push_until_parked(&o).len();
    let reader = std::thread::spawn(move || {
        let mut got = vec![0u8; pushed];
        client.read_exact(&mut got).unwrap();
    });
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let (backlog, total) = o.backlog_and_total();
        assert_eq!(backlog, total, "while draining");
        if backlog == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "never drained");
    }
    reader.join().unwrap();
    d.shutdown();
}
