//! Students' GUI clients, written as students write them (tests/clients/), each with one
//! planted defect: each must fail exactly its own requirement's cases, for the reason named,
//! and give the same verdicts every time it is graded.
//!
//! They need Xvfb and Python's tkinter. CI installs both (.ci/run); elsewhere a machine
//! without them skips these tests with a message, and under CI that is a failure.

use std::collections::BTreeSet;
use std::path::PathBuf;

use conformance::i18n::Lang;
use conformance::report::Report;
use conformance::{Outcome, Target};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// Whether this machine can run a window headless; under CI it must.
fn can_run_windows() -> bool {
    let xvfb = std::process::Command::new("Xvfb")
        .arg("-help")
        .output()
        .is_ok();
    let tk = std::process::Command::new("python3")
        .args(["-c", "import tkinter"])
        .status()
        .is_ok_and(|s| s.success());
    if !(xvfb && tk) {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have Xvfb ({xvfb}) and tkinter ({tk}): .ci/run installs them"
        );
        eprintln!("no Xvfb or no tkinter here: the client tests are skipped");
    }
    xvfb && tk
}

fn graded(file: &str) -> Report {
    let base = Target::new("127.0.0.1:0".parse().unwrap());
    conformance::gui::grade(
        &format!("python3 {file}"),
        Some(dir()),
        &base,
        Lang::En,
        &|_| {},
    )
    .unwrap_or_else(|e| panic!("{file} could not be graded: {e}"))
}

fn failing(r: &Report) -> BTreeSet<String> {
    r.results
        .iter()
        .filter(|c| c.outcome == Outcome::Fail)
        .map(|c| c.id.clone())
        .collect()
}

/// Grades `file` `rounds` times: the failing cases must be `want` each time, every text must
/// have its Portuguese; returns the last report.
fn expect(file: &str, want: &[&str], rounds: usize) -> Option<Report> {
    if !can_run_windows() {
        return None;
    }
    let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
    let mut last = None;
    for round in 1..=rounds {
        let r = graded(file);
        assert_eq!(
            failing(&r),
            want,
            "{file}, round {round} of {rounds}:\n{}",
            r.render(conformance::Format::Text)
        );
        for c in &r.results {
            let mut untranslated = c.title.untranslated();
            if let Some(f) = &c.failure {
                untranslated.extend(f.expected.untranslated());
                untranslated.extend(f.actual.untranslated());
            }
            assert!(untranslated.is_empty(), "{file} {}: {untranslated:?}", c.id);
        }
        last = Some(r);
    }
    last
}

fn actual(r: &Report, id: &str) -> String {
    r.results
        .iter()
        .find(|c| c.id == id)
        .and_then(|c| c.failure.as_ref())
        .map(|f| f.actual.to_string())
        .unwrap_or_default()
}

#[test]
fn a_client_as_the_assignment_asks_passes_every_case() {
    expect("tk_good.py", &[], 5);
}

#[test]
fn a_client_with_a_login_window_before_its_chat_window_passes_every_case() {
    // Its name is typed into a form and sent with a button; the chat window is a second Tk,
    // of ttk widgets, whose send button has no Enter binding.
    expect("tk_login_window.py", &[], 5);
}

#[test]
fn a_client_that_asks_for_the_host_and_port_first_passes_every_case() {
    // Host, port (askinteger) and name asked in turn: each gets an answer of its kind.
    expect("tk_asks_host.py", &[], 5);
}

#[test]
fn a_client_without_mainloop_that_prints_its_error_fails_only_rf11() {
    // Its name comes from input() and its loop is its own (update() and select): driven all
    // the same, it fails only for the error it prints instead of showing.
    if let Some(r) = expect("tk_update_loop.py", &["C-RF11-01"], 5) {
        let why = actual(&r, "C-RF11-01");
        assert!(
            why.contains("exited (exit status: 1) with no pop-up"),
            "{why}"
        );
    }
}

#[test]
fn an_error_in_a_label_instead_of_a_pop_up_fails_rf11_and_says_so() {
    if let Some(r) = expect("tk_console_label.py", &["C-RF11-01"], 5) {
        let why = actual(&r, "C-RF11-01");
        assert!(why.contains("in the window, not in a pop-up"), "{why}");
    }
}

#[test]
fn a_client_that_takes_any_name_fails_rf1() {
    expect("tk_spaces_ok.py", &["C-RF1-02", "C-RF1-03"], 5);
}

#[test]
fn a_client_that_sends_a_private_message_to_its_user_fails_rf7() {
    if let Some(r) = expect("tk_self_private.py", &["C-RF7-01"], 5) {
        assert!(actual(&r, "C-RF7-01").contains("it was sent to the server"));
    }
}

#[test]
fn a_sair_that_keeps_the_connection_fails_rf9() {
    expect("tk_sair_noop.py", &["C-RF9-01"], 5);
}

#[test]
fn a_client_that_reads_only_after_sending_fails_rf4() {
    expect("tk_no_thread.py", &["C-RF4-01"], 5);
}

#[test]
fn a_client_that_blocks_before_its_main_loop_is_told_why() {
    let every_window_case = [
        "C-RF1-02",
        "C-RF1-03",
        "C-RF4-01",
        "C-RF5-01",
        "C-RF7-01",
        "C-RF9-01",
        "C-RF12-01",
    ];
    if let Some(r) = expect("tk_blocks.py", &every_window_case, 1) {
        let why = actual(&r, "C-RF9-01");
        assert!(why.contains("blocks before mainloop"), "{why}");
    }
}

#[test]
fn a_program_the_hook_cannot_attach_to_is_not_graded_and_says_why() {
    if !can_run_windows() {
        return;
    }
    let base = Target::new("127.0.0.1:0".parse().unwrap());
    // Not Python (the hook cannot attach), and no window for the X11 level either.
    let err = conformance::gui::grade("sleep 60", None, &base, Lang::En, &|_| {})
        .expect_err("not gradable");
    let why = err.to_string();
    assert!(
        why.contains("no window") || why.contains("could not attach"),
        "{why}"
    );
}

#[test]
fn a_client_that_exits_before_any_window_is_not_graded_and_shows_its_stderr() {
    if !can_run_windows() {
        return;
    }
    let base = Target::new("127.0.0.1:0".parse().unwrap());
    // A misspelt file: Python starts (the hook attaches), then exits with its complaint.
    let err = conformance::gui::grade(
        "python3 cliente_nao_existe.py",
        Some(dir()),
        &base,
        Lang::En,
        &|_| {},
    )
    .expect_err("not gradable");
    let why = err.to_string();
    assert!(
        why.contains("exited (exit status: 2) before showing any window")
            && why.contains("cliente_nao_existe.py"),
        "{why}"
    );
}

#[test]
fn run_autograder_grades_the_client_beside_the_server_into_one_results_file() {
    if !can_run_windows() {
        return;
    }
    use assert_cmd::cargo::cargo_bin;
    let root = std::env::temp_dir().join(format!("gradescope-client-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for d in ["source", "submission", "results"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("gradescope");
    std::fs::copy(folder.join("rubric.toml"), root.join("source/rubric.toml")).unwrap();
    std::fs::copy(dir().join("tk_good.py"), root.join("submission/tk_good.py")).unwrap();
    // The server half does not start (only the client is handed in here): it gets its one
    // "could not be graded" result, and the client's cases come after it.
    let conf = std::fs::read_to_string(folder.join("autograder.conf"))
        .unwrap()
        .lines()
        .map(|l| match l.split('=').next() {
            Some("SERVER_CMD") => "SERVER_CMD='sh -c \"exit 3\" {port}'".to_string(),
            Some("CLIENT_CMD") => "CLIENT_CMD='python3 tk_good.py'".to_string(),
            Some("REPORT_LANG") => "REPORT_LANG=pt-BR".to_string(),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(root.join("source/autograder.conf"), conf).unwrap();
    let status = std::process::Command::new("bash")
        .arg(folder.join("run_autograder"))
        .env("AUTOGRADER_ROOT", &root)
        .env("CONFORMANCE", cargo_bin("conformance"))
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(root.join("results/results.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let tests = v["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 9, "the client's nine cases: {text}");
    assert!(tests.iter().all(|t| t["status"] == "passed"), "{text}");
    let output = v["output"].as_str().unwrap();
    assert!(
        output.contains("Não foi possível avaliar o seu servidor"),
        "{output}"
    );
    assert!(
        output.contains("relatório de avaliação de python3 tk_good.py"),
        "{output}"
    );
    assert!(v["score"].as_f64().unwrap() > 0.0, "{text}");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_batch_grades_clients_beside_servers_into_one_grade_book() {
    if !can_run_windows() {
        return;
    }
    use assert_cmd::cargo::cargo_bin;
    let out = std::env::temp_dir().join(format!("batch-clients-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let file = out.join("batch.toml");
    // ana hands in only a client; bia's client sends private messages to herself; caio's
    // server is not running and his "client" is no program with a window at all.
    let text = format!(
        "[defaults]\nprotocol = \"plain\"\n\n\
         [[server]]\nlabel = \"ana\"\nclient = \"python3 tk_good.py\"\nclient-dir = {dir:?}\n\n\
         [[server]]\nlabel = \"bia\"\nclient = \"python3 tk_self_private.py\"\nclient-dir = {dir:?}\n\n\
         [[server]]\nlabel = \"caio\"\naddress = \"127.0.0.1:1\"\nclient = \"exit 3\"\n",
        dir = dir().display().to_string()
    );
    std::fs::write(&file, text).unwrap();
    let rubric = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("gradescope/rubric.toml");
    let result = std::process::Command::new(cargo_bin("conformance"))
        .args(["--protocol", "plain", "--jobs", "2", "--rubric"])
        .arg(&rubric)
        .arg("batch")
        .arg(&file)
        .arg("--out")
        .arg(out.join("out"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    let stderr = String::from_utf8_lossy(&result.stderr);
    let shown = format!("stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(
        result.status.code(),
        Some(1),
        "not every student passed\n{shown}"
    );
    let md = std::fs::read_to_string(out.join("out/scoreboard.md")).unwrap();
    assert!(md.contains("| student | score | server | client |"), "{md}");
    let row = |label: &str| {
        md.lines()
            .find(|l| l.starts_with(&format!("| {label} |")))
            .unwrap_or_else(|| panic!("no row for {label}: {md}"))
            .to_string()
    };
    assert!(row("ana").contains("| - | PASS |"), "{md}");
    assert!(row("bia").contains("| - | FAIL |"), "{md}");
    assert!(
        row("caio").contains("| NOT GRADABLE | NOT GRADABLE |"),
        "{md}"
    );
    // The client's RF7 case has the rubric's RF7 points: ana has them, bia has not.
    let rf7 = md
        .lines()
        .find(|l| l.starts_with("| student"))
        .unwrap()
        .split('|')
        .position(|c| c.trim().starts_with("RF7 ("))
        .expect("an RF7 column");
    let cell = |label: &str| row(label).split('|').nth(rf7).unwrap().trim().to_string();
    assert_eq!(cell("ana"), "5", "{md}");
    assert_eq!(cell("bia"), "0", "{md}");
    assert!(md.contains("## What happened to these clients"), "{md}");
    let reports = out.join("out/reports");
    let client_report = std::fs::read_to_string(reports.join("clients/bia.txt")).unwrap();
    assert!(client_report.contains("C-RF7-01"), "{client_report}");
    let results = |label: &str| -> serde_json::Value {
        let path = reports.join(format!("{label}.results.json"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    assert_eq!(results("ana")["tests"].as_array().unwrap().len(), 9);
    let caio = results("caio")["output"].as_str().unwrap().to_string();
    assert!(
        caio.contains("Your server could not be graded")
            && caio.contains("Your client could not be graded"),
        "{caio}"
    );
    let _ = std::fs::remove_dir_all(&out);
}
