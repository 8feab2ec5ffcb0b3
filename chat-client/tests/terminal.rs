//! The real `chat-client` on a pseudo-terminal (through `script(1)`), so that it runs
//! interactively: name prompts and the full-screen mode. Without `script(1)` these tests are
//! reported as ignored, with the reason, rather than passing without having run.

mod common;

use std::net::SocketAddr;
use std::process::{Command, Stdio};

use assert_cmd::cargo::cargo_bin;
use common::{server, Client};
use libtest_mimic::{Arguments, Trial};

fn script_available() -> bool {
    Command::new("script")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn main() {
    let args = Arguments::from_args();
    let available = script_available();
    if !available {
        eprintln!("script(1) is not installed: the terminal tests are reported as ignored");
    }
    let tests: [(&str, fn()); 2] = [
        (
            "rf1_rf2_on_a_terminal_a_refused_name_is_asked_again",
            rf1_rf2_on_a_terminal_a_refused_name_is_asked_again,
        ),
        (
            "full_screen_client_chats_with_a_line_client_and_leaves",
            full_screen_client_chats_with_a_line_client_and_leaves,
        ),
    ];
    let trials = tests
        .into_iter()
        .map(|(name, test)| {
            Trial::test(name, move || {
                test();
                Ok(())
            })
            .with_ignored_flag(!available)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

/// Runs the client on a pseudo-terminal through `script(1)`, so that it is interactive.
fn spawn_on_terminal(addr: SocketAddr, extra: &str) -> Client {
    // A fixed size: a pseudo-terminal made from a pipe starts with none.
    let command = format!(
        "stty cols 100 rows 30; {} --server {addr} {extra}",
        cargo_bin("chat-client").display()
    );
    let child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn script");
    Client::watch(child, "terminal")
}

fn rf1_rf2_on_a_terminal_a_refused_name_is_asked_again() {
    let server = server();
    let _alice = Client::named(server.addr(), "alice");
    let mut c = spawn_on_terminal(server.addr(), "--plain");
    // Typed ahead: the client reads each answer when it asks for a name.
    c.type_line("ALICE");
    c.type_line("bad name");
    c.type_line("alice2");
    c.expect("name refused (name-taken)");
    c.expect("name refused (invalid-name)");
    c.expect(&format!("connected to {} as alice2", server.addr()));
    c.type_line("/quit");
    c.expect("you left the chat");
    let (code, _, _) = c.finish();
    assert_eq!(code, Some(0));
}

fn full_screen_client_chats_with_a_line_client_and_leaves() {
    let server = server();
    let mut bob = Client::named(server.addr(), "bob");
    let mut screen = spawn_on_terminal(server.addr(), "--name zoe");
    bob.expect("zoe joined from 127.0.0.1:");
    // Keys as a terminal sends them: Enter is a carriage return.
    screen.type_raw(b"hello from the screen\r");
    bob.expect("zoe: hello from the screen");
    bob.type_line("hi zoe");
    screen.type_raw(b"/quit\r");
    bob.expect("zoe left (127.0.0.1:");
    let (code, _, _) = screen.finish();
    assert_eq!(code, Some(0));
}
