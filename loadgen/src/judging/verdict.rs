//! The run's verdict and exit code, from its validity, whether it was generator-bound
//! (`summary::generator`) and the gates.

use crate::judging::gate::Check;
use crate::summary::report::Summary;

/// The verdict line and the exit code: 0 pass, 1 a gate failed, 2 the run cannot be judged
/// (invalid, or generator-bound with a gate whose verdict depends on the generator).
///
/// A generator-bound run's figures include loadgen's own delay, so only the gates whose
/// verdict holds whatever the generator did are judged ([`crate::judging::gate::Check::stands`]): a
/// latency under its bound, the server's counted costs, no loss. A failed one fails the run; a
/// gate that cannot be told makes the run unjudgeable; when every gate stands, the run is
/// judged as any other, with the generator-bound warning.
pub fn judge(s: &Summary, checks: &[Check], gated: bool) -> (String, u8) {
    let failed = checks.iter().filter(|c| !c.pass).count();
    if !s.valid {
        return (format!("INVALID: {}", s.invalid_reasons.join("; ")), 2);
    }
    if s.self_check.generator_bound && gated {
        let standing_failed = checks.iter().filter(|c| !c.pass && c.stands).count();
        if standing_failed > 0 {
            return (
                format!(
                    "FAIL: {standing_failed} gates failed that hold whatever the generator did \
                     (the run is generator-bound)"
                ),
                1,
            );
        }
        let untold = checks.iter().filter(|c| !c.stands).count();
        if untold > 0 {
            return (
                format!(
                    "GENERATOR-BOUND: {untold} gates cannot be judged on a run that measured \
                     loadgen itself"
                ),
                2,
            );
        }
    }
    if failed > 0 {
        return (
            format!("FAIL: {failed} of {} gates failed", checks.len()),
            1,
        );
    }
    if s.self_check.generator_bound {
        return (
            format!(
                "PASS: all {} gates hold (the run is generator-bound; these gates hold whatever \
                 the generator did)",
                checks.len()
            ),
            0,
        );
    }
    (format!("PASS: all {} gates hold", checks.len()), 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pass: bool, stands: bool) -> Check {
        Check {
            what: "x".into(),
            actual: "y".into(),
            pass,
            stands,
        }
    }

    fn run(valid: bool, generator_bound: bool) -> Summary {
        let mut s = Summary {
            valid,
            ..Summary::default()
        };
        s.self_check.generator_bound = generator_bound;
        if !valid {
            s.invalid_reasons.push("interrupted before the end".into());
        }
        s
    }

    #[test]
    fn a_valid_run_with_every_gate_holding_passes() {
        assert_eq!(judge(&run(true, false), &[check(true, true)], true).1, 0);
    }

    #[test]
    fn a_failed_gate_fails() {
        let (text, code) = judge(
            &run(true, false),
            &[check(true, false), check(false, false)],
            true,
        );
        assert_eq!((text.as_str(), code), ("FAIL: 1 of 2 gates failed", 1));
    }

    #[test]
    fn an_invalid_run_cannot_be_judged() {
        let (text, code) = judge(&run(false, false), &[check(false, true)], true);
        assert_eq!(code, 2);
        assert!(text.starts_with("INVALID: interrupted"), "{text}");
    }

    #[test]
    fn a_generator_bound_run_with_a_gate_that_cannot_be_told_is_not_judged() {
        let (text, code) = judge(&run(true, true), &[check(false, false)], true);
        assert_eq!(code, 2);
        assert!(text.starts_with("GENERATOR-BOUND: 1 gates"), "{text}");
        let (_, code) = judge(&run(true, true), &[check(true, false)], true);
        assert_eq!(
            code, 2,
            "a passing gate that cannot be told is not a pass either"
        );
    }

    #[test]
    fn a_gate_that_stands_fails_even_a_generator_bound_run() {
        let (text, code) = judge(
            &run(true, true),
            &[check(false, false), check(false, true)],
            true,
        );
        assert_eq!(code, 1);
        assert!(text.contains("1 gates failed that hold whatever"), "{text}");
    }

    #[test]
    fn a_generator_bound_run_whose_gates_all_stand_is_judged() {
        let (text, code) = judge(&run(true, true), &[check(true, true)], true);
        assert_eq!(code, 0);
        assert!(text.contains("generator-bound"), "{text}");
    }

    #[test]
    fn without_gates_a_generator_bound_run_passes_with_a_warning() {
        let (text, code) = judge(&run(true, true), &[check(true, false)], false);
        assert_eq!(code, 0);
        assert!(text.contains("generator-bound"), "{text}");
    }
}
