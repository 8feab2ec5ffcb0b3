//! The run's verdict and exit code, from its validity, the generator-bound check (also here)
//! and the gates.

use crate::gate::Check;
use crate::report::Summary;

/// The generator's own delay (send lag or event-loop lag, p99) may be at most this share of the
/// latency p99 it reports...
pub const GENERATOR_SHARE: f64 = 0.25;
/// ...unless it is under this many milliseconds. Sends now wake on a high-resolution timer
/// ([`crate::timer`]): an idle release build sends within about 0.1 ms of its plan at p99. The
/// floor has not come down with it yet: the test suite drives debug builds of loadgen on a
/// loaded 2-core machine, where the send lag passes a millisecond, and a lower floor would make
/// those gated runs unjudgeable. (It used to be timer granularity: tokio's timers wake on whole
/// milliseconds, so a generator sent 0-2 ms late.)
pub const GENERATOR_FLOOR_MS: f64 = 5.0;

/// Decides whether the generator's own delay is a material part of what it reports.
pub fn generator_bound(latency_p99: f64, send_lag_p99: f64, loop_lag_p99: f64) -> Option<String> {
    let (what, own) = if send_lag_p99 >= loop_lag_p99 {
        ("send lag", send_lag_p99)
    } else {
        ("event-loop lag", loop_lag_p99)
    };
    let allowed = (GENERATOR_SHARE * latency_p99).max(GENERATOR_FLOOR_MS);
    (own > allowed).then(|| {
        format!(
            "generator-bound: loadgen's own {what} p99 is {own:.2} ms, more than {:.0}% of the \
             {latency_p99:.2} ms p99 it reports; the figures measure loadgen as much as the server \
             (give it more cores or --workers, or lower the load)",
            GENERATOR_SHARE * 100.0
        )
    })
}

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

    #[test]
    fn a_generator_delay_under_a_quarter_of_the_p99_is_not_material() {
        assert_eq!(generator_bound(20.0, 4.9, 1.0), None);
        let note = generator_bound(20.0, 5.1, 1.0).expect("a quarter of 20 ms is 5 ms");
        assert!(
            note.starts_with("generator-bound: loadgen's own send lag p99 is 5.10 ms"),
            "{note}"
        );
        let note = generator_bound(20.0, 1.0, 8.0).expect("the receive side counts too");
        assert!(note.contains("event-loop lag p99 is 8.00 ms"), "{note}");
    }

    #[test]
    fn timer_granularity_alone_is_not_generator_bound() {
        // A light run on a busy machine: 3 ms of timer lag in a 4.4 ms p99.
        assert_eq!(generator_bound(4.4, 1.8, 3.1), None);
        assert!(generator_bound(4.4, 5.5, 1.9).is_some());
    }
}
