//! The context a case runs in: its target, unique names, and the transcript of every client.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;

use crate::target::Target;

/// One line of a transcript.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Seconds since the case started.
    pub at: f64,
    /// Which client.
    pub client: String,
    /// `>>` sent, `<<` received, `--` an event.
    pub dir: &'static str,
    /// The line, with escapes for anything unprintable.
    pub text: String,
}

/// Everything every client of a case sent and received, in time order.
#[derive(Clone)]
pub struct Transcript {
    started: Instant,
    entries: Arc<Mutex<Vec<Entry>>>,
}

impl Default for Transcript {
    fn default() -> Self {
        Transcript::new()
    }
}

impl Transcript {
    /// An empty transcript whose clock starts now.
    pub fn new() -> Transcript {
        Transcript {
            started: Instant::now(),
            entries: Arc::default(),
        }
    }

    /// Records one entry.
    pub fn record(&self, client: &str, dir: &'static str, text: &str) {
        let entry = Entry {
            at: self.started.elapsed().as_secs_f64(),
            client: client.to_string(),
            dir,
            text: text.escape_debug().to_string(),
        };
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(entry);
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of the entries so far.
    pub fn entries(&self) -> Vec<Entry> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

static RUN_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The state of one running case: its target, its unique names, its transcript.
pub struct Ctx {
    /// Where the server is.
    pub target: Target,
    /// The transcript of every client of this case.
    pub transcript: Transcript,
    suffix: String,
    names: Arc<Mutex<Vec<String>>>,
}

impl Ctx {
    /// A fresh context; names it makes are unique across cases and runs.
    pub fn new(target: Target) -> Ctx {
        let n = RUN_COUNTER.fetch_add(1, Ordering::Relaxed);
        let seed = std::process::id() as u64
            ^ (std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_micros() as u64)
                .unwrap_or(0)
                & 0xffff_ffff);
        Ctx {
            target,
            transcript: Transcript::new(),
            suffix: format!("{:x}{n:x}", seed % 0xfffff),
            names: Arc::default(),
        }
    }

    /// The real name for a client label: unique, so cases can share one server. It is also
    /// registered as relevant, so lines about it are never skipped as another case's noise.
    pub fn name(&self, label: &str) -> String {
        let name = format!("{label}_{}", self.suffix);
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        let key = name.to_lowercase();
        if !names.contains(&key) {
            names.push(key);
        }
        name
    }

    /// Another handle on this case's context, for a thread of the same case.
    pub fn share(&self) -> Ctx {
        Ctx {
            target: self.target.clone(),
            transcript: self.transcript.clone(),
            suffix: self.suffix.clone(),
            names: self.names.clone(),
        }
    }

    /// The names (lowercased) that this case's clients use.
    pub fn relevant_names(&self) -> Arc<Mutex<Vec<String>>> {
        self.names.clone()
    }
}
