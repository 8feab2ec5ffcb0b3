//! Grading the client half of the assignment: a student's window, driven headless.
//!
//! The client runs as handed in (`--client 'python3 cliente.py'`) on a virtual display
//! ([`display`]), with the grader's hook loaded by Python before the student's code
//! (`sitecustomize.py`): the hook records every pop-up and answers it, answers the name
//! questions (`simpledialog.askstring`, `input()`), sends every TCP connection to the grader's
//! stand-in server ([`server`]) whatever address the code has written in (or refuses it, as
//! when no server runs), and lets the grader type, click and read the window through a control
//! connection. Each case starts a fresh client ([`session`]) and judges what the client sent
//! the server and what its window showed ([`cases`]); the results are the same
//! [`crate::runner::CaseResult`]s as a server's, in every report format and language.
//!
//! The hook drives tkinter, the toolkit of the assignment's own client. A client it cannot
//! attach to (not Python, or Python started without `site`) is not graded, and the report says
//! why instead of failing every case.

pub mod cases;
pub mod display;
pub mod server;
pub mod session;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::report::Report;
use crate::runner::CaseResult;
use crate::target::Target;

/// Why a client could not be graded at all.
#[derive(Debug, thiserror::Error)]
pub enum GuiError {
    /// A program the grader needs is not installed.
    #[error("{0} is needed to grade a window and could not be run")]
    Missing(&'static str, #[source] std::io::Error),
    /// Xvfb did not start.
    #[error("the virtual display (Xvfb) did not start")]
    NoDisplay,
    /// The client could not be run.
    #[error("cannot run {0:?}")]
    Start(String, #[source] std::io::Error),
    /// The hook did not attach.
    #[error("the grader could not attach to the client: {why}{}", if stderr.is_empty() { String::new() } else { format!("; its stderr ends: {stderr}") })]
    NoHook {
        /// Why.
        why: String,
        /// The end of the client's stderr.
        stderr: String,
    },
    /// Any other I/O failure of the grader's own.
    #[error(transparent)]
    Io(std::io::Error),
}

/// A client to grade, as every case runs it.
#[derive(Debug)]
pub struct GuiTarget {
    /// The command that starts it, as handed in.
    pub command: String,
    /// Its folder.
    pub dir: Option<PathBuf>,
    /// The virtual display's name.
    pub display: String,
    /// The folder holding the hook.
    pub hook_dir: PathBuf,
}

/// Grades the client `command` (run from `dir`) on every client case, one after another.
pub fn grade(
    command: &str,
    dir: Option<PathBuf>,
    base: &Target,
    lang: crate::i18n::Lang,
    progress: &(dyn Fn(&CaseResult) + Sync),
) -> Result<Report, GuiError> {
    let started = Instant::now();
    let display = display::Display::start()?;
    let hook_dir = session::write_hook().map_err(GuiError::Io)?;
    let gui = Arc::new(GuiTarget {
        command: command.to_string(),
        dir,
        display: display.name.clone(),
        hook_dir,
    });
    // The hook must attach before any case is worth running.
    let probe = session::Session::start(
        command,
        gui.dir.as_deref(),
        &gui.display,
        &gui.hook_dir,
        session::Connect::Serve,
        &["probe"],
        base.scaled(Duration::from_secs(15)),
    )?;
    drop(probe);
    let target = Target {
        gui: Some(gui),
        ..base.clone()
    };
    let mut results = Vec::new();
    for case in cases::cases() {
        let r = crate::runner::run_case(&case, &target);
        progress(&r);
        results.push(r);
    }
    Ok(Report {
        server: command.to_string(),
        setup: None,
        seconds: started.elapsed().as_secs_f64(),
        results,
        findings: Vec::new(),
        lang,
    })
}
