//! `--spawn`: start the server under test for the run and find its address.
//!
//! Two ways, by the command's shape:
//! - with `{port}` in it (`python3 server.py {port}`), a free port is put there and the server
//!   is ready when that port is listening (read from `/proc/net/tcp*`, so no test connection
//!   disturbs a server that takes the first thing sent as a name);
//! - otherwise `--listen 127.0.0.1:0` is appended and the server must print
//!   `listening on ADDR` on stdout, as the reference server does.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::watch::{Broke, Watch};

/// Why the server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The command could not be run at all.
    #[error("cannot run {command:?}")]
    Start {
        /// The command.
        command: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// It ended before printing `listening on ADDR`.
    #[error("{command:?} exited ({status}) before printing \"listening on ADDR\"{}", stderr_tail(.stderr))]
    Exited {
        /// The command.
        command: String,
        /// How it ended.
        status: std::process::ExitStatus,
        /// The end of its stderr.
        stderr: String,
    },
    /// It never listened on the port it was given.
    #[error("{command:?} was not listening on port {port} within {seconds} s{}", stderr_tail(.stderr))]
    NotListening {
        /// The command, with the port filled in.
        command: String,
        /// The port it was given.
        port: u16,
        /// How long we waited.
        seconds: u64,
        /// The end of its stderr.
        stderr: String,
    },
    /// No free port could be found for `{port}`.
    #[error("cannot find a free port for {{port}}")]
    NoPort(#[source] std::io::Error),
    /// It never printed `listening on ADDR`.
    #[error("{command:?} did not print \"listening on ADDR\" within {seconds} s{}", stderr_tail(.stderr))]
    NoAddress {
        /// The command.
        command: String,
        /// How long we waited.
        seconds: u64,
        /// The end of its stderr.
        stderr: String,
    },
}

fn stderr_tail(s: &str) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!("; its stderr ended with:\n{s}")
    }
}

/// A server started for the run, watched while it runs; it and every process it started are
/// killed when it is dropped.
pub struct Spawned {
    child: Arc<Mutex<Child>>,
    /// The address it printed.
    pub addr: SocketAddr,
    /// What happened to it: the monitor marks it when the process exits on its own.
    pub watch: Arc<Watch>,
    stopping: Arc<AtomicBool>,
    monitor: Option<std::thread::JoinHandle<()>>,
    tail: Arc<Mutex<VecDeque<String>>>,
}

impl Spawned {
    /// The last lines it wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        join_tail(&self.tail)
    }

    fn start(
        child: Child,
        addr: SocketAddr,
        tail: Arc<Mutex<VecDeque<String>>>,
        stderr_ended: mpsc::Receiver<()>,
    ) -> Spawned {
        let child = Arc::new(Mutex::new(child));
        let watch = Arc::new(Watch::new());
        let stopping = Arc::new(AtomicBool::new(false));
        let monitor = {
            let (child, watch, stopping) = (child.clone(), watch.clone(), stopping.clone());
            let tail = tail.clone();
            std::thread::spawn(move || loop {
                if stopping.load(Ordering::Acquire) {
                    return;
                }
                let status = child
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .try_wait()
                    .ok()
                    .flatten();
                if let Some(status) = status {
                    if stopping.load(Ordering::Acquire) {
                        return;
                    }
                    // Its stderr closes with it (unless a child of its own holds it open).
                    let _ = stderr_ended.recv_timeout(Duration::from_millis(500));
                    watch.mark(Broke::Exited {
                        status: status.to_string(),
                        stderr: join_tail(&tail),
                    });
                    return;
                }
                // Polled: a child's exit can only be waited for by one holder, and the kill
                // path needs the child too.
                std::thread::sleep(Duration::from_millis(20));
            })
        };
        Spawned {
            child,
            addr,
            watch,
            stopping,
            monitor: Some(monitor),
            tail,
        }
    }

    /// How it ended, if it ended on its own.
    pub fn exited(&self) -> Option<Broke> {
        self.watch
            .broke()
            .map(|(b, _)| b)
            .filter(|b| matches!(b, Broke::Exited { .. }))
    }

    /// Stops it and every process of its group now.
    pub fn kill(&mut self) {
        self.stopping.store(true, Ordering::Release);
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        kill_group(&mut child);
        drop(child);
        if let Some(m) = self.monitor.take() {
            let _ = m.join();
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Kills the process group the child leads (the server and whatever it started), then reaps it.
fn kill_group(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) on a process group we created; no memory is involved.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Whether a line of stderr names an error (an exception, a panic, a crash), not a log line.
pub fn names_an_error(line: &str) -> bool {
    [
        "Traceback",
        "Exception",
        "Error",
        "panicked",
        "Segmentation",
        "Abort",
    ]
    .iter()
    .any(|w| line.contains(w))
}

fn join_tail(tail: &Mutex<VecDeque<String>>) -> String {
    tail.lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .cloned()
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `command` through `sh`, and waits until it serves; see the module docs.
pub fn spawn(command: &str, wait: Duration) -> Result<Spawned, SpawnError> {
    spawn_in(command, None, wait)
}

/// [`spawn`], in the working directory `dir` when given.
pub fn spawn_in(
    command: &str,
    dir: Option<&std::path::Path>,
    wait: Duration,
) -> Result<Spawned, SpawnError> {
    let port = if command.contains("{port}") {
        Some(free_port().map_err(SpawnError::NoPort)?)
    } else {
        None
    };
    let filled = port.map_or_else(
        || command.to_string(),
        |p| command.replace("{port}", &p.to_string()),
    );
    let command = filled.as_str();
    let mut sh = Command::new("sh");
    if let Some(dir) = dir {
        sh.current_dir(dir);
    }
    sh.arg("-c")
        // `exec` makes the server the child itself, so killing the child stops the server.
        .arg(format!("exec {command} \"$@\""))
        .arg("sh");
    if port.is_none() {
        sh.args(["--listen", "127.0.0.1:0"]);
    }
    // Its own process group, so that whatever it starts is stopped with it.
    let mut child = sh
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| SpawnError::Start {
            command: command.to_string(),
            source,
        })?;
    let tail: Arc<Mutex<VecDeque<String>>> = Arc::default();
    let stderr = child.stderr.take().expect("piped stderr");
    let keep = tail.clone();
    let (stderr_done, stderr_ended) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        // The last 20 lines, plus the last line that named an error: a Java stack overflow
        // prints a thousand frames after it.
        let mut headline: Option<String> = None;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut t = keep.lock().unwrap_or_else(|e| e.into_inner());
            if t.len() == 20 {
                t.pop_front();
            }
            if names_an_error(&line) {
                headline = Some(line.clone());
            } else if let Some(h) = &headline {
                if !t.contains(h) {
                    if t.len() == 20 {
                        t.pop_front();
                    }
                    t.push_front(h.clone());
                }
            }
            t.push_back(line);
        }
        drop(stderr_done);
    });
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            let found = line
                .trim_end()
                .strip_prefix("listening on ")
                .and_then(|a| a.trim().parse::<SocketAddr>().ok());
            if let Some(addr) = found {
                let _ = tx.send(addr);
                break;
            }
            line.clear();
        }
        // Keep draining so the server never blocks on a full stdout pipe.
        let _ = std::io::copy(&mut reader.take(u64::MAX), &mut std::io::sink());
    });
    let stderr_text = |tail: &Mutex<VecDeque<String>>| join_tail(tail);
    let deadline = Instant::now() + wait;
    let mut stdout_open = true;
    loop {
        if let Some(port) = port {
            if listening_on(port) {
                let addr = SocketAddr::from(([127, 0, 0, 1], port));
                return Ok(Spawned::start(child, addr, tail, stderr_ended));
            }
            // Polled: a server that does not print its address gives nothing to wait on.
            std::thread::sleep(Duration::from_millis(50));
        } else if stdout_open {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(addr) => return Ok(Spawned::start(child, addr, tail, stderr_ended)),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => stdout_open = false,
            }
        } else {
            // Its stdout ended without an address: nothing to wait on but its exit.
            std::thread::sleep(Duration::from_millis(50));
        }
        // A command that ended is reported at once, not after the whole wait.
        if let Ok(Some(status)) = child.try_wait() {
            // Its stderr closes with it; let the reader take the last lines (a grandchild
            // holding the pipe open must not keep us waiting).
            let _ = stderr_ended.recv_timeout(Duration::from_secs(1));
            return Err(SpawnError::Exited {
                command: command.to_string(),
                status,
                stderr: stderr_text(&tail),
            });
        }
        if Instant::now() >= deadline {
            kill_group(&mut child);
            if let Some(port) = port {
                return Err(SpawnError::NotListening {
                    command: command.to_string(),
                    port,
                    seconds: wait.as_secs(),
                    stderr: stderr_text(&tail),
                });
            }
            return Err(SpawnError::NoAddress {
                command: command.to_string(),
                seconds: wait.as_secs(),
                stderr: stderr_text(&tail),
            });
        }
    }
}

/// A port free right now on 127.0.0.1 (the kernel's pick; released at once).
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Whether something listens on `port` (any address), from the kernel's tables; without
/// them, by connecting once.
fn listening_on(port: u16) -> bool {
    crate::kernel::listening(port).unwrap_or_else(|| {
        std::net::TcpStream::connect_timeout(
            &SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_millis(200),
        )
        .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Not a test on its own: the server the next test spawns (this binary run again), which
    /// listens on the port in `SERVE_PORT_FOR_TEST` and prints nothing.
    #[test]
    fn serve_port_for_test() {
        let Ok(port) = std::env::var("SERVE_PORT_FOR_TEST") else {
            return;
        };
        let listener = std::net::TcpListener::bind(("127.0.0.1", port.parse::<u16>().unwrap()));
        let _held = listener.unwrap();
        std::thread::sleep(Duration::from_secs(30));
    }

    #[test]
    fn a_command_with_port_gets_a_free_port_and_is_ready_once_it_listens() {
        let exe = std::env::current_exe().unwrap();
        let command = format!(
            "env SERVE_PORT_FOR_TEST={{port}} {} --exact spawn::tests::serve_port_for_test",
            exe.display()
        );
        let s = spawn(&command, Duration::from_secs(20)).unwrap();
        assert_ne!(s.addr.port(), 0);
        assert!(std::net::TcpStream::connect(s.addr).is_ok());
    }

    #[test]
    fn a_command_with_port_that_never_listens_says_which_port() {
        let err = spawn("sleep 5 # {port}", Duration::from_millis(300))
            .err()
            .expect("not listening");
        assert!(matches!(err, SpawnError::NotListening { .. }), "{err}");
        assert!(
            err.to_string().contains("was not listening on port"),
            "{err}"
        );
    }

    #[test]
    fn a_command_that_exits_at_once_is_reported_at_once_with_status_and_stderr() {
        let started = Instant::now();
        let err = spawn(
            "sh -c 'echo bad flag --listen >&2; exit 3'",
            Duration::from_secs(30),
        )
        .err()
        .expect("it cannot start");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "took {:?}",
            started.elapsed()
        );
        let text = err.to_string();
        assert!(text.contains("exited (exit status: 3)"), "{text}");
        assert!(text.contains("bad flag --listen"), "{text}");
    }

    #[test]
    fn a_command_that_never_says_where_it_listens_times_out() {
        let err = spawn("sh -c 'sleep 5'", Duration::from_millis(300))
            .err()
            .expect("no address");
        assert!(matches!(err, SpawnError::NoAddress { .. }), "{err}");
    }

    #[test]
    fn the_address_it_prints_is_taken() {
        let s = spawn(
            "echo listening on 127.0.0.1:4567; sleep 5",
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(s.addr, "127.0.0.1:4567".parse().unwrap());
    }
}
