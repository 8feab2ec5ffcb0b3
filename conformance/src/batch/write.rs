//! Writing a batch's results: the grade book in three formats, and each student's reports.

use std::path::Path;

use super::grade::{Graded, Verdict};
use super::scoreboard;
use crate::i18n::{catalog, Msg, Text};
use crate::report::gradescope::{self, Results, Rubric};
use crate::report::{Format, Report};

/// Writes `scoreboard.md`, `scoreboard.csv`, `scoreboard.json`, each server's report as
/// `reports/<label>.txt|.json`, each client's as `reports/clients/<label>.txt|.json`, and each
/// student's Gradescope results (the server's and the client's cases in one file) as
/// `reports/<label>.results.json`.
pub fn write(dir: &Path, graded: &[Graded], rubric: &Rubric) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("reports"))?;
    if graded.iter().any(|g| g.client.is_some()) {
        std::fs::create_dir_all(dir.join("reports").join("clients"))?;
    }
    std::fs::write(dir.join("scoreboard.md"), scoreboard::markdown(graded))?;
    std::fs::write(dir.join("scoreboard.csv"), scoreboard::csv(graded))?;
    std::fs::write(
        dir.join("scoreboard.json"),
        serde_json::to_string_pretty(graded).map_err(std::io::Error::other)? + "\n",
    )?;
    for g in graded {
        let reports = dir.join("reports");
        let mut parts = Vec::new();
        if g.verdict != Verdict::NotGiven {
            let half = Half {
                dir: &reports,
                label: &g.label,
                not_graded: catalog::NOT_GRADED,
            };
            parts.push(half.write(g.report.as_ref(), &g.verdict, g, rubric)?);
        }
        if let Some(c) = &g.client {
            let half = Half {
                dir: &reports.join("clients"),
                label: &g.label,
                not_graded: catalog::C_NOT_GRADED,
            };
            parts.push(half.write(c.report.as_ref(), &c.verdict, g, rubric)?);
        }
        std::fs::write(
            reports.join(format!("{}.results.json", g.label)),
            gradescope::json(&gradescope::merge(parts)),
        )?;
    }
    Ok(())
}

/// Where one half of a student's work (the server or the client) has its reports.
struct Half<'a> {
    dir: &'a Path,
    label: &'a str,
    /// What the student reads when this half could not be graded.
    not_graded: Msg,
}

impl Half<'_> {
    /// Writes this half's text and JSON reports (or its verdict, when nothing ran); its
    /// Gradescope results.
    fn write(
        &self,
        report: Option<&Report>,
        verdict: &Verdict,
        g: &Graded,
        rubric: &Rubric,
    ) -> std::io::Result<Results> {
        let path = |ext: &str| self.dir.join(format!("{}.{ext}", self.label));
        match report {
            Some(r) => {
                std::fs::write(path("txt"), r.render(Format::Text))?;
                std::fs::write(path("json"), r.render(Format::Json))?;
                Ok(gradescope::results(r, rubric))
            }
            None => {
                std::fs::write(
                    path("txt"),
                    format!("{}: {}\n{}\n", self.label, verdict.name(), verdict.detail()),
                )?;
                let why = crate::t!(self.not_graded, Text::data(verdict.detail()));
                Ok(gradescope::ungraded(&why, g.lang))
            }
        }
    }
}
