//! `conformance batch FILE.toml`: grade many servers, `--jobs` at once, each isolated and
//! bounded in time, and write a grade book plus every server's full report.
//!
//! ```toml
//! [defaults]                 # optional; every key may also be set per server
//! time-limit = "5m"          # for one server: start, preflight and every case
//! name-timeout = "60s"
//! stall-timeout = "10s"
//! max-line = 4096
//!
//! [[server]]
//! label = "ana"
//! spawn = "python3 server.py"   # gets --listen 127.0.0.1:0, must print "listening on ADDR"
//! dir = "submissions/ana"       # its working directory (relative to the batch file)
//!
//! [[server]]
//! label = "bruno"
//! address = "127.0.0.1:7001"    # or a server already running
//!
//! [[server]]
//! label = "carla"
//! spawn = "python3 server.py"  # as handed in: the port in its code is found
//! protocol = "plain"            # free text, graded by meaning (framing detected, or framing = "writes")
//! quit-line = "{name} saiu do chat."
//! build = "gcc -o server server.c"  # run once first; a failure is DID NOT BUILD
//!
//! [[server]]
//! label = "davi"
//! spawn = "python3 servidor.py"
//! protocol = "plain"
//! dir = "submissions/davi"
//! client = "python3 cliente.py"  # the student's window too, graded beside the server
//! ```
//!
//! A server that does not start, does not speak chat/1, crashes during the run or passes its
//! time limit gets that verdict, and the batch goes on with the next.
//!
//! Parts: [`file`] reads and checks the batch file (every entry's settings into values before
//! any server is graded); [`grade`] grades the servers (`--jobs` at once) and gives each its
//! verdict; [`client`] grades an entry's client after its server and adds its points;
//! [`points`] turns a report into points per requirement with the rubric;
//! [`scoreboard`] renders the grade book (Markdown, spreadsheet-safe CSV); [`write`] puts it
//! and every server's reports into the output folder.

pub mod client;
pub mod file;
pub mod grade;
pub mod points;
pub mod scoreboard;
pub mod write;

pub use file::{load, BatchError, BatchFile, Entry, Limits, Settings};
pub use grade::{run, Graded, Options, Verdict};
pub use write::write;
