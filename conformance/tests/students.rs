//! Servers written the way students write the assignment, bugs included, in Python, Java, C
//! and Node (`tests/students/`, where the README says what each one plants). Each is graded as
//! a teacher would, through the grader's one entry with a fresh server per case, and must fail
//! exactly the requirements its defect breaks, with the reason named, and pass the rest.
//!
//! A server whose language is missing on this machine is skipped with a message saying so.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use conformance::grade::{grade, GradeError, Plan, Server};
use conformance::i18n::Lang;
use conformance::plain::Protocol;
use conformance::report::Report;
use conformance::watch::{Broke, Trigger};
use conformance::{Outcome, Target};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/students")
}

/// Whether `program` runs here; says so when it does not.
fn have(program: &str, version_flag: &str) -> bool {
    let ok = Command::new(program)
        .arg(version_flag)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!(
            "SKIPPED: {program} is not installed here, so its student servers are not graded"
        );
    }
    ok
}

/// How a student server runs: its command, and for C its build step and folder.
struct Submission {
    command: String,
    build: Option<String>,
    dir: Option<PathBuf>,
}

/// How to run a student server, as a teacher would configure it; `None` when its language is
/// missing here.
fn submission(file: &str) -> Option<Submission> {
    let path = dir().join(file);
    let shown = path.display();
    let plain = |command: String| Submission {
        command,
        build: None,
        dir: None,
    };
    match path.extension().and_then(|e| e.to_str()) {
        Some("py") => {
            have("python3", "--version").then(|| plain(format!("python3 -u {shown} {{port}}")))
        }
        Some("js") => have("node", "--version").then(|| plain(format!("node {shown} {{port}}"))),
        Some("java") => have("java", "-version").then(|| plain(format!("java {shown} {{port}}"))),
        Some("c") => {
            if !have("gcc", "--version") {
                return None;
            }
            // Built the way a teacher's build step builds it, in a folder of its own.
            let out = std::env::temp_dir().join(format!(
                "batepapo-student-{}-{}",
                file.trim_end_matches(".c"),
                std::process::id()
            ));
            std::fs::create_dir_all(&out).unwrap();
            Some(Submission {
                command: "./server {port}".to_string(),
                build: Some(format!("gcc -O1 -pthread -o server {shown}")),
                dir: Some(out),
            })
        }
        _ => panic!("no way to run {file}"),
    }
}

fn plan() -> Plan {
    plan_with(Default::default())
}

fn plan_with(limits: conformance::limits::Limits) -> Plan {
    Plan {
        protocol: Protocol::Plain,
        cases: Vec::new(),
        only: Vec::new(),
        target: Target {
            max_connections: 64,
            ..Target::new("127.0.0.1:0".parse().unwrap())
        },
        jobs: 4,
        limits,
        lang: Lang::En,
    }
}

fn graded(file: &str) -> Option<Result<Report, GradeError>> {
    Some(graded_with(submission(file)?))
}

/// Graded as handed in: no `{port}`, the port written in the code.
fn graded_as_handed_in(file: &str) -> Option<Result<Report, GradeError>> {
    let mut s = submission(file)?;
    s.command = s.command.replace(" {port}", "");
    Some(graded_with(s))
}

fn graded_with(s: Submission) -> Result<Report, GradeError> {
    graded_under(s, plan())
}

fn graded_under(s: Submission, plan: Plan) -> Result<Report, GradeError> {
    let server = Server::Spawn {
        command: s.command,
        dir: s.dir,
        startup: Duration::from_secs(30),
        build: s.build,
    };
    grade(&server, &plan, &|_| {})
}

/// The requirements with a failed case.
fn failing(report: &Report) -> BTreeSet<String> {
    report
        .results
        .iter()
        .filter(|r| r.outcome == Outcome::Fail)
        .map(|r| r.rf.clone())
        .collect()
}

fn shown(report: &Report) -> String {
    report.render(conformance::Format::Text)
}

/// Grades `file` and checks the requirements it fails; returns the report.
fn expect(file: &str, failing_rfs: &[&str]) -> Option<Report> {
    let report = match graded(file)? {
        Ok(r) => r,
        Err(e) => panic!("{file} could not be graded: {e}"),
    };
    let want: BTreeSet<String> = failing_rfs.iter().map(|s| s.to_string()).collect();
    assert_eq!(failing(&report), want, "{file}:\n{}", shown(&report));
    speaks_to_students(file, &report);
    Some(report)
}

/// Every text a student reads has its Portuguese, and says "a message from alice" rather than
/// showing the grader's unique names and tokens (those stay in the transcript).
fn speaks_to_students(file: &str, report: &Report) {
    let mut untranslated: Vec<String> = Vec::new();
    for r in &report.results {
        untranslated.extend(r.title.untranslated());
        if let Some(f) = &r.failure {
            untranslated.extend(f.expected.untranslated());
            untranslated.extend(f.actual.untranslated());
            for lang in [Lang::En, Lang::PtBr] {
                let expected = f.expected.render(lang);
                let internal = expected
                    .split(|c: char| !c.is_alphanumeric() && c != '_')
                    .find(|w| (w.starts_with("tok") && w.len() > 8) || w.contains('_'));
                assert!(
                    internal.is_none(),
                    "{file} {}: {internal:?} is the grader's own word: {expected}",
                    r.id
                );
            }
        }
    }
    for f in &report.findings {
        untranslated.extend(f.text.untranslated());
    }
    if let Some(s) = &report.setup {
        untranslated.extend(s.untranslated());
    }
    assert!(
        untranslated.is_empty(),
        "{file}: texts without a translation: {untranslated:?}"
    );
    let mut in_portuguese = report.clone();
    in_portuguese.lang = Lang::PtBr;
    // The transcripts' notes stay in English (the report says so above them).
    let mut pt: String = in_portuguese
        .render(conformance::Format::Text)
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            t.split_once("s ")
                .is_none_or(|(at, _)| at.parse::<f64>().is_err())
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let gs = conformance::report::gradescope::results(&in_portuguese, &Default::default());
    pt.push_str(&gs.output);
    for english in [
        "expected:",
        "actual:",
        " passed,",
        "requirement RF",
        "the server ",
    ] {
        assert!(
            !pt.contains(english),
            "{file}: {english:?} in Portuguese:\n{pt}"
        );
    }
}

/// Checks that the report names a break set off by a disconnect.
fn breaks_when_a_user_leaves(file: &str, report: &Report, kinds: &[&str]) {
    let f = report
        .findings
        .iter()
        .find(|f| f.trigger == Trigger::Disconnect)
        .unwrap_or_else(|| {
            panic!(
                "{file}: no finding of a break on disconnect:\n{}",
                shown(report)
            )
        });
    assert!(
        kinds.contains(&f.broke.name()),
        "{file}:\n{}",
        shown(report)
    );
    for r in report
        .results
        .iter()
        .filter(|r| r.rf == "RF8" || r.rf == "RF10")
    {
        let why = r
            .failure
            .as_ref()
            .map(|f| f.actual.to_string())
            .unwrap_or_default();
        assert!(
            why.contains("the server "),
            "{file} {}: the reason is not named: {why}",
            r.id
        );
    }
}

#[test]
fn python_whose_accept_loop_dies_at_a_disconnect_fails_rf8_and_rf10_only() {
    let file = "py_accept_dies.py";
    if let Some(r) = expect(file, &["RF8", "RF10"]) {
        // Its accept loop dies; the process ends once no client thread is left.
        breaks_when_a_user_leaves(file, &r, &["STOPPED ACCEPTING", "CRASHED"]);
    }
}

#[test]
fn node_that_dies_of_an_unhandled_socket_error_fails_rf8_and_rf10_only() {
    let file = "node_epipe.js";
    if let Some(r) = expect(file, &["RF8", "RF10"]) {
        breaks_when_a_user_leaves(file, &r, &["CRASHED"]);
        let f = &r.findings[0];
        assert!(
            f.text.to_string().contains("exited (with status 1)"),
            "{}",
            f.text
        );
        assert!(matches!(&f.broke, Broke::Exited { stderr, .. } if !stderr.is_empty()));
    }
}

#[test]
fn java_whose_leave_recurses_until_its_stack_overflows_fails_rf8_and_rf10_only() {
    let file = "JavaRecursiveLeave.java";
    if let Some(r) = expect(file, &["RF8", "RF10"]) {
        assert!(!r.findings.is_empty(), "{}", shown(&r));
    }
}

#[test]
fn c_that_takes_its_lock_again_on_a_failed_send_freezes_and_fails_rf4_rf8_rf10() {
    let file = "c_relock.c";
    if let Some(r) = expect(file, &["RF4", "RF8", "RF10"]) {
        breaks_when_a_user_leaves(file, &r, &["FROZE"]);
    }
}

#[test]
fn the_assignments_own_server_fails_what_its_design_breaks() {
    let file = "py_assignment.py";
    if let Some(r) = expect(file, &["RF1", "RF4", "RF7", "RF8", "RF10"]) {
        breaks_when_a_user_leaves(file, &r, &["FROZE"]);
    }
}

#[test]
fn a_duplicate_admitted_with_a_portless_notice_fails_rf2_and_rf3() {
    expect("py_dup_noport.py", &["RF2", "RF3"]);
}

#[test]
fn a_blocking_send_under_one_lock_fails_rf4_once_the_reader_is_really_full() {
    if let Some(r) = expect("py_blocking_send.py", &["RF4"]) {
        let stuck = r.results.iter().find(|c| c.id == "P-RF4-02").unwrap();
        let why = stuck.failure.as_ref().unwrap();
        assert!(
            why.expected.to_string().contains("bytes for stuck"),
            "{why:?}"
        );
    }
}

#[test]
fn a_server_that_relays_every_line_and_names_nobody_is_not_gradable() {
    match graded("node_relay_all.js") {
        None => {}
        Some(Ok(r)) => panic!("graded a server that names nobody:\n{}", shown(&r)),
        Some(Err(e)) => {
            assert!(matches!(e, GradeError::NotGradable(_)), "{e}");
            assert!(e.to_string().contains("announced no newcomer"), "{e}");
        }
    }
}

#[test]
fn a_confirmation_copy_of_a_private_message_to_its_sender_is_no_leak() {
    expect("py_confirm_copy.py", &[]);
}

#[test]
fn garbage_after_names_fails_the_notices_that_name_users() {
    expect("c_garbage_names.c", &["RF3", "RF8"]);
}

#[test]
fn a_cap_of_four_users_fails_concurrency_and_staying_open() {
    if let Some(r) = expect("py_cap4.py", &["RF4", "RF10"]) {
        let c = r.results.iter().find(|c| c.id == "P-RF4-01").unwrap();
        let why = &c.failure.as_ref().unwrap().actual;
        assert!(why.to_string().contains("had admitted 4 users"), "{why}");
    }
}

#[test]
fn a_correct_student_server_passes_everything() {
    if let Some(r) = expect("py_good.py", &[]) {
        assert!(r.findings.is_empty(), "{}", shown(&r));
    }
}

#[test]
fn a_server_with_its_port_written_in_its_code_is_graded_as_handed_in() {
    let Some(graded) = graded_as_handed_in("py_fixed_port.py") else {
        return;
    };
    let r = graded.unwrap_or_else(|e| panic!("py_fixed_port.py could not be graded: {e}"));
    assert_eq!(failing(&r), BTreeSet::new(), "{}", shown(&r));
    let described = r.described().to_string();
    assert!(described.contains("port 50001"), "{described}");
}

#[test]
fn a_server_bound_to_its_authors_lan_address_is_graded_in_a_network_of_its_own() {
    let Some(graded) = graded_as_handed_in("py_lan_address.py") else {
        return;
    };
    if conformance::spawn::isolation_available() {
        let r = graded.unwrap_or_else(|e| panic!("py_lan_address.py could not be graded: {e}"));
        assert_eq!(failing(&r), BTreeSet::new(), "{}", shown(&r));
        let described = r.described().to_string();
        assert!(described.contains("192.168.1.12:65432"), "{described}");
    } else {
        // Without root: it cannot bind, and the report says what to change.
        let e = graded.expect_err("it cannot start here");
        assert!(
            e.to_string()
                .contains("an address this machine does not have"),
            "{e}"
        );
    }
}

#[test]
fn a_c_submission_that_does_not_compile_gets_the_compilers_message_at_once() {
    if !have("gcc", "--version") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("batepapo-broken-c-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("server.c"), "int main(void) { return 0 }\n").unwrap();
    let started = std::time::Instant::now();
    let e = graded_with(Submission {
        command: "./server {port}".into(),
        build: Some("gcc -o server server.c".into()),
        dir: Some(dir.clone()),
    })
    .expect_err("it does not build");
    assert!(matches!(e, GradeError::DidNotBuild(_)), "{e}");
    let text = e.to_string();
    assert!(text.starts_with("your server did not compile"), "{text}");
    assert!(
        text.contains("server.c:1"),
        "the compiler's message: {text}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "no wait: {:?}",
        started.elapsed()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Whether this machine lets the grader make control groups (root, cgroups mounted).
fn jails_work() -> bool {
    let jail = conformance::limits::Jail::new(Default::default());
    let ok = jail.limits_processes();
    if !ok {
        eprintln!("SKIPPED: no control group can be made here, so processes are not limited");
    }
    ok
}

#[test]
fn a_fork_bomb_ends_as_a_finding_about_its_submission() {
    if !jails_work() {
        return;
    }
    let Some(s) = submission("py_fork_bomb.py") else {
        return;
    };
    let limits = conformance::limits::Limits {
        processes: 256,
        ..Default::default()
    };
    let e = graded_under(s, plan_with(limits)).expect_err("it cannot start under the limit");
    let text = e.to_string();
    assert!(matches!(e, GradeError::DidNotStart(_)), "{text}");
    assert!(text.contains("more than 256 processes"), "{text}");
}

#[test]
fn a_twenty_gigabyte_allocation_ends_as_a_finding_about_its_submission() {
    let Some(s) = submission("py_memory_hog.py") else {
        return;
    };
    let e = graded_with(s).expect_err("it cannot start under the limit");
    let text = e.to_string();
    assert!(matches!(e, GradeError::DidNotStart(_)), "{text}");
    // A memory group kills it; an rlimit on its data makes the allocation fail.
    assert!(
        text.contains("used up its 1024 MB of memory") || text.contains("MemoryError"),
        "{text}"
    );
}

#[test]
fn a_busy_loop_is_stopped_at_its_cpu_time_and_named() {
    let Some(s) = submission("py_busy_loop.py") else {
        return;
    };
    let limits = conformance::limits::Limits {
        cpu_seconds: 2,
        ..Default::default()
    };
    let said = "used up its 2 s of CPU time";
    // Killed while being checked, or during its cases: either way the limit is named.
    match graded_under(s, plan_with(limits)) {
        Ok(r) => assert!(
            r.findings.iter().any(|f| f.text.to_string().contains(said)),
            "{}",
            shown(&r)
        ),
        Err(e) => assert!(e.to_string().contains(said), "{e}"),
    }
}
