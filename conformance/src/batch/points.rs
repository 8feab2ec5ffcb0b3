//! A student's points, per requirement and in all, from the rubric (or the default one: a
//! point per case, half for a SHOULD case): what a grade book needs.

use serde::Serialize;

use crate::report::gradescope::Rubric;
use crate::report::Report;
use crate::requirements::REQUIREMENTS;
use crate::runner::Outcome;

/// One requirement's points.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequirementPoints {
    /// The requirement.
    pub rf: String,
    /// Points earned.
    pub earned: f64,
    /// Points it is worth.
    pub max: f64,
}

/// A student's points.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Points {
    /// Points earned.
    pub score: f64,
    /// Points possible.
    pub max: f64,
    /// Per requirement, in the requirements' order.
    pub requirements: Vec<RequirementPoints>,
}

impl Points {
    /// These points and `other`'s (a server's and its client's), per requirement.
    pub fn plus(&self, other: &Points) -> Points {
        let requirements: Vec<RequirementPoints> = REQUIREMENTS
            .iter()
            .filter_map(|(rf, _)| {
                let of = |p: &Points| p.requirements.iter().find(|r| r.rf == *rf).cloned();
                let sum = match (of(self), of(other)) {
                    (None, None) => return None,
                    (Some(a), None) | (None, Some(a)) => a,
                    (Some(a), Some(b)) => RequirementPoints {
                        earned: a.earned + b.earned,
                        max: a.max + b.max,
                        ..a
                    },
                };
                Some(sum)
            })
            .collect();
        Points {
            score: requirements.iter().map(|r| r.earned).sum(),
            max: requirements.iter().map(|r| r.max).sum(),
            requirements,
        }
    }
}

/// The points of a graded report under `rubric`.
pub fn of(report: &Report, rubric: &Rubric) -> Points {
    let max = rubric.max_scores(&report.results);
    let mut requirements: Vec<RequirementPoints> = Vec::new();
    for (rf, _) in REQUIREMENTS {
        let mut p = RequirementPoints {
            rf: rf.to_string(),
            earned: 0.0,
            max: 0.0,
        };
        let mut any = false;
        for (r, m) in report.results.iter().zip(&max).filter(|(r, _)| r.rf == *rf) {
            any = true;
            p.max += m;
            if matches!(r.outcome, Outcome::Pass | Outcome::Stale) {
                p.earned += m;
            }
        }
        if any {
            requirements.push(p);
        }
    }
    Points {
        score: requirements.iter().map(|r| r.earned).sum(),
        max: requirements.iter().map(|r| r.max).sum(),
        requirements,
    }
}

/// A number of points as a spreadsheet reads it: plain, at most two decimals.
pub fn number(x: f64) -> String {
    // Adding 0 turns -0 (an empty sum) into 0.
    let text = format!("{:.2}", (x * 100.0).round() / 100.0 + 0.0);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(reqs: &[(&str, f64, f64)]) -> Points {
        let requirements: Vec<RequirementPoints> = reqs
            .iter()
            .map(|(rf, earned, max)| RequirementPoints {
                rf: rf.to_string(),
                earned: *earned,
                max: *max,
            })
            .collect();
        Points {
            score: requirements.iter().map(|r| r.earned).sum(),
            max: requirements.iter().map(|r| r.max).sum(),
            requirements,
        }
    }

    #[test]
    fn a_server_and_its_client_add_up_per_requirement_in_requirement_order() {
        let server = points(&[("RF1", 2.0, 5.0), ("RF3", 10.0, 10.0)]);
        let client = points(&[("RF1", 1.0, 3.0), ("RF11", 0.0, 2.0)]);
        assert_eq!(
            server.plus(&client),
            points(&[("RF1", 3.0, 8.0), ("RF3", 10.0, 10.0), ("RF11", 0.0, 2.0)])
        );
    }

    #[test]
    fn numbers_are_plain() {
        assert_eq!(number(10.0), "10");
        assert_eq!(number(6.666_666), "6.67");
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(-0.0), "0");
    }
}
