//! `--spawn`: start the server under test for the run and find its address.
//!
//! The command runs under `sh -c`, in a process group of its own that is killed with it (so a
//! build step with `&&`, or a helper process the server starts, ends with the grading). Three
//! ways, by the command's shape and the protocol:
//! - with `{port}` in it (`python3 server.py {port}`), a free port is put there and the server
//!   is ready when that port is listening (read from `/proc/net/tcp*`, so no test connection
//!   disturbs a server that takes the first thing sent as a name);
//! - a chat/1 server without `{port}` gets `--listen 127.0.0.1:0` appended and must print
//!   `listening on ADDR` on stdout, as the reference server does;
//! - a free-form server without `{port}` runs as handed in, its port written in its code: it is
//!   ready once any of its processes listens (its sockets found through `/proc/PID/fd`). As
//!   root, each such server gets a network namespace of its own, so that copies of a hard-coded
//!   port never collide and an address of the student's machine can be bound.

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
    #[error("{command:?} exited ({status}) before it served{}{}{}", limit.as_ref().map(|l| format!(": {l}")).unwrap_or_default(), stderr_tail(.stderr), hint(.stderr))]
    Exited {
        /// The command.
        command: String,
        /// How it ended.
        status: std::process::ExitStatus,
        /// The limit it ran into, if any.
        limit: Option<crate::i18n::Text>,
        /// The end of its stderr.
        stderr: String,
    },
    /// It never listened on the port it was given.
    #[error("{command:?} was not listening on port {port} within {seconds} s{}{}", stderr_tail(.stderr), hint(.stderr))]
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
    /// Run as handed in, it never listened on any TCP port.
    #[error("{command:?} did not listen on any TCP port within {seconds} s{}{}", stderr_tail(.stderr), hint(.stderr))]
    NoListener {
        /// The command.
        command: String,
        /// How long we waited.
        seconds: u64,
        /// The end of its stderr.
        stderr: String,
    },
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
    child: Child,
    /// The address it printed.
    pub addr: SocketAddr,
    /// What happened to it: the monitor marks it when the process exits on its own.
    pub watch: Arc<Watch>,
    stopping: Arc<AtomicBool>,
    monitor: Option<std::thread::JoinHandle<()>>,
    tail: Arc<Mutex<Tail>>,
    /// Its network namespace (its pid) when it has one of its own.
    pub ns: Option<u32>,
    jail: Option<Arc<crate::limits::Jail>>,
}

impl Spawned {
    /// The last lines it wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        join_tail(&self.tail)
    }

    fn start(
        child: Child,
        addr: SocketAddr,
        tail: Arc<Mutex<Tail>>,
        stderr_ended: mpsc::Receiver<()>,
        ns: Option<u32>,
        jail: Option<Arc<crate::limits::Jail>>,
    ) -> Spawned {
        let watch = Arc::new(Watch::new());
        let stopping = Arc::new(AtomicBool::new(false));
        let pid = child.id();
        let monitor = {
            let (watch, stopping) = (watch.clone(), stopping.clone());
            let tail = tail.clone();
            let jail = jail.clone();
            std::thread::spawn(move || loop {
                if stopping.load(Ordering::Acquire) {
                    return;
                }
                // Seen without reaping: the leader stays a zombie, so its pid (the group's id)
                // cannot be reused before kill() has signalled the group and reaped it.
                if let Some(status) = ended_unreaped(pid) {
                    if stopping.load(Ordering::Acquire) {
                        return;
                    }
                    // Its stderr closes with it (unless a child of its own holds it open).
                    let _ = stderr_ended.recv_timeout(Duration::from_millis(500));
                    let status = status.to_string();
                    watch.mark(Broke::Exited {
                        limit: jail.as_ref().and_then(|j| j.hit(&status)),
                        status,
                        stderr: join_tail(&tail),
                    });
                    return;
                }
                // Polled: the kill path reaps the child, so nothing here may block on it.
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
            ns,
            jail,
        }
    }

    /// How it ended, if it ends on its own within `within`.
    pub fn wait_exit(&self, within: Duration) -> Option<Broke> {
        self.watch
            .wait(within)
            .map(|(b, _)| b)
            .filter(|b| matches!(b, Broke::Exited { .. }))
    }

    /// Stops it and every process of its group now.
    pub fn kill(&mut self) {
        self.stopping.store(true, Ordering::Release);
        kill_group(&mut self.child);
        if let Some(m) = self.monitor.take() {
            let _ = m.join();
        }
        // Whatever left the process group is still in the control groups.
        if let Some(j) = &self.jail {
            j.kill_all();
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.kill();
    }
}

/// How our child `pid` ended, if it has, without reaping it (`waitid` with `WNOWAIT`).
fn ended_unreaped(pid: u32) -> Option<std::process::ExitStatus> {
    use std::os::unix::process::ExitStatusExt;
    // SAFETY: waitid(2) fills a zeroed siginfo_t we own; WNOWAIT leaves the child unreaped.
    let info = unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
        if libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, flags) != 0 {
            return None;
        }
        info
    };
    // SAFETY: for a WEXITED waitid, si_pid and si_status are the fields the kernel filled.
    let (who, status) = unsafe { (info.si_pid(), info.si_status()) };
    if who == 0 {
        return None;
    }
    let raw = match info.si_code {
        libc::CLD_EXITED => (status & 0xff) << 8,
        libc::CLD_KILLED => status,
        libc::CLD_DUMPED => status | 0x80,
        _ => return None,
    };
    Some(std::process::ExitStatus::from_raw(raw))
}

/// Kills the process group the child leads (the server and whatever it started), then reaps it.
pub(crate) fn kill_group(child: &mut Child) {
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

/// The end of a server's stderr: its last lines, and the last line that named an error when
/// that has scrolled out (a Java stack overflow prints a thousand frames after it).
#[derive(Debug, Default)]
struct Tail {
    lines: VecDeque<String>,
    headline: Option<String>,
}

impl Tail {
    const LINES: usize = 20;

    fn push(&mut self, line: String) {
        if names_an_error(&line) {
            self.headline = Some(line.clone());
        }
        if self.lines.len() == Self::LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }
}

fn join_tail(tail: &Mutex<Tail>) -> String {
    let t = tail.lock().unwrap_or_else(|e| e.into_inner());
    let scrolled_out = t.headline.as_ref().filter(|h| !t.lines.contains(h));
    scrolled_out
        .into_iter()
        .chain(t.lines.iter())
        .cloned()
        .collect::<Vec<_>>()
        .join("\n")
}

/// How to start a server.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The command, run by `sh -c` (so `&&`, pipes and `cd` work).
    pub command: String,
    /// Its working directory.
    pub dir: Option<std::path::PathBuf>,
    /// How long it may take to listen.
    pub startup: Duration,
    /// Without `{port}`: append `--listen 127.0.0.1:0` and wait for `listening on ADDR`, as
    /// chat/1 servers do. Otherwise a command without `{port}` runs as handed in, and the port
    /// it listens on is found in the kernel's tables.
    pub listen_flag: bool,
    /// Run it in a network namespace of its own (see [`isolation_available`]).
    pub isolate: bool,
    /// What it may take (see [`crate::limits`]); `None`: no limits.
    pub limits: Option<crate::limits::Limits>,
}

impl Launch {
    /// A launch of `command` as [`spawn`] does it.
    pub fn new(command: &str, startup: Duration) -> Launch {
        Launch {
            command: command.to_string(),
            dir: None,
            startup,
            listen_flag: true,
            isolate: false,
            limits: None,
        }
    }

    /// Whether the command takes its port in `{port}`.
    pub fn has_port(&self) -> bool {
        self.command.contains("{port}")
    }
}

/// Whether servers can be run in network namespaces of their own here: root, `unshare` and
/// `ip` (iproute2). Asked once.
pub fn isolation_available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        Command::new("unshare")
            .args(["--net", "sh", "-c", "ip link set lo up"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Runs `command` through `sh`, and waits until it serves; see the module docs.
pub fn spawn(command: &str, wait: Duration) -> Result<Spawned, SpawnError> {
    launch(&Launch::new(command, wait))
}

/// [`spawn`], in the working directory `dir` when given.
pub fn spawn_in(
    command: &str,
    dir: Option<&std::path::Path>,
    wait: Duration,
) -> Result<Spawned, SpawnError> {
    launch(&Launch {
        dir: dir.map(|d| d.to_path_buf()),
        ..Launch::new(command, wait)
    })
}

/// Starts a server as `how` says, and waits until it serves.
pub fn launch(how: &Launch) -> Result<Spawned, SpawnError> {
    let wait = how.startup;
    let port = if how.has_port() {
        Some(free_port().map_err(SpawnError::NoPort)?)
    } else {
        None
    };
    let filled = port.map_or_else(
        || how.command.clone(),
        |p| how.command.replace("{port}", &p.to_string()),
    );
    let command = filled.as_str();
    let flag = port.is_none() && how.listen_flag;
    let discover = port.is_none() && !how.listen_flag;
    let mut sh = if how.isolate {
        // Its own network namespace: loopback up, and every IPv4 address local, so a server
        // that binds the address of the machine it was written on can bind it here.
        let mut c = Command::new("unshare");
        c.args(["--net", "sh", "-c"]).arg(
            "ip link set lo up && ip route add local 0.0.0.0/0 dev lo 2>/dev/null; \
             eval \"$BATEPAPO_SERVER\"",
        );
        c.env("BATEPAPO_SERVER", command);
        c
    } else {
        let mut c = Command::new("sh");
        c.arg("-c").arg(format!("{command} \"$@\"")).arg("sh");
        if flag {
            c.args(["--listen", "127.0.0.1:0"]);
        }
        c
    };
    if let Some(dir) = &how.dir {
        sh.current_dir(dir);
    }
    let jail = how.limits.map(|l| Arc::new(crate::limits::Jail::new(l)));
    if let Some(j) = &jail {
        j.apply(&mut sh);
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
    let ns = how.isolate.then(|| child.id());
    let tail: Arc<Mutex<Tail>> = Arc::default();
    let stderr = child.stderr.take().expect("piped stderr");
    let keep = tail.clone();
    let (stderr_done, stderr_ended) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            keep.lock().unwrap_or_else(|e| e.into_inner()).push(line);
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
    let deadline = Instant::now() + wait;
    let mut stdout_open = true;
    let group = child.id();
    loop {
        if discover {
            // As handed in: whatever port its processes listen on, or the address it prints.
            if let Some(addr) = reachable(&crate::kernel::listeners_of_group(group, ns)) {
                return Ok(Spawned::start(child, addr, tail, stderr_ended, ns, jail));
            }
        }
        if let Some(port) = port {
            // Its own listener on that port: the kernel may hand the same free port to two
            // servers started at once, and the other one's must not be taken for it.
            if listening_on(port, group, ns) {
                let addr = SocketAddr::from(([127, 0, 0, 1], port));
                return Ok(Spawned::start(child, addr, tail, stderr_ended, ns, jail));
            }
            // Polled: a server that does not print its address gives nothing to wait on.
            std::thread::sleep(Duration::from_millis(50));
        } else if stdout_open {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(addr) => return Ok(Spawned::start(child, addr, tail, stderr_ended, ns, jail)),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => stdout_open = false,
            }
        } else {
            // Its stdout ended without an address: nothing to wait on but its exit.
            std::thread::sleep(Duration::from_millis(50));
        }
        // A command that ended is reported at once, not after the whole wait.
        if let Some(status) = ended_unreaped(child.id()) {
            // Its stderr closes with it; let the reader take the last lines (a grandchild
            // holding the pipe open must not keep us waiting).
            let _ = stderr_ended.recv_timeout(Duration::from_secs(1));
            let limit = jail.as_ref().and_then(|j| j.hit(&status.to_string()));
            // What it started may live on: the group and the jail end it.
            kill_group(&mut child);
            return Err(SpawnError::Exited {
                command: command.to_string(),
                status,
                limit,
                stderr: join_tail(&tail),
            });
        }
        if Instant::now() >= deadline {
            kill_group(&mut child);
            if let Some(port) = port {
                return Err(SpawnError::NotListening {
                    command: command.to_string(),
                    port,
                    seconds: wait.as_secs(),
                    stderr: join_tail(&tail),
                });
            }
            if discover {
                return Err(SpawnError::NoListener {
                    command: command.to_string(),
                    seconds: wait.as_secs(),
                    stderr: join_tail(&tail),
                });
            }
            return Err(SpawnError::NoAddress {
                command: command.to_string(),
                seconds: wait.as_secs(),
                stderr: join_tail(&tail),
            });
        }
    }
}

/// Where to connect to a server listening on `addrs`: IPv4 first; an unspecified address
/// (`0.0.0.0`, `::`) by its loopback.
fn reachable(addrs: &[SocketAddr]) -> Option<SocketAddr> {
    let pick = addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())?;
    let ip = match pick.ip() {
        std::net::IpAddr::V4(v4) if v4.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(v6) if v6.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    Some(SocketAddr::new(ip, pick.port()))
}

/// What to tell the student about a server that would not start, from its stderr.
fn hint(stderr: &str) -> String {
    hint_for(stderr).map_or(String::new(), |h| format!("\n{}", h.en))
}

/// What to change, for a server whose stderr shows it could not bind its port.
pub(crate) fn hint_for(stderr: &str) -> Option<crate::i18n::Msg> {
    use crate::i18n::catalog;
    if stderr.contains("Address already in use") || stderr.contains("EADDRINUSE") {
        Some(catalog::HINT_PORT_TAKEN)
    } else if stderr.contains("Cannot assign requested address") || stderr.contains("EADDRNOTAVAIL")
    {
        Some(catalog::HINT_FOREIGN_ADDRESS)
    } else {
        None
    }
}

/// A port free right now on 127.0.0.1 (the kernel's pick; released at once).
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Whether a process of group `group` listens on `port`, from the kernel's tables; without
/// them, whether anything answers there.
fn listening_on(port: u16, group: u32, ns: Option<u32>) -> bool {
    if crate::kernel::listening(port, ns).is_some() {
        return crate::kernel::listeners_of_group(group, ns)
            .iter()
            .any(|a| a.port() == port);
    }
    std::net::TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(200),
    )
    .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_trace_keeps_its_last_lines_and_the_line_that_named_the_error() {
        let tail = Mutex::new(Tail::default());
        tail.lock()
            .unwrap()
            .push("Exception in thread \"T\" java.lang.StackOverflowError".into());
        for i in 0..1000 {
            tail.lock()
                .unwrap()
                .push(format!("\tat Server.remove(Server.java:{i})"));
        }
        assert_eq!(tail.lock().unwrap().lines.len(), Tail::LINES);
        let text = join_tail(&tail);
        assert!(text.starts_with("Exception in thread"), "{text}");
        assert!(text.ends_with("Server.java:999)"), "{text}");
        assert_eq!(text.lines().count(), Tail::LINES + 1);
    }

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
