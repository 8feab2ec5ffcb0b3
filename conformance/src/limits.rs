//! What one copy of a submission may take: memory, processes (threads included) and CPU time.
//! Student code is untrusted: a fork bomb, a 20 GB allocation or a busy loop must end as a
//! finding about that submission, with the machine and the other students' grading unharmed.
//!
//! Where the grader may make control groups (root, cgroup v1 controllers or a delegated v2
//! tree), each server gets its own `pids` and `memory` group: the kernel then refuses the 257th
//! process and kills a server past its memory, and every process left in the group is killed
//! when the server is stopped, even one that left the process group. CPU time is an rlimit
//! (`RLIMIT_CPU`, SIGXCPU), and without a memory group memory is one too (`RLIMIT_DATA`, at four
//! times the limit: each thread's stack counts there in full).
//! Without control groups the number of processes is not limited (an rlimit on processes
//! counts every process of the user, the grader's own threads included).

use std::ffi::CString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::i18n::catalog;
use crate::t;

/// The limits of one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Memory, in MiB.
    pub memory_mb: u64,
    /// Processes and threads at once.
    pub processes: u64,
    /// CPU time, in seconds (each server lives for one case).
    pub cpu_seconds: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            memory_mb: 1024,
            // A thread per client, and the chat/1 cases open up to 2000 connections at once.
            processes: 4096,
            cpu_seconds: 120,
        }
    }
}

static NEXT: AtomicU64 = AtomicU64::new(0);

/// The control groups of one server, made before it starts and removed once it ended.
#[derive(Debug)]
pub struct Jail {
    limits: Limits,
    pids: Option<PathBuf>,
    memory: Option<PathBuf>,
    joins: Vec<CString>,
}

impl Jail {
    /// Makes the groups that can be made here (none, when the grader may not).
    pub fn new(limits: Limits) -> Jail {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("batepapo-{}-{n}", std::process::id());
        let mut jail = Jail {
            limits,
            pids: None,
            memory: None,
            joins: Vec::new(),
        };
        // One directory may serve both controllers (cgroup v2's single tree): made once.
        for (controllers, own) in own_groups() {
            let dir = own.join(&name);
            if std::fs::create_dir(&dir).is_err() {
                continue;
            }
            let set = |file: &str, value: String| std::fs::write(dir.join(file), value).is_ok();
            let mut took = false;
            for controller in &controllers {
                let ok = match controller.as_str() {
                    "pids" => set("pids.max", limits.processes.to_string()),
                    "memory" => {
                        let bytes = (limits.memory_mb << 20).to_string();
                        set("memory.limit_in_bytes", bytes.clone()) || set("memory.max", bytes)
                    }
                    _ => false,
                };
                if ok && controller == "pids" {
                    jail.pids = Some(dir.clone());
                } else if ok {
                    jail.memory = Some(dir.clone());
                }
                took |= ok;
            }
            // Only a group that took a limit is worth joining.
            match (
                took,
                CString::new(dir.join("cgroup.procs").to_string_lossy().as_bytes()),
            ) {
                (true, Ok(procs)) => jail.joins.push(procs),
                _ => {
                    let _ = std::fs::remove_dir(&dir);
                }
            }
        }
        jail
    }

    /// Whether processes are limited (a control group could be made).
    pub fn limits_processes(&self) -> bool {
        self.pids.is_some()
    }

    /// Prepares a command to run in this jail: it joins the groups and sets its rlimits
    /// between fork and exec.
    pub fn apply(&self, cmd: &mut std::process::Command) {
        use std::os::unix::process::CommandExt;
        let joins = self.joins.clone();
        let cpu = self.limits.cpu_seconds;
        // Without a memory group, an rlimit on data: four times the limit, since every thread's
        // stack counts there in full although little of it is ever touched.
        let data = self
            .memory
            .is_none()
            .then_some((self.limits.memory_mb << 20).saturating_mul(4));
        // SAFETY: between fork and exec only async-signal-safe calls are made: open, write,
        // close and setrlimit, on paths prepared before the fork.
        unsafe {
            cmd.pre_exec(move || {
                for procs in &joins {
                    let fd = libc::open(procs.as_ptr(), libc::O_WRONLY);
                    if fd >= 0 {
                        libc::write(fd, b"0".as_ptr().cast(), 1);
                        libc::close(fd);
                    }
                }
                let cpu_limit = libc::rlimit {
                    rlim_cur: cpu,
                    rlim_max: cpu + 5,
                };
                libc::setrlimit(libc::RLIMIT_CPU, &cpu_limit);
                if let Some(bytes) = data {
                    let mem = libc::rlimit {
                        rlim_cur: bytes,
                        rlim_max: bytes,
                    };
                    libc::setrlimit(libc::RLIMIT_DATA, &mem);
                }
                Ok(())
            });
        }
    }

    /// Which limit the server ran into, if the kernel says or its end shows it.
    pub fn hit(&self, status: &str) -> Option<crate::i18n::Text> {
        let l = self.limits;
        let read = |dir: &Option<PathBuf>, file: &str| {
            dir.as_ref()
                .and_then(|d| std::fs::read_to_string(d.join(file)).ok())
        };
        let counted = |text: Option<String>, key: &str| {
            text.and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
            })
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
                > 0
        };
        let failcnt = read(&self.memory, "memory.failcnt")
            .and_then(|t| t.trim().parse::<u64>().ok())
            .unwrap_or(0);
        if failcnt > 0 || counted(read(&self.memory, "memory.events"), "oom_kill ") {
            return Some(t!(catalog::USED_UP_MEMORY, l.memory_mb));
        }
        // Killed by SIGXCPU: directly, or as a shell reports a child's (128 + 24).
        if status.contains("SIGXCPU") || status == "exit status: 152" {
            return Some(t!(catalog::USED_UP_CPU, l.cpu_seconds));
        }
        if counted(read(&self.pids, "pids.events"), "max ") {
            return Some(t!(catalog::TOO_MANY_PROCESSES, l.processes));
        }
        None
    }

    /// Kills every process still in the groups (one that left the process group included).
    pub fn kill_all(&self) {
        for dir in [&self.pids, &self.memory].into_iter().flatten() {
            let Ok(text) = std::fs::read_to_string(dir.join("cgroup.procs")) else {
                continue;
            };
            for pid in text.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                // SAFETY: kill(2) on a process of this server's own group.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
    }
}

impl Drop for Jail {
    fn drop(&mut self) {
        self.kill_all();
        // A group can go once its last process is reaped, which takes a moment after a kill.
        let deadline = Instant::now() + Duration::from_secs(2);
        for dir in [&self.pids, &self.memory].into_iter().flatten() {
            while std::fs::remove_dir(dir).is_err() && Instant::now() < deadline {
                self.kill_all();
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// The grader's own groups where it may make more, with the controllers (`pids`, `memory`)
/// each serves.
fn own_groups() -> Vec<(Vec<String>, PathBuf)> {
    let Ok(text) = std::fs::read_to_string("/proc/self/cgroup") else {
        return Vec::new();
    };
    let mut groups = Vec::new();
    let mut unified = None;
    for line in text.lines() {
        let mut f = line.splitn(3, ':');
        let (_, controllers, path) = (f.next(), f.next().unwrap_or(""), f.next().unwrap_or(""));
        let path = path.trim_start_matches('/');
        if controllers.is_empty() {
            unified = Some(PathBuf::from("/sys/fs/cgroup").join(path));
        }
        for c in controllers.split(',') {
            if c == "pids" || c == "memory" {
                let dir = PathBuf::from("/sys/fs/cgroup").join(c).join(path);
                groups.push((vec![c.to_string()], dir));
            }
        }
    }
    if groups.is_empty() {
        // cgroup v2: one tree; a child group has the controllers its parent delegates.
        if let Some(dir) = unified {
            groups.push((vec!["pids".to_string(), "memory".to_string()], dir));
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jail_is_removed_when_dropped() {
        let jail = Jail::new(Limits::default());
        let dirs: Vec<PathBuf> = [&jail.pids, &jail.memory]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        drop(jail);
        for d in dirs {
            assert!(!d.exists(), "{} is left", d.display());
        }
    }

    #[test]
    fn a_process_in_the_jail_cannot_exceed_its_processes() {
        let jail = Jail::new(Limits {
            processes: 5,
            ..Limits::default()
        });
        if !jail.limits_processes() {
            eprintln!("no control group can be made here: processes are not limited");
            return;
        }
        let mut cmd = std::process::Command::new("sh");
        // 20 sleepers at most: the jail refuses the sixth process.
        cmd.arg("-c")
            .arg("n=0; while [ $n -lt 20 ]; do sleep 2 & n=$((n+1)); done 2>/dev/null; wait");
        jail.apply(&mut cmd);
        cmd.status().unwrap();
        assert!(jail
            .hit("")
            .map(|t| t.to_string())
            .unwrap_or_default()
            .contains("more than 5 processes"));
    }

    #[test]
    fn cpu_time_past_the_limit_is_named() {
        let jail = Jail::new(Limits::default());
        let hit = jail.hit("signal: 24 (SIGXCPU)").unwrap();
        assert_eq!(hit.to_string(), "it used up its 120 s of CPU time");
        assert_eq!(jail.hit("exit status: 152"), Some(hit), "as sh reports it");
    }
}
