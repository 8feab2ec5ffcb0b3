//! Reports: a text table per requirement, Markdown, JSON and JUnit XML, in the report's
//! language ([`crate::i18n`]).

use std::fmt::Write;

use serde::Serialize;

use crate::case::Level;
use crate::i18n::{catalog, Lang, Msg};
use crate::requirements::{self, REQUIREMENTS};
use crate::runner::{CaseResult, Outcome};
use crate::t;

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
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The server graded: its command, address or label.
    pub server: String,
    /// How it was graded (its framing, found or given; its port, as handed in).
    pub setup: Option<crate::i18n::Text>,
    /// Seconds the run took.
    pub seconds: f64,
    /// Every case's result, in case order.
    pub results: Vec<CaseResult>,
    /// What happened to the server itself (exits, stops), apart from the cases.
    pub findings: Vec<crate::watch::Finding>,
    /// The language it is written in.
    #[serde(skip)]
    pub lang: Lang,
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

impl std::ops::Add for Tally {
    type Output = Tally;

    fn add(self, o: Tally) -> Tally {
        Tally {
            passed: self.passed + o.passed,
            failed: self.failed + o.failed,
            skipped: self.skipped + o.skipped,
            must_failed: self.must_failed + o.must_failed,
            expected: self.expected + o.expected,
            stale: self.stale + o.stale,
        }
    }
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

    /// Renders the report in `format`, in its language.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Text => self.text(),
            Format::Json => self.json(),
            Format::Junit => junit::render(self),
            Format::Markdown => self.markdown(),
        }
    }

    /// The cases that failed, in case order.
    pub fn failed(&self) -> Vec<&CaseResult> {
        self.results
            .iter()
            .filter(|r| r.outcome == Outcome::Fail)
            .collect()
    }

    /// The server and how it was graded.
    pub fn described(&self) -> crate::i18n::Text {
        match &self.setup {
            Some(s) => t!(catalog::SERVER_AND_SETUP, self.server.as_str(), s.clone()),
            None => crate::i18n::Text::data(self.server.as_str()),
        }
    }

    /// A catalog message in the report's language.
    fn say(&self, m: Msg) -> &'static str {
        m.get(self.lang)
    }

    /// JSON keeps its field names in English; the texts in them are in the report's language.
    fn json(&self) -> String {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if self.lang != Lang::En {
            for (r, out) in self.results.iter().zip(
                v["results"]
                    .as_array_mut()
                    .map(|a| a.iter_mut())
                    .into_iter()
                    .flatten(),
            ) {
                out["title"] = r.title.render(self.lang).into();
                out["requirement"] = requirements::text_in(&r.rf, self.lang).into();
                if let Some(f) = &r.failure {
                    out["failure"]["expected"] = f.expected.render(self.lang).into();
                    out["failure"]["actual"] = f.actual.render(self.lang).into();
                }
            }
            for (f, out) in self.findings.iter().zip(
                v["findings"]
                    .as_array_mut()
                    .map(|a| a.iter_mut())
                    .into_iter()
                    .flatten(),
            ) {
                out["text"] = f.text.render(self.lang).into();
            }
        }
        if let Some(s) = &self.setup {
            v["setup"] = s.render(self.lang).into();
        }
        v["lang"] = self.lang.to_string().into();
        serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
    }

    fn closing_line(&self) -> String {
        let t = self.tally();
        let mut line = t!(catalog::PASSED_FAILED, t.passed, t.failed).render(self.lang);
        if t.skipped > 0 {
            line += &t!(catalog::AND_SKIPPED, t.skipped).render(self.lang);
        }
        if t.expected > 0 {
            line += &t!(catalog::AND_EXPECTED, t.expected).render(self.lang);
        }
        if t.stale > 0 {
            line += &t!(catalog::AND_STALE, t.stale).render(self.lang);
        }
        line
    }

    fn text(&self) -> String {
        let lang = self.lang;
        let mut out = String::new();
        let seconds = format!("{:.1}", self.seconds);
        let title = t!(catalog::REPORT_TITLE, self.described(), seconds);
        writeln!(out, "{}\n", title.render(lang)).unwrap();
        let [pass, fail, skip] =
            [catalog::COL_PASS, catalog::COL_FAIL, catalog::COL_SKIP].map(|m| self.say(m));
        let requirement = self.say(catalog::COL_REQUIREMENT);
        writeln!(
            out,
            "{:<6} {pass:>6} {fail:>6} {skip:>6}  {requirement}",
            ""
        )
        .unwrap();
        for (rf, _, t) in self.by_requirement() {
            let text = requirements::text_in(rf, lang);
            writeln!(
                out,
                "{rf:<6} {:>6} {:>6} {:>6}  {text}",
                t.passed, t.failed, t.skipped
            )
            .unwrap();
        }
        writeln!(out).unwrap();
        for f in &self.findings {
            let seen = t!(catalog::SEEN_IN_CASES, f.cases.join(", "));
            writeln!(
                out,
                "{} {}\n       {}\n",
                self.say(catalog::SERVER_FINDING),
                f.text.render(lang),
                seen.render(lang)
            )
            .unwrap();
        }
        let width = self
            .results
            .iter()
            .map(|r| self.say(mark(r.outcome)).chars().count())
            .max()
            .unwrap_or(4);
        for r in &self.results {
            let mark = self.say(mark(r.outcome));
            writeln!(
                out,
                "{mark:<width$} {:<9} {:<7} {} ({:.2} s)",
                r.id,
                self.say(level(r.level)),
                r.title.render(lang),
                r.seconds
            )
            .unwrap();
            if !r.clause.is_empty() {
                writeln!(out, "{:<width$} {:<9} {:<7} {}", "", "", "", r.clause).unwrap();
            }
        }
        let failed = self.failed();
        if let Some(key) = transcript_key(&failed, lang) {
            writeln!(out, "\n{key}").unwrap();
        }
        for r in failed {
            out.push('\n');
            out.push_str(&failure_text_in(r, lang));
        }
        for r in self.results.iter().filter(|r| r.outcome == Outcome::Stale) {
            let line = t!(catalog::STALE_LINE, r.id.as_str());
            writeln!(out, "\n{}", line.render(lang)).unwrap();
        }
        writeln!(out, "\n{}", self.closing_line()).unwrap();
        out
    }

    fn markdown(&self) -> String {
        let lang = self.lang;
        let mut out = String::new();
        let server = match &self.setup {
            Some(s) => format!("`{}` ({})", self.server, s.render(lang)),
            None => format!("`{}`", self.server),
        };
        let title = t!(catalog::REPORT_TITLE_MD, server);
        writeln!(out, "# {}\n", title.render(lang)).unwrap();
        let cols = [
            catalog::COL_REQUIREMENT,
            catalog::COL_PASS,
            catalog::COL_FAIL,
            catalog::COL_SKIP,
            catalog::COL_TEXT,
        ]
        .map(|m| self.say(m));
        writeln!(out, "| {} |\n|---|---|---|---|---|", cols.join(" | ")).unwrap();
        for (rf, _, t) in self.by_requirement() {
            writeln!(
                out,
                "| {rf} | {} | {} | {} | {} |",
                t.passed,
                t.failed,
                t.skipped,
                requirements::text_in(rf, lang)
            )
            .unwrap();
        }
        if !self.findings.is_empty() {
            writeln!(out, "\n## {}\n", self.say(catalog::WHAT_HAPPENED)).unwrap();
            for f in &self.findings {
                writeln!(
                    out,
                    "- **{}**: {} {}",
                    self.say(f.broke.label()),
                    f.text.render(lang),
                    t!(catalog::SEEN_IN_CASES, f.cases.join(", ")).render(lang)
                )
                .unwrap();
            }
        }
        let with_clauses = self.results.iter().any(|r| !r.clause.is_empty());
        let mut cols = vec![
            catalog::COL_CASE,
            catalog::COL_LEVEL,
            catalog::COL_RESULT,
            catalog::COL_CHECKS,
        ];
        if with_clauses {
            cols.push(catalog::COL_CLAUSE);
        }
        writeln!(
            out,
            "\n| {} |\n|{}",
            cols.iter()
                .map(|m| self.say(*m))
                .collect::<Vec<_>>()
                .join(" | "),
            "---|".repeat(cols.len())
        )
        .unwrap();
        for r in &self.results {
            let word = self.say(mark(r.outcome));
            let mark = match r.outcome {
                Outcome::Fail | Outcome::Stale => format!("**{word}**"),
                _ => word.to_string(),
            };
            write!(
                out,
                "| {} | {} | {mark} | {} |",
                r.id,
                self.say(level(r.level)),
                r.title.render(lang).replace('|', "\\|"),
            )
            .unwrap();
            if with_clauses {
                write!(out, " {} |", r.clause.replace('|', "\\|")).unwrap();
            }
            out.push('\n');
        }
        let failed = self.failed();
        if let Some(key) = transcript_key(&failed, lang) {
            writeln!(out, "\n{key}").unwrap();
        }
        for r in failed {
            let head = t!(catalog::CASE_FAILED, r.id.as_str()).render(lang);
            let body = failure_text_in(r, lang);
            writeln!(out, "\n## {head}\n\n```\n{body}```").unwrap();
        }
        writeln!(out, "\n{}", self.closing_line()).unwrap();
        out
    }
}

/// The word for an outcome.
fn mark(o: Outcome) -> Msg {
    match o {
        Outcome::Pass => catalog::MARK_OK,
        Outcome::Fail => catalog::MARK_FAIL,
        Outcome::Skip => catalog::MARK_SKIP,
        Outcome::ExpectedFail => catalog::MARK_XFAIL,
        Outcome::Stale => catalog::MARK_STALE,
    }
}

/// The word for a level.
pub fn level(l: Level) -> Msg {
    match l {
        Level::Must => catalog::LEVEL_MUST,
        Level::Should => catalog::LEVEL_SHOULD,
    }
}

/// What the transcripts below show and what the grader's unique names and tokens are, said once
/// above them; `None` when no failure has a transcript.
pub fn transcript_key(failed: &[&CaseResult], lang: Lang) -> Option<String> {
    // A user's first line is its name: the client's label, then the run's code.
    let example = failed
        .iter()
        .flat_map(|r| r.transcript.iter())
        .find(|e| {
            e.dir == ">>"
                && e.text
                    .strip_prefix(e.client.as_str())
                    .is_some_and(|rest| rest.starts_with('_') && !rest.contains(' '))
        })
        .map(|e| e.text.clone());
    let any = failed.iter().any(|r| !r.transcript.is_empty());
    any.then(|| {
        let example = example.unwrap_or_else(|| "alice_1a2b".to_string());
        t!(catalog::TRANSCRIPT_KEY, example).render(lang)
    })
}

/// A failure in full: the case, its requirement, expected against actual, and each client's
/// timestamped transcript.
pub fn failure_text(r: &CaseResult) -> String {
    failure_text_in(r, Lang::En)
}

/// [`failure_text`] in `lang`.
pub fn failure_text_in(r: &CaseResult, lang: Lang) -> String {
    let mut out = String::new();
    writeln!(
        out,
        "{} {} [{}] {}",
        catalog::FAILED_HEAD.get(lang),
        r.id,
        level(r.level).get(lang),
        r.title.render(lang)
    )
    .unwrap();
    let req = t!(
        catalog::REQUIREMENT_LINE,
        r.rf.as_str(),
        requirements::text_in(&r.rf, lang)
    );
    writeln!(out, "  {}", req.render(lang)).unwrap();
    // A free-form case's clause is its requirement, just said.
    if !r.clause.is_empty() {
        writeln!(out, "  {} {}", catalog::LABEL_CLAUSE.get(lang), r.clause).unwrap();
    }
    if let Some(f) = &r.failure {
        if let Some(c) = &f.client {
            writeln!(out, "  {} {c}", catalog::LABEL_CLIENT.get(lang)).unwrap();
        }
        let expected = f.expected.render(lang);
        writeln!(out, "  {} {expected}", catalog::LABEL_EXPECTED.get(lang)).unwrap();
        let actual = f.actual.render(lang);
        writeln!(out, "  {} {actual}", catalog::LABEL_ACTUAL.get(lang)).unwrap();
    }
    let mut clients: Vec<&str> = Vec::new();
    for e in &r.transcript {
        if !clients.contains(&e.client.as_str()) {
            clients.push(&e.client);
        }
    }
    for c in clients {
        let head = t!(catalog::TRANSCRIPT_OF, c).render(lang);
        writeln!(out, "  {head}").unwrap();
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
                let omitted = t!(catalog::LINES_OMITTED, entries.len() - 40).render(lang);
                writeln!(out, "    {omitted}").unwrap();
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
            setup: None,
            lang: Lang::En,
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
