//! `--protocol plain` against free-form servers written here: one framing input by write as
//! the assignment's does, one with English wording and LF lines, and planted defects. Each
//! defect must fail exactly its requirement; a correct server passes everything; the framing
//! is detected. Every case runs against a fresh server, as the grader runs plain cases alone.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use conformance::plain::{cases::cases, detect::detect, Framing, Settings};
use conformance::{run_case, Outcome, Target};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Defect {
    None,
    EchoToSender,
    JoinWithoutPort,
    PrivateToEveryone,
    NoLeaveNotice,
    TakenNameAccepted,
    NoNewUsersAfterLeave,
    /// The assignment's own design: a blocking send to every client under one lock, and the
    /// name and @self checks left to the client.
    Assignment,
}

#[derive(Debug, Clone, Copy)]
struct Style {
    framing: Framing,
    portuguese: bool,
    defect: Defect,
}

struct Member {
    name: String,
    stream: TcpStream,
    out: Sender<Vec<u8>>,
}

#[derive(Default)]
struct Hub {
    members: Mutex<Vec<Member>>,
    someone_left: Mutex<bool>,
}

impl Hub {
    fn deliver(&self, style: Style, m: &Member, text: &str) {
        let mut bytes = text.as_bytes().to_vec();
        if style.framing == Framing::Lines {
            bytes.push(b'\n');
        }
        if style.defect == Defect::Assignment {
            // Blocking, under the members lock held by the caller.
            let _ = (&m.stream).write_all(&bytes);
        } else {
            let _ = m.out.send(bytes);
        }
    }

    fn to_all(&self, style: Style, except: Option<&str>, text: &str) {
        let members = self.members.lock().unwrap();
        for m in members.iter().filter(|m| Some(m.name.as_str()) != except) {
            self.deliver(style, m, text);
        }
    }
}

/// Reads one message: a line, or whatever one read returns.
fn next_message(style: Style, reader: &mut BufReader<TcpStream>) -> Option<String> {
    match style.framing {
        Framing::Lines => {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(n) if n > 0 => Some(line.trim_end_matches(['\r', '\n']).to_string()),
                _ => None,
            }
        }
        Framing::Writes => {
            let mut buf = [0u8; 1024];
            match reader.get_mut().read(&mut buf) {
                Ok(n) if n > 0 => Some(String::from_utf8_lossy(&buf[..n]).to_string()),
                _ => None,
            }
        }
    }
}

fn session(hub: Arc<Hub>, style: Style, stream: TcpStream) {
    let addr = stream.peer_addr().unwrap();
    let (ip, port) = (addr.ip(), addr.port());
    let (tx, rx) = channel::<Vec<u8>>();
    let mut writer = stream.try_clone().unwrap();
    thread::spawn(move || {
        for bytes in rx {
            if writer.write_all(&bytes).is_err() {
                return;
            }
        }
    });
    let say = |text: &str| {
        let mut bytes = text.as_bytes().to_vec();
        if style.framing == Framing::Lines {
            bytes.push(b'\n');
        }
        let _ = tx.send(bytes);
    };
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    if style.defect == Defect::NoNewUsersAfterLeave && *hub.someone_left.lock().unwrap() {
        return;
    }
    let validates = style.defect != Defect::Assignment;
    let name = loop {
        let Some(name) = next_message(style, &mut reader) else {
            return;
        };
        let name = name.trim().to_string();
        if validates && (name.contains(' ') || name.contains('@') || name.is_empty()) {
            say("Invalid name: no spaces or @. Choose another name.");
            continue;
        }
        let mut members = hub.members.lock().unwrap();
        if style.defect != Defect::TakenNameAccepted && members.iter().any(|m| m.name == name) {
            drop(members);
            say("Error: that name is already in use.");
            if style.defect == Defect::Assignment {
                return;
            }
            continue;
        }
        let welcome = if style.portuguese {
            format!("Bem-vindo, {name}! Seu IP: {ip}, Porta: {port}")
        } else {
            format!("Welcome, {name}! You are {ip}:{port}")
        };
        say(&welcome);
        let notice = match (style.portuguese, style.defect) {
            (_, Defect::JoinWithoutPort) => format!("{name} joined"),
            (true, _) => format!("{name} entrou no chat. (IP: {ip}, Porta: {port})"),
            (false, _) => format!("{name} joined from {ip}:{port}"),
        };
        for m in members.iter() {
            hub.deliver(style, m, &notice);
        }
        members.push(Member {
            name: name.clone(),
            stream: stream.try_clone().unwrap(),
            out: tx.clone(),
        });
        break name;
    };
    let quit = if style.portuguese {
        format!("{name} saiu do chat.")
    } else {
        "/quit".to_string()
    };
    while let Some(msg) = next_message(style, &mut reader) {
        if msg.trim() == quit {
            break;
        }
        if let Some(rest) = msg.strip_prefix('@') {
            let (to, text) = rest.split_once(' ').unwrap_or((rest, ""));
            if to == name && style.defect != Defect::Assignment {
                say("You cannot send a private message to yourself.");
                continue;
            }
            let line = format!("{name} (private): {text}");
            if style.defect == Defect::PrivateToEveryone {
                hub.to_all(style, Some(&name), &line);
            } else {
                let members = hub.members.lock().unwrap();
                if let Some(m) = members.iter().find(|m| m.name == to) {
                    hub.deliver(style, m, &line);
                }
            }
            continue;
        }
        let except = (style.defect != Defect::EchoToSender).then_some(name.as_str());
        hub.to_all(style, except, &format!("{name}: {msg}"));
    }
    hub.members.lock().unwrap().retain(|m| m.name != name);
    *hub.someone_left.lock().unwrap() = true;
    if style.defect != Defect::NoLeaveNotice {
        let notice = if style.portuguese {
            format!("{name} saiu do chat. (IP: {ip}, Porta: {port})")
        } else {
            format!("{name} left the chat")
        };
        hub.to_all(style, None, &notice);
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

fn start(style: Style) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let hub = Arc::new(Hub::default());
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let hub = hub.clone();
            thread::spawn(move || session(hub, style, stream));
        }
    });
    addr
}

fn target(addr: SocketAddr, settings: Settings) -> Target {
    Target {
        max_connections: 64,
        plain: settings,
        ..Target::new(addr)
    }
}

/// Grades a fresh server of `style` per case; returns the ids that failed, with the reports.
fn failures(style: Style) -> (BTreeSet<String>, String) {
    let detected = detect(start(style), Duration::from_secs(2)).expect("framing detected");
    assert_eq!(detected, style.framing, "detected framing for {style:?}");
    let quit_line = if style.portuguese {
        "{name} saiu do chat."
    } else {
        "/quit"
    };
    let settings = Settings {
        framing: Some(detected),
        quit_line: Some(quit_line.to_string()),
    };
    let mut failed = BTreeSet::new();
    let mut text = String::new();
    for case in cases(&settings) {
        let r = run_case(&case, &target(start(style), settings.clone()));
        if r.outcome == Outcome::Fail {
            failed.insert(r.id.clone());
            text.push_str(&conformance::report::failure_text(&r));
        }
    }
    (failed, text)
}

fn expect(style: Style, failing: &[&str]) {
    let (failed, text) = failures(style);
    let want: BTreeSet<String> = failing.iter().map(|s| s.to_string()).collect();
    assert_eq!(failed, want, "{style:?}\n{text}");
}

const LINES_EN: Style = Style {
    framing: Framing::Lines,
    portuguese: false,
    defect: Defect::None,
};
const WRITES_PT: Style = Style {
    framing: Framing::Writes,
    portuguese: true,
    defect: Defect::None,
};

#[test]
fn an_english_server_framing_lines_passes_everything() {
    expect(LINES_EN, &[]);
}

#[test]
fn a_portuguese_server_framing_writes_passes_everything() {
    expect(WRITES_PT, &[]);
}

#[test]
fn the_assignments_own_design_fails_the_stopped_reader_and_the_client_side_checks() {
    let style = Style {
        defect: Defect::Assignment,
        ..WRITES_PT
    };
    expect(style, &["P-RF1-01", "P-RF4-02", "P-RF7-01"]);
}

#[test]
fn each_planted_defect_fails_exactly_its_requirement() {
    let planted = [
        (Defect::EchoToSender, &["P-RF5-01"][..]),
        (Defect::JoinWithoutPort, &["P-RF3-01"]),
        (Defect::PrivateToEveryone, &["P-RF6-01"]),
        (Defect::TakenNameAccepted, &["P-RF2-01"]),
        (Defect::NoNewUsersAfterLeave, &["P-RF10-01", "P-RF10-02"]),
    ];
    // In parallel: each failing case waits out its timeout.
    thread::scope(|s| {
        for (defect, case) in planted {
            for style in [LINES_EN, WRITES_PT] {
                s.spawn(move || expect(Style { defect, ..style }, case));
            }
        }
    });
}

#[test]
fn the_reference_server_graded_as_plain_passes_everything() {
    let server = chat_server::RunningServer::start(chat_server::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..chat_server::Config::default()
    })
    .unwrap();
    let framing = detect(server.addr(), Duration::from_secs(2)).expect("framing detected");
    assert_eq!(framing, Framing::Lines);
    let settings = Settings {
        framing: Some(framing),
        quit_line: Some("/quit".into()),
    };
    let mut text = String::new();
    for case in cases(&settings) {
        let r = run_case(&case, &target(server.addr(), settings.clone()));
        if r.outcome != Outcome::Pass {
            text.push_str(&conformance::report::failure_text(&r));
        }
    }
    assert!(text.is_empty(), "{text}");
}

#[test]
fn a_server_without_leave_notices_fails_both_ways_of_leaving() {
    thread::scope(|s| {
        for style in [LINES_EN, WRITES_PT] {
            let style = Style {
                defect: Defect::NoLeaveNotice,
                ..style
            };
            s.spawn(move || expect(style, &["P-RF8-01", "P-RF8-02", "P-RF8-03"]));
        }
    });
}
