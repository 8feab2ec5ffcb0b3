//! The batch's grade book: one row per student with the score, the verdict and the points per
//! requirement (the same columns for everyone), as Markdown (for people) and CSV (for
//! spreadsheets: plain numbers, no cell a spreadsheet would read as a date or a formula).

use std::fmt::Write;

use super::grade::{Graded, Verdict};
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

/// Whether some student has a client graded: then the verdicts are two columns, the server's
/// and the client's.
fn with_clients(graded: &[Graded]) -> bool {
    graded.iter().any(|g| g.client.is_some())
}

/// The client's verdict, `-` for a student whose entry names none.
fn client_verdict(g: &Graded) -> &'static str {
    g.client.as_ref().map_or("-", |c| c.verdict.name())
}

/// The most points in all: what a student who passes everything gets.
fn possible(cols: &[(&str, f64)]) -> f64 {
    cols.iter().map(|(_, m)| m).sum()
}

/// The grade book as a Markdown table, then the verdicts that need a word.
pub fn markdown(graded: &[Graded]) -> String {
    let cols = columns(graded);
    let clients = with_clients(graded);
    let mut out = String::from("# Grade book\n\n| student | score |");
    out.push_str(if clients {
        " server | client |"
    } else {
        " verdict |"
    });
    for (c, m) in &cols {
        write!(out, " {c} ({}) |", number(*m)).unwrap();
    }
    out.push_str(" cases passed | failed |\n|---|---|---|");
    out.push_str(&"---|".repeat(cols.len() + 2 + usize::from(clients)));
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
        if clients {
            write!(out, " {} |", client_verdict(g)).unwrap();
        }
        for (c, _) in &cols {
            write!(out, " {} |", number(earned(g, c))).unwrap();
        }
        writeln!(out, " {} | {} |", g.tally.passed, g.tally.failed).unwrap();
    }
    notes(
        &mut out,
        "What happened to these servers",
        graded.iter().map(|g| (g.label.as_str(), &g.verdict)),
    );
    notes(
        &mut out,
        "What happened to these clients",
        graded
            .iter()
            .filter_map(|g| Some((g.label.as_str(), &g.client.as_ref()?.verdict))),
    );
    out.push_str("\nEach server's full report is in reports/<label>.txt (and .json)");
    if clients {
        out.push_str(", each client's in reports/clients/<label>.txt (and .json)");
    }
    out.push_str(".\n");
    out
}

/// A section listing the verdicts that need a word, when there are any.
fn notes<'a>(
    out: &mut String,
    title: &str,
    verdicts: impl Iterator<Item = (&'a str, &'a Verdict)>,
) {
    let notes: Vec<_> = verdicts.filter(|(_, v)| !v.detail().is_empty()).collect();
    if notes.is_empty() {
        return;
    }
    write!(out, "\n## {title}\n\n").unwrap();
    for (label, v) in notes {
        writeln!(
            out,
            "- **{}** ({}): {}",
            label,
            v.name(),
            v.detail().replace('\n', " ")
        )
        .unwrap();
    }
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
    let clients = with_clients(graded);
    let mut out = String::from(if clients {
        "student,score,max,server,client"
    } else {
        "student,score,max,verdict"
    });
    for (c, m) in &cols {
        write!(out, ",{c} (of {})", number(*m)).unwrap();
    }
    out.push_str(",cases_passed,cases_failed,cases_skipped,must_failed,seconds,detail");
    out.push_str(if clients { ",client_detail\n" } else { "\n" });
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
        if clients {
            write!(out, ",{}", client_verdict(g)).unwrap();
        }
        for (c, _) in &cols {
            write!(out, ",{}", number(earned(g, c))).unwrap();
        }
        write!(
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
        if clients {
            let detail = g.client.as_ref().map_or("", |c| c.verdict.detail());
            write!(out, ",{}", csv_field(detail)).unwrap();
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
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
            client: None,
            lang: crate::i18n::Lang::En,
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

    fn with_client(mut g: Graded, verdict: Verdict, reqs: &[(&str, f64, f64)]) -> Graded {
        let c = graded("", verdict, reqs);
        g.points = g.points.plus(&c.points);
        g.client = Some(crate::batch::client::ClientGraded {
            verdict: c.verdict,
            tally: c.tally,
            points: c.points,
            seconds: 1.0,
            report: None,
        });
        g
    }

    fn sample_with_clients() -> Vec<Graded> {
        vec![
            with_client(
                graded("ana", Verdict::Pass, &[("RF1", 5.0, 5.0)]),
                Verdict::Fail,
                &[("RF1", 1.0, 2.0), ("RF11", 0.0, 3.0)],
            ),
            with_client(
                graded("bia", Verdict::NotGiven, &[]),
                Verdict::NotGradable("the window never appeared".into()),
                &[],
            ),
            graded("caio", Verdict::Pass, &[("RF1", 5.0, 5.0)]),
        ]
    }

    #[test]
    fn with_clients_the_verdicts_are_two_columns_and_the_points_one_sum() {
        let md = markdown(&sample_with_clients());
        assert!(
            md.contains("| student | score | server | client | RF1 (7) | RF11 (3) |"),
            "{md}"
        );
        assert!(
            md.contains("| ana | 6 / 10 | PASS | FAIL | 6 | 0 |"),
            "{md}"
        );
        assert!(
            md.contains("| bia | 0 / 10 | - | NOT GRADABLE | 0 | 0 |"),
            "{md}"
        );
        assert!(md.contains("| caio | 5 / 10 | PASS | - | 5 | 0 |"), "{md}");
        assert!(md.contains("## What happened to these clients"), "{md}");
        assert!(
            md.contains("- **bia** (NOT GRADABLE): the window never appeared"),
            "{md}"
        );
        assert!(!md.contains("What happened to these servers"), "{md}");
    }

    #[test]
    fn with_clients_the_csv_has_both_verdicts_and_both_details() {
        let text = csv(&sample_with_clients());
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("student,score,max,server,client,RF1 (of 7),RF11 (of 3),"),
            "{}",
            lines[0]
        );
        assert!(lines[0].ends_with(",detail,client_detail"), "{}", lines[0]);
        assert!(
            lines[2].starts_with("bia,0,10,-,NOT GRADABLE,0,0,"),
            "{}",
            lines[2]
        );
        assert!(
            lines[2].ends_with(",the window never appeared"),
            "{}",
            lines[2]
        );
        let fields = |l: &str| l.split(',').count();
        assert!(
            lines.iter().all(|l| fields(l) == fields(lines[0])),
            "{text}"
        );
    }
}
