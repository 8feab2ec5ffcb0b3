//! The batch's grade book: one row per student with the score, the verdict and the points per
//! requirement (the same columns for everyone), as Markdown (for people) and CSV (for
//! spreadsheets: plain numbers, no cell a spreadsheet would read as a date or a formula).

use std::fmt::Write;

use super::grade::Graded;
use super::points::number;
use crate::requirements::REQUIREMENTS;

/// The requirements some student has points for, in report order, with the most points any
/// row gives each (a student who could not be graded has a row of zeros under them).
fn columns(graded: &[Graded]) -> Vec<(&'static str, f64)> {
    REQUIREMENTS
        .iter()
        .filter_map(|(id, _)| {
            let max = graded
                .iter()
                .flat_map(|g| g.points.requirements.iter().filter(|r| r.rf == *id))
                .map(|r| r.max)
                .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))))?;
            Some((*id, max))
        })
        .collect()
}

fn earned(g: &Graded, rf: &str) -> f64 {
    g.points
        .requirements
        .iter()
        .find(|r| r.rf == rf)
        .map_or(0.0, |r| r.earned)
}

/// The most points in all: what a student who passes everything gets.
fn possible(cols: &[(&str, f64)]) -> f64 {
    cols.iter().map(|(_, m)| m).sum()
}

/// The grade book as a Markdown table, then the verdicts that need a word.
pub fn markdown(graded: &[Graded]) -> String {
    let cols = columns(graded);
    let mut out = String::from("# Grade book\n\n| student | score | verdict |");
    for (c, m) in &cols {
        write!(out, " {c} ({}) |", number(*m)).unwrap();
    }
    out.push_str(" cases passed | failed |\n|---|---|---|");
    out.push_str(&"---|".repeat(cols.len() + 2));
    out.push('\n');
    for g in graded {
        write!(
            out,
            "| {} | {} / {} | {} |",
            g.label.replace('|', "\\|"),
            number(g.points.score),
            number(possible(&cols)),
            g.verdict.name(),
        )
        .unwrap();
        for (c, _) in &cols {
            write!(out, " {} |", number(earned(g, c))).unwrap();
        }
        writeln!(out, " {} | {} |", g.tally.passed, g.tally.failed).unwrap();
    }
    let notes: Vec<&Graded> = graded
        .iter()
        .filter(|g| !g.verdict.detail().is_empty())
        .collect();
    if !notes.is_empty() {
        out.push_str("\n## What happened to these servers\n\n");
        for g in notes {
            writeln!(
                out,
                "- **{}** ({}): {}",
                g.label,
                g.verdict.name(),
                g.verdict.detail().replace('\n', " ")
            )
            .unwrap();
        }
    }
    out.push_str("\nEach server's full report is in reports/<label>.txt (and .json).\n");
    out
}

/// A text cell: quoted where CSV needs it, and never read as a formula.
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// The grade book as CSV: one header row, one row per student, numbers plain.
pub fn csv(graded: &[Graded]) -> String {
    let cols = columns(graded);
    let mut out = String::from("student,score,max,verdict");
    for (c, m) in &cols {
        write!(out, ",{c} (of {})", number(*m)).unwrap();
    }
    out.push_str(",cases_passed,cases_failed,cases_skipped,must_failed,seconds,detail\n");
    for g in graded {
        write!(
            out,
            "{},{},{},{}",
            csv_field(&g.label),
            number(g.points.score),
            number(possible(&cols)),
            g.verdict.name(),
        )
        .unwrap();
        for (c, _) in &cols {
            write!(out, ",{}", number(earned(g, c))).unwrap();
        }
        writeln!(
            out,
            ",{},{},{},{},{:.1},{}",
            g.tally.passed,
            g.tally.failed,
            g.tally.skipped,
            g.tally.must_failed,
            g.seconds,
            csv_field(g.verdict.detail())
        )
        .unwrap();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::grade::Verdict;
    use crate::batch::points::{Points, RequirementPoints};
    use crate::report::Tally;

    fn graded(label: &str, verdict: Verdict, reqs: &[(&str, f64, f64)]) -> Graded {
        Graded {
            label: label.into(),
            verdict,
            tally: Tally {
                passed: reqs.len(),
                ..Tally::default()
            },
            requirements: Vec::new(),
            points: Points {
                score: reqs.iter().map(|r| r.1).sum(),
                max: reqs.iter().map(|r| r.2).sum(),
                requirements: reqs
                    .iter()
                    .map(|(rf, e, m)| RequirementPoints {
                        rf: rf.to_string(),
                        earned: *e,
                        max: *m,
                    })
                    .collect(),
            },
            seconds: 1.0,
            report: None,
        }
    }

    fn sample() -> Vec<Graded> {
        vec![
            graded(
                "ana",
                Verdict::Pass,
                &[("RF1", 5.0, 5.0), ("RF8", 10.0, 10.0)],
            ),
            graded(
                "bruno, jr",
                Verdict::Fail,
                &[("RF1", 2.5, 5.0), ("RF8", 6.666_666, 10.0)],
            ),
            graded(
                "=carla",
                Verdict::DidNotStart("exited (exit status: 1): \"no module\"".into()),
                &[],
            ),
        ]
    }

    #[test]
    fn markdown_has_the_score_and_points_per_requirement() {
        let md = markdown(&sample());
        assert!(
            md.contains("| student | score | verdict | RF1 (5) | RF8 (10) |"),
            "{md}"
        );
        assert!(md.contains("| ana | 15 / 15 | PASS | 5 | 10 |"), "{md}");
        assert!(
            md.contains("| bruno, jr | 9.17 / 15 | FAIL | 2.5 | 6.67 |"),
            "{md}"
        );
        assert!(
            md.contains("| =carla | 0 / 15 | DID NOT START | 0 | 0 |"),
            "{md}"
        );
        assert!(
            md.contains("- **=carla** (DID NOT START): exited (exit status: 1)"),
            "{md}"
        );
    }

    #[test]
    fn csv_has_plain_numbers_the_same_columns_for_everyone_and_no_formulas() {
        let text = csv(&sample());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines[0],
            "student,score,max,verdict,RF1 (of 5),RF8 (of 10),cases_passed,cases_failed,cases_skipped,must_failed,seconds,detail"
        );
        assert!(
            lines[2].starts_with("\"bruno, jr\",9.17,15,FAIL,2.5,6.67,"),
            "{}",
            lines[2]
        );
        assert!(
            lines[3].starts_with("'=carla,0,15,DID NOT START,0,0,"),
            "{}",
            lines[3]
        );
        // No cell like 1/1, which a spreadsheet turns into a date.
        assert!(!text.contains("1/1"), "{text}");
        let fields = |l: &str| l.split(',').count();
        assert_eq!(fields(lines[1]), fields(lines[0]));
    }
}
