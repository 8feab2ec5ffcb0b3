//! Collecting the cases and running them: in parallel against one server, exclusive ones after.

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;

use crate::case::{Case, Ctx, Entry, Failure, Level, Target};
use crate::chat1::scenario::{self, ScenarioError};
use crate::i18n::catalog;
use crate::requirements;
use crate::t;

/// How a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It held.
    Pass,
    /// It did not.
    Fail,
    /// It could not run here (e.g. no client binary).
    Skip,
    /// It failed, as `--expect-fail` said it would: it does not fail the run.
    ExpectedFail,
    /// It passed although `--expect-fail` lists it: the list is stale, and the run fails.
    Stale,
}

/// The result of one case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// Case id.
    pub id: String,
    /// Requirement id.
    pub rf: String,
    /// The requirement's text.
    pub requirement: &'static str,
    /// MUST or SHOULD.
    pub level: Level,
    /// What the case checks.
    pub title: crate::i18n::Text,
    /// The contract clause or requirement it enforces.
    pub clause: String,
    /// Pass, fail or skip.
    pub outcome: Outcome,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Why it failed, or why it was skipped.
    pub failure: Option<Failure>,
    /// Every client's traffic, kept for failures only.
    pub transcript: Vec<Entry>,
    /// The case failed, then passed when run again on a fresh server: the server is racy here.
    pub varied: bool,
}

/// Every built-in case plus the scenarios in `extra_dirs`, sorted by requirement and id.
pub fn all_cases(extra_dirs: &[std::path::PathBuf]) -> Result<Vec<Case>, ScenarioError> {
    let mut cases: Vec<Case> = scenario::builtin()?;
    for dir in extra_dirs {
        cases.extend(scenario::load_dir(dir)?);
    }
    cases.extend(crate::chat1::cases::builtin());
    cases.sort_by_key(|c| sort_key(&c.rf, &c.id));
    let dups = duplicate_ids(&cases);
    if !dups.is_empty() {
        return Err(ScenarioError::Duplicate(dups.join(", ")));
    }
    Ok(cases)
}

/// Duplicate ids among the cases, which would make results ambiguous.
pub fn duplicate_ids(cases: &[Case]) -> Vec<String> {
    let mut seen = HashSet::new();
    cases
        .iter()
        .filter(|c| !seen.insert(c.id.as_str()))
        .map(|c| c.id.clone())
        .collect()
}

fn sort_key(rf: &str, id: &str) -> (usize, u32, String) {
    let number = id
        .rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(u32::MAX);
    (requirements::order(rf), number, id.to_string())
}

/// Keeps the cases whose id or requirement matches one of `only` (case-insensitive); all of
/// them when `only` is empty.
pub fn select(cases: Vec<Case>, only: &[String]) -> Vec<Case> {
    if only.is_empty() {
        return cases;
    }
    cases
        .into_iter()
        .filter(|c| {
            only.iter()
                .any(|o| o.eq_ignore_ascii_case(&c.id) || o.eq_ignore_ascii_case(&c.rf))
        })
        .collect()
}

/// The result of a case that has not run yet: a pass until something fails.
fn blank(case: &Case) -> CaseResult {
    CaseResult {
        id: case.id.clone(),
        rf: case.rf.clone(),
        requirement: requirements::text(&case.rf),
        level: case.level,
        title: case.title.clone(),
        clause: case.clause.clone(),
        outcome: Outcome::Pass,
        seconds: 0.0,
        failure: None,
        transcript: Vec::new(),
        varied: false,
    }
}

/// A case that failed before it could run (its server did not start).
pub fn failed(case: &Case, failure: Failure) -> CaseResult {
    CaseResult {
        outcome: Outcome::Fail,
        failure: Some(failure),
        ..blank(case)
    }
}

/// A case that was not run, and why.
pub fn skipped(case: &Case, why: Failure) -> CaseResult {
    CaseResult {
        outcome: Outcome::Skip,
        failure: Some(why),
        ..blank(case)
    }
}

/// Runs one case against `target`.
pub fn run_case(case: &Case, target: &Target) -> CaseResult {
    let started = Instant::now();
    let mut result = blank(case);
    if case.needs_client && target.client_bin.is_none() {
        result.outcome = Outcome::Skip;
        result.failure = Some(Failure::new(catalog::CLIENT_BIN, catalog::NO_CLIENT_BIN));
        return result;
    }
    let mut ctx = Ctx::new(target.clone());
    let outcome = catch_unwind(AssertUnwindSafe(|| case.body.run(&mut ctx)));
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(f)) => Some(f),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Some(Failure::new(
                catalog::RUN_TO_COMPLETION,
                t!(catalog::IT_PANICKED, msg),
            ))
        }
    };
    result.seconds = started.elapsed().as_secs_f64();
    if let Some(f) = failure {
        result.outcome = Outcome::Fail;
        result.failure = Some(f);
        result.transcript = ctx.transcript.entries();
    }
    result
}

/// Runs every case: the shareable ones on `jobs` threads at once, then the exclusive ones
/// alone. Results come back in the cases' order; `progress` is told of each as it ends.
pub fn run_all(
    cases: &[Case],
    target: &Target,
    jobs: usize,
    progress: &(dyn Fn(&CaseResult) + Sync),
) -> Vec<CaseResult> {
    run_each(cases, jobs, &|case| run_case(case, target), progress)
}

/// [`run_all`] with each case run by `each` (on a fresh server of its own, say).
pub fn run_each(
    cases: &[Case],
    jobs: usize,
    each: &(dyn Fn(&Case) -> CaseResult + Sync),
    progress: &(dyn Fn(&CaseResult) + Sync),
) -> Vec<CaseResult> {
    let slots: Vec<Mutex<Option<CaseResult>>> = cases.iter().map(|_| Mutex::new(None)).collect();
    let shared: Vec<usize> = (0..cases.len()).filter(|&i| !cases[i].exclusive).collect();
    let next = AtomicUsize::new(0);
    let store = |i: usize, r: CaseResult| {
        progress(&r);
        *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
    };
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&i) = shared.get(k) else { return };
                store(i, each(&cases[i]));
            });
        }
    });
    for (i, case) in cases.iter().enumerate().filter(|(_, c)| c.exclusive) {
        store(i, each(case));
    }
    slots
        .into_iter()
        .filter_map(|s| s.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_every_requirement_is_covered() {
        let cases = all_cases(&[]).unwrap();
        assert!(duplicate_ids(&cases).is_empty());
        for (rf, _) in requirements::REQUIREMENTS {
            let n = cases.iter().filter(|c| c.rf == rf).count();
            assert!(n >= 2, "{rf} has only {n} cases");
        }
    }

    #[test]
    fn sorted_by_requirement_then_number() {
        let cases = all_cases(&[]).unwrap();
        let pos = |id: &str| cases.iter().position(|c| c.id == id).unwrap();
        assert!(pos("RF1-01") < pos("RF1-04"));
        assert!(pos("RF2-01") < pos("RF10-01"));
        assert!(pos("RF12-01") < pos("PROTO-01"));
    }

    #[test]
    fn select_matches_ids_and_requirements() {
        let cases = all_cases(&[]).unwrap();
        let rf3 = select(cases.clone(), &["rf3".to_string()]);
        assert!(!rf3.is_empty() && rf3.iter().all(|c| c.rf == "RF3"));
        let one = select(cases, &["RF2-03".to_string()]);
        assert_eq!(one.len(), 1);
    }
}
