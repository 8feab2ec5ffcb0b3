//! Pass/fail gates: `--threshold 'p99<50ms'`, the default gates, and the metrics both they and
//! the baseline comparison ([`crate::judging::baseline`]) read.

use std::fmt;

use crate::summary::report::Summary;

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

/// A metric: its name, its unit, and how to read it from a summary (`None`: not measured in
/// this run, which fails any threshold on it).
type Metric = (&'static str, Unit, fn(&Summary) -> Option<f64>);

/// Every metric a threshold may name.
const METRICS: &[Metric] = &[
    ("p50", Unit::Millis, |s| Some(s.latency.p50)),
    ("p90", Unit::Millis, |s| Some(s.latency.p90)),
    ("p99", Unit::Millis, |s| Some(s.latency.p99)),
    ("p999", Unit::Millis, |s| Some(s.latency.p999)),
    ("max", Unit::Millis, |s| Some(s.latency.max)),
    ("mean", Unit::Millis, |s| Some(s.latency.mean)),
    ("sent_p99", Unit::Millis, |s| Some(s.latency_from_sent.p99)),
    ("completion_p50", Unit::Millis, |s| Some(s.completion.p50)),
    ("completion_p99", Unit::Millis, |s| Some(s.completion.p99)),
    ("completion_max", Unit::Millis, |s| Some(s.completion.max)),
    ("connect_p99", Unit::Millis, |s| Some(s.connect.p99)),
    ("send_lag_p99", Unit::Millis, |s| {
        Some(s.self_check.send_lag.p99)
    }),
    ("loop_lag_p99", Unit::Millis, |s| {
        Some(s.self_check.loop_lag.p99)
    }),
    // Measured only where arrivals were stamped by the kernel (light workers).
    ("notice_lag_p99", Unit::Millis, |s| {
        let l = &s.self_check.notice_lag;
        (l.count > 0).then_some(l.p99)
    }),
    ("read_lag_p99", Unit::Millis, |s| {
        let l = &s.self_check.read_lag;
        (l.count > 0).then_some(l.p99)
    }),
    ("lost", Unit::Count, |s| Some(s.counts.lost as f64)),
    ("lost_pct", Unit::Number, |s| {
        Some(100.0 * s.counts.lost as f64 / (s.counts.expected.max(1)) as f64)
    }),
    ("duplicated", Unit::Count, |s| {
        Some(s.counts.duplicated as f64)
    }),
    ("out_of_order", Unit::Count, |s| {
        Some(s.counts.out_of_order as f64)
    }),
    ("errors", Unit::Count, |s| {
        Some(s.errors.values().sum::<u64>() as f64)
    }),
    ("delivered", Unit::Count, |s| {
        Some(s.counts.delivered as f64)
    }),
    ("deliveries_per_s", Unit::Number, |s| {
        Some(s.rates.deliveries_per_s)
    }),
    ("achieved_pct", Unit::Number, |s| Some(s.rates.achieved_pct)),
    ("cpu_us_per_delivery", Unit::Number, |s| {
        s.self_check.loadgen_us_per_delivery
    }),
    ("server_cpu_us_per_delivery", Unit::Number, |s| {
        s.server_cost.cpu_us_per_delivery
    }),
    ("server_sends_per_delivery", Unit::Number, |s| {
        s.server_cost.sends_per_delivery
    }),
    ("server_bytes_per_delivery", Unit::Number, |s| {
        s.server_cost.bytes_per_delivery
    }),
    ("server_threads_per_client", Unit::Number, |s| {
        s.server_cost.threads_per_client
    }),
    ("server_rss_kib_per_client", Unit::Number, |s| {
        s.server_cost.rss_kib_per_client
    }),
];

/// What a check on a figure the run could not measure shows; such a check fails.
pub const NOT_MEASURED: &str = "not measured in this run";

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
    /// Whether `v` (in the metric's unit) meets the threshold.
    pub fn holds(&self, v: f64) -> bool {
        self.op.holds(v, self.value)
    }

    /// The threshold as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Its bound in milliseconds, when it is a threshold on a latency.
    pub fn latency_bound_ms(&self) -> Option<f64> {
        (METRICS[self.metric].1 == Unit::Millis).then_some(self.value)
    }

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
    /// Whether its verdict holds even when the generator was the limit: a latency under its
    /// bound, a rate over it, the server's counted costs, duplicates, reordering, errors, no loss.
    pub stands: bool,
}

/// The server's counted costs: socket sends and bytes per delivery, threads and memory per
/// client. A slow generator can only make the server batch more (fewer sends), never cost more,
/// so a failure of one of these is the server's even in a generator-bound run.
pub fn is_counted(metric: &str) -> bool {
    matches!(
        metric,
        "server_sends_per_delivery"
            | "server_bytes_per_delivery"
            | "server_threads_per_client"
            | "server_rss_kib_per_client"
    )
}

/// Which way a generator that is the limit can move a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Push {
    /// It cannot: the server's counted costs, duplicates, reordering, its errors.
    Never,
    /// Only up: latencies (it adds delay), loss (it may read too late for the drain).
    Up,
    /// Only down: what it sends and receives per second.
    Down,
    /// Either way, or it is loadgen's own figure.
    Unknown,
}

fn push(metric: &str) -> Push {
    // Errors are ERR lines the server sent and connections it closed: its decisions, even when
    // it closed a reader the generator made slow (a real client would be cut off the same way).
    if is_counted(metric) || matches!(metric, "duplicated" | "out_of_order" | "errors") {
        return Push::Never;
    }
    match metric {
        "deliveries_per_s" | "delivered" | "achieved_pct" => Push::Down,
        "lost" | "lost_pct" => Push::Up,
        m => match METRICS.iter().find(|x| x.0 == m).map(|x| x.1) {
            Some(Unit::Millis) => Push::Up,
            _ => Push::Unknown,
        },
    }
}

/// Whether a check's verdict holds even when the generator was the limit. Such a generator
/// only adds delay, loss and errors and only takes throughput away, so a latency under its
/// bound is the server's too (the server's own is lower still), as is a rate over its bound;
/// the opposite verdicts cannot be told from the generator's part. The server's counted costs,
/// duplicates, reordering and errors are the server's whatever the generator did.
fn stands(metric: &str, op: Op, bound: f64, pass: bool) -> bool {
    match (push(metric), op) {
        (Push::Never, _) => true,
        (Push::Unknown, _) | (_, Op::Ne) => false,
        (Push::Up, Op::Lt | Op::Le) | (Push::Down, Op::Gt | Op::Ge) => pass,
        (Push::Up, Op::Gt | Op::Ge) | (Push::Down, Op::Lt | Op::Le) => !pass,
        // "lost==0" holding: nothing lost even so. No other equality can be told.
        (Push::Up, Op::Eq) => pass && bound <= 0.0,
        (Push::Down, Op::Eq) => false,
    }
}

/// Whether a check that a metric is at most some value (a baseline's regression limit) holds
/// whatever the generator did, given whether it passed.
pub fn stands_at_most(metric: &str, pass: bool) -> bool {
    stands(metric, Op::Le, f64::NAN, pass)
}

/// Whether a check that a metric is at least some value holds whatever the generator did,
/// given whether it passed.
pub fn stands_at_least(metric: &str, pass: bool) -> bool {
    stands(metric, Op::Ge, f64::NAN, pass)
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = if self.pass { "PASS" } else { "FAIL" };
        write!(f, "{mark} {} (actual {})", self.what, self.actual)
    }
}

/// A metric's value for a summary, by name; `None` when the run did not measure it.
pub fn value(s: &Summary, name: &str) -> Option<f64> {
    METRICS.iter().find(|m| m.0 == name).and_then(|m| (m.2)(s))
}

/// A value shown in the metric's unit.
pub fn show_value(name: &str, v: f64) -> String {
    METRICS
        .iter()
        .position(|m| m.0 == name)
        .map_or(format!("{v}"), |i| show(i, v))
}

fn show(metric: usize, v: f64) -> String {
    match METRICS[metric].1 {
        Unit::Millis => format!("{v:.2} ms"),
        Unit::Count => format!("{v:.0}"),
        Unit::Number if v.abs() < 10.0 => format!("{v:.3}"),
        Unit::Number => format!("{v:.1}"),
    }
}

/// Checks thresholds against a summary.
pub fn check_thresholds(s: &Summary, thresholds: &[Threshold]) -> Vec<Check> {
    thresholds
        .iter()
        .map(|t| {
            let actual = (METRICS[t.metric].2)(s);
            let pass = actual.is_some_and(|v| t.holds(v));
            Check {
                what: format!(
                    "{} ({} {} {})",
                    t.text,
                    METRICS[t.metric].0,
                    t.op.as_str(),
                    show(t.metric, t.value)
                ),
                actual: actual.map_or(NOT_MEASURED.to_string(), |v| show(t.metric, v)),
                pass,
                // A figure the run could not measure fails whatever the generator did.
                stands: actual.is_none_or(|_| stands(METRICS[t.metric].0, t.op, t.value, pass)),
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

#[cfg(test)]
#[path = "gate_tests.rs"]
mod tests;
