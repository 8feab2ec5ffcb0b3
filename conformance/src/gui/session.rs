//! One run of a student's client under the grader's eyes: the client process (in its own
//! process group, on the grader's virtual display, with the hook on `PYTHONPATH`), the grader's
//! stand-in server it is sent to, and the control channel to the hook.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::server::FakeServer;
use super::{GuiError, Unattached};

/// Where the client's connections go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connect {
    /// To the grader's stand-in server.
    Serve,
    /// Refused, as when no server runs.
    Refuse,
}

/// What the hook reported, in order, each with when it came.
#[derive(Default)]
struct Events {
    all: Vec<(Instant, Value)>,
    ended: bool,
}

type Shared = Arc<(Mutex<Events>, Condvar)>;

/// A running client.
pub struct Session {
    child: Child,
    /// The stand-in server (with [`Connect::Serve`]).
    pub server: Option<FakeServer>,
    events: Shared,
    control: Option<TcpStream>,
    next_id: u64,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// When the grader last filled in a login form ([`super::drive::Client::pump`]).
    pub(super) last_login: Option<Instant>,
}

impl Session {
    /// Starts `command` (run by `sh` from `dir`) on `display`, with the hook from `hook_dir`;
    /// the hook answers name questions with `names` in turn. Fails when the hook does not
    /// attach within `patience` (the client is not a Python program, or starts without
    /// `sitecustomize`).
    pub fn start(
        command: &str,
        dir: Option<&Path>,
        display: &str,
        hook_dir: &Path,
        connect: Connect,
        names: &[&str],
        patience: Duration,
    ) -> Result<Session, GuiError> {
        let server = stand_in(connect, None)?;
        let control = TcpListener::bind("127.0.0.1:0").map_err(GuiError::Io)?;
        let redirect = server
            .as_ref()
            .map_or("refuse".to_string(), |s| s.addr().to_string());
        let hook = control.local_addr().map_err(GuiError::Io)?.to_string();
        let env = [
            ("PYTHONPATH", python_path(hook_dir)),
            ("PYTHONUNBUFFERED", "1".to_string()),
            ("BATEPAPO_HOOK", hook),
            ("BATEPAPO_REDIRECT", redirect),
            ("BATEPAPO_NAMES", names.join("\n")),
        ];
        let (child, stderr) = spawn_client(command, dir, display, &env)?;
        let mut session = Session {
            child,
            server,
            events: Shared::default(),
            control: None,
            next_id: 0,
            stderr,
            last_login: None,
        };
        let stream = accept_within(&control, patience, &mut session.child).map_err(|why| {
            GuiError::NoHook {
                why,
                stderr: session.stderr_end(),
                no_x11: false,
            }
        })?;
        let reader = stream.try_clone().map_err(GuiError::Io)?;
        let events = session.events.clone();
        std::thread::spawn(move || read_events(reader, &events));
        session.control = Some(stream);
        Ok(session)
    }

    /// Waits until an event satisfies `wanted`, up to `within`; the event.
    pub fn wait_event(&self, within: Duration, wanted: impl Fn(&Value) -> bool) -> Option<Value> {
        let deadline = Instant::now() + within;
        let (lock, cv) = &*self.events;
        let mut ev = lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some((_, v)) = ev.all.iter().find(|(_, v)| wanted(v)) {
                return Some(v.clone());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || ev.ended {
                return None;
            }
            ev = cv
                .wait_timeout(ev, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<Value> {
        let ev = self.events.0.lock().unwrap_or_else(|e| e.into_inner());
        ev.all.iter().map(|(_, v)| v.clone()).collect()
    }

    /// Whether the hook has an event of kind `ev`.
    pub fn saw(&self, ev: &str) -> bool {
        self.events().iter().any(|v| v["ev"] == ev)
    }

    /// Sends a command to the hook and waits (up to `within`) for its reply.
    pub fn command(&mut self, mut cmd: Value, within: Duration) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        cmd["id"] = id.into();
        let Some(control) = self.control.as_mut() else {
            return Err("no control connection".into());
        };
        let line = format!("{cmd}\n");
        control
            .write_all(line.as_bytes())
            .map_err(|e| format!("the client's hook is gone ({e})"))?;
        let reply = self
            .wait_event(within, |v| v["ev"] == "reply" && v["id"] == id)
            .ok_or_else(|| "the window did not answer (is its main loop running?)".to_string())?;
        match reply["error"].as_str() {
            Some(e) => Err(e.to_string()),
            None => Ok(reply),
        }
    }

    /// Every text the window shows now, joined.
    pub fn window_text(&mut self) -> Result<String, String> {
        let reply = self.command(serde_json::json!({"cmd": "texts"}), Duration::from_secs(3))?;
        let texts = reply["texts"].as_array().cloned().unwrap_or_default();
        Ok(texts
            .iter()
            .filter_map(|t| t["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"))
    }

    /// Whether the process has exited, and how.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The last lines of its stderr.
    pub fn stderr_end(&self) -> String {
        stderr_end(&self.stderr)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let pgid = self.child.id() as i32;
        // SAFETY: kill(2) on a process group we created; no memory is involved.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// What a JVM prints first on stderr when it takes the grader's options.
pub(super) const JVM_NOTE: &str = "Picked up JAVA_TOOL_OPTIONS";

/// A child's stderr as it is kept: its last 16 KB.
pub(super) type Kept = Arc<Mutex<Vec<u8>>>;

/// The grader's stand-in server, when the client is to be served: on a free port, or at
/// `fixed`, the address the client connects to when nothing can redirect it.
pub(super) fn stand_in(
    connect: Connect,
    fixed: Option<std::net::SocketAddr>,
) -> Result<Option<FakeServer>, GuiError> {
    match (connect, fixed) {
        (Connect::Serve, None) => FakeServer::start().map(Some).map_err(GuiError::Io),
        (Connect::Serve, Some(addr)) => FakeServer::start_at(addr)
            .map(Some)
            .map_err(|e| GuiError::CannotServe(addr, e)),
        (Connect::Refuse, _) => Ok(None),
    }
}

/// Starts a client's `command` (run by `sh` from `dir`) on `display` with `env`, in a process
/// group of its own; the child and its kept stderr.
pub(super) fn spawn_client(
    command: &str,
    dir: Option<&Path>,
    display: &str,
    env: &[(&str, String)],
) -> Result<(Child, Kept), GuiError> {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .env("DISPLAY", display)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0);
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| GuiError::Start(command.to_string(), e))?;
    let stderr = keep_stderr(&mut child);
    Ok((child, stderr))
}

/// The child's stderr, kept (its last 16 KB) by a thread of its own as it comes.
pub(super) fn keep_stderr(child: &mut Child) -> Kept {
    let stderr = Arc::new(Mutex::new(Vec::new()));
    if let Some(mut err) = child.stderr.take() {
        let keep = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut all = keep.lock().unwrap_or_else(|e| e.into_inner());
                // The end is what tells why it stopped.
                all.extend_from_slice(&buf[..n]);
                let len = all.len();
                if len > 16 * 1024 {
                    all.drain(..len - 16 * 1024);
                }
            }
        });
    }
    stderr
}

/// The last lines of a kept stderr, on one line (the JVM's note of its options left out).
pub(super) fn stderr_end(kept: &Mutex<Vec<u8>>) -> String {
    let all = kept.lock().unwrap_or_else(|e| e.into_inner());
    let text = String::from_utf8_lossy(&all);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with(JVM_NOTE))
        .collect();
    lines[lines.len().saturating_sub(4)..].join(" | ")
}

/// The hook's folder first, then whatever the caller's environment had.
fn python_path(hook_dir: &Path) -> String {
    let mut parts = vec![hook_dir.display().to_string()];
    if let Ok(p) = std::env::var("PYTHONPATH") {
        if !p.is_empty() {
            parts.push(p);
        }
    }
    parts.join(":")
}

/// The hook's connection, or why it never came.
fn accept_within(
    control: &TcpListener,
    patience: Duration,
    child: &mut Child,
) -> Result<TcpStream, Unattached> {
    let failed = |e: std::io::Error| Unattached::Failed(e.to_string());
    control.set_nonblocking(true).map_err(failed)?;
    let deadline = Instant::now() + patience;
    loop {
        match control.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).map_err(failed)?;
                return Ok(s);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(failed(e)),
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(Unattached::Exited(status.to_string()));
        }
        if Instant::now() >= deadline {
            return Err(Unattached::Timeout(patience.as_secs_f64().round() as u64));
        }
        // The kernel offers no wake-up for an accept on a listener we also poll for the
        // child's exit: look again soon.
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read_events(stream: TcpStream, events: &Shared) {
    let (lock, cv) = &**events;
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { break };
        if let Ok(v) = serde_json::from_str::<Value>(&line) {
            lock.lock()
                .unwrap_or_else(|e| e.into_inner())
                .all
                .push((Instant::now(), v));
            cv.notify_all();
        }
    }
    lock.lock().unwrap_or_else(|e| e.into_inner()).ended = true;
    cv.notify_all();
}

/// The hook, written once per grading to a folder of its own.
pub fn write_hook() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("batepapo-hook-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join("sitecustomize.py"),
        include_str!("sitecustomize.py"),
    )?;
    Ok(dir)
}
