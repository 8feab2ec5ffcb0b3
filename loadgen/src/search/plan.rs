//! What a search is asked: `loadgen search`'s flags ([`SearchArgs`]) checked into a [`Plan`]
//! (what varies, from where to where, the SLO, the precision), and the capacity gates on its
//! answer.

use crate::flags::search::{SearchArgs, Vary};
use crate::judging::gate::{self, GateError, Threshold};
use crate::plan::config::Config;

/// Settings that cannot make a search.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// A threshold or SLO that does not parse.
    #[error(transparent)]
    Gate(#[from] GateError),
    /// A `--threshold` on something else than the capacity.
    #[error("search thresholds gate the answer: use 'capacity>=N' (deliveries/s), not {0:?}")]
    NotCapacity(String),
    /// Bad `--from`, `--to` or `--precision`.
    #[error("{0}")]
    Range(String),
}

/// The search's settings, checked.
#[derive(Debug, Clone)]
pub struct Plan {
    /// What varies.
    pub vary: Vary,
    /// First load.
    pub from: f64,
    /// Highest load.
    pub to: f64,
    /// Relative width at which bisection stops.
    pub precision: f64,
    /// The SLO.
    pub slo: Vec<Threshold>,
    /// Step budget.
    pub max_steps: usize,
}

impl Plan {
    /// Checks the flags against the run they vary.
    pub fn from_args(a: &SearchArgs, base: &Config) -> Result<Plan, SearchError> {
        let here = match a.vary {
            Vary::Rate => base.rate,
            Vary::Clients => base.clients as f64,
        };
        if base.start_at.is_some() || base.shard.is_sharded() {
            // One wall-clock start cannot serve every step, and a shard cannot judge loss.
            return Err(SearchError::Range(
                "--start-at and --shard are for one run spread over several processes; a \
                 search runs its steps one after another from one process"
                    .into(),
            ));
        }
        let mut from = a.from.unwrap_or(here);
        let mut to = a.to.unwrap_or(from * 1024.0);
        if a.vary == Vary::Clients {
            // Whole bots, never above --to.
            (from, to) = (from.round(), to.floor());
        }
        let min = match a.vary {
            Vary::Rate => f64::MIN_POSITIVE,
            Vary::Clients => 2.0,
        };
        if !(from.is_finite() && from >= min) {
            return Err(SearchError::Range(format!(
                "--from {from} is not a load (at least {})",
                if a.vary == Vary::Clients {
                    "2 bots"
                } else {
                    "more than 0 msg/s"
                }
            )));
        }
        if !(to.is_finite() && to >= from) {
            return Err(SearchError::Range(format!(
                "--to {to} is below --from {from}"
            )));
        }
        let precision = gate::parse_regress(&a.precision)
            .map_err(|_| SearchError::Range(format!("bad --precision {:?}", a.precision)))?;
        if !(precision > 0.0 && precision < 1.0) {
            return Err(SearchError::Range(
                "--precision must be between 0% and 100% (e.g. 5%)".into(),
            ));
        }
        Ok(Plan {
            vary: a.vary,
            from,
            to,
            precision,
            slo: a
                .slo
                .iter()
                .map(|t| Threshold::parse(t))
                .collect::<Result<_, _>>()?,
            max_steps: a.max_steps.max(1),
        })
    }

    /// The run of one step: the base run at this load.
    pub fn step_config(&self, base: &Config, load: f64) -> Config {
        let mut c = base.clone();
        match self.vary {
            Vary::Rate => c.rate = load,
            Vary::Clients => c.clients = load.round() as usize,
        }
        c
    }

    /// A load as the user reads it.
    pub fn show(&self, load: f64) -> String {
        self.vary.show(load)
    }
}

impl Vary {
    /// A load of this kind as the user reads it.
    pub fn show(self, load: f64) -> String {
        match self {
            Vary::Rate => format!("{load:.3} msg/s per bot"),
            Vary::Clients => format!("{load:.0} bots"),
        }
    }
}

/// A gate on the search's answer: the user's text, and the threshold on deliveries per second
/// it means.
#[derive(Debug, Clone)]
pub struct CapacityGate {
    /// As given, e.g. `capacity>=20000`.
    pub text: String,
    /// The same bound on `deliveries_per_s`.
    pub threshold: Threshold,
}

/// Parses `capacity>=N` gates on the answer.
pub fn capacity_gates(texts: &[String]) -> Result<Vec<CapacityGate>, SearchError> {
    texts
        .iter()
        .map(|t| {
            let compact: String = t.chars().filter(|c| !c.is_whitespace()).collect();
            let rest = compact
                .strip_prefix("capacity")
                .filter(|r| r.starts_with(['<', '>', '=', '!']))
                .ok_or_else(|| SearchError::NotCapacity(t.clone()))?;
            Ok(CapacityGate {
                text: compact.clone(),
                threshold: Threshold::parse(&format!("deliveries_per_s{rest}"))?,
            })
        })
        .collect()
}
