//! Every conformance case as its own test, against the reference server started in-process:
//! `cargo test -p conformance -- RF2-03` runs one case, `-- RF6` a requirement.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use chat_server::{Config, RunningServer};
use conformance::{Outcome, Target};
use libtest_mimic::{Arguments, Failed, Trial};

/// The reference server's registration timeout here, short so PROTO-08 is quick.
const NAME_TIMEOUT: Duration = Duration::from_millis(1500);
/// Its stall deadline, short so RF4-03 and RF4-06 are quick.
const STALL_TIMEOUT: Duration = Duration::from_secs(2);
/// Exclusive cases' servers slow senders past this many bytes waiting for readers.
const FLOOD_WATERMARK: usize = 64 * 1024;

fn start(max_clients: usize, flood_watermark: Option<usize>) -> RunningServer {
    RunningServer::start(Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        name_timeout: NAME_TIMEOUT,
        stall_timeout: STALL_TIMEOUT,
        max_clients,
        flood_watermark,
        ..Config::default()
    })
    .expect("reference server starts")
}

/// The chat-client binary beside this test's target folder, built from this very tree (a
/// no-op when it is fresh), so the client cases never run a stale binary.
fn client_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/conformance-<hash> -> target/<profile>/chat-client
    let profile_dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--quiet",
        "-p",
        "chat-client",
        "--bin",
        "chat-client",
    ]);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("run cargo build");
    assert!(status.success(), "building chat-client failed");
    profile_dir.join("chat-client")
}

fn main() {
    let mut args = Arguments::from_args();
    // Cases spend their time waiting on sockets, not CPU.
    args.test_threads.get_or_insert(8);
    // CONFORMANCE_TIMEOUT_SCALE shortens waits, e.g. for mutation testing where most failures
    // are silences.
    let timeout_scale = std::env::var("CONFORMANCE_TIMEOUT_SCALE")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| *v > 0.0)
        .unwrap_or(2.0);
    let shared = start(1024, None);
    let client = client_bin();
    let target = move |addr| Target {
        client_bin: Some(client.clone()),
        timeout_scale,
        name_timeout: NAME_TIMEOUT,
        max_line: Config::default().max_line,
        stall_timeout: STALL_TIMEOUT,
        max_connections: 64,
        ..Target::new(addr)
    };
    let shared_target = target(shared.addr());
    let cases = conformance::all_cases(&[]).expect("cases load");
    let trials = cases
        .into_iter()
        .map(|case| {
            let name = case.id.clone();
            let kind = case.level.to_string();
            let shared_target = shared_target.clone();
            let own_target = target.clone();
            Trial::test(name, move || {
                // A case that needs the server to itself gets a small one of its own, with a
                // flood watermark low enough that the flood cases run with flood control
                // engaged: the default (tens of MB) is never reached by their bounded loads.
                let own = case.exclusive.then(|| start(16, Some(FLOOD_WATERMARK)));
                let t = match &own {
                    Some(server) => own_target(server.addr()),
                    None => shared_target,
                };
                let r = conformance::run_case(&case, &t);
                drop(own);
                match r.outcome {
                    Outcome::Pass => Ok(()),
                    Outcome::Skip => Err(Failed::from("skipped: no chat-client binary")),
                    // run_case never marks these: only an --expect-fail list does.
                    Outcome::Fail | Outcome::ExpectedFail | Outcome::Stale => {
                        Err(Failed::from(conformance::report::failure_text(&r)))
                    }
                }
            })
            .with_kind(kind)
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    drop(shared);
    conclusion.exit();
}
