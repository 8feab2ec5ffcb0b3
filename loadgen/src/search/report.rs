//! A search as people and programs read it: the answer in one line, a table of every step, the
//! capacity gates' results, and a page with the latency-versus-throughput curve.

use std::fmt::Write;

use crate::judging::gate::Threshold;
use crate::output::svg::{escape, Chart, Line, Style};
use crate::search::steps::{CapacityGate, Search, Stop, Vary, Verdict};

/// The answer in one line.
pub fn answer(s: &Search) -> String {
    let slo = s.slo.join(" and ");
    let load = |l: f64| match s.vary {
        Vary::Rate => format!("{} bots x {l:.3} msg/s", s.base.clients),
        Vary::Clients => format!("{l:.0} bots x {:.3} msg/s", s.base.rate),
    };
    let Some(a) = s.answer_step() else {
        return match &s.stop {
            Stop::NothingHeld if s.steps[0].verdict != Verdict::Pass => format!(
                "capacity: none: the first load ({}) did not hold {slo}",
                load(s.steps[0].load)
            ),
            Stop::NothingHeld => format!(
                "capacity: none: no load from {} held {slo} when run again",
                load(s.steps[0].load)
            ),
            _ => format!("capacity: unknown: no step held {slo} before the search stopped"),
        };
    };
    let at_least = if matches!(s.stop, Stop::Precision | Stop::ReachedTo) {
        ""
    } else {
        "at least "
    };
    let confirmed = match s.stop {
        Stop::Precision => format!("confirmed, within {:.0}%", s.precision * 100.0),
        Stop::ReachedTo => "confirmed; the highest load allowed (--to): raise it".into(),
        _ => "not confirmed: the search was cut short".into(),
    };
    let own = if a.own_delay_ms >= 0.01 {
        format!(
            "; {:.2} ms of that p99 was loadgen's own delay, so the server's margin is larger",
            a.own_delay_ms
        )
    } else {
        String::new()
    };
    let mut line = format!(
        "capacity: {at_least}{:.0} deliveries/s holding {slo}, at {} (p50 {:.2} ms, p99 {:.2} ms; \
         step {}, {confirmed}{own})",
        a.deliveries_per_s,
        load(a.load),
        a.p50_ms,
        a.p99_ms,
        a.number
    );
    if s.capacity.as_ref().is_some_and(|c| c.shared_machine) {
        line.push_str(
            "\nloadgen and the server shared this machine and competed for its cores: on a \
             machine of its own the server takes at least this much",
        );
    }
    line
}

/// Why the search stopped, in a sentence a person can act on.
pub fn stop_sentence(s: &Search) -> String {
    match &s.stop {
        Stop::Precision => format!(
            "stopped: the lowest failing load is within {:.0}% of the best passing one",
            s.precision * 100.0
        ),
        Stop::ReachedTo => "stopped: every load up to --to held".into(),
        Stop::NothingHeld => "stopped: not even the first load held (try a lower --from)".into(),
        Stop::MaxSteps => "stopped: --max-steps ran out before the precision was reached".into(),
        Stop::Interrupted => "stopped: interrupted (Ctrl-C)".into(),
        Stop::Aborted(why) => format!("stopped: a step could not run: {why}"),
        Stop::GeneratorBound(n) => {
            let note = s
                .steps
                .iter()
                .find(|x| x.number == *n)
                .and_then(|x| match &x.verdict {
                    // The measurement only: the advice follows, for a search.
                    Verdict::GeneratorBound(why) => {
                        Some(crate::summary::generator::measurement(why))
                    }
                    _ => None,
                })
                .unwrap_or("");
            format!(
                "stopped at step {n}: at this load the generator is the limit, not the server \
                 ({note}), so the capacity is at least the last load that held. Give loadgen \
                 more cores or more machines: --workers on a bigger machine, or shards on other \
                 machines (--shard I/N, with --server pointing at this server from there)."
            )
        }
    }
}

/// Every step as a table.
pub fn table(s: &Search) -> String {
    let mut out = String::new();
    let what = match s.vary {
        Vary::Rate => format!("msg/s/bot ({} bots)", s.base.clients),
        Vary::Clients => format!("bots ({:.3} msg/s)", s.base.rate),
    };
    writeln!(
        out,
        "{:>4} {:<8} {:>20} {:>14} {:>9} {:>9}  verdict",
        "step", "why", what, "deliveries/s", "p50 ms", "p99 ms"
    )
    .unwrap();
    for x in &s.steps {
        let load = match s.vary {
            Vary::Rate => format!("{:.3}", x.load),
            Vary::Clients => format!("{:.0}", x.load),
        };
        let verdict = match &x.verdict {
            Verdict::Pass => "pass".to_string(),
            Verdict::Fail(why) => format!("FAIL: {why}"),
            Verdict::GeneratorBound(_) => "GENERATOR-BOUND".to_string(),
        };
        writeln!(
            out,
            "{:>4} {:<8} {:>20} {:>14.0} {:>9.2} {:>9.2}  {verdict}",
            x.number,
            format!("{:?}", x.purpose).to_lowercase(),
            load,
            x.deliveries_per_s,
            x.p50_ms,
            x.p99_ms
        )
        .unwrap();
    }
    out
}

/// The capacity gates' results, one line each, and whether all held. Without an answer the
/// capacity is unknown, which fails every gate.
pub fn check_capacity(s: &Search, gates: &[CapacityGate]) -> (Vec<String>, bool) {
    let capacity = s.answer_step().map(|a| a.deliveries_per_s);
    let mut all = true;
    let lines = gates
        .iter()
        .map(|g| {
            let pass = capacity.is_some_and(|c| g.threshold.holds(c));
            all &= pass;
            let actual = capacity.map_or("unknown".to_string(), |c| format!("{c:.0}"));
            format!(
                "{} capacity gate {} (capacity {actual} deliveries/s)",
                if pass { "PASS" } else { "FAIL" },
                g.text
            )
        })
        .collect();
    (lines, all)
}

const PASS: &str = "#2ca02c";
const FAIL: &str = "#d62728";
const P50: &str = "#1f77b4";
const P99: &str = "#ff7f0e";
const SLO: &str = "#7f7f7f";
const BOUND: &str = "#9467bd";

/// The latency-versus-throughput curve: p50 and p99 of each step against its deliveries/s, the
/// SLO's latency bound, and each step marked pass or fail.
pub fn curve(s: &Search) -> Chart {
    let mut measured: Vec<_> = s.steps.iter().filter(|x| x.report.is_some()).collect();
    measured.sort_by(|a, b| a.deliveries_per_s.total_cmp(&b.deliveries_per_s));
    // The lines go through one point per load, its last run (a confirmation, when there is
    // one): two runs of one load joined would draw a vertical stroke. Every run is a mark.
    let last_per_load: Vec<_> = measured
        .iter()
        .filter(|x| {
            !s.steps
                .iter()
                .any(|y| y.load == x.load && y.number > x.number && y.report.is_some())
        })
        .collect();
    let points = |f: fn(&crate::search::steps::Step) -> f64| -> Vec<(f64, f64)> {
        last_per_load
            .iter()
            .map(|x| (x.deliveries_per_s, f(x)))
            .collect()
    };
    let marks = |which: fn(&Verdict) -> bool| -> Vec<(f64, f64)> {
        measured
            .iter()
            .filter(|x| which(&x.verdict))
            .map(|x| (x.deliveries_per_s, x.p99_ms))
            .collect()
    };
    let mut lines = vec![
        Line {
            name: "p50".into(),
            color: P50,
            points: points(|x| x.p50_ms),
            style: Style::Line,
        },
        Line {
            name: "p99".into(),
            color: P99,
            points: points(|x| x.p99_ms),
            style: Style::Line,
        },
        Line {
            name: "pass (at its p99)".into(),
            color: PASS,
            points: marks(|v| *v == Verdict::Pass),
            style: Style::Marks,
        },
        Line {
            name: "fail".into(),
            color: FAIL,
            points: marks(|v| matches!(v, Verdict::Fail(_))),
            style: Style::Marks,
        },
    ];
    let bound = marks(|v| matches!(v, Verdict::GeneratorBound(_)));
    if !bound.is_empty() {
        lines.push(Line {
            name: "generator-bound".into(),
            color: BOUND,
            points: bound,
            style: Style::Marks,
        });
    }
    if let Some(bound) = slo_latency_ms(s) {
        let (x0, x1) = (
            measured.first().map_or(0.0, |x| x.deliveries_per_s),
            measured.last().map_or(1.0, |x| x.deliveries_per_s),
        );
        lines.push(Line {
            name: "SLO".into(),
            color: SLO,
            points: vec![(x0, bound), (x1, bound)],
            style: Style::Dashed,
        });
    }
    Chart {
        title: "Latency against throughput, one point per step".into(),
        x_label: "deliveries per second".into(),
        y_label: "ms (from planned send)".into(),
        x_ticks: vec![],
        x_log: false,
        lines,
    }
}

/// The latency bound of the first SLO on a latency, in ms, for drawing.
fn slo_latency_ms(s: &Search) -> Option<f64> {
    s.slo
        .iter()
        .filter_map(|t| Threshold::parse(t).ok())
        .find_map(|t| t.latency_bound_ms())
}

/// The page: the answer, why it stopped, the gates, the curve and the table of steps.
pub fn html(s: &Search, gate_lines: &[String], verdict: &str) -> String {
    let server = s
        .base
        .server
        .as_deref()
        .unwrap_or("the embedded reference server");
    let mut out = crate::output::html::page_start(
        "loadgen search",
        &format!("loadgen search: {server}"),
        verdict,
    );
    // One paragraph per line of the answer (the shared machine's caveat is its own).
    for line in answer(s).lines() {
        write!(out, "<p><strong>{}</strong></p>", escape(line)).unwrap();
    }
    write!(out, "<p>{}</p>", escape(&stop_sentence(s))).unwrap();
    crate::output::html::gate_list(
        &mut out,
        gate_lines
            .iter()
            .map(|g| (g.starts_with("PASS"), g.clone())),
    );
    write!(out, "<figure>{}</figure>", curve(s).render()).unwrap();
    out.push_str("<h2>Steps</h2><table><tr><th>step</th><th>why</th><th>load</th><th>deliveries/s</th><th>p50 ms</th><th>p99 ms</th><th>verdict</th></tr>");
    for x in &s.steps {
        let (class, verdict) = match &x.verdict {
            Verdict::Pass => ("pass", "pass".to_string()),
            Verdict::Fail(why) => ("fail", format!("fail: {why}")),
            Verdict::GeneratorBound(why) => ("fail", why.clone()),
        };
        write!(
            out,
            "<tr class=\"{class}\"><td>{}</td><td>{:?}</td><td>{}</td><td>{:.0}</td><td>{:.2}</td><td>{:.2}</td><td>{}</td></tr>",
            x.number,
            x.purpose,
            escape(&s.vary.show(x.load)),
            x.deliveries_per_s,
            x.p50_ms,
            x.p99_ms,
            escape(&verdict)
        )
        .unwrap();
    }
    out.push_str("</table></body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::config::Config;
    use crate::search::steps::{Purpose, Step};
    use crate::summary::report::Summary;

    fn step(number: usize, load: f64, verdict: Verdict, purpose: Purpose) -> Step {
        Step {
            number,
            purpose,
            load,
            verdict,
            deliveries_per_s: load * 99.0,
            p50_ms: 1.0,
            p99_ms: 4.0,
            settle_s: None,
            own_delay_ms: 0.0,
            report: Some(Summary::default()),
        }
    }

    fn search(stop: Stop, answer: Option<usize>) -> Search {
        Search {
            vary: Vary::Rate,
            slo: vec!["p99<50ms".into()],
            precision: 0.05,
            base: Config {
                clients: 100,
                ..Config::default()
            },
            steps: vec![
                step(1, 10.0, Verdict::Pass, Purpose::Double),
                step(2, 20.0, Verdict::Fail("p99<50ms".into()), Purpose::Double),
                step(3, 10.0, Verdict::Pass, Purpose::Confirm),
            ],
            stop,
            answer,
            capacity: None,
        }
    }

    #[test]
    fn the_answer_names_the_capacity_the_load_and_the_latency() {
        let line = answer(&search(Stop::Precision, Some(3)));
        assert_eq!(
            line,
            "capacity: 990 deliveries/s holding p99<50ms, at 100 bots x 10.000 msg/s (p50 1.00 \
             ms, p99 4.00 ms; step 3, confirmed, within 5%)"
        );
    }

    #[test]
    fn a_search_cut_short_says_at_least() {
        let line = answer(&search(Stop::GeneratorBound(2), Some(1)));
        assert!(line.starts_with("capacity: at least 990"), "{line}");
        let s = search(Stop::GeneratorBound(2), Some(1));
        assert!(stop_sentence(&s).contains("the generator is the limit, not the server"));
    }

    #[test]
    fn capacity_gates_read_the_answer() {
        let s = search(Stop::Precision, Some(3));
        let gates = crate::search::steps::capacity_gates(&[
            "capacity>=900".into(),
            "capacity>=1000".into(),
        ])
        .unwrap();
        let (lines, all) = check_capacity(&s, &gates);
        assert!(!all);
        assert!(
            lines[0].starts_with("PASS capacity gate capacity>=900"),
            "{lines:?}"
        );
        assert!(lines[1].starts_with("FAIL"), "{lines:?}");
        let (_, none) = check_capacity(&search(Stop::NothingHeld, None), &gates[..1]);
        assert!(!none, "an unknown capacity fails");
    }

    #[test]
    fn the_curve_has_both_percentiles_the_marks_and_the_slo_line() {
        let c = curve(&search(Stop::Precision, Some(3)));
        let names: Vec<&str> = c.lines.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["p50", "p99", "pass (at its p99)", "fail", "SLO"]);
        assert_eq!(c.lines[4].points[0].1, 50.0);
        assert_eq!(
            c.lines[2].points.len(),
            2,
            "both runs of the passing load are marked"
        );
        assert_eq!(c.lines[3].points.len(), 1);
        assert_eq!(c.lines[1].points.len(), 2, "the lines: one point per load");
    }
}
