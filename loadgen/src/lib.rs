//! The batepapo load generator: hundreds of bots measuring broadcast latency.
//!
//! The folders are the architecture. Each uses only the folders before it in this list, so
//! there are no cycles between them:
//! - [`plan`]: what the run will do, decided before the first connection: the [`Config`],
//!   each bot's planned sends, the shards, the source addresses, the clock.
//! - [`flags`]: the command line, which makes a [`Config`] (and a search's settings).
//! - [`recording`]: what each worker records (tokens and their order, histograms, counts, the
//!   completion table, each second), merged exactly at the end, and the CPU and server costs.
//! - [`engine`]: the server (embedded, or `--server`), the controller, the workers (one OS
//!   thread and one single-threaded runtime each), the bots with their chat/1 handshake and
//!   timer, and the reading of what arrives. Latency is measured from the planned send time,
//!   so a stalled server cannot hide its stalls.
//! - [`summary`]: the figures of a run, a merge of shards or a search step, built once, with
//!   the check of whether the generator held up; the JSON report.
//! - [`judging`]: the gates, the verdict and exit code, the comparison with a baseline.
//! - [`output`]: the text table, the percentile table, the interval log, the HTML page and its
//!   SVG charts.
//! - [`search`]: `loadgen search`, which runs the engine step after step to find how much a
//!   server can take within an SLO.

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
