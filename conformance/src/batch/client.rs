//! Grading an entry's client (the student's window) after its server, within the same time
//! limit again, and adding its points to the server's: the grade book's columns are the
//! requirements, whichever half of the assignment each case grades.

use std::sync::mpsc;
use std::time::Instant;

use serde::Serialize;

use super::file::Entry;
use super::grade::{Options, Verdict};
use super::points::Points;
use crate::gui::GuiError;
use crate::report::{Report, Tally};

/// How grading an entry's client ended.
#[derive(Debug, Serialize)]
pub struct ClientGraded {
    /// Its verdict: PASS, FAIL, DID NOT START (it could not run, or exited first), NOT
    /// GRADABLE (no window to drive, with why) or HUNG.
    pub verdict: Verdict,
    /// Counts over its cases.
    pub tally: Tally,
    /// Its points, from the rubric.
    pub points: Points,
    /// Seconds spent on it.
    pub seconds: f64,
    /// Its full report, when its cases ran.
    #[serde(skip)]
    pub report: Option<Report>,
}

/// Grades the client `e` names (none when it names none), on a virtual display of its own, so
/// that entries graded at once do not share a screen.
pub fn grade(e: &Entry, options: &Options) -> Option<ClientGraded> {
    let command = e.client.clone()?;
    let started = Instant::now();
    let lang = e.limits.lang;
    let done = |verdict: Verdict, report: Option<Report>| ClientGraded {
        verdict,
        tally: report.as_ref().map(Report::tally).unwrap_or_default(),
        points: report
            .as_ref()
            .map(|r| super::points::of(r, &options.rubric))
            .unwrap_or_default(),
        seconds: started.elapsed().as_secs_f64(),
        report,
    };
    let (tx, rx) = mpsc::channel();
    let (dir, base, label) = (e.client_dir.clone(), options.base.clone(), e.label.clone());
    // On a thread of its own so that a client that outlasts the time limit can be given up on;
    // every case ends its client, so the thread ends on its own.
    std::thread::spawn(move || {
        let graded = crate::gui::grade(&command, dir, &base, lang, &|_| {}).map(|mut r| {
            r.server = format!("{label} (client)");
            r
        });
        let _ = tx.send(graded);
    });
    let report = match rx.recv_timeout(e.limits.time_limit) {
        Ok(Ok(r)) => r,
        Ok(Err(err)) => {
            let why = err.text().render(lang);
            let verdict = match err {
                GuiError::Start(..) | GuiError::Exited { .. } => Verdict::DidNotStart(why),
                _ => Verdict::NotGradable(why),
            };
            return Some(done(verdict, None));
        }
        Err(_) => {
            return Some(done(
                Verdict::Hung(format!(
                    "the client was not done within its time limit of {:.0} s",
                    e.limits.time_limit.as_secs_f64()
                )),
                None,
            ))
        }
    };
    Some(done(Verdict::by_cases(&report), Some(report)))
}
