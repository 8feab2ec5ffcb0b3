//! The `conformance` binary's first minute: bad flag values, a server that speaks another
//! protocol, and a `--spawn` command that dies at once.

use std::io::Write;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;
use assert_cmd::Command;
use predicates::prelude::*;

const TIMEOUT: Duration = Duration::from_secs(60);

fn grader() -> Command {
    let mut cmd = Command::new(cargo_bin("conformance"));
    cmd.timeout(TIMEOUT);
    cmd
}

#[test]
fn a_duration_no_tool_can_use_is_a_usage_error_not_a_panic() {
    for flag in ["--name-timeout", "--stall-timeout"] {
        grader().args([flag, "1e20"]).assert().code(2).stderr(
            predicate::str::contains("invalid duration \"1e20\"")
                .and(predicate::str::contains("panicked").not()),
        );
    }
}

#[test]
fn other_bad_values_are_usage_errors() {
    for args in [
        &["--jobs", "0"][..],
        &["--timeout-scale", "0"],
        &["--timeout-scale", "inf"],
        &["--max-line", "0"],
        &["--max-connections", "0"],
        &["--jobs", "many"],
    ] {
        grader().args(args).assert().code(2);
    }
}

#[test]
fn a_server_speaking_another_protocol_gets_one_paragraph_and_exit_2() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.write_all(b"Welcome to the chat! Please enter your username:\n");
            // Held open until the tool hangs up, so it reads the greeting on a live connection.
            let _ = std::io::copy(&mut s, &mut std::io::sink());
        }
    });
    let out = grader()
        .args(["--server", &addr.to_string()])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("does not speak chat/1, so no case was run")
                .and(predicate::str::contains("Please enter your username:"))
                .and(predicate::str::contains("docs/PROTOCOL.md")),
        )
        .get_output()
        .clone();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("FAIL"), "no case ran: {stdout}");
}

#[test]
fn a_spawned_command_that_exits_at_once_is_reported_at_once() {
    let started = Instant::now();
    grader()
        .args(["--spawn", "sh -c 'echo no such flag: --listen >&2; exit 7'"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("exited (exit status: 7)")
                .and(predicate::str::contains("no such flag: --listen")),
        );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn plain_mode_detects_the_framing_says_so_and_grades_by_meaning() {
    let server = chat_server::RunningServer::start(chat_server::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..chat_server::Config::default()
    })
    .unwrap();
    grader()
        .args([
            "--protocol",
            "plain",
            "--quit-line",
            "/quit",
            "--format",
            "json",
        ])
        .args(["--server", &server.addr().to_string()])
        .assert()
        .code(0)
        .stderr(predicate::str::contains(
            "protocol plain, one message per line (LF) (detected)",
        ))
        .stdout(
            predicate::str::contains("\"P-RF8-02\"").and(predicate::str::contains(
                "\"setup\": \"protocol plain, one message per line (LF) (detected)\"",
            )),
        );
}

#[test]
fn plain_mode_against_a_server_that_announces_nobody_explains_and_exits_2() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        // Accepts, reads, never says anything: nobody is ever announced.
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    grader()
        .args(["--protocol", "plain", "--timeout-scale", "0.5"])
        .args(["--server", &addr.to_string()])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("announced no newcomer")
                .and(predicate::str::contains("--framing")),
        );
}

#[test]
fn plain_only_flags_without_plain_are_usage_errors() {
    grader()
        .args(["--framing", "lines", "--server", "127.0.0.1:9"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("for --protocol plain"));
}

mod common;

#[test]
fn expected_failures_do_not_fail_the_run_and_stale_ones_do() {
    let dir = std::env::temp_dir().join(format!("conformance-xfail-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let list = dir.join("xfail.txt");
    let server = common::echoing_server().to_string();
    let run = |text: &str| {
        std::fs::write(&list, text).unwrap();
        grader()
            .args(["--server", &server, "--only", "RF5-01", "--only", "RF5-02"])
            .arg("--expect-fail")
            .arg(&list)
            .assert()
    };
    // The echo breaks RF5-02 (never back to the sender); RF5-01 holds.
    run("# known: it echoes\nRF5-02\n").code(0).stdout(
        predicate::str::contains("xfail RF5-02")
            .and(predicate::str::contains("1 expected failures")),
    );
    run("RF5-*  # both listed, but RF5-01 passes\n")
        .code(1)
        .stdout(predicate::str::contains(
            "STALE RF5-01: listed in --expect-fail, but it passes now",
        ));
    run("RF9-99\n").code(2).stderr(predicate::str::contains(
        "xfail.txt:1: \"RF9-99\" matches no case of this run",
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn lang_pt_br_writes_the_report_in_the_assignments_portuguese() {
    let server = chat_server::RunningServer::start(chat_server::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..chat_server::Config::default()
    })
    .unwrap();
    grader()
        .args(["--protocol", "plain", "--lang", "pt-BR", "--only", "RF5"])
        .args(["--server", &server.addr().to_string()])
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("requisito")
                .and(predicate::str::contains(
                    "O sistema deve permitir que os usuários possam enviar mensagens no chat para que todos possam ver.",
                ))
                .and(predicate::str::contains(
                    "uma mensagem chega a todos os outros, e não a quem a enviou",
                ))
                .and(predicate::str::contains("1 passaram, 0 falharam"))
                .and(predicate::str::contains("passed").not()),
        );
}

#[test]
fn an_unknown_language_is_a_usage_error_that_names_the_choices() {
    grader()
        .args([
            "--protocol",
            "plain",
            "--lang",
            "fr",
            "--server",
            "127.0.0.1:9",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("en or pt-BR"));
}
