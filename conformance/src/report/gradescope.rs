//! `--format gradescope`: a run as Gradescope's `results.json`, with points from a rubric.
//!
//! The file has the fields Gradescope reads: top-level `score`, `execution_time`, `output` and
//! `tests`; each test has `name`, `number`, `score`, `max_score`, `status` (`passed` or
//! `failed`), `output` (the failure and every client's transcript), `tags` (its requirement and
//! level) and `visibility`.
//!
//! Points come from a rubric (`--rubric FILE.toml`); without one, every case is worth 1 point
//! and a SHOULD case half of that:
//!
//! ```toml
//! should-weight = 0.5            # a SHOULD case weighs this much against a MUST case
//! default-points = 1             # a case whose requirement has no points below
//! visibility = "visible"         # every case's, unless [visibility] says otherwise
//!
//! [requirements]                 # points per requirement, shared among its cases by weight
//! RF5 = 10
//! RF4 = 20
//!
//! [cases]                        # points for one case, instead of its share
//! "P-RF4-02" = 10
//!
//! [visibility-of]                # per case id or pattern: visible, hidden,
//! "P-RF4-*" = "after_published"  # after_due_date, after_published
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::case::Level;
use crate::glob;
use crate::i18n::{catalog, Text};
use crate::report::{failure_text_in, level, transcript_key, Report};
use crate::requirements;
use crate::runner::{CaseResult, Outcome};
use crate::t;

/// Points and visibility per case.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Rubric {
    /// What a SHOULD case weighs against a MUST case.
    pub should_weight: f64,
    /// Points of a case whose requirement has none in `requirements`, before its weight.
    pub default_points: f64,
    /// The visibility of every case not in `visibility_of`.
    pub visibility: Visibility,
    /// Points per requirement, shared among its cases by weight.
    pub requirements: BTreeMap<String, f64>,
    /// Points for single cases, by id.
    pub cases: BTreeMap<String, f64>,
    /// Visibility per case id or pattern.
    #[serde(rename = "visibility-of")]
    pub visibility_of: BTreeMap<String, Visibility>,
    /// The points in all, when the teacher states them: a rubric whose points add up to
    /// something else is refused.
    pub total: Option<f64>,
}

impl Default for Rubric {
    fn default() -> Rubric {
        Rubric {
            should_weight: 0.5,
            default_points: 1.0,
            visibility: Visibility::Visible,
            requirements: BTreeMap::new(),
            cases: BTreeMap::new(),
            visibility_of: BTreeMap::new(),
            total: None,
        }
    }
}

/// When students see a test, in Gradescope's words.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Always.
    Visible,
    /// Never.
    Hidden,
    /// After the due date.
    AfterDueDate,
    /// After the grades are published.
    AfterPublished,
}

/// Why a rubric cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RubricError {
    /// The file could not be read.
    #[error("cannot read the rubric {0}")]
    Read(String, #[source] std::io::Error),
    /// It is not a valid rubric.
    #[error("invalid rubric {0}: {1}")]
    Parse(String, toml::de::Error),
    /// A weight or a number of points that is negative or not a number.
    #[error("rubric {0}: {1} must be a number of points, at least 0")]
    Negative(String, String),
}

impl Rubric {
    /// Reads a rubric file.
    pub fn load(path: &Path) -> Result<Rubric, RubricError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| RubricError::Read(file.clone(), e))?;
        Rubric::parse(&text, &file)
    }

    /// Reads a rubric from its text (`file` names it in errors).
    pub fn parse(text: &str, file: &str) -> Result<Rubric, RubricError> {
        let file = file.to_string();
        let r: Rubric = toml::from_str(text).map_err(|e| RubricError::Parse(file.clone(), e))?;
        let numbers = [
            ("should-weight".to_string(), r.should_weight),
            ("default-points".into(), r.default_points),
        ]
        .into_iter()
        .chain(
            r.requirements
                .iter()
                .map(|(k, v)| (format!("requirements.{k}"), *v)),
        )
        .chain(r.cases.iter().map(|(k, v)| (format!("cases.{k}"), *v)))
        .chain(r.total.map(|t| ("total".to_string(), t)));
        for (what, v) in numbers {
            if !(v.is_finite() && v >= 0.0) {
                return Err(RubricError::Negative(file, what));
            }
        }
        Ok(r)
    }

    fn weight(&self, level: Level) -> f64 {
        match level {
            Level::Must => 1.0,
            Level::Should => self.should_weight,
        }
    }

    /// The points each result is worth, in order.
    pub fn max_scores(&self, results: &[CaseResult]) -> Vec<f64> {
        results
            .iter()
            .map(|r| {
                if let Some(&p) = self.cases.get(&r.id) {
                    return p;
                }
                let w = self.weight(r.level);
                match self.requirements.get(&r.rf) {
                    Some(&points) => {
                        // Shared by the cases of the requirement that have no points of their own.
                        let total: f64 = results
                            .iter()
                            .filter(|o| o.rf == r.rf && !self.cases.contains_key(&o.id))
                            .map(|o| self.weight(o.level))
                            .sum();
                        if total > 0.0 {
                            points * w / total
                        } else {
                            0.0
                        }
                    }
                    None => self.default_points * w,
                }
            })
            .collect()
    }

    /// When students see case `id`.
    pub fn visibility_for(&self, id: &str) -> Visibility {
        self.visibility_of
            .iter()
            .find(|(p, _)| glob::matches(p, id))
            .map_or(self.visibility, |(_, v)| *v)
    }
}

/// Gradescope's `results.json`.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Results {
    /// Points earned.
    pub score: f64,
    /// Seconds the grading took.
    pub execution_time: f64,
    /// A summary shown above the tests.
    pub output: String,
    /// One per case.
    pub tests: Vec<Test>,
}

/// One case, as Gradescope shows it.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Test {
    /// The case's id and what it checks.
    pub name: String,
    /// Its id.
    pub number: String,
    /// Points earned.
    pub score: f64,
    /// Points it is worth.
    pub max_score: f64,
    /// `passed` or `failed`.
    pub status: String,
    /// Why it failed, with every client's transcript; the clause it enforces.
    pub output: String,
    /// Its requirement and level.
    pub tags: Vec<String>,
    /// When students see it.
    pub visibility: Visibility,
}

/// The report as Gradescope results, with points from `rubric`.
pub fn results(report: &Report, rubric: &Rubric) -> Results {
    let max = rubric.max_scores(&report.results);
    let tests: Vec<Test> = report
        .results
        .iter()
        .zip(max)
        .map(|(r, max_score)| {
            let passed = matches!(r.outcome, Outcome::Pass | Outcome::Stale);
            let output = if passed && !r.clause.is_empty() {
                format!("{}\n", r.clause)
            } else if passed {
                // A free-form case's clause is its requirement: the student reads that.
                let req = requirements::text_in(&r.rf, report.lang);
                format!(
                    "{} {}: {req}\n",
                    r.rf,
                    catalog::COL_REQUIREMENT.get(report.lang)
                )
            } else {
                failure_text_in(r, report.lang)
            };
            Test {
                name: format!(
                    "{} [{}] {}",
                    r.id,
                    level(r.level).get(report.lang),
                    r.title.render(report.lang)
                ),
                number: r.id.clone(),
                score: if passed { max_score } else { 0.0 },
                max_score,
                status: if passed { "passed" } else { "failed" }.into(),
                output,
                tags: vec![r.rf.clone(), r.level.to_string()],
                visibility: rubric.visibility_for(&r.id),
            }
        })
        .collect();
    Results {
        score: tests.iter().map(|t| t.score).sum(),
        execution_time: report.seconds,
        output: summary(report),
        tests,
    }
}

/// The summary above the tests: the counts, what happened to the server, and (for failures)
/// what the transcripts' names and tokens are.
fn summary(report: &Report) -> String {
    let lang = report.lang;
    let t = report.tally();
    let skipped = if t.skipped > 0 {
        t!(catalog::AND_SKIPPED, t.skipped)
    } else {
        Text::data("")
    };
    let mut out = t!(
        catalog::SUMMARY_LINE,
        report.described(),
        t.passed,
        t.failed + t.expected,
        skipped
    )
    .render(lang);
    for f in &report.findings {
        let what = t!(
            catalog::WHAT_HAPPENED_TO_YOURS,
            f.text.clone(),
            f.cases.join(", ")
        );
        out += &format!("\n\n{}", what.render(lang));
    }
    if let Some(key) = transcript_key(&report.failed(), lang) {
        out += &format!("\n\n{key}");
    }
    out
}

/// The report as Gradescope's `results.json` text.
pub fn render(report: &Report, rubric: &Rubric) -> String {
    json(&results(report, rubric))
}

/// Results as `results.json` text.
pub fn json(results: &Results) -> String {
    serde_json::to_string_pretty(results).unwrap_or_default() + "\n"
}

/// Several results as one (a server's and its client's): the tests one after another, the
/// scores and times summed, the summaries joined.
pub fn merge(parts: Vec<Results>) -> Results {
    let mut all = Results {
        score: 0.0,
        execution_time: 0.0,
        output: String::new(),
        tests: Vec::new(),
    };
    for p in parts {
        all.score += p.score;
        all.execution_time += p.execution_time;
        if !p.output.is_empty() {
            if !all.output.is_empty() {
                all.output.push_str("\n\n");
            }
            all.output.push_str(&p.output);
        }
        all.tests.extend(p.tests);
    }
    all
}

/// Results for a submission that could not be graded at all: no points, and `why` (the whole
/// sentence, naming what could not be graded).
pub fn ungraded(why: &crate::i18n::Text, lang: crate::i18n::Lang) -> Results {
    Results {
        score: 0.0,
        execution_time: 0.0,
        output: why.render(lang),
        tests: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &str, rf: &str, level: Level, outcome: Outcome) -> CaseResult {
        CaseResult {
            id: id.into(),
            rf: rf.into(),
            requirement: "",
            level,
            title: "t".into(),
            clause: "c".into(),
            outcome,
            seconds: 0.0,
            failure: None,
            transcript: Vec::new(),
            varied: false,
        }
    }

    fn report(results: Vec<CaseResult>) -> Report {
        Report {
            server: "s".into(),
            seconds: 1.5,
            results,
            findings: Vec::new(),
            setup: None,
            lang: crate::i18n::Lang::En,
        }
    }

    #[test]
    fn without_a_rubric_a_must_case_is_a_point_and_a_should_case_half() {
        let r = report(vec![
            result("A", "RF1", Level::Must, Outcome::Pass),
            result("B", "RF1", Level::Should, Outcome::Fail),
        ]);
        let g = results(&r, &Rubric::default());
        assert_eq!(
            (g.score, g.tests[0].max_score, g.tests[1].max_score),
            (1.0, 1.0, 0.5)
        );
        assert_eq!(
            (g.tests[0].status.as_str(), g.tests[1].status.as_str()),
            ("passed", "failed")
        );
        assert_eq!(g.tests[1].tags, ["RF1", "SHOULD"]);
    }

    #[test]
    fn requirement_points_are_shared_by_weight_and_a_case_may_have_its_own() {
        let rubric: Rubric = toml::from_str(
            "should-weight = 0.5\n[requirements]\nRF5 = 10\n[cases]\nC = 4\n[visibility-of]\n\"B*\" = \"hidden\"\n",
        )
        .unwrap();
        let r = report(vec![
            result("A", "RF5", Level::Must, Outcome::Pass),
            result("B", "RF5", Level::Should, Outcome::Pass),
            result("C", "RF5", Level::Must, Outcome::Fail),
        ]);
        let g = results(&r, &rubric);
        let max: Vec<f64> = g.tests.iter().map(|t| t.max_score).collect();
        assert!(
            (max[0] - 10.0 / 1.5).abs() < 1e-9 && (max[1] - 5.0 / 1.5).abs() < 1e-9,
            "{max:?}"
        );
        assert_eq!(max[2], 4.0);
        assert!((g.score - 10.0).abs() < 1e-9);
        assert_eq!(g.tests[1].visibility, Visibility::Hidden);
        assert_eq!(g.tests[0].visibility, Visibility::Visible);
    }

    #[test]
    fn merged_results_add_their_scores_and_keep_every_test() {
        let server = results(
            &report(vec![result("A", "RF5", Level::Must, Outcome::Pass)]),
            &Rubric::default(),
        );
        let client = results(
            &report(vec![
                result("C-RF9-01", "RF9", Level::Must, Outcome::Pass),
                result("C-RF11-01", "RF11", Level::Must, Outcome::Fail),
            ]),
            &Rubric::default(),
        );
        let m = merge(vec![server, client]);
        assert_eq!((m.score, m.tests.len()), (2.0, 3));
        assert_eq!(m.execution_time, 3.0);
        assert_eq!(m.output.matches("conformance report for s").count(), 2);
    }

    #[test]
    fn a_negative_number_of_points_is_refused() {
        let path = std::env::temp_dir().join(format!("rubric-{}.toml", std::process::id()));
        std::fs::write(&path, "[requirements]\nRF5 = -3\n").unwrap();
        let err = Rubric::load(&path).unwrap_err();
        assert!(err.to_string().contains("requirements.RF5"), "{err}");
        let _ = std::fs::remove_file(&path);
    }
}
