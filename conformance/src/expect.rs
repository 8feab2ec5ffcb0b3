//! `--expect-fail FILE`: the known failures of a server that is not finished yet.
//!
//! One case id or pattern per line (`*` is a wildcard: `RF6-*`, `P-RF4-*`), `#` starts a
//! comment. After the run, a listed case that failed is an expected failure: reported as such,
//! it does not fail the run. A listed case that *passed* is stale: it fails the run, so that
//! the list is trimmed as the server improves and never rots (connectrpc's conformance runner
//! does this; a plain xfail list does not).

use std::path::Path;

use crate::glob;
use crate::runner::{CaseResult, Outcome};

/// A list of expected failures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpectFail {
    patterns: Vec<String>,
}

/// Why the list cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ExpectFailError {
    /// The file could not be read.
    #[error("cannot read the expected-failures file {0}")]
    Read(String, #[source] std::io::Error),
    /// A line names no case of this run.
    #[error("{file}:{line}: {pattern:?} matches no case of this run (check the id, or remove it)")]
    Unknown {
        /// The file.
        file: String,
        /// Its line number.
        line: usize,
        /// What it says.
        pattern: String,
    },
}

impl ExpectFail {
    /// Parses the text of a list; `ids` are the run's case ids, every pattern must match one.
    pub fn parse(text: &str, file: &str, ids: &[&str]) -> Result<ExpectFail, ExpectFailError> {
        let mut patterns = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            if !ids.iter().any(|id| glob::matches(line, id)) {
                return Err(ExpectFailError::Unknown {
                    file: file.to_string(),
                    line: n + 1,
                    pattern: line.to_string(),
                });
            }
            patterns.push(line.to_string());
        }
        Ok(ExpectFail { patterns })
    }

    /// Reads a list from a file.
    pub fn load(path: &Path, ids: &[&str]) -> Result<ExpectFail, ExpectFailError> {
        let file = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| ExpectFailError::Read(file.clone(), e))?;
        ExpectFail::parse(&text, &file, ids)
    }

    /// Whether case `id` is listed.
    pub fn lists(&self, id: &str) -> bool {
        self.patterns.iter().any(|p| glob::matches(p, id))
    }

    /// Marks the listed results: a failure becomes expected, a pass becomes stale.
    pub fn apply(&self, results: &mut [CaseResult]) {
        for r in results.iter_mut().filter(|r| self.lists(&r.id)) {
            r.outcome = match r.outcome {
                Outcome::Fail => Outcome::ExpectedFail,
                Outcome::Pass => Outcome::Stale,
                other => other,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::Level;

    fn result(id: &str, outcome: Outcome) -> CaseResult {
        CaseResult {
            id: id.into(),
            rf: "RF6".into(),
            requirement: "",
            level: Level::Must,
            title: String::new().into(),
            clause: String::new(),
            outcome,
            seconds: 0.0,
            failure: None,
            transcript: Vec::new(),
            varied: false,
        }
    }

    #[test]
    fn ids_patterns_and_comments_are_read() {
        let ids = ["RF6-01", "RF6-02", "RF5-01"];
        let l =
            ExpectFail::parse("# known\nRF6-*  # private messages\n\nRF5-01\n", "f", &ids).unwrap();
        assert!(l.lists("RF6-02") && l.lists("RF5-01") && !l.lists("RF2-01"));
    }

    #[test]
    fn a_line_that_matches_no_case_is_refused_with_its_line_number() {
        let err = ExpectFail::parse("RF6-01\nRF9-99\n", "xfail.txt", &["RF6-01"]).unwrap_err();
        assert!(
            err.to_string().starts_with("xfail.txt:2: \"RF9-99\""),
            "{err}"
        );
    }

    #[test]
    fn a_listed_failure_is_expected_and_a_listed_pass_is_stale() {
        let l = ExpectFail::parse("RF6-*", "f", &["RF6-01"]).unwrap();
        let mut rs = vec![
            result("RF6-01", Outcome::Fail),
            result("RF6-02", Outcome::Pass),
            result("RF5-01", Outcome::Fail),
        ];
        l.apply(&mut rs);
        let got: Vec<Outcome> = rs.iter().map(|r| r.outcome).collect();
        assert_eq!(got, [Outcome::ExpectedFail, Outcome::Stale, Outcome::Fail]);
    }
}
