//! `conformance batch`: the reference server under two settings, and small servers written here
//! that are broken in the ways submissions are: one echoes messages to their sender, one speaks
//! another protocol, one never starts, one exits during the run, one hangs.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::cargo::cargo_bin;
use assert_cmd::Command;

mod common;
use common::echoing_server;

fn reference(max_line: usize) -> chat_server::RunningServer {
    chat_server::RunningServer::start(chat_server::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        max_line,
        ..chat_server::Config::default()
    })
    .unwrap()
}

/// Greets like a different chat program.
fn other_protocol() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let _ = s.write_all(b"Welcome! Enter your nickname:\n");
        }
    });
    addr
}

/// Passes the opening check, then answers nobody: every case would wait out its timeouts.
fn hanging_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for (i, stream) in listener.incoming().flatten().enumerate() {
            if i == 0 {
                let peer = stream.peer_addr().unwrap();
                let mut out = stream.try_clone().unwrap();
                let _ = out.write_all(b"HELLO chat/1 hi\n");
                let mut name = String::new();
                let _ = BufReader::new(stream).read_line(&mut name);
                let _ = out.write_all(format!("WELCOME {} {peer}\n", name.trim()).as_bytes());
            } else {
                held.push(stream);
            }
        }
    });
    addr
}

/// Writes `batch` into `dir` and grades it (exit code 1: some server fails); returns stdout,
/// the CSV scoreboard, and the output folder.
fn run_batch(dir: &Path, batch: &str, args: &[&str]) -> (String, String, PathBuf) {
    let file = dir.join("class.toml");
    std::fs::write(&file, batch).unwrap();
    let out = dir.join("out");
    let assert = Command::new(cargo_bin("conformance"))
        .arg("batch")
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .args(args)
        .timeout(Duration::from_secs(120))
        .assert()
        .code(1);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    let csv = std::fs::read_to_string(out.join("scoreboard.csv")).unwrap();
    (stdout, csv, out)
}

/// The scoreboard row of `label`.
fn row<'a>(csv: &'a str, label: &str) -> &'a str {
    csv.lines()
        .find(|l| l.starts_with(&format!("{label},")))
        .unwrap_or_else(|| panic!("no row for {label}:\n{csv}"))
}

#[test]
fn a_batch_grades_each_server_and_writes_the_scoreboard_and_reports() {
    let plain = reference(4096);
    let small = reference(1024);
    let dir = std::env::temp_dir().join(format!("conformance-batch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("never")).unwrap();
    let batch = format!(
        r#"
[defaults]
time-limit = "60s"

[[server]]
label = "reference"
address = "{plain}"

[[server]]
label = "reference-1k-lines"
address = "{small}"
max-line = 1024

[[server]]
label = "echoes"
address = "{echo}"

[[server]]
label = "another-protocol"
address = "{other}"

[[server]]
label = "never-starts"
spawn = "sh -c 'echo cannot find main.py >&2; exit 3'"
dir = "never"

[[server]]
label = "exits-during-run"
spawn = "sh -c 'echo listening on {plain}'"

[[server]]
label = "hangs"
address = "{hang}"
time-limit = "3s"
"#,
        plain = plain.addr(),
        small = small.addr(),
        echo = echoing_server(),
        other = other_protocol(),
        hang = hanging_server(),
    );
    let only = [
        "--only", "RF3", "--only", "RF5", "--only", "PROTO-01", "--only", "PROTO-13",
    ];
    let (stdout, csv, out) = run_batch(&dir, &batch, &only);
    let verdict = |label: &str| row(&csv, label).split(',').nth(3).unwrap().to_string();
    let expected = [
        ("reference", "PASS"),
        ("reference-1k-lines", "PASS"),
        ("echoes", "FAIL"),
        ("another-protocol", "NOT CHAT/1"),
        ("never-starts", "DID NOT START"),
        ("exits-during-run", "CRASHED"),
        ("hangs", "HUNG"),
    ];
    for (label, v) in expected {
        assert_eq!(
            verdict(label),
            v,
            "{label}; scoreboard:\n{csv}\nstdout:\n{stdout}"
        );
    }
    assert!(
        csv.starts_with("student,score,max,verdict,RF3 (of ") && csv.contains(",PROTO (of "),
        "{csv}"
    );
    // Points, the same columns for every student: one that did not start has zeros.
    let never = row(&csv, "never-starts");
    assert!(never.starts_with("never-starts,0,"), "{csv}");
    assert!(
        csv.contains("cannot find main.py"),
        "the stderr of a server that did not start: {csv}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("| echoes |") && l.contains("| FAIL |")),
        "{stdout}"
    );
    let echo_report = std::fs::read_to_string(out.join("reports/echoes.txt")).unwrap();
    assert!(echo_report.contains("FAILED RF5-02"), "{echo_report}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("scoreboard.json")).unwrap())
            .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 7);
    assert!(out.join("reports/reference.json").is_file());
    assert!(out.join("reports/never-starts.txt").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_batch_file_that_says_something_impossible_is_refused() {
    let dir = std::env::temp_dir().join(format!("conformance-badbatch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.toml");
    std::fs::write(
        &file,
        "[[server]]\nlabel = \"x\"\nspawn = \"a\"\naddress = \"127.0.0.1:1\"\n",
    )
    .unwrap();
    Command::new(cargo_bin("conformance"))
        .arg("batch")
        .arg(&file)
        .timeout(Duration::from_secs(30))
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "server \"x\": give one of spawn = \"COMMAND\" or address = \"HOST:PORT\", not both",
        ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_batch_grades_plain_servers_by_meaning_and_says_when_one_cannot_be() {
    let server = reference(4096);
    let dir = std::env::temp_dir().join(format!("conformance-plain-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let batch = format!(
        r#"
[defaults]
time-limit = "60s"
protocol = "plain"

[[server]]
label = "reference-as-plain"
address = "{addr}"
quit-line = "/quit"

[[server]]
label = "announces-nobody"
address = "{other}"
"#,
        addr = server.addr(),
        other = other_protocol(),
    );
    let (_, csv, _) = run_batch(&dir, &batch, &[]);
    let row = |label: &str| row(&csv, label);
    assert!(
        // A point a MUST case, half a SHOULD one: 12 + 2 x 0.5.
        row("reference-as-plain").starts_with("reference-as-plain,13,13,PASS,"),
        "{csv}"
    );
    assert!(row("announces-nobody").contains(",NOT GRADABLE,"), "{csv}");
    assert!(
        row("announces-nobody").contains("announced no newcomer"),
        "{csv}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
