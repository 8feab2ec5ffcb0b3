//! RF4-09 fails a server that stops relaying during a flood, and says so within its timeouts.
//!
//! The server here is a small chat/1 server written for the test: correct until it has relayed
//! a few megabytes, then every one of its threads stops reading and relaying, as a server does
//! when a flood deadlocks it. It is released when the test ends.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use conformance::{all_cases, run_case, Outcome, Target};

/// Bytes relayed before the server stops.
const STOPS_AFTER: usize = 3 << 20;

#[derive(Default)]
struct Hub {
    clients: Mutex<Vec<(String, TcpStream)>>,
    relayed: AtomicUsize,
    /// Set when the test ends; `release` wakes the sessions held by the stop.
    released: Mutex<bool>,
    release: Condvar,
}

impl Hub {
    /// Once past the limit, waits (bounded) until the test releases it: the server has stopped.
    fn maybe_stop(&self) {
        if self.relayed.load(SeqCst) <= STOPS_AFTER {
            return;
        }
        let released = self.released.lock().unwrap();
        let _ = self
            .release
            .wait_timeout_while(released, Duration::from_secs(60), |r| !*r);
    }

    fn send_others(&self, me: &str, line: &str) {
        let clients = self.clients.lock().unwrap();
        for (name, stream) in clients.iter().filter(|(n, _)| n != me) {
            let _ = name;
            let _ = (&*stream).write_all(line.as_bytes());
        }
        self.relayed.fetch_add(line.len(), SeqCst);
    }
}

fn session(hub: Arc<Hub>, stream: TcpStream) {
    let addr = stream.peer_addr().unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let _ = (&stream).write_all(b"HELLO chat/1 welcome\n");
    let mut name = String::new();
    hub.maybe_stop();
    if reader.read_line(&mut name).unwrap_or(0) == 0 {
        return;
    }
    let name = name.trim().to_string();
    {
        let mut clients = hub.clients.lock().unwrap();
        let mut users: Vec<&str> = clients.iter().map(|(n, _)| n.as_str()).collect();
        users.push(&name);
        let greeting = format!("WELCOME {name} {addr}\nUSERS {}\n", users.join(" "));
        let _ = (&stream).write_all(greeting.as_bytes());
        for (_, other) in clients.iter() {
            let _ = (&*other).write_all(format!("JOIN {name} {addr}\n").as_bytes());
        }
        clients.push((name.clone(), stream.try_clone().unwrap()));
    }
    let mut line = String::new();
    loop {
        hub.maybe_stop();
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        let text = line.trim_end();
        if text == "/users" {
            let clients = hub.clients.lock().unwrap();
            let users: Vec<&str> = clients.iter().map(|(n, _)| n.as_str()).collect();
            let _ = (&stream).write_all(format!("USERS {}\n", users.join(" ")).as_bytes());
        } else if !text.is_empty() {
            hub.send_others(&name, &format!("MSG {name} {text}\n"));
        }
    }
    hub.clients.lock().unwrap().retain(|(n, _)| *n != name);
}

#[test]
fn rf4_09_fails_a_server_that_stops_relaying_during_a_flood() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let hub = Arc::new(Hub::default());
    {
        let hub = hub.clone();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let hub = hub.clone();
                thread::spawn(move || session(hub, stream));
            }
        });
    }
    let case = all_cases(&[])
        .unwrap()
        .into_iter()
        .find(|c| c.id == "RF4-09")
        .expect("RF4-09 exists");
    let target = Target {
        name_timeout: Duration::from_secs(5),
        stall_timeout: Duration::from_secs(2),
        max_connections: 64,
        ..Target::new(addr)
    };
    let started = Instant::now();
    let result = run_case(&case, &target);
    *hub.released.lock().unwrap() = true;
    hub.release.notify_all();
    let text = conformance::report::failure_text(&result);
    assert_eq!(
        result.outcome,
        Outcome::Fail,
        "a stopped server passed RF4-09"
    );
    // The failure itself, not the case's title (which names the newcomers whatever happened).
    let failure = result.failure.as_ref().expect("a failure says why");
    assert!(
        failure
            .expected
            .to_string()
            .contains("flood to keep reaching the readers")
            || failure
                .client
                .as_deref()
                .is_some_and(|c| c.starts_with("newcomer")),
        "the failure does not say what stopped:\n{text}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "it took {:?} to notice",
        started.elapsed()
    );
}
