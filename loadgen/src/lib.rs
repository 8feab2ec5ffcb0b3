//! The batepapo load generator: hundreds of bots measuring broadcast latency.
//!
//! The folders are the architecture, in the order data flows through a run:
//! - [`flags`]: the command line, which makes a [`Config`].
//! - [`plan`]: what the run will do, decided before the first connection: the [`Config`], each
//!   bot's planned sends, the shards, the source addresses, the clock, the server.
//! - [`engine`]: the controller, the workers (one OS thread and one single-threaded runtime
//!   each), the bots and their timer, and the reading of what arrives. Latency is measured from
//!   the planned send time, so a stalled server cannot hide its stalls.
//! - [`recording`]: what each worker records (histograms, counts, the completion table, each
//!   second), merged exactly at the end, and the CPU and server costs.
//! - [`summary`]: the figures of a run, a merge of shards or a search step, built once; the
//!   JSON report.
//! - [`judging`]: whether the generator held up, the gates, the verdict and exit code, the
//!   comparison with a baseline.
//! - [`output`]: the text table, the percentile table, the interval log, the HTML page and its
//!   SVG charts.
//! - [`search`]: `loadgen search`, which runs the engine step after step to find how much a
//!   server can take within an SLO.
//!
//! Nothing flows back: a later folder uses the earlier ones, never the reverse (the engine
//! records into [`recording`]; [`search`] drives the engine and reads [`summary`]).

pub mod engine;
pub mod flags;
pub mod judging;
pub mod output;
pub mod plan;
pub mod recording;
pub mod search;
pub mod summary;

pub use plan::config::{Config, Protocol};
pub use summary::report::Summary;
