//! The JUnit XML rendering: a test suite per requirement, a test case per case, with its
//! clause as a property, failures with their transcripts, and skips (expected failures too).

use std::fmt::Write;

use super::{failure_text_in, Report};
use crate::runner::Outcome;

pub(super) fn render(report: &Report) -> String {
    let t = report.tally();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    writeln!(
        out,
        "<testsuites name=\"conformance\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
        report.results.len(), t.failed + t.stale, t.skipped + t.expected, report.seconds
    )
    .unwrap();
    for (rf, _, rt) in report.by_requirement() {
        writeln!(
            out,
            "  <testsuite name=\"{rf}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">",
            rt.passed + rt.failed + rt.skipped + rt.expected,
            rt.failed + rt.stale,
            rt.skipped + rt.expected
        )
        .unwrap();
        for r in report.results.iter().filter(|r| r.rf == rf) {
            write!(
                out,
                "    <testcase classname=\"{rf}\" name=\"{} [{}] {}\" time=\"{:.3}\"",
                xml(&r.id),
                super::level(r.level).get(report.lang),
                xml(&r.title.render(report.lang)),
                r.seconds
            )
            .unwrap();
            write!(
                out,
                ">\n      <properties><property name=\"clause\" value=\"{}\"/></properties>",
                xml(&r.clause)
            )
            .unwrap();
            match (&r.outcome, &r.failure) {
                (Outcome::Fail, Some(f)) => writeln!(
                    out,
                    "\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                    xml(&format!(
                        "{} {}",
                        f.expected.render(report.lang),
                        f.actual.render(report.lang)
                    )),
                    xml(&failure_text_in(r, report.lang))
                )
                .unwrap(),
                (Outcome::ExpectedFail, _) => writeln!(
                    out,
                    "\n      <skipped message=\"expected failure (--expect-fail)\"/>\n    </testcase>"
                )
                .unwrap(),
                (Outcome::Stale, _) => writeln!(
                    out,
                    "\n      <failure message=\"listed in --expect-fail but passed: remove it from the list\"/>\n    </testcase>"
                )
                .unwrap(),
                (Outcome::Skip, f) => writeln!(
                    out,
                    "\n      <skipped message=\"{}\"/>\n    </testcase>",
                    xml(&f.as_ref().map(|f| f.actual.render(report.lang)).unwrap_or_default())
                )
                .unwrap(),
                _ => out.push_str("\n    </testcase>\n"),
            }
        }
        out.push_str("  </testsuite>\n");
    }
    if !report.findings.is_empty() {
        // What happened to the server is not a case, but CI systems show a suite's output.
        out.push_str("  <testsuite name=\"server\" tests=\"0\" failures=\"0\">\n    <system-err>");
        for f in &report.findings {
            writeln!(
                out,
                "{} {}",
                xml(&f.text.render(report.lang)),
                xml(
                    &crate::t!(crate::i18n::catalog::SEEN_IN_CASES, f.cases.join(", "))
                        .render(report.lang)
                )
            )
            .unwrap();
        }
        out.push_str("</system-err>\n  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {
                write!(out, "\\u{{{:x}}}", c as u32).unwrap()
            }
            c => out.push(c),
        }
    }
    out
}
