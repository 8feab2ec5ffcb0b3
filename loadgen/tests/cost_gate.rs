//! The cost gate against a planted regression: the embedded server set to write each line with
//! its own system call per recipient (the design before batching) must fail the comparison with
//! a baseline of the normal server, on its counted costs, while the normal server passes it.

use std::path::Path;
use std::time::Duration;

use assert_cmd::cargo::cargo_bin;
use assert_cmd::Command;

mod common;
use common::show;

/// The gate's load (perf/gate), shortened: 30 bots sending at the same instant, 5 times a
/// second, so that each client gets bursts of lines that batching writes in a few calls.
fn gate_run(mode: &str) -> Command {
    let mut cmd = Command::new(cargo_bin("loadgen"));
    cmd.args([
        "--clients",
        "30",
        "--rate",
        "5",
        "--arrival",
        "burst",
        "--warmup",
        "1s",
        "--duration",
        "3s",
        "--embed-write-mode",
        mode,
    ])
    .timeout(Duration::from_secs(120));
    cmd
}

/// Compared with `baseline` on counted costs only: the test machine runs other tests at the same
/// time, so CPU time and latency get bounds too wide to matter, and counted costs a margin (100%)
/// far inside the planted regression's (about 600% more sends per delivery).
fn compared(mode: &str, baseline: &Path) -> std::process::Output {
    gate_run(mode)
        .arg("--baseline")
        .arg(baseline)
        .args(["--max-cost-regress", "100%"])
        .args(["--max-cpu-regress", "100000%", "--max-regress", "100000%"])
        .output()
        .expect("loadgen runs")
}

#[test]
fn the_cost_gate_fails_a_server_writing_line_by_line_and_passes_the_normal_one() {
    let dir = std::env::temp_dir().join(format!("loadgen-cost-gate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let baseline = dir.join("baseline.json");
    let made = gate_run("batched")
        .arg("--json")
        .arg(&baseline)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "the baseline run failed\n{}",
        show(&made)
    );

    let normal = compared("batched", &baseline);
    let report = show(&normal);
    assert!(
        report.contains("PASS server_sends_per_delivery within"),
        "{report}"
    );
    assert!(!report.contains("FAIL server_"), "{report}");
    // 2 would mean generator-bound latency (a busy test machine), which is not a failure.
    assert_ne!(normal.status.code(), Some(1), "{report}");

    let planted = compared("per-line", &baseline);
    let report = show(&planted);
    assert_eq!(planted.status.code(), Some(1), "{report}");
    assert!(
        report.contains("FAIL server_sends_per_delivery within"),
        "{report}"
    );
    assert!(report.contains("verdict: FAIL"), "{report}");
    std::fs::remove_dir_all(&dir).unwrap();
}
