//! Shards: two loadgen processes of 100 bots each, started together against one server, give
//! the same totals as one process of 200 bots, and their merge adds the histograms exactly.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use assert_cmd::cargo::cargo_bin;
use loadgen::Summary;

mod common;
use common::show;

fn loadgen(server: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(cargo_bin("loadgen"));
    cmd.args(["--server", server, "--clients", "200", "--rate", "2"])
        .args(["--warmup", "1s", "--duration", "2s", "--seed", "5"]);
    cmd
}

fn report(path: &Path) -> Summary {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn two_shards_of_100_count_what_one_run_of_200_counts_and_merge_exactly() {
    let server = chat_server::RunningServer::start(chat_server::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..chat_server::Config::default()
    })
    .unwrap();
    let addr = server.addr().to_string();
    let dir = std::env::temp_dir().join(format!("loadgen-shards-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let start = (SystemTime::now() + Duration::from_secs(6))
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let shards: Vec<_> = (0..2)
        .map(|i| {
            let json = dir.join(format!("shard{i}.json"));
            let child = loadgen(&addr)
                .args([
                    "--shard",
                    &format!("{i}/2"),
                    "--start-at",
                    &start.to_string(),
                ])
                .arg("--json")
                .arg(&json)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            (child, json)
        })
        .collect();
    let mut parts = Vec::new();
    for (child, json) in shards {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("loss is judged by `loadgen merge`"),
            "{}",
            show(&out)
        );
        parts.push(json);
    }

    let single = dir.join("single.json");
    let out = loadgen(&addr).arg("--json").arg(&single).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));

    let merged = dir.join("merged.json");
    let out = std::process::Command::new(cargo_bin("loadgen"))
        .arg("merge")
        .args(&parts)
        .arg("--json")
        .arg(&merged)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let (m, one) = (report(&merged), report(&single));
    let totals = |s: &Summary| {
        let c = &s.counts;
        (c.sent, c.expected, c.delivered, c.lost)
    };
    assert_eq!(totals(&m), totals(&one), "merged shards against one run");
    assert_eq!(m.counts.lost, 0);
    assert_eq!(m.counts.sent, 200 * 2 * 2, "200 bots, 2 msg/s, 2 s");

    // Every shard timed its own bots' deliveries; the merge is exactly their sum.
    let shards: Vec<Summary> = parts.iter().map(|p| report(p)).collect();
    let mut sum = shards[0].histogram("from_planned").unwrap();
    sum.add(shards[1].histogram("from_planned").unwrap())
        .unwrap();
    let merged_h = m.histogram("from_planned").unwrap();
    assert_eq!(merged_h, sum);
    assert!(!merged_h.is_empty());
    assert_eq!(m.latency.count, merged_h.len());
    // Per sender: everything owed arrived, counted across the shards.
    assert_eq!(m.per_sender.len(), 200);
    assert!(m
        .per_sender
        .iter()
        .all(|p| p.expected == p.delivered && p.expected > 0));

    // A shard missing, or given twice, is refused.
    let out = std::process::Command::new(cargo_bin("loadgen"))
        .args(["merge"])
        .arg(&parts[0])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        show(&out).contains("shard 1 of 2 is missing"),
        "{}",
        show(&out)
    );
    let out = std::process::Command::new(cargo_bin("loadgen"))
        .args(["merge"])
        .arg(&parts[0])
        .arg(&parts[0])
        .output()
        .unwrap();
    assert!(
        show(&out).contains("shard 0 of 2 is given twice"),
        "{}",
        show(&out)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
