//! Comparing a run with a baseline report (`--baseline old.json`).
//!
//! Two kinds of figure, two kinds of bound. Latency on a shared machine moves by tens of percent
//! from run to run, so it gets a loose bound (`--max-regress`, meant to catch collapses). What
//! the server spends per delivery is counted, not timed: socket sends and bytes written per
//! delivery, threads and memory per client hardly move at all, and CPU time per delivery moves
//! far less than latency. They get tight bounds (`--max-cost-regress`, `--max-cpu-regress`), so
//! a change that makes every broadcast cost more fails even when latency hides it.
//!
//! Per-delivery costs only compare under the same load, so a baseline made with other settings
//! is refused rather than compared.

use crate::judging::gate::{self, Check, NOT_MEASURED};
use crate::plan::config::Config;
use crate::summary::report::Summary;

/// How far a run may be from its baseline, as fractions (0.2 = 20% worse).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerances {
    /// Latency percentiles and delivery rate.
    pub latency: f64,
    /// Counted costs: sends and bytes per delivery, threads and memory per client.
    pub counted: f64,
    /// Server CPU time per delivery.
    pub cpu: f64,
}

/// The figures compared and the tolerance each one uses.
const LATENCY: [&str; 4] = ["p50", "p99", "p999", "completion_p99"];
const COUNTED: [&str; 4] = [
    "server_sends_per_delivery",
    "server_bytes_per_delivery",
    "server_threads_per_client",
    "server_rss_kib_per_client",
];
const CPU: [&str; 1] = ["server_cpu_us_per_delivery"];

/// A baseline that cannot be compared with this run.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BaselineError {
    /// The load differs, so per-delivery figures would mean different things.
    #[error(
        "the baseline was made with {setting} {old}, this run has {new}; a baseline only \
         compares with a run of the same load (make a new one with the same flags)"
    )]
    Settings {
        /// The setting, as its flag.
        setting: &'static str,
        /// The baseline's value.
        old: String,
        /// This run's.
        new: String,
    },
}

/// Refuses a baseline whose load differs from this run's. Reports without settings (older
/// versions) are compared as they are.
pub fn same_load(run: &Config, baseline: &Config) -> Result<(), BaselineError> {
    let pairs: [(&'static str, String, String); 8] = [
        (
            "--clients",
            baseline.clients.to_string(),
            run.clients.to_string(),
        ),
        ("--rate", baseline.rate.to_string(), run.rate.to_string()),
        (
            "--arrival",
            baseline.arrival.to_string(),
            run.arrival.to_string(),
        ),
        ("--size", baseline.size.to_string(), run.size.to_string()),
        (
            "--private-ratio",
            baseline.private_ratio.to_string(),
            run.private_ratio.to_string(),
        ),
        (
            "--protocol",
            baseline.protocol.to_string(),
            run.protocol.to_string(),
        ),
        (
            "--duration",
            format!("{:?}", baseline.duration),
            format!("{:?}", run.duration),
        ),
        ("--server", server_kind(baseline), server_kind(run)),
    ];
    match pairs.into_iter().find(|(_, old, new)| old != new) {
        Some((setting, old, new)) => Err(BaselineError::Settings { setting, old, new }),
        None => Ok(()),
    }
}

fn server_kind(c: &Config) -> String {
    match &c.server {
        None => "(embedded)".to_string(),
        Some(_) => "(another server)".to_string(),
    }
}

/// Compares a run with its baseline. Latencies under 1 ms are compared as 1 ms, so that noise in
/// tiny values does not fail a run; a cost the baseline has but this run did not measure fails.
pub fn check(s: &Summary, baseline: &Summary, tol: Tolerances) -> Vec<Check> {
    let mut checks = Vec::new();
    let groups: [(&[&str], f64, f64); 3] = [
        (&LATENCY, tol.latency, 1.0),
        (&COUNTED, tol.counted, 0.0),
        (&CPU, tol.cpu, 0.0),
    ];
    for (names, allowed, floor) in groups {
        for &name in names {
            let Some(old) = gate::value(baseline, name) else {
                continue;
            };
            let new = gate::value(s, name);
            let limit = old.max(floor) * (1.0 + allowed);
            let pass = new.is_some_and(|v| v <= limit);
            checks.push(Check {
                what: format!(
                    "{name} within {:.0}% of baseline {} (at most {})",
                    allowed * 100.0,
                    gate::show_value(name, old),
                    gate::show_value(name, limit),
                ),
                actual: new.map_or(NOT_MEASURED.to_string(), |v| gate::show_value(name, v)),
                pass,
                // A figure the run did not measure fails, whatever the generator did.
                stands: new.is_none() || gate::stands_at_most(name, pass),
            });
        }
    }
    let (new, old) = (s.rates.deliveries_per_s, baseline.rates.deliveries_per_s);
    let pass = new >= old * (1.0 - tol.latency);
    checks.push(Check {
        what: format!(
            "deliveries_per_s within {:.0}% of baseline {old:.0}",
            tol.latency * 100.0
        ),
        actual: format!("{new:.0}"),
        pass,
        stands: gate::stands_at_least("deliveries_per_s", pass),
    });
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::schedule::Arrival;

    const TOL: Tolerances = Tolerances {
        latency: 0.2,
        counted: 0.1,
        cpu: 0.5,
    };

    fn summary(p99: f64, deliveries: f64, sends: f64, cpu: f64) -> Summary {
        let mut s = Summary::default();
        s.latency.p99 = p99;
        s.rates.deliveries_per_s = deliveries;
        s.server_cost.sends_per_delivery = Some(sends);
        s.server_cost.cpu_us_per_delivery = Some(cpu);
        s
    }

    fn failed(s: &Summary, old: &Summary) -> Vec<String> {
        check(s, old, TOL)
            .into_iter()
            .filter(|c| !c.pass)
            .map(|c| c.what.split(' ').next().unwrap().to_string())
            .collect()
    }

    #[test]
    fn a_run_like_its_baseline_passes() {
        let old = summary(10.0, 1000.0, 0.1, 2.0);
        assert!(failed(&summary(11.0, 950.0, 0.105, 2.5), &old).is_empty());
    }

    #[test]
    fn latency_growth_and_throughput_drop_fail() {
        let old = summary(10.0, 1000.0, 0.1, 2.0);
        assert_eq!(failed(&summary(13.0, 1000.0, 0.1, 2.0), &old), ["p99"]);
        assert_eq!(
            failed(&summary(10.0, 700.0, 0.1, 2.0), &old),
            ["deliveries_per_s"]
        );
    }

    #[test]
    fn more_sends_per_delivery_fail_even_when_latency_is_fine() {
        let old = summary(10.0, 1000.0, 0.1, 2.0);
        assert_eq!(
            failed(&summary(9.0, 1000.0, 1.0, 2.0), &old),
            ["server_sends_per_delivery"]
        );
    }

    #[test]
    fn more_cpu_per_delivery_than_its_tolerance_fails() {
        let old = summary(10.0, 1000.0, 0.1, 2.0);
        assert_eq!(
            failed(&summary(10.0, 1000.0, 0.1, 3.5), &old),
            ["server_cpu_us_per_delivery"]
        );
    }

    #[test]
    fn a_cost_the_baseline_has_and_the_run_lacks_fails() {
        let old = summary(10.0, 1000.0, 0.1, 2.0);
        let mut new = summary(10.0, 1000.0, 0.1, 2.0);
        new.server_cost.sends_per_delivery = None;
        assert_eq!(failed(&new, &old), ["server_sends_per_delivery"]);
    }

    #[test]
    fn a_cost_the_baseline_lacks_is_not_compared() {
        let mut old = summary(10.0, 1000.0, 0.1, 2.0);
        old.server_cost.cpu_us_per_delivery = None;
        let names: Vec<String> = check(&summary(10.0, 1000.0, 0.1, 9.0), &old, TOL)
            .into_iter()
            .map(|c| c.what)
            .collect();
        assert!(
            !names.iter().any(|n| n.starts_with("server_cpu")),
            "{names:?}"
        );
    }

    #[test]
    fn a_baseline_of_another_load_is_refused() {
        let base = Config::default();
        assert_eq!(same_load(&base, &base.clone()), Ok(()));
        let burst = Config {
            arrival: Arrival::Burst,
            ..Config::default()
        };
        let err = same_load(&burst, &base).unwrap_err();
        assert!(err.to_string().contains("--arrival fixed"), "{err}");
        let elsewhere = Config {
            server: Some("127.0.0.1:7777".into()),
            ..Config::default()
        };
        assert!(same_load(&elsewhere, &base).is_err());
        let seeded = Config {
            seed: 9,
            workers: Some(2),
            ..Config::default()
        };
        assert_eq!(
            same_load(&seeded, &base),
            Ok(()),
            "seed and workers may differ"
        );
    }
}
