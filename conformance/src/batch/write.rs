//! Writing a batch's results: the scoreboard in three formats and each server's reports.

use std::path::Path;

use super::grade::Graded;
use super::scoreboard;
use crate::report::Format;

/// Writes `scoreboard.md`, `scoreboard.csv`, `scoreboard.json` and `reports/<label>.txt|.json`.
pub fn write(
    dir: &Path,
    graded: &[Graded],
    rubric: &crate::report::gradescope::Rubric,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("reports"))?;
    std::fs::write(dir.join("scoreboard.md"), scoreboard::markdown(graded))?;
    std::fs::write(dir.join("scoreboard.csv"), scoreboard::csv(graded))?;
    std::fs::write(
        dir.join("scoreboard.json"),
        serde_json::to_string_pretty(graded).map_err(std::io::Error::other)? + "\n",
    )?;
    for g in graded {
        let path = |ext: &str| dir.join("reports").join(format!("{}.{ext}", g.label));
        match &g.report {
            Some(r) => {
                std::fs::write(path("txt"), r.render(Format::Text))?;
                std::fs::write(path("json"), r.render(Format::Json))?;
                std::fs::write(
                    path("results.json"),
                    crate::report::gradescope::render(r, rubric),
                )?;
            }
            None => std::fs::write(
                path("txt"),
                format!(
                    "{}: {}\n{}\n",
                    g.label,
                    g.verdict.name(),
                    g.verdict.detail()
                ),
            )?,
        }
    }
    Ok(())
}
