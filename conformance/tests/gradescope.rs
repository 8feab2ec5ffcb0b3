//! Gradescope: `--format gradescope` writes results.json with the documented fields and the
//! rubric's points, and the autograder folder's `run_autograder` grades a submission under
//! Gradescope's layout (here in a temporary folder), including one that cannot be graded.

use std::path::Path;
use std::time::Duration;

use assert_cmd::cargo::cargo_bin;
use assert_cmd::Command;
use serde_json::Value;

/// Not a test on its own: a submission's server (this binary run again), the reference server
/// on the port in `SERVE_PORT_FOR_TEST`, for the autograder test.
#[test]
fn serve_reference_for_test() {
    let Ok(port) = std::env::var("SERVE_PORT_FOR_TEST") else {
        return;
    };
    let _server = chat_server::RunningServer::start(chat_server::Config {
        listen: format!("127.0.0.1:{port}").parse().unwrap(),
        ..chat_server::Config::default()
    })
    .unwrap();
    std::thread::sleep(Duration::from_secs(60));
}

/// Checks every documented field and its type; returns the parsed file.
fn check_fields(text: &str) -> Value {
    let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert!(v["score"].is_number(), "{v}");
    assert!(v["execution_time"].is_number(), "{v}");
    assert!(v["output"].is_string(), "{v}");
    let tests = v["tests"].as_array().expect("tests");
    for t in tests {
        for field in ["name", "number", "status", "output", "visibility"] {
            assert!(t[field].is_string(), "{field} in {t}");
        }
        for field in ["score", "max_score"] {
            assert!(t[field].is_number(), "{field} in {t}");
        }
        assert!(
            ["passed", "failed"].contains(&t["status"].as_str().unwrap()),
            "{t}"
        );
        let tags = t["tags"].as_array().expect("tags");
        assert_eq!(tags.len(), 2, "{t}");
        assert!(
            ["MUST", "SHOULD"].contains(&tags[1].as_str().unwrap()),
            "{t}"
        );
    }
    let sum: f64 = tests.iter().map(|t| t["score"].as_f64().unwrap()).sum();
    assert!((sum - v["score"].as_f64().unwrap()).abs() < 1e-9, "{v}");
    v
}

#[test]
fn results_json_has_the_documented_fields_and_the_rubrics_points() {
    let server = chat_server::RunningServer::start(chat_server::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..chat_server::Config::default()
    })
    .unwrap();
    let dir = std::env::temp_dir().join(format!("gradescope-fields-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rubric = dir.join("rubric.toml");
    std::fs::write(
        &rubric,
        "[requirements]\nRF5 = 10\n[cases]\n\"P-RF6-01\" = 7\n[visibility-of]\n\"P-RF4-*\" = \"after_published\"\n",
    )
    .unwrap();
    let out = Command::new(cargo_bin("conformance"))
        .args(["--protocol", "plain", "--format", "gradescope"])
        .args(["--server", &server.addr().to_string()])
        .arg("--rubric")
        .arg(&rubric)
        .timeout(Duration::from_secs(120))
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let v = check_fields(&String::from_utf8_lossy(&out));
    let test = |id: &str| {
        v["tests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["number"] == id)
            .unwrap_or_else(|| panic!("no {id}"))
            .clone()
    };
    assert_eq!(test("P-RF5-01")["max_score"], 10.0);
    assert_eq!(test("P-RF6-01")["max_score"], 7.0);
    assert_eq!(
        test("P-RF1-01")["max_score"],
        0.5,
        "SHOULD, no rubric entry: half a point"
    );
    assert_eq!(test("P-RF4-02")["visibility"], "after_published");
    assert_eq!(test("P-RF5-01")["visibility"], "visible");
    let _ = std::fs::remove_dir_all(&dir);
}

fn autograder_layout(root: &Path, server_cmd: &str) {
    for d in ["source", "submission", "results"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("gradescope");
    std::fs::copy(folder.join("rubric.toml"), root.join("source/rubric.toml")).unwrap();
    let conf = std::fs::read_to_string(folder.join("autograder.conf")).unwrap();
    let conf = conf
        .lines()
        .map(|l| match l.split('=').next() {
            Some("SERVER_CMD") => format!("SERVER_CMD='{server_cmd}'"),
            Some("QUIT_LINE") => "QUIT_LINE='/quit'".to_string(),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(root.join("source/autograder.conf"), conf).unwrap();
}

fn run_autograder(root: &Path) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("gradescope/run_autograder");
    Command::new("bash")
        .arg(script)
        .env("AUTOGRADER_ROOT", root)
        .env("CONFORMANCE", cargo_bin("conformance"))
        .timeout(Duration::from_secs(180))
        .assert()
        .code(0);
    let text = std::fs::read_to_string(root.join("results/results.json")).expect("results.json");
    check_fields(&text)
}

#[test]
fn run_autograder_grades_a_submission_under_gradescopes_layout() {
    let root = std::env::temp_dir().join(format!("gradescope-root-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let exe = std::env::current_exe().unwrap();
    let cmd = format!(
        "env SERVE_PORT_FOR_TEST={{port}} {} --exact serve_reference_for_test --nocapture",
        exe.display()
    );
    autograder_layout(&root, &cmd);
    let v = run_autograder(&root);
    // The example rubric's 100 points, every case passed.
    assert!((v["score"].as_f64().unwrap() - 100.0).abs() < 1e-6, "{v}");
    assert_eq!(v["tests"].as_array().unwrap().len(), 14);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_submission_that_does_not_start_gets_no_points_and_the_reason() {
    let root = std::env::temp_dir().join(format!("gradescope-broken-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    autograder_layout(
        &root,
        "sh -c \"echo No module named servidor >&2; exit 1\" {port}",
    );
    let v = run_autograder(&root);
    assert_eq!(v["score"], 0.0);
    let output = v["output"].as_str().unwrap();
    assert!(
        output.contains("could not be graded") && output.contains("No module named servidor"),
        "{output}"
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_teachers_typo_in_the_rubric_fails_the_run_and_grades_nobody() {
    let root = std::env::temp_dir().join(format!("gradescope-typo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    autograder_layout(&root, "python3 servidor.py {port}");
    let rubric = root.join("source/rubric.toml");
    let text = std::fs::read_to_string(&rubric).unwrap();
    std::fs::write(
        &rubric,
        format!("{text}\"P-RF4-02\" = \"after_publish\"\n[requirements]\nRF13 = 5\n"),
    )
    .ok();
    // One problem at a time is what a TOML reader reports; the misspelt visibility comes first.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("gradescope/run_autograder");
    let out = Command::new("bash")
        .arg(script)
        .env("AUTOGRADER_ROOT", &root)
        .env("CONFORMANCE", cargo_bin("conformance"))
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rubric.toml"), "{stderr}");
    assert!(stderr.contains("nothing was graded"), "{stderr}");
    assert!(
        !root.join("results/results.json").exists(),
        "a student got a result"
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn check_config_names_an_unknown_requirement_with_its_line() {
    let dir = std::env::temp_dir().join(format!("check-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rubric = dir.join("rubric.toml");
    std::fs::write(&rubric, "[requirements]\nRF5 = 10\nRF13 = 5\n").unwrap();
    Command::new(cargo_bin("conformance"))
        .args(["check-config", "--rubric"])
        .arg(&rubric)
        .timeout(Duration::from_secs(30))
        .assert()
        .code(1)
        .stdout(predicates::str::contains(
            "rubric.toml:3: no requirement \"RF13\"",
        ));
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("gradescope");
    Command::new(cargo_bin("conformance"))
        .args(["check-config", "--rubric"])
        .arg(folder.join("rubric.toml"))
        .arg("--autograder-conf")
        .arg(folder.join("autograder.conf"))
        .timeout(Duration::from_secs(30))
        .assert()
        .code(0)
        .stdout(predicates::str::starts_with("ok: "));
    let _ = std::fs::remove_dir_all(&dir);
}
