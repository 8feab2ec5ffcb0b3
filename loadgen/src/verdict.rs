//! The run's verdict and exit code, from its validity, whether it was generator-bound
//! ([`crate::generator`]) and the gates.

use crate::gate::Check;
use crate::report::Summary;

/// The verdict line and the exit code: 0 pass, 1 a gate failed, 2 the run cannot be judged
/// (invalid, or generator-bound while gated).
///
/// A generator-bound run's latency measures loadgen as much as the server, so its gates are not
/// judged, with one exception: a failed gate on a counted cost (sends, bytes, threads, memory)
/// is the server's whatever the generator did, and fails the run.
pub fn judge(s: &Summary, checks: &[Check], gated: bool) -> (String, u8) {
    let failed = checks.iter().filter(|c| !c.pass).count();
    let counted_failed = checks.iter().filter(|c| !c.pass && c.counted).count();
    if !s.valid {
        return (format!("INVALID: {}", s.invalid_reasons.join("; ")), 2);
    }
    if s.self_check.generator_bound && gated {
        if counted_failed > 0 {
            return (
                format!(
                    "FAIL: {counted_failed} gates on the server's counted costs failed (the \
                     latency figures are generator-bound and were not judged)"
                ),
                1,
            );
        }
        return (
            "GENERATOR-BOUND: the gates are not applied to a run that measured loadgen itself"
                .to_string(),
            2,
        );
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
                "PASS: all {} gates hold (the latency figures are generator-bound)",
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

    fn check(pass: bool, counted: bool) -> Check {
        Check {
            what: "x".into(),
            actual: "y".into(),
            pass,
            counted,
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
    fn a_generator_bound_run_is_not_judged_on_latency() {
        let (text, code) = judge(&run(true, true), &[check(false, false)], true);
        assert_eq!(code, 2);
        assert!(text.starts_with("GENERATOR-BOUND"), "{text}");
    }

    #[test]
    fn a_counted_cost_fails_even_a_generator_bound_run() {
        let (text, code) = judge(
            &run(true, true),
            &[check(false, false), check(false, true)],
            true,
        );
        assert_eq!(code, 1);
        assert!(
            text.contains("1 gates on the server's counted costs"),
            "{text}"
        );
    }

    #[test]
    fn without_gates_a_generator_bound_run_passes_with_a_warning() {
        let (text, code) = judge(&run(true, true), &[check(true, false)], false);
        assert_eq!(code, 0);
        assert!(text.contains("generator-bound"), "{text}");
    }
}
