//! The batch file: its format, and reading it into values before any server is graded.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::plain::{Framing, Protocol};

/// Settings a batch file may give for all servers or for one.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Settings {
    /// Time for one server in all.
    pub time_limit: Option<String>,
    /// The server's registration timeout.
    pub name_timeout: Option<String>,
    /// The server's stall deadline.
    pub stall_timeout: Option<String>,
    /// The server's line limit.
    pub max_line: Option<usize>,
    /// What the server speaks: `chat1` (the default) or `plain`.
    pub protocol: Option<Protocol>,
    /// With `plain`: `lines` or `writes`, instead of detecting it.
    pub framing: Option<Framing>,
    /// With `plain`: the line a user sends to leave (`{name}` for its name).
    pub quit_line: Option<String>,
    /// A command run once, in the server's folder, before it is graded (`javac *.java`).
    pub build: Option<String>,
    /// The language of the student's report: `en` (the default) or `pt-BR`.
    pub lang: Option<String>,
}

/// One server to grade.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Entry {
    /// Its name on the scoreboard (and its report's file name).
    pub label: String,
    /// A command that starts it.
    pub spawn: Option<String>,
    /// The command's working directory, relative to the batch file.
    pub dir: Option<PathBuf>,
    /// Or the address of a running server.
    pub address: Option<String>,
    /// A command that starts the student's client (a window), graded beside the server.
    pub client: Option<String>,
    /// The client command's working directory, relative to the batch file (default: `dir`).
    pub client_dir: Option<PathBuf>,
    /// Its own settings, over the defaults.
    #[serde(flatten)]
    pub settings: Settings,
    /// Its settings and the defaults, read into values by [`load`].
    #[serde(skip)]
    pub limits: Limits,
}

/// One server's settings as values.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Time for the whole server.
    pub time_limit: Duration,
    /// The server's registration timeout.
    pub name_timeout: Duration,
    /// The server's stall deadline.
    pub stall_timeout: Duration,
    /// The server's line limit.
    pub max_line: usize,
    /// What the server speaks.
    pub protocol: Protocol,
    /// With `plain`: forced framing and the quit line.
    pub plain: crate::plain::Settings,
    /// The build step, if any.
    pub build: Option<String>,
    /// The language of its report.
    pub lang: crate::i18n::Lang,
}

impl Default for Limits {
    fn default() -> Self {
        // The grader's own defaults for one server.
        let target = crate::target::Target::new(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
        Limits {
            time_limit: Duration::from_secs(300),
            name_timeout: target.name_timeout,
            stall_timeout: target.stall_timeout,
            max_line: target.max_line,
            protocol: Protocol::Chat1,
            plain: target.plain,
            build: None,
            lang: crate::i18n::Lang::En,
        }
    }
}

impl Settings {
    /// These settings over `defaults`, over the built-in limits.
    fn resolve(&self, defaults: &Settings) -> Result<Limits, String> {
        let base = Limits::default();
        let duration = |own: &Option<String>, all: &Option<String>, fallback| match own
            .as_ref()
            .or(all.as_ref())
        {
            Some(text) => batepapo_units::parse_duration(text).map_err(|e| e.to_string()),
            None => Ok(fallback),
        };
        Ok(Limits {
            time_limit: duration(&self.time_limit, &defaults.time_limit, base.time_limit)?,
            name_timeout: duration(
                &self.name_timeout,
                &defaults.name_timeout,
                base.name_timeout,
            )?,
            stall_timeout: duration(
                &self.stall_timeout,
                &defaults.stall_timeout,
                base.stall_timeout,
            )?,
            max_line: self.max_line.or(defaults.max_line).unwrap_or(base.max_line),
            protocol: self.protocol.or(defaults.protocol).unwrap_or_default(),
            plain: crate::plain::Settings {
                framing: self.framing.or(defaults.framing),
                quit_line: self.quit_line.clone().or(defaults.quit_line.clone()),
            },
            build: self.build.clone().or(defaults.build.clone()),
            lang: match self.lang.as_ref().or(defaults.lang.as_ref()) {
                Some(l) => l
                    .parse()
                    .map_err(|e: crate::i18n::UnknownLang| e.to_string())?,
                None => base.lang,
            },
        })
    }
}

/// A batch file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchFile {
    /// Settings for every server.
    #[serde(default)]
    pub defaults: Settings,
    /// The servers, graded in this order.
    #[serde(rename = "server")]
    pub servers: Vec<Entry>,
}

/// A batch file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// Unreadable.
    #[error("cannot read {0}")]
    Read(String, #[source] std::io::Error),
    /// Not a batch file.
    #[error("{0}: {1}")]
    Parse(String, #[source] toml::de::Error),
    /// Something an entry says that cannot work.
    #[error("{file}: server {label:?}: {why}")]
    Entry {
        /// The file.
        file: String,
        /// The entry.
        label: String,
        /// What is wrong.
        why: String,
    },
}

/// Reads and checks a batch file, every server's settings included, before any is graded;
/// relative `dir`s become relative to the file.
pub fn load(path: &Path) -> Result<BatchFile, BatchError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| BatchError::Read(file.clone(), e))?;
    let mut batch: BatchFile =
        toml::from_str(&text).map_err(|e| BatchError::Parse(file.clone(), e))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut labels = std::collections::HashSet::new();
    for e in &mut batch.servers {
        let bad = |why: &str| BatchError::Entry {
            file: file.clone(),
            label: e.label.clone(),
            why: why.to_string(),
        };
        if e.spawn.is_some() && e.address.is_some() {
            return Err(bad(
                "give one of spawn = \"COMMAND\" or address = \"HOST:PORT\", not both",
            ));
        }
        if e.spawn.is_none() && e.address.is_none() && e.client.is_none() {
            return Err(bad(
                "nothing to grade: give spawn = \"COMMAND\" or address = \"HOST:PORT\" for \
                 a server, client = \"COMMAND\" for a client, or both",
            ));
        }
        if e.dir.is_some() && e.spawn.is_none() && e.client.is_none() {
            return Err(bad("dir only applies to spawn and client"));
        }
        if e.client_dir.is_some() && e.client.is_none() {
            return Err(bad("client-dir only applies to client"));
        }
        if e.client.as_deref().is_some_and(|c| c.trim().is_empty()) {
            return Err(bad("client is empty: how does the student's client start?"));
        }
        if e.label.is_empty() || e.label.contains(['/', '\\']) || e.label.starts_with('.') {
            return Err(bad(
                "a label must be non-empty, without / or \\, and not start with .",
            ));
        }
        if !labels.insert(e.label.clone()) {
            return Err(bad("two servers have this label"));
        }
        e.limits = e
            .settings
            .resolve(&batch.defaults)
            .map_err(|why| bad(&why))?;
        if let Some(dir) = &e.dir {
            e.dir = Some(base.join(dir));
        }
        e.client_dir = match &e.client_dir {
            Some(dir) => Some(base.join(dir)),
            None => e.dir.clone(),
        };
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<BatchFile, BatchError> {
        let path = std::env::temp_dir().join(format!(
            "batch-unit-{}-{}.toml",
            std::process::id(),
            text.len()
        ));
        std::fs::write(&path, text).unwrap();
        let loaded = load(&path);
        let _ = std::fs::remove_file(&path);
        loaded
    }

    #[test]
    fn settings_resolve_over_the_defaults_at_load() {
        let b = load_text(
            "[defaults]\nname-timeout = \"5s\"\nmax-line = 1024\n\n\
             [[server]]\nlabel = \"a\"\naddress = \"127.0.0.1:1\"\nname-timeout = \"2s\"\n\n\
             [[server]]\nlabel = \"b\"\naddress = \"127.0.0.1:2\"\n",
        )
        .unwrap();
        let (a, b) = (b.servers[0].limits.clone(), b.servers[1].limits.clone());
        assert_eq!((a.name_timeout, a.max_line), (Duration::from_secs(2), 1024));
        assert_eq!((b.name_timeout, b.max_line), (Duration::from_secs(5), 1024));
        assert_eq!(b.time_limit, Limits::default().time_limit);
    }

    #[test]
    fn a_client_runs_from_the_server_folder_unless_it_names_its_own() {
        let b = load_text(
            "[[server]]\nlabel = \"a\"\nspawn = \"python3 s.py\"\ndir = \"ana\"\n\
             client = \"python3 c.py\"\n\n\
             [[server]]\nlabel = \"b\"\nclient = \"python3 c.py\"\nclient-dir = \"bruno/cliente\"\n",
        )
        .unwrap();
        let folder = |p: &Option<PathBuf>| p.as_ref().map(|d| d.ends_with("ana"));
        assert_eq!(folder(&b.servers[0].client_dir), Some(true));
        assert!(b.servers[1]
            .client_dir
            .as_ref()
            .is_some_and(|d| d.ends_with("bruno/cliente")));
    }

    #[test]
    fn an_entry_with_nothing_to_grade_is_refused() {
        let err = load_text("[[server]]\nlabel = \"x\"\ndir = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("server \"x\": nothing to grade"), "{err}");
    }

    #[test]
    fn a_client_dir_without_a_client_is_refused() {
        let err =
            load_text("[[server]]\nlabel = \"x\"\naddress = \"127.0.0.1:1\"\nclient-dir = \"c\"\n")
                .unwrap_err()
                .to_string();
        assert!(err.contains("client-dir only applies to client"), "{err}");
    }

    #[test]
    fn a_bad_duration_in_the_last_server_is_refused_before_any_is_graded() {
        let err = load_text(
            "[[server]]\nlabel = \"ok\"\naddress = \"127.0.0.1:1\"\n\n\
             [[server]]\nlabel = \"late\"\naddress = \"127.0.0.1:2\"\ntime-limit = \"1e20\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("server \"late\": invalid duration \"1e20\""),
            "{err}"
        );
    }
}
