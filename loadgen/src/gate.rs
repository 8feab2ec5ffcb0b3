//! Pass/fail gates: `--threshold 'p99<50ms'` and `--baseline old.json --max-regress 20%`.

use std::fmt;

use crate::report::Summary;

/// What a metric measures, which decides the units its threshold may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    /// Milliseconds; thresholds may say us, ms or s.
    Millis,
    /// A plain count.
    Count,
    /// A rate or percentage; a plain number.
    Number,
}

/// A metric: its name, its unit, and how to read it from a summary.
type Metric = (&'static str, Unit, fn(&Summary) -> f64);

/// Every metric a threshold may name.
const METRICS: &[Metric] = &[
    ("p50", Unit::Millis, |s| s.latency.p50),
    ("p90", Unit::Millis, |s| s.latency.p90),
    ("p99", Unit::Millis, |s| s.latency.p99),
    ("p999", Unit::Millis, |s| s.latency.p999),
    ("max", Unit::Millis, |s| s.latency.max),
    ("mean", Unit::Millis, |s| s.latency.mean),
    ("sent_p99", Unit::Millis, |s| s.latency_from_sent.p99),
    ("completion_p50", Unit::Millis, |s| s.completion.p50),
    ("completion_p99", Unit::Millis, |s| s.completion.p99),
    ("completion_max", Unit::Millis, |s| s.completion.max),
    ("connect_p99", Unit::Millis, |s| s.connect.p99),
    ("send_lag_p99", Unit::Millis, |s| s.self_check.send_lag.p99),
    ("loop_lag_p99", Unit::Millis, |s| s.self_check.loop_lag.p99),
    ("lost", Unit::Count, |s| s.counts.lost as f64),
    ("lost_pct", Unit::Number, |s| {
        100.0 * s.counts.lost as f64 / (s.counts.expected.max(1)) as f64
    }),
    ("duplicated", Unit::Count, |s| s.counts.duplicated as f64),
    ("out_of_order", Unit::Count, |s| {
        s.counts.out_of_order as f64
    }),
    ("errors", Unit::Count, |s| {
        s.errors.values().sum::<u64>() as f64
    }),
    ("delivered", Unit::Count, |s| s.counts.delivered as f64),
    ("deliveries_per_s", Unit::Number, |s| {
        s.rates.deliveries_per_s
    }),
    ("achieved_pct", Unit::Number, |s| s.rates.achieved_pct),
    ("cpu_us_per_delivery", Unit::Number, |s| {
        s.self_check.loadgen_us_per_delivery.unwrap_or(0.0)
    }),
];

/// The gates every run has unless a threshold on the same quantity replaces them: a run that
/// loses deliveries or gets errors from the server is not a pass.
pub const DEFAULT_GATES: [(&str, &[&str]); 2] = [
    ("lost==0", &["lost", "lost_pct"]),
    ("errors==0", &["errors"]),
];

/// The user's thresholds plus the default gates they do not replace.
pub fn with_defaults(user: &[Threshold]) -> Vec<Threshold> {
    let mut all = user.to_vec();
    for (text, replaced_by) in DEFAULT_GATES {
        if !user.iter().any(|t| replaced_by.contains(&t.metric_name())) {
            all.push(Threshold::parse(text).expect("default gates parse"));
        }
    }
    all
}

/// The names a threshold may use.
pub fn metric_names() -> Vec<&'static str> {
    METRICS.iter().map(|m| m.0).collect()
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Op {
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
            Op::Eq => a == b,
            Op::Ne => a != b,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }
}

/// A parsed `--threshold`.
#[derive(Debug, Clone)]
pub struct Threshold {
    text: String,
    metric: usize,
    op: Op,
    /// In the metric's unit (ms for latencies).
    value: f64,
}

/// A threshold that cannot be understood; never treated as a pass.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GateError {
    /// No comparison operator.
    #[error("threshold {0:?} has no comparison (use <, <=, >, >=, == or !=)")]
    NoOperator(String),
    /// A metric name that does not exist.
    #[error("unknown metric {name:?} in threshold {text:?}; known metrics: {known}")]
    UnknownMetric {
        /// The name given.
        name: String,
        /// The whole threshold.
        text: String,
        /// Valid names.
        known: String,
    },
    /// A value that is not a number with a suitable unit.
    #[error("bad value {value:?} in threshold {text:?}: {why}")]
    BadValue {
        /// The value given.
        value: String,
        /// The whole threshold.
        text: String,
        /// What is wrong.
        why: &'static str,
    },
    /// A `--max-regress` that is not a percentage.
    #[error("bad --max-regress {0:?}: use a percentage such as 20%")]
    Regress(String),
}

impl Threshold {
    /// The metric's name.
    pub fn metric_name(&self) -> &'static str {
        METRICS[self.metric].0
    }

    /// Parses `metric OP value[unit]`, e.g. `p99<50ms`, `lost==0`, `deliveries_per_s>=1000`.
    pub fn parse(text: &str) -> Result<Threshold, GateError> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let ops = [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<", Op::Lt),
            (">", Op::Gt),
        ];
        let (pos, len, op) = ops
            .iter()
            .filter_map(|(s, op)| compact.find(s).map(|p| (p, s.len(), *op)))
            .min_by_key(|(p, len, _)| (*p, usize::MAX - len))
            .ok_or_else(|| GateError::NoOperator(text.to_string()))?;
        let name = &compact[..pos];
        let raw = &compact[pos + len..];
        let metric =
            METRICS
                .iter()
                .position(|m| m.0 == name)
                .ok_or_else(|| GateError::UnknownMetric {
                    name: name.to_string(),
                    text: text.to_string(),
                    known: metric_names().join(", "),
                })?;
        let bad = |why| GateError::BadValue {
            value: raw.to_string(),
            text: text.to_string(),
            why,
        };
        let value = match METRICS[metric].1 {
            Unit::Millis => {
                let (n, scale) = if let Some(n) = raw.strip_suffix("ms") {
                    (n, 1.0)
                } else if let Some(n) = raw.strip_suffix("us") {
                    (n, 0.001)
                } else if let Some(n) = raw.strip_suffix('s') {
                    (n, 1000.0)
                } else {
                    return Err(bad("a latency needs a unit: us, ms or s"));
                };
                n.parse::<f64>().map_err(|_| bad("not a number"))? * scale
            }
            Unit::Count | Unit::Number => {
                let n = raw.strip_suffix('%').unwrap_or(raw);
                n.parse::<f64>().map_err(|_| bad("not a number"))?
            }
        };
        if !value.is_finite() {
            return Err(bad("not a finite number"));
        }
        Ok(Threshold {
            text: text.to_string(),
            metric,
            op,
            value,
        })
    }
}

/// One gate's verdict.
#[derive(Debug, Clone)]
pub struct Check {
    /// What was checked.
    pub what: String,
    /// The measured value, as text.
    pub actual: String,
    /// Whether it held.
    pub pass: bool,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = if self.pass { "PASS" } else { "FAIL" };
        write!(f, "{mark} {} (actual {})", self.what, self.actual)
    }
}

fn show(metric: usize, v: f64) -> String {
    match METRICS[metric].1 {
        Unit::Millis => format!("{v:.2} ms"),
        Unit::Count => format!("{v:.0}"),
        Unit::Number => format!("{v:.1}"),
    }
}

/// Checks thresholds against a summary.
pub fn check_thresholds(s: &Summary, thresholds: &[Threshold]) -> Vec<Check> {
    thresholds
        .iter()
        .map(|t| {
            let actual = (METRICS[t.metric].2)(s);
            Check {
                what: format!(
                    "{} ({} {} {})",
                    t.text,
                    METRICS[t.metric].0,
                    t.op.as_str(),
                    show(t.metric, t.value)
                ),
                actual: show(t.metric, actual),
                pass: t.op.holds(actual, t.value),
            }
        })
        .collect()
}

/// Parses `20%` (or `20`) into 0.2.
pub fn parse_regress(text: &str) -> Result<f64, GateError> {
    text.trim()
        .trim_end_matches('%')
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| v / 100.0)
        .ok_or_else(|| GateError::Regress(text.to_string()))
}

/// Compares with a baseline: latencies may grow and throughput may shrink by at most
/// `max_regress` (0.2 = 20%). Latencies under 1 ms are compared as 1 ms, so that noise in
/// tiny values does not fail a run.
pub fn check_baseline(s: &Summary, baseline: &Summary, max_regress: f64) -> Vec<Check> {
    let mut checks = Vec::new();
    for name in ["p50", "p99", "p999", "completion_p99"] {
        let i = METRICS
            .iter()
            .position(|m| m.0 == name)
            .expect("known metric");
        let (new, old) = ((METRICS[i].2)(s), (METRICS[i].2)(baseline));
        let limit = old.max(1.0) * (1.0 + max_regress);
        checks.push(Check {
            what: format!(
                "{name} within {:.0}% of baseline {}",
                max_regress * 100.0,
                show(i, old)
            ),
            actual: show(i, new),
            pass: new <= limit,
        });
    }
    let (new, old) = (s.rates.deliveries_per_s, baseline.rates.deliveries_per_s);
    checks.push(Check {
        what: format!(
            "deliveries_per_s within {:.0}% of baseline {old:.0}",
            max_regress * 100.0
        ),
        actual: format!("{new:.0}"),
        pass: new >= old * (1.0 - max_regress),
    });
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_and_errors_are_gated_by_default_unless_replaced() {
        let names = |ts: Vec<Threshold>| ts.iter().map(|t| t.text.clone()).collect::<Vec<_>>();
        assert_eq!(names(with_defaults(&[])), ["lost==0", "errors==0"]);
        let relaxed = [Threshold::parse("lost_pct<1").unwrap()];
        assert_eq!(names(with_defaults(&relaxed)), ["lost_pct<1", "errors==0"]);
        let errors = [Threshold::parse("errors<=5").unwrap()];
        assert_eq!(names(with_defaults(&errors)), ["errors<=5", "lost==0"]);
    }

    #[test]
    fn parses_latency_thresholds_with_units() {
        let t = Threshold::parse("p99<50ms").unwrap();
        assert_eq!((t.op, t.value), (Op::Lt, 50.0));
        assert_eq!(Threshold::parse("max <= 2s").unwrap().value, 2000.0);
        assert_eq!(Threshold::parse("p50<500us").unwrap().value, 0.5);
    }

    #[test]
    fn parses_counts_and_two_char_operators() {
        let t = Threshold::parse("lost==0").unwrap();
        assert_eq!((t.op, t.value), (Op::Eq, 0.0));
        assert_eq!(Threshold::parse("achieved_pct>=95%").unwrap().op, Op::Ge);
        assert_eq!(Threshold::parse("errors!=3").unwrap().op, Op::Ne);
    }

    #[test]
    fn unknown_metric_is_an_error_not_a_pass() {
        assert!(matches!(
            Threshold::parse("p98<50ms"),
            Err(GateError::UnknownMetric { .. })
        ));
    }

    #[test]
    fn latency_without_unit_is_an_error() {
        assert!(matches!(
            Threshold::parse("p99<50"),
            Err(GateError::BadValue { .. })
        ));
    }

    #[test]
    fn missing_operator_is_an_error() {
        assert!(matches!(
            Threshold::parse("p99 50ms"),
            Err(GateError::NoOperator(_))
        ));
    }

    fn summary(p99: f64, lost: u64, deliveries: f64) -> Summary {
        let mut s = Summary::default();
        s.latency.p99 = p99;
        s.counts.lost = lost;
        s.rates.deliveries_per_s = deliveries;
        s
    }

    #[test]
    fn thresholds_pass_and_fail_on_the_measured_value() {
        let s = summary(40.0, 0, 1000.0);
        let ts = [
            Threshold::parse("p99<50ms").unwrap(),
            Threshold::parse("p99<1ms").unwrap(),
            Threshold::parse("lost==0").unwrap(),
        ];
        let verdicts: Vec<bool> = check_thresholds(&s, &ts).iter().map(|c| c.pass).collect();
        assert_eq!(verdicts, [true, false, true]);
    }

    #[test]
    fn baseline_catches_latency_growth_and_throughput_drop() {
        let old = summary(10.0, 0, 1000.0);
        let ok = summary(11.0, 0, 950.0);
        assert!(check_baseline(&ok, &old, 0.2).iter().all(|c| c.pass));
        let slower = summary(13.0, 0, 1000.0);
        assert!(check_baseline(&slower, &old, 0.2).iter().any(|c| !c.pass));
        let thinner = summary(10.0, 0, 700.0);
        assert!(check_baseline(&thinner, &old, 0.2).iter().any(|c| !c.pass));
    }

    #[test]
    fn regress_parses_percentages() {
        assert_eq!(parse_regress("20%").unwrap(), 0.2);
        assert!(parse_regress("lots").is_err());
    }
}
