//! CPU time of this process's threads, split into the load generator's own and the rest (the
//! embedded server), so a run on a small machine can show how much the generator interferes.

use std::time::Instant;

/// CPU seconds used so far, by thread group.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuSample {
    /// Threads named `loadgen*` (the tokio workers driving the bots).
    pub loadgen: f64,
    /// Every other thread (the embedded server's sessions and writers, and main).
    pub other: f64,
}

/// CPU time of a process (`thread` false: every thread, exited ones included) or of one thread,
/// in seconds with nanosecond resolution, from the kernel's CPU-time clock for it. The clock id
/// encoding (`~id << 3 | CPUCLOCK_SCHED`, plus the per-thread bit) is the kernel ABI that
/// `clock_getcpuclockid` and `pthread_getcpuclockid` use.
pub fn cpu_clock(id: u32, thread: bool) -> Option<f64> {
    let clock = ((!(id as libc::clockid_t)) << 3) | 2 | if thread { 4 } else { 0 };
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec it is given; an id the kernel does not know
    // is an error return, not undefined behaviour.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    (rc == 0).then(|| ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9)
}

/// Reads `/proc/self/task/*/stat` for the threads' names, and each thread's CPU clock (or the
/// 10 ms ticks of its stat line where the clock is not readable); `None` without `/proc`.
pub fn sample() -> Option<CpuSample> {
    let ticks = procfs::ticks_per_second() as f64;
    let mut s = CpuSample::default();
    // A thread may end while it is read: it is then simply not counted.
    for task in procfs::process::Process::myself()
        .ok()?
        .tasks()
        .ok()?
        .flatten()
    {
        let Ok(stat) = task.stat() else {
            continue;
        };
        let secs = cpu_clock(task.tid as u32, true)
            .unwrap_or_else(|| (stat.utime + stat.stime) as f64 / ticks);
        if stat.comm.starts_with("loadgen") {
            s.loadgen += secs;
        } else {
            s.other += secs;
        }
    }
    Some(s)
}

/// A CPU measurement over an interval.
pub struct CpuWindow {
    start: Option<CpuSample>,
    at: Instant,
}

/// CPU use over an interval, as a percentage of one core.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct CpuShare {
    /// The generator's threads.
    pub loadgen_pct: f64,
    /// Everything else in the process (the embedded server).
    pub other_pct: f64,
}

impl CpuWindow {
    /// Starts measuring now.
    pub fn start() -> CpuWindow {
        CpuWindow {
            start: sample(),
            at: Instant::now(),
        }
    }

    /// CPU use since the start.
    pub fn finish(&self) -> Option<CpuShare> {
        let (a, b) = (self.start?, sample()?);
        let wall = self.at.elapsed().as_secs_f64().max(1e-6);
        Some(CpuShare {
            loadgen_pct: 100.0 * (b.loadgen - a.loadgen).max(0.0) / wall,
            other_pct: 100.0 * (b.other - a.other).max(0.0) / wall,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_clock_counts_this_process_busy_time() {
        let Some(before) = cpu_clock(std::process::id(), false) else {
            return;
        };
        let t = Instant::now();
        let mut x = 0u64;
        while t.elapsed().as_millis() < 50 {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        let after = cpu_clock(std::process::id(), false).unwrap();
        assert!(after - before >= 0.04, "{before} -> {after}");
    }

    #[test]
    fn a_busy_named_thread_is_counted_as_loadgen() {
        let Some(before) = sample() else { return };
        std::thread::Builder::new()
            .name("loadgen-test".into())
            .spawn(|| {
                let t = Instant::now();
                let mut x = 0u64;
                while t.elapsed().as_millis() < 300 {
                    x = x.wrapping_add(std::hint::black_box(1));
                }
                // Sample before the thread exits, while its ticks are still listed.
                sample().unwrap()
            })
            .unwrap()
            .join()
            .map(|after| assert!(after.loadgen > before.loadgen))
            .unwrap();
    }
}
