//! A teacher's configuration checked before anything is graded: the rubric, the batch file and
//! Gradescope's `autograder.conf`. A teacher's typo must stay the teacher's: it is an error
//! naming the file and line, never a zero for every student. `conformance check-config` runs
//! the same checks on their own.

use std::fmt;
use std::path::Path;

use crate::case::Case;
use crate::report::gradescope::Rubric;

/// One thing wrong with a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub file: String,
    /// Its line, when one can be named.
    pub line: Option<usize>,
    /// What is wrong, and what would be right.
    pub what: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(n) => write!(f, "{}:{n}: {}", self.file, self.what),
            None => write!(f, "{}: {}", self.file, self.what),
        }
    }
}

/// The line (from 1) of `key = ...` inside `[section]` (`""` for the top), if there is one.
pub fn line_of(text: &str, section: &str, key: &str) -> Option<usize> {
    let mut current = String::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            current = name.trim().to_string();
            continue;
        }
        if current != section {
            continue;
        }
        let Some((k, _)) = t.split_once('=') else {
            continue;
        };
        if k.trim().trim_matches('"') == key {
            return Some(i + 1);
        }
    }
    None
}

/// The cases a rubric's points are scored on, in groups that are each scored on their own
/// (the server's cases, the client's), each with its name for messages.
pub type Scored<'a> = [(&'a str, Vec<Case>)];

/// What is wrong with a rubric whose ids may name any of `cases`, and whose points are scored
/// on the groups of `scored` (its syntax was read already). Its `total` must be what one of
/// the groups or all of them together are worth: a server's grading, a client's, or both
/// added up, as Gradescope's merged results add them.
pub fn check_rubric(
    rubric: &Rubric,
    text: &str,
    file: &str,
    cases: &[Case],
    scored: &Scored,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let at = |section: &str, key: &str, what: String| Problem {
        file: file.to_string(),
        line: line_of(text, section, key),
        what,
    };
    let known: Vec<&str> = crate::requirements::REQUIREMENTS
        .iter()
        .map(|(id, _)| *id)
        .collect();
    for rf in rubric.requirements.keys() {
        if !known.contains(&rf.as_str()) {
            problems.push(at(
                "requirements",
                rf,
                format!(
                    "no requirement {rf:?}: the requirements are {}",
                    known.join(", ")
                ),
            ));
        }
    }
    for id in rubric.cases.keys() {
        if !cases.iter().any(|c| &c.id == id) {
            problems.push(at(
                "cases",
                id,
                format!("no case {id:?} (`conformance --list` lists them)"),
            ));
        }
    }
    for pattern in rubric.visibility_of.keys() {
        if !cases.iter().any(|c| crate::glob::matches(pattern, &c.id)) {
            problems.push(at(
                "visibility-of",
                pattern,
                format!("{pattern:?} matches no case (`conformance --list` lists them)"),
            ));
        }
    }
    if let Some(total) = rubric.total {
        let worth = |cases: &[Case]| -> f64 {
            let results: Vec<crate::runner::CaseResult> = cases
                .iter()
                .map(|c| crate::runner::skipped(c, crate::case::Failure::new("", "")))
                .collect();
            rubric.max_scores(&results).iter().sum()
        };
        let mut sums: Vec<(String, f64)> = scored
            .iter()
            .map(|(name, cases)| (name.to_string(), worth(cases)))
            .collect();
        if sums.len() > 1 {
            let all = sums.iter().map(|(_, s)| s).sum();
            sums.push(("both".into(), all));
        }
        if !sums.iter().any(|(_, s)| (s - total).abs() <= 1e-6) {
            let said: Vec<String> = sums
                .iter()
                .map(|(name, s)| {
                    if scored.len() > 1 {
                        format!("{s} for {name}")
                    } else {
                        s.to_string()
                    }
                })
                .collect();
            problems.push(at(
                "",
                "total",
                format!(
                    "the points add up to {}, not the total of {total}",
                    said.join(", ")
                ),
            ));
        }
    }
    problems
}

/// The keys `autograder.conf` may set.
const CONF_KEYS: &[&str] = &[
    "SERVER_CMD",
    "CLIENT_CMD",
    "BUILD",
    "LANGUAGES",
    "PROTOCOL",
    "QUIT_LINE",
    "FRAMING",
    "REPORT_LANG",
    "EXTRA_ARGS",
];

/// What is wrong with an `autograder.conf` (a shell file of `KEY=value` lines).
pub fn check_autograder_conf(text: &str, file: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut seen_cmd = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let problem = |what: String| Problem {
            file: file.to_string(),
            line: Some(i + 1),
            what,
        };
        let Some((key, value)) = t.split_once('=') else {
            problems.push(problem(format!("{t:?} is not KEY=value")));
            continue;
        };
        let value = value.trim().trim_matches(['\'', '"']);
        match key.trim() {
            "SERVER_CMD" => {
                seen_cmd = true;
                if value.is_empty() {
                    problems.push(problem(
                        "SERVER_CMD is empty: how does a submission start?".into(),
                    ));
                }
            }
            "PROTOCOL" if !["plain", "chat1", ""].contains(&value) => {
                problems.push(problem(format!("PROTOCOL is {value:?}: plain or chat1")))
            }
            "FRAMING" if !["lines", "writes", ""].contains(&value) => problems.push(problem(
                format!("FRAMING is {value:?}: lines, writes, or empty to detect it"),
            )),
            "REPORT_LANG" if !value.is_empty() && value.parse::<crate::i18n::Lang>().is_err() => {
                problems.push(problem(format!("REPORT_LANG is {value:?}: en or pt-BR")))
            }
            // Sourced by bash, LANG would be every program's locale, the students' servers'
            // included.
            "LANG" | "lang" => problems.push(problem(
                "LANG is the locale of every program the autograder runs; the report's \
                 language is REPORT_LANG (en or pt-BR)"
                    .into(),
            )),
            "LANGUAGES" => {
                for l in value.split_whitespace() {
                    if !["python", "java", "node", "c"].contains(&l) {
                        problems.push(problem(format!(
                            "LANGUAGES names {l:?}: python, java, node or c"
                        )));
                    }
                }
            }
            k if !CONF_KEYS.contains(&k) => problems.push(problem(format!(
                "no setting {k:?}: the settings are {}",
                CONF_KEYS.join(", ")
            ))),
            _ => {}
        }
    }
    if !seen_cmd {
        problems.push(Problem {
            file: file.to_string(),
            line: None,
            what: "no SERVER_CMD: how does a submission start?".into(),
        });
    }
    problems
}

/// Reads and checks a rubric file (see [`check_rubric`]): every problem, or the rubric.
pub fn load_rubric(path: &Path, cases: &[Case], scored: &Scored) -> Result<Rubric, Vec<Problem>> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![Problem {
            file: file.clone(),
            line: None,
            what: format!("cannot read it: {e}"),
        }]
    })?;
    let rubric = Rubric::parse(&text, &file).map_err(|e| {
        vec![Problem {
            file: file.clone(),
            line: None,
            what: e.to_string(),
        }]
    })?;
    let problems = check_rubric(&rubric, &text, &file, cases, scored);
    if problems.is_empty() {
        Ok(rubric)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain_cases() -> Vec<Case> {
        crate::plain::cases::cases(&crate::plain::Settings {
            framing: None,
            quit_line: Some("/quit".into()),
        })
    }

    fn problems(text: &str) -> Vec<String> {
        let rubric = Rubric::parse(text, "rubric.toml").unwrap();
        let plain = plain_cases();
        check_rubric(
            &rubric,
            text,
            "rubric.toml",
            &plain,
            &[("the server", plain.clone())],
        )
        .iter()
        .map(ToString::to_string)
        .collect()
    }

    #[test]
    fn an_unknown_requirement_is_named_with_its_line() {
        let p = problems("[requirements]\nRF5 = 10\nRF13 = 5\n");
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("rubric.toml:3: no requirement \"RF13\""),
            "{p:?}"
        );
    }

    #[test]
    fn an_unknown_case_and_a_pattern_matching_nothing_are_named() {
        let p = problems("[cases]\n\"P-RF4-09\" = 3\n\n[visibility-of]\n\"X-*\" = \"hidden\"\n");
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[0].starts_with("rubric.toml:2: no case \"P-RF4-09\""),
            "{p:?}"
        );
        assert!(
            p[1].starts_with("rubric.toml:5: \"X-*\" matches no case"),
            "{p:?}"
        );
    }

    #[test]
    fn a_total_may_be_the_server_the_client_or_both() {
        let server = plain_cases();
        let client = crate::gui::cases::cases();
        let mut known = server.clone();
        known.extend(client.iter().cloned());
        let known = &known;
        let groups: &Scored = &[("the server", server), ("the client", client)];
        let check = |text: &str| {
            let rubric = Rubric::parse(text, "rubric.toml").unwrap();
            check_rubric(&rubric, text, "rubric.toml", known, groups)
        };
        // Every case is worth 0 but RF1's: 10 shared by the server's RF1 cases, 10 by the
        // client's.
        let zero: String = crate::requirements::REQUIREMENTS
            .iter()
            .filter(|(rf, _)| *rf != "RF1")
            .map(|(rf, _)| format!("{rf} = 0\n"))
            .collect();
        for total in [10, 20] {
            let text = format!("total = {total}\n[requirements]\nRF1 = 10\n{zero}");
            assert!(check(&text).is_empty(), "{total}: {:?}", check(&text));
        }
        let text = format!("total = 15\n[requirements]\nRF1 = 10\n{zero}");
        let p = check(&text);
        assert!(
            p.iter().any(|p| p.what
                == "the points add up to 10 for the server, 10 for the client, 20 for both, \
                    not the total of 15"),
            "{p:?}"
        );
    }

    #[test]
    fn points_that_do_not_add_up_to_the_total_are_an_error() {
        let p = problems("total = 100\n[requirements]\nRF5 = 10\nRF6 = 10\n");
        // The other requirements' cases are worth a default point each.
        assert!(
            p.iter()
                .any(|p| p.starts_with("rubric.toml:1: the points add up to")),
            "{p:?}"
        );
    }

    #[test]
    fn the_shipped_rubric_is_clean() {
        let text = include_str!("../gradescope/rubric.toml");
        assert!(problems(text).is_empty(), "{:?}", problems(text));
    }

    #[test]
    fn a_misspelt_visibility_names_its_line() {
        let e = Rubric::parse(
            "[visibility-of]\n\"P-RF4-02\" = \"after_publish\"\n",
            "r.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn the_shipped_autograder_conf_is_clean() {
        let text = include_str!("../gradescope/autograder.conf");
        assert_eq!(check_autograder_conf(text, "autograder.conf"), vec![]);
    }

    #[test]
    fn a_misspelt_setting_and_a_bad_protocol_are_named_with_their_lines() {
        let text = "SERVR_CMD='python3 s.py'\nPROTOCOL=plian\n";
        let p: Vec<String> = check_autograder_conf(text, "autograder.conf")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            p[0].starts_with("autograder.conf:1: no setting \"SERVR_CMD\""),
            "{p:?}"
        );
        assert!(
            p[1].starts_with("autograder.conf:2: PROTOCOL is \"plian\""),
            "{p:?}"
        );
        assert!(p[2].contains("no SERVER_CMD"), "{p:?}");
    }

    #[test]
    fn the_report_language_is_checked_and_lang_is_refused() {
        let text = "SERVER_CMD='python3 s.py'\nREPORT_LANG=pt_BR\nLANG=pt-BR\nREPORT_LANG=fr\n";
        let p: Vec<String> = check_autograder_conf(text, "autograder.conf")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[0].starts_with("autograder.conf:3: LANG is the locale"),
            "{p:?}"
        );
        assert!(
            p[1].starts_with("autograder.conf:4: REPORT_LANG is \"fr\""),
            "{p:?}"
        );
    }
}
