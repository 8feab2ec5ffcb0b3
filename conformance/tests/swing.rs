//! A Java Swing client, graded at the X11 level (keys, clicks and OCR; its sockets through the
//! grader's SOCKS proxy): the assignment's client passes every case, and one whose connection
//! error shows in a label fails RF11 alone, the same five times over. Started by a Python
//! launcher (the grader's hook attaches, and no tkinter window ever comes), the first is
//! graded at the X11 level all the same; and a tkinter client run by a Python without `site`
//! (no hook, no SOCKS) is served where strace sees it connect.
//!
//! They need Xvfb, xdotool, tesseract and a Java with AWT. CI installs them (.ci/run); elsewhere
//! a machine without them skips with a message, and under CI that is a failure. One test runs
//! both clients in turn: the OCR is slow enough without two of them at once.

use std::collections::BTreeSet;
use std::path::PathBuf;

use conformance::i18n::Lang;
use conformance::{Outcome, Target};

fn have(program: &str, flag: &str) -> bool {
    std::process::Command::new(program)
        .arg(flag)
        .output()
        .is_ok()
}

#[test]
fn swing_clients_are_graded_at_the_x11_level_with_the_same_verdicts_every_time() {
    let tools = [
        ("Xvfb", "-help"),
        ("xdotool", "--version"),
        ("tesseract", "--version"),
        ("java", "-version"),
        ("strace", "-V"),
    ];
    let missing: Vec<&str> = tools
        .iter()
        .filter(|(p, f)| !have(p, f))
        .map(|(p, _)| *p)
        .collect();
    if !missing.is_empty() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have {missing:?}: .ci/run installs them"
        );
        eprintln!("no {missing:?} here: the Swing client test is skipped");
        return;
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients");
    let base = Target::new("127.0.0.1:0".parse().unwrap());
    for (command, want, rounds) in [
        ("java ClienteSwing.java", vec![], 5),
        ("java ClienteSwingRotulo.java", vec!["C-RF11-01"], 5),
        ("python3 lancador.py", vec![], 1),
        // Python without site: the hook cannot attach, the socket cannot be redirected, and
        // strace finds where it connects.
        ("python3 -S tk_good.py", vec![], 1),
    ] {
        let want: BTreeSet<String> = want.iter().map(|s: &&str| s.to_string()).collect();
        for round in 1..=rounds {
            let r = conformance::gui::grade(command, Some(dir.clone()), &base, Lang::En, &|_| {})
                .unwrap_or_else(|e| panic!("{command} could not be graded: {e}"));
            let failing: BTreeSet<String> = r
                .results
                .iter()
                .filter(|c| c.outcome == Outcome::Fail)
                .map(|c| c.id.clone())
                .collect();
            assert_eq!(
                failing,
                want,
                "{command}, round {round} of {rounds}:\n{}",
                r.render(conformance::Format::Text)
            );
            assert!(
                r.described().to_string().contains("X11 level"),
                "{}",
                r.described()
            );
        }
    }
}
