//! GitHub Classroom's autograding, for teachers who use it instead of Gradescope: a workflow
//! with one test per requirement, worth that requirement's points from the rubric, each run
//! with `conformance --only RFn --strict` (exit 0 only when every case of it passes), then
//! Classroom's reporter. The grader is built from a copy of this repository that the template
//! repository carries in `batepapo/`, as the Gradescope folder does.

use std::fmt::Write;

use crate::case::Case;
use crate::report::gradescope::Rubric;
use crate::requirements::REQUIREMENTS;

/// What the workflow grades.
#[derive(Debug, Clone)]
pub struct Classroom {
    /// How a submission starts (as for `--spawn`).
    pub spawn: String,
    /// Its build step, if any.
    pub build: Option<String>,
    /// Extra flags for every run (`--protocol plain --quit-line ...`).
    pub flags: Vec<String>,
}

/// `s` as one shell word: as is when it is plain, in single quotes otherwise.
fn shell(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:=@%+,{}".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\"'\"'"))
    }
}

/// `s` as a YAML single-quoted scalar.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The workflow, `.github/workflows/classroom.yml`, for `cases` and the points of `rubric`.
pub fn workflow(c: &Classroom, cases: &[Case], rubric: &Rubric) -> String {
    let results: Vec<crate::runner::CaseResult> = cases
        .iter()
        .map(|case| crate::runner::skipped(case, crate::case::Failure::new("", "")))
        .collect();
    let max = rubric.max_scores(&results);
    let mut out = String::from(
        "# Written by `conformance classroom`: one test per requirement, worth its points.\n\
         name: Autograding Tests\n\
         on: [push, workflow_dispatch, repository_dispatch]\n\
         permissions:\n  checks: write\n  actions: read\n  contents: read\n\
         jobs:\n  run-autograding-tests:\n    runs-on: ubuntu-latest\n    \
         if: github.actor != 'github-classroom[bot]'\n    steps:\n\
         \x20     - name: Checkout code\n        uses: actions/checkout@v4\n\
         \x20     - name: Build the grader (from the copy in batepapo/)\n        \
         run: cargo build --release --locked -p conformance --manifest-path batepapo/Cargo.toml\n",
    );
    if let Some(b) = &c.build {
        write!(
            out,
            "      - name: Build the server\n        run: {}\n",
            quoted(b)
        )
        .unwrap();
    }
    let mut ids = Vec::new();
    for (rf, text) in REQUIREMENTS {
        let points: f64 = results
            .iter()
            .zip(&max)
            .filter(|(r, _)| r.rf == *rf)
            .map(|(_, m)| m)
            .sum();
        if !results.iter().any(|r| r.rf == *rf) {
            continue;
        }
        let id = rf.to_lowercase();
        let mut command = format!(
            "batepapo/target/release/conformance --spawn {} --only {rf} --strict",
            shell(&c.spawn)
        );
        for f in &c.flags {
            write!(command, " {}", shell(f)).unwrap();
        }
        write!(
            out,
            "      - name: {rf}\n        id: {id}\n        \
             uses: classroom-resources/autograding-command-grader@v1\n        with:\n          \
             test-name: {}\n          command: {}\n          timeout: 10\n          \
             max-score: {}\n",
            quoted(&format!("{rf}: {text}")),
            quoted(&command),
            crate::batch::points::number(points)
        )
        .unwrap();
        ids.push(id);
    }
    out.push_str(
        "      - name: Autograding Reporter\n        \
         uses: classroom-resources/autograding-grader-reporter@v1\n        env:\n",
    );
    for id in &ids {
        writeln!(
            out,
            "          {}_RESULTS: \"${{{{steps.{id}.outputs.result}}}}\"",
            id.to_uppercase()
        )
        .unwrap();
    }
    write!(out, "        with:\n          runners: {}\n", ids.join(",")).unwrap();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_test_per_requirement_with_its_points() {
        let cases = crate::plain::cases::cases(&Default::default());
        let text = include_str!("../gradescope/rubric.toml");
        let rubric = Rubric::parse(text, "rubric.toml").unwrap();
        let c = Classroom {
            spawn: "python3 servidor.py".into(),
            build: None,
            flags: vec!["--protocol".into(), "plain".into()],
        };
        let yml = workflow(&c, &cases, &rubric);
        assert!(
            yml.contains("      - name: RF4\n        id: rf4\n"),
            "{yml}"
        );
        assert!(yml.contains("max-score: 20\n"), "{yml}");
        assert!(
            yml.contains("command: 'batepapo/target/release/conformance --spawn ''python3 servidor.py'' --only RF5 --strict --protocol plain'\n"),
            "{yml}"
        );
        assert!(
            yml.contains("          RF10_RESULTS: \"${{steps.rf10.outputs.result}}\""),
            "{yml}"
        );
        assert!(
            yml.contains("runners: rf1,rf2,rf3,rf4,rf5,rf6,rf7,rf8,rf10,rf12\n"),
            "{yml}"
        );
    }
}
