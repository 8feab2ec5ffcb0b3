//! The batch scoreboard: one row per server with its verdict, its MUST failures and its pass
//! count per requirement, as Markdown (for people) and CSV (for spreadsheets).

use std::fmt::Write;

use super::grade::Graded;
use crate::requirements::REQUIREMENTS;

/// Requirement ids that some server has results for, in report order.
fn columns(graded: &[Graded]) -> Vec<&'static str> {
    REQUIREMENTS
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| {
            graded
                .iter()
                .any(|g| g.requirements.iter().any(|r| r.0 == *id))
        })
        .collect()
}

fn cell(g: &Graded, rf: &str) -> String {
    g.requirements.iter().find(|r| r.0 == rf).map_or_else(
        || "-".to_string(),
        |(_, passed, all)| format!("{passed}/{all}"),
    )
}

/// The scoreboard as a Markdown table, then the verdicts that need a word.
pub fn markdown(graded: &[Graded]) -> String {
    let cols = columns(graded);
    let mut out = String::from("# Conformance scoreboard\n\n| server | verdict | MUST failed | passed | failed | skipped |");
    for c in &cols {
        write!(out, " {c} |").unwrap();
    }
    out.push_str("\n|---|---|---|---|---|---|");
    out.push_str(&"---|".repeat(cols.len()));
    out.push('\n');
    for g in graded {
        write!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            g.label.replace('|', "\\|"),
            g.verdict.name(),
            g.tally.must_failed,
            g.tally.passed,
            g.tally.failed,
            g.tally.skipped
        )
        .unwrap();
        for c in &cols {
            write!(out, " {} |", cell(g, c)).unwrap();
        }
        out.push('\n');
    }
    let notes: Vec<&Graded> = graded
        .iter()
        .filter(|g| !g.verdict.detail().is_empty())
        .collect();
    if !notes.is_empty() {
        out.push_str("\n## Servers that could not be graded in full\n\n");
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

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The scoreboard as CSV: one header row, one row per server.
pub fn csv(graded: &[Graded]) -> String {
    let cols = columns(graded);
    let mut out = String::from("server,verdict,must_failed,passed,failed,skipped,seconds");
    for c in &cols {
        write!(out, ",{c}").unwrap();
    }
    out.push_str(",detail\n");
    for g in graded {
        write!(
            out,
            "{},{},{},{},{},{},{:.1}",
            csv_field(&g.label),
            g.verdict.name(),
            g.tally.must_failed,
            g.tally.passed,
            g.tally.failed,
            g.tally.skipped,
            g.seconds
        )
        .unwrap();
        for c in &cols {
            write!(out, ",{}", cell(g, c)).unwrap();
        }
        writeln!(out, ",{}", csv_field(g.verdict.detail())).unwrap();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::grade::Verdict;
    use crate::report::Tally;

    fn graded(label: &str, verdict: Verdict, reqs: &[(&str, usize, usize)]) -> Graded {
        Graded {
            label: label.into(),
            verdict,
            tally: Tally {
                passed: reqs.iter().map(|r| r.1).sum(),
                failed: reqs.iter().map(|r| r.2 - r.1).sum(),
                skipped: 0,
                must_failed: reqs.iter().map(|r| r.2 - r.1).sum(),
                ..Tally::default()
            },
            requirements: reqs
                .iter()
                .map(|(a, b, c)| (a.to_string(), *b, *c))
                .collect(),
            seconds: 1.0,
            report: None,
        }
    }

    fn sample() -> Vec<Graded> {
        vec![
            graded("ana", Verdict::Pass, &[("RF1", 8, 8), ("RF5", 4, 4)]),
            graded("bruno, jr", Verdict::Fail, &[("RF1", 6, 8), ("RF5", 4, 4)]),
            graded(
                "carla",
                Verdict::DidNotStart("exited (exit status: 1): \"no module\"".into()),
                &[],
            ),
        ]
    }

    #[test]
    fn markdown_has_a_row_per_server_and_a_column_per_requirement() {
        let md = markdown(&sample());
        assert!(
            md.contains(
                "| server | verdict | MUST failed | passed | failed | skipped | RF1 | RF5 |"
            ),
            "{md}"
        );
        assert!(
            md.contains("| ana | PASS | 0 | 12 | 0 | 0 | 8/8 | 4/4 |"),
            "{md}"
        );
        assert!(
            md.contains("| carla | DID NOT START | 0 | 0 | 0 | 0 | - | - |"),
            "{md}"
        );
        assert!(
            md.contains("- **carla** (DID NOT START): exited (exit status: 1)"),
            "{md}"
        );
    }

    #[test]
    fn csv_quotes_what_needs_quoting_and_has_even_rows() {
        let text = csv(&sample());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines[0],
            "server,verdict,must_failed,passed,failed,skipped,seconds,RF1,RF5,detail"
        );
        assert!(
            lines[2].starts_with("\"bruno, jr\",FAIL,2,10,2,0,1.0,6/8,4/4,"),
            "{}",
            lines[2]
        );
        assert!(
            lines[3].ends_with(",\"exited (exit status: 1): \"\"no module\"\"\""),
            "{}",
            lines[3]
        );
    }
}
