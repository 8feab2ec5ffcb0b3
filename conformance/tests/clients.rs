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
    let err = conformance::gui::grade("sleep 30", None, &base, Lang::En, &|_| {})
        .expect_err("not gradable");
    assert!(err.to_string().contains("could not attach"), "{err}");
}
