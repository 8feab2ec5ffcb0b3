//! Reports: a text table per requirement, Markdown, JSON and JUnit XML.

use std::fmt::Write;

use serde::Serialize;

use crate::case::Level;
use crate::requirements::REQUIREMENTS;
use crate::runner::{CaseResult, Outcome};

pub mod gradescope;
mod junit;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table per requirement and the failures in detail, for people.
    Text,
    /// Everything, including transcripts of failures, for programs.
    Json,
    /// JUnit XML, for CI systems.
    Junit,
    /// A Markdown summary, for pull requests and issues.
    Markdown,
}

/// A finished run.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The server graded.
    pub server: String,
    /// Seconds the run took.
    pub seconds: f64,
    /// Every case's result, in case order.
    pub results: Vec<CaseResult>,
    /// What happened to the server itself (exits, stops), apart from the cases.
    pub findings: Vec<crate::watch::Finding>,
}

/// Counts over a set of results.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed.
    pub failed: usize,
    /// Cases not run.
    pub skipped: usize,
    /// Failed cases of level MUST.
    pub must_failed: usize,
    /// Failures listed in `--expect-fail`.
    pub expected: usize,
    /// Passes listed in `--expect-fail` (the list is stale).
    pub stale: usize,
}

impl Tally {
    fn of<'a>(results: impl Iterator<Item = &'a CaseResult>) -> Tally {
        let mut t = Tally::default();
        for r in results {
            match r.outcome {
                Outcome::Pass => t.passed += 1,
                Outcome::Fail => {
                    t.failed += 1;
                    if r.level == Level::Must {
                        t.must_failed += 1;
                    }
                }
                Outcome::Skip => t.skipped += 1,
                Outcome::ExpectedFail => t.expected += 1,
                Outcome::Stale => {
                    t.passed += 1;
                    t.stale += 1;
                }
            }
        }
        t
    }

    /// Whether the run fails: a MUST case failed unexpectedly, or the expected-failures list
    /// names a case that passes.
    pub fn run_failed(&self) -> bool {
        self.must_failed > 0 || self.stale > 0
    }
}

impl Report {
    /// Totals over the whole run.
    pub fn tally(&self) -> Tally {
        Tally::of(self.results.iter())
    }

    /// The requirements that have results, with their tallies, in report order.
    pub fn by_requirement(&self) -> Vec<(&'static str, &'static str, Tally)> {
        REQUIREMENTS
            .iter()
            .filter_map(|&(rf, text)| {
                let mut rs = self.results.iter().filter(|r| r.rf == rf).peekable();
                rs.peek()?;
                Some((rf, text, Tally::of(rs)))
            })
            .collect()
    }

    /// Renders the report in `format`.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Text => self.text(),
            Format::Json => serde_json::to_string_pretty(self).unwrap_or_default() + "\n",
            Format::Junit => junit::render(self),
            Format::Markdown => self.markdown(),
        }
    }

    fn closing_line(&self) -> String {
        let t = self.tally();
        let mut line = format!("{} passed, {} failed", t.passed, t.failed);
        if t.skipped > 0 {
            write!(line, ", {} skipped", t.skipped).unwrap();
        }
        if t.expected > 0 {
            write!(line, ", {} expected failures", t.expected).unwrap();
        }
        if t.stale > 0 {
            write!(
                line,
                ", {} stale (listed in --expect-fail but passed: remove them)",
                t.stale
            )
            .unwrap();
        }
        line
    }

    fn text(&self) -> String {
        let mut out = String::new();
        writeln!(
            out,
            "conformance report for {} ({:.1} s)\n",
            self.server, self.seconds
        )
        .unwrap();
        writeln!(
            out,
            "{:<6} {:>4} {:>4} {:>4}  requirement",
            "", "pass", "fail", "skip"
        )
        .unwrap();
        for (rf, text, t) in self.by_requirement() {
            let text: String = text.chars().take(70).collect();
            writeln!(
                out,
                "{rf:<6} {:>4} {:>4} {:>4}  {text}",
                t.passed, t.failed, t.skipped
            )
            .unwrap();
        }
        writeln!(out).unwrap();
        for f in &self.findings {
            writeln!(
                out,
                "SERVER {}
       (seen in {})
",
                f.text,
                f.cases.join(", ")
            )
            .unwrap();
        }
        for r in &self.results {
            let mark = match r.outcome {
                Outcome::Pass => "ok  ",
                Outcome::Fail => "FAIL",
                Outcome::Skip => "skip",
                Outcome::ExpectedFail => "xfail",
                Outcome::Stale => "STALE",
            };
            writeln!(
                out,
                "{mark} {:<9} {:<6} {} ({:.2} s)\n     {:<9} {:<6} {}",
                r.id, r.level, r.title, r.seconds, "", "", r.clause
            )
            .unwrap();
        }
        for r in self.results.iter().filter(|r| r.outcome == Outcome::Fail) {
            out.push('\n');
            out.push_str(&failure_text(r));
        }
        for r in self.results.iter().filter(|r| r.outcome == Outcome::Stale) {
            writeln!(
                out,
                "\nSTALE {}: listed in --expect-fail, but it passes now; remove it from the list",
                r.id
            )
            .unwrap();
        }
        writeln!(out, "\n{}", self.closing_line()).unwrap();
        out
    }

    fn markdown(&self) -> String {
        let mut out = String::new();
        writeln!(out, "# Conformance report for `{}`\n", self.server).unwrap();
        writeln!(
            out,
            "| requirement | pass | fail | skip | text |\n|---|---|---|---|---|"
        )
        .unwrap();
        for (rf, text, t) in self.by_requirement() {
            writeln!(
                out,
                "| {rf} | {} | {} | {} | {text} |",
                t.passed, t.failed, t.skipped
            )
            .unwrap();
        }
        if !self.findings.is_empty() {
            writeln!(out, "\n## What happened to the server\n").unwrap();
            for f in &self.findings {
                writeln!(
                    out,
                    "- **{}**: {} (seen in {})",
                    f.broke.name(),
                    f.text,
                    f.cases.join(", ")
                )
                .unwrap();
            }
        }
        writeln!(
            out,
            "\n| case | level | result | checks | clause |\n|---|---|---|---|---|"
        )
        .unwrap();
        for r in &self.results {
            let mark = match r.outcome {
                Outcome::Pass => "pass",
                Outcome::Fail => "**FAIL**",
                Outcome::Skip => "skip",
                Outcome::ExpectedFail => "xfail",
                Outcome::Stale => "**STALE**",
            };
            writeln!(
                out,
                "| {} | {} | {mark} | {} | {} |",
                r.id,
                r.level,
                r.title.replace('|', "\\|"),
                r.clause.replace('|', "\\|")
            )
            .unwrap();
        }
        for r in self.results.iter().filter(|r| r.outcome == Outcome::Fail) {
            writeln!(out, "\n## {} failed\n\n```\n{}```", r.id, failure_text(r)).unwrap();
        }
        writeln!(out, "\n{}", self.closing_line()).unwrap();
        out
    }
}

/// A failure in full: the case, its requirement, expected against actual, and each client's
/// timestamped transcript.
pub fn failure_text(r: &CaseResult) -> String {
    let mut out = String::new();
    writeln!(out, "FAILED {} [{}] {}", r.id, r.level, r.title).unwrap();
    writeln!(out, "  requirement {}: {}", r.rf, r.requirement).unwrap();
    writeln!(out, "  clause:   {}", r.clause).unwrap();
    if let Some(f) = &r.failure {
        if let Some(c) = &f.client {
            writeln!(out, "  client:   {c}").unwrap();
        }
        writeln!(out, "  expected: {}", f.expected).unwrap();
        writeln!(out, "  actual:   {}", f.actual).unwrap();
    }
    let mut clients: Vec<&str> = Vec::new();
    for e in &r.transcript {
        if !clients.contains(&e.client.as_str()) {
            clients.push(&e.client);
        }
    }
    for c in clients {
        writeln!(out, "  transcript of {c}:").unwrap();
        let entries: Vec<_> = r.transcript.iter().filter(|e| e.client == c).collect();
        // Long transcripts (load cases) keep their head and tail.
        let shown: Vec<_> = if entries.len() > 40 {
            entries[..15]
                .iter()
                .chain(entries[entries.len() - 25..].iter())
                .collect()
        } else {
            entries.iter().collect()
        };
        for (i, e) in shown.iter().enumerate() {
            if entries.len() > 40 && i == 15 {
                writeln!(out, "    ... {} lines omitted ...", entries.len() - 40).unwrap();
            }
            let text: String = e.text.chars().take(160).collect();
            let more = if e.text.chars().count() > 160 {
                "..."
            } else {
                ""
            };
            writeln!(out, "    {:>8.3}s {} {text}{more}", e.at, e.dir).unwrap();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::Failure;

    fn result(id: &str, rf: &str, outcome: Outcome, level: Level) -> CaseResult {
        CaseResult {
            id: id.into(),
            rf: rf.into(),
            requirement: crate::requirements::text(rf),
            level,
            title: "checks <things> & \"stuff\"".into(),
            clause: "PROTOCOL.md §Framing: a <clause> & more".into(),
            outcome,
            seconds: 0.5,
            failure: (outcome != Outcome::Pass)
                .then(|| Failure::at("alice", "MSG a hi", "end of stream")),
            transcript: vec![],
            varied: false,
        }
    }

    fn sample() -> Report {
        Report {
            server: "127.0.0.1:7777".into(),
            seconds: 1.0,
            results: vec![
                result("RF1-01", "RF1", Outcome::Pass, Level::Must),
                result("RF1-02", "RF1", Outcome::Fail, Level::Should),
                result("RF5-01", "RF5", Outcome::Fail, Level::Must),
                result("RF11-01", "RF11", Outcome::Skip, Level::Must),
            ],
            findings: Vec::new(),
        }
    }

    #[test]
    fn tally_counts_must_failures_separately() {
        let t = sample().tally();
        assert_eq!((t.passed, t.failed, t.skipped, t.must_failed), (1, 2, 1, 1));
    }

    #[test]
    fn text_ends_with_the_closing_line() {
        let text = sample().render(Format::Text);
        assert!(
            text.trim_end().ends_with("1 passed, 2 failed, 1 skipped"),
            "{text}"
        );
        assert!(text.contains("RF5") && text.contains("expected: MSG a hi"));
    }

    #[test]
    fn junit_is_escaped_and_counts_match() {
        let xml = sample().render(Format::Junit);
        assert!(xml.contains("tests=\"4\" failures=\"2\" skipped=\"1\""));
        assert!(xml.contains("&lt;things&gt; &amp; &quot;stuff&quot;"));
        assert!(!xml.contains("<things>"));
    }

    #[test]
    fn json_round_trips_through_a_parser() {
        let json = sample().render(Format::Json);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["results"][2]["outcome"], "fail");
        assert_eq!(v["results"][2]["level"], "MUST");
    }

    #[test]
    fn markdown_has_a_row_per_case() {
        let md = sample().render(Format::Markdown);
        assert_eq!(md.matches("| RF1-0").count(), 2);
        assert!(md.contains("**FAIL**"));
    }

    #[test]
    fn every_format_names_each_case_clause() {
        let r = sample();
        let text = r.render(Format::Text);
        assert_eq!(
            text.matches("PROTOCOL.md §Framing: a <clause> & more")
                .count(),
            4 + 2,
            "every row and every failure"
        );
        let xml = r.render(Format::Junit);
        assert_eq!(
            xml.matches("<property name=\"clause\" value=\"PROTOCOL.md §Framing: a &lt;clause&gt; &amp; more\"/>").count(),
            4
        );
        let v: serde_json::Value = serde_json::from_str(&r.render(Format::Json)).unwrap();
        assert_eq!(
            v["results"][0]["clause"],
            "PROTOCOL.md §Framing: a <clause> & more"
        );
        assert_eq!(
            r.render(Format::Markdown)
                .matches("a <clause> & more |")
                .count(),
            4
        );
    }
}
