//! A submission's build step (`javac *.java`, `gcc -o server server.c`), run once before it is
//! graded. Its failure is the student's first finding, with the compiler's own words, instead
//! of a server that never starts.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a build may take.
pub const BUILD_LIMIT: Duration = Duration::from_secs(300);

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The command could not be run at all.
    #[error("your server could not be built: cannot run {command:?}: {source}")]
    Start {
        /// The command.
        command: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// It ended with a failure.
    #[error("your server did not compile: {command:?} failed ({status}); it said:\n{output}")]
    Failed {
        /// The command.
        command: String,
        /// How it ended.
        status: String,
        /// The end of what it printed (stdout and stderr together).
        output: String,
    },
    /// It did not end in time.
    #[error("your server could not be built: {command:?} did not end within {} s", BUILD_LIMIT.as_secs())]
    TooLong {
        /// The command.
        command: String,
    },
}

/// Runs `command` with `sh -c` in `dir`; its output is kept for the failure.
pub fn run(command: &str, dir: Option<&Path>) -> Result<(), BuildError> {
    use std::os::unix::process::CommandExt;
    let mut sh = Command::new("sh");
    sh.arg("-c").arg(format!("exec 2>&1; {command}"));
    if let Some(dir) = dir {
        sh.current_dir(dir);
    }
    let mut child = sh
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|source| BuildError::Start {
            command: command.to_string(),
            source,
        })?;
    let mut out = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = out.read_to_end(&mut text);
        text
    });
    let deadline = Instant::now() + BUILD_LIMIT;
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        if Instant::now() >= deadline {
            crate::spawn::kill_group(&mut child);
            return Err(BuildError::TooLong {
                command: command.to_string(),
            });
        }
        // A build has no output to wait on but its end.
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = reader.join().unwrap_or_default();
    if status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().collect();
    let output = lines[lines.len().saturating_sub(30)..].join("\n");
    Err(BuildError::Failed {
        command: command.to_string(),
        status: status.to_string(),
        output,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_build_that_works_is_quiet() {
        run("true && echo built", None).unwrap();
    }

    #[test]
    fn a_failed_build_says_what_the_compiler_said() {
        let e = run("echo 'server.c:3: error: expected ;' >&2; exit 1", None).unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with("your server did not compile"), "{text}");
        assert!(text.contains("server.c:3: error: expected ;"), "{text}");
    }

    #[test]
    fn it_runs_in_the_submissions_folder() {
        let dir = std::env::temp_dir();
        let e = run("test \"$(pwd)\" = /nonexistent", Some(&dir)).unwrap_err();
        assert!(matches!(e, BuildError::Failed { .. }));
    }
}
