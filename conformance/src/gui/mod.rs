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
pub mod discover;
pub mod display;
pub mod drive;
pub mod server;
pub mod session;
pub mod socks;
pub mod x11;
pub mod x11_session;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::i18n::Text;
use crate::report::Report;
use crate::runner::CaseResult;
use crate::t;
use crate::target::Target;

/// Why a client could not be graded at all; [`GuiError::text`] says it in the student's
/// language, and `Display` in English.
#[derive(Debug)]
pub enum GuiError {
    /// A program the grader needs is not installed.
    Missing(&'static str, std::io::Error),
    /// Xvfb did not start.
    NoDisplay,
    /// The client could not be run.
    Start(String, std::io::Error),
    /// The hook did not attach.
    NoHook {
        /// Why.
        why: Unattached,
        /// The end of the client's stderr.
        stderr: String,
        /// Whether the X11 level, the fallback, lacks its tools too.
        no_x11: bool,
    },
    /// Driven at the X11 level, it showed no window at all.
    NoWindow(u64),
    /// Its connection cannot be redirected, and the address it connects to cannot be served.
    CannotServe(std::net::SocketAddr, std::io::Error),
    /// It exited before showing any window.
    Exited {
        /// Its exit status.
        status: String,
        /// The end of its stderr.
        stderr: String,
    },
    /// Any other I/O failure of the grader's own.
    Io(std::io::Error),
}

/// Why the hook never attached to a client.
#[derive(Debug, Clone)]
pub enum Unattached {
    /// The client exited first (its exit status).
    Exited(String),
    /// Not within this many seconds.
    Timeout(u64),
    /// The grader's own side failed.
    Failed(String),
}

impl std::fmt::Display for GuiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.text())
    }
}

impl std::error::Error for GuiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            GuiError::Missing(_, e)
            | GuiError::Start(_, e)
            | GuiError::Io(e)
            | GuiError::CannotServe(_, e) => Some(e),
            _ => None,
        }
    }
}

impl GuiError {
    /// Why the client could not be graded, as a student reads it.
    pub fn text(&self) -> Text {
        use crate::i18n::catalog;
        match self {
            GuiError::Missing(program, _) => t!(catalog::GUI_MISSING, *program),
            GuiError::NoDisplay => catalog::GUI_NO_DISPLAY.text(),
            GuiError::Start(command, e) => t!(
                catalog::GUI_CANNOT_RUN,
                format!("{command:?}"),
                crate::plain::peer::io_error(e)
            ),
            GuiError::NoHook {
                why,
                stderr,
                no_x11,
            } => {
                let why = match why {
                    Unattached::Exited(status) => t!(catalog::HOOK_EXITED, status.as_str()),
                    Unattached::Timeout(s) => t!(catalog::HOOK_TIMEOUT, *s),
                    Unattached::Failed(e) => Text::data(e.as_str()),
                };
                let no_x11 = if *no_x11 {
                    catalog::HOOK_NO_X11.text()
                } else {
                    Text::data("")
                };
                let stderr = if stderr.is_empty() {
                    Text::data("")
                } else {
                    t!(catalog::C_STDERR, stderr.as_str())
                };
                t!(catalog::GUI_NO_HOOK, why, no_x11, stderr)
            }
            GuiError::NoWindow(s) => t!(catalog::GUI_NO_WINDOW, *s),
            GuiError::CannotServe(addr, e) => t!(
                catalog::GUI_CANNOT_SERVE,
                *addr,
                crate::plain::peer::io_error(e)
            ),
            GuiError::Exited { status, stderr } => {
                let stderr = if stderr.is_empty() {
                    Text::data("")
                } else {
                    t!(catalog::C_STDERR, stderr.as_str())
                };
                t!(catalog::GUI_EXITED, status.as_str(), stderr)
            }
            GuiError::Io(e) => t!(catalog::GUI_OWN_ERROR, e.to_string()),
        }
    }
}

/// How the grader drives a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Through the hook in a tkinter client.
    Toolkit,
    /// With keys, clicks and OCR, for any toolkit.
    X11,
}

/// A client to grade, as every case runs it.
#[derive(Debug)]
pub struct GuiTarget {
    /// How it is driven.
    pub level: Level,
    /// The virtual display's screen image.
    pub screen: PathBuf,
    /// The command that starts it, as handed in.
    pub command: String,
    /// Its folder.
    pub dir: Option<PathBuf>,
    /// The virtual display's name.
    pub display: String,
    /// The folder holding the hook.
    pub hook_dir: PathBuf,
    /// At the X11 level, where the client connects when nothing redirects it (not a JVM): the
    /// stand-in server listens there.
    pub serve_at: Option<std::net::SocketAddr>,
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
    // The hook must attach, and a tkinter window come up, for the toolkit level; otherwise the
    // X11 level, where it can be had.
    let patience = base.scaled(Duration::from_secs(15));
    let shows_a_window = || -> Result<bool, GuiError> {
        let mut probe = x11_session::X11Session::start(
            command,
            dir.as_deref(),
            (&display.name, &display.screen),
            session::Connect::Serve,
            &["probe"],
            None,
        )?;
        Ok(probe.shows_a_window(patience))
    };
    let level = match session::Session::start(
        command,
        dir.as_deref(),
        &display.name,
        &hook_dir,
        session::Connect::Serve,
        &["probe"],
        patience,
    ) {
        Ok(mut probe) => {
            // A Python program whose window is not tkinter's (Qt, GTK, a program it starts in
            // its place) is driven at the X11 level when it shows one there.
            let tk = probe
                .wait_event(patience, |v| v["ev"] == "window")
                .is_some();
            if !tk {
                // The hook's connection ends when the program does: a moment for its status.
                let end = Instant::now() + Duration::from_secs(2);
                while probe.exited().is_none() && Instant::now() < end {
                    std::thread::sleep(Duration::from_millis(50));
                }
                if let Some(status) = probe.exited() {
                    return Err(GuiError::Exited {
                        status: status.to_string(),
                        stderr: probe.stderr_end(),
                    });
                }
            }
            drop(probe);
            if !tk && x11_tools() && shows_a_window()? {
                Level::X11
            } else {
                Level::Toolkit
            }
        }
        Err(GuiError::NoHook { why, stderr, .. }) => {
            if !x11_tools() {
                return Err(GuiError::NoHook {
                    why,
                    stderr,
                    no_x11: true,
                });
            }
            // Worth driving only if it shows something.
            if !shows_a_window()? {
                return Err(GuiError::NoWindow(patience.as_secs()));
            }
            Level::X11
        }
        Err(e) => return Err(e),
    };
    // A program that is neither tkinter's (the hook) nor a JVM's (the SOCKS proxy) is served
    // where its code connects, learned from one run.
    let serve_at = if level == Level::X11 && discover::available() {
        discover::where_it_connects(
            command,
            dir.as_deref(),
            (&display.name, &display.screen),
            patience,
        )
    } else {
        None
    };
    if let Some(addr) = serve_at {
        // Found out now, not as nine failed cases.
        drop(session::stand_in(session::Connect::Serve, Some(addr))?);
    }
    let gui = Arc::new(GuiTarget {
        level,
        screen: display.screen.clone(),
        command: command.to_string(),
        dir,
        display: display.name.clone(),
        hook_dir,
        serve_at,
    });
    let target = Target {
        gui: Some(gui),
        ..base.clone()
    };
    let mut results = Vec::new();
    for case in cases::cases() {
        let mut r = crate::runner::run_case(&case, &target);
        // At the X11 level the grader's own eyes are noisy (OCR, focus without a window
        // manager): a failed case gets two more tries. A defect fails every one.
        let mut tries = 1;
        while level == Level::X11 && r.outcome == crate::runner::Outcome::Fail && tries < 3 {
            r = crate::runner::run_case(&case, &target);
            tries += 1;
        }
        progress(&r);
        results.push(r);
    }
    let setup = match level {
        Level::Toolkit => crate::i18n::catalog::LEVEL_TOOLKIT.text(),
        Level::X11 => crate::i18n::catalog::LEVEL_X11.text(),
    };
    Ok(Report {
        server: command.to_string(),
        setup: Some(setup),
        seconds: started.elapsed().as_secs_f64(),
        results,
        findings: Vec::new(),
        lang,
    })
}

/// Whether the X11 level's tools are installed.
fn x11_tools() -> bool {
    ["xdotool", "tesseract"].iter().all(|p| {
        std::process::Command::new(p)
            .arg("--version")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok()
    })
}
