//! The bridge's process tree, read from /proc: descendants, resident memory and CPU time.
//!
//! Everything here is Linux-only. The tree is the bridge process and, recursively, the
//! children listed in `/proc/<pid>/task/<tid>/children` (so a bridge that spawns helpers,
//! e.g. `npx` → `node`, is measured whole). The driver and the server are never part of it.

use std::fs;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// The root and all its live descendants (root first). Empty when the root is gone.
pub fn tree(root: u32) -> Vec<u32> {
    let mut out = Vec::with_capacity(4);
    if fs::metadata(format!("/proc/{root}")).is_err() {
        return out;
    }
    out.push(root);
    let mut i = 0;
    while i < out.len() {
        let pid = out[i];
        i += 1;
        let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let mut p = task.path();
            p.push("children");
            let Ok(s) = fs::read_to_string(&p) else { continue };
            for c in s.split_ascii_whitespace() {
                if let Ok(c) = c.parse::<u32>()
                    && !out.contains(&c)
                {
                    out.push(c);
                }
            }
        }
    }
    out
}

/// (VmRSS, VmHWM) of one process in KiB; None once it is gone (or a zombie, which has none).
pub fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let mut rss = None;
    let mut hwm = None;
    for line in s.lines() {
        if let Some(v) = line.strip_prefix("VmRSS:") {
            rss = v.split_ascii_whitespace().next().and_then(|n| n.parse().ok());
        } else if let Some(v) = line.strip_prefix("VmHWM:") {
            hwm = v.split_ascii_whitespace().next().and_then(|n| n.parse().ok());
        }
    }
    Some((rss?, hwm?))
}

/// Sums over the tree of (VmRSS, RssAnon, RssFile + RssShmem), KiB.
pub fn tree_rss_detail_kib(root: u32) -> (u64, u64, u64) {
    let mut out = (0, 0, 0);
    for p in tree(root) {
        let Ok(s) = fs::read_to_string(format!("/proc/{p}/status")) else {
            continue;
        };
        for line in s.lines() {
            let val = |v: &str| {
                v.split_ascii_whitespace()
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            if let Some(v) = line.strip_prefix("VmRSS:") {
                out.0 += val(v);
            } else if let Some(v) = line.strip_prefix("RssAnon:") {
                out.1 += val(v);
            } else if let Some(v) = line.strip_prefix("RssFile:").or_else(|| line.strip_prefix("RssShmem:")) {
                out.2 += val(v);
            }
        }
    }
    out
}

/// Sum of VmRSS and sum of VmHWM over the tree, in KiB, and how many processes it had.
pub fn tree_rss_kib(root: u32) -> (u64, u64, usize) {
    let pids = tree(root);
    let mut rss = 0;
    let mut hwm = 0;
    for &p in &pids {
        if let Some((r, h)) = rss_kib(p) {
            rss += r;
            hwm += h;
        }
    }
    (rss, hwm, pids.len())
}

/// CPU time consumed so far by a process tree.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu {
    /// Sum over every live thread of the tree of `/proc/<pid>/task/<tid>/schedstat` field 1
    /// (nanoseconds on a CPU). Precise, but a thread that exits takes its time with it.
    pub sched_ns: u64,
    /// Sum over the tree's processes of utime+stime+cutime+cstime from `/proc/<pid>/stat`
    /// (clock ticks: 10 ms each). Coarse, but keeps the time of exited threads and reaped
    /// children.
    pub ticks: u64,
    /// Times a thread of the tree was scheduled onto a CPU (schedstat field 3): about the
    /// number of wake-ups.
    pub slices: u64,
}

impl Cpu {
    /// CPU time between two snapshots, in nanoseconds: the precise figure unless threads or
    /// children exited in between and the coarse one shows clearly more.
    pub fn since(&self, before: &Cpu) -> u64 {
        let sched = self.sched_ns.saturating_sub(before.sched_ns);
        let ticks = self.ticks.saturating_sub(before.ticks) * tick_ns();
        // Each of the two tick readings can be off by up to one tick per process.
        if ticks > sched + 3 * tick_ns() && ticks as f64 > sched as f64 * 1.2 {
            ticks
        } else {
            sched
        }
    }
}

pub fn tick_ns() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    1_000_000_000 / if hz > 0 { hz as u64 } else { 100 }
}

fn stat_ticks(pid: u32) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    let rest = &s[s.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_ascii_whitespace().collect();
    // f[0] is field 3 (state); utime, stime, cutime, cstime are fields 14..=17.
    let mut sum = 0u64;
    for i in 11..=14 {
        sum += f.get(i)?.parse::<i64>().ok()?.max(0) as u64;
    }
    Some(sum)
}

/// (run time in ns, times scheduled) summed over the threads of one process.
fn sched(pid: u32) -> (u64, u64) {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return (0, 0);
    };
    let mut sum = (0, 0);
    for task in tasks.flatten() {
        let mut p = task.path();
        p.push("schedstat");
        if let Ok(s) = fs::read_to_string(&p) {
            let mut f = s.split_ascii_whitespace().map(|n| n.parse::<u64>().unwrap_or(0));
            sum.0 += f.next().unwrap_or(0);
            sum.1 += f.nth(1).unwrap_or(0);
        }
    }
    sum
}

pub fn tree_cpu(root: u32) -> Cpu {
    let mut cpu = Cpu::default();
    for p in tree(root) {
        cpu.ticks += stat_ticks(p).unwrap_or(0);
        let (ns, slices) = sched(p);
        cpu.sched_ns += ns;
        cpu.slices += slices;
    }
    cpu
}

/// CPU time of the calling thread so far (the driver's current-thread runtime), in ns.
pub fn self_thread_ns() -> u64 {
    fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_ascii_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// Sends `sig` to every process of the tree (children first, so none is re-parented early).
pub fn signal_tree(root: u32, sig: i32) {
    for p in tree(root).into_iter().rev() {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe {
            libc::kill(p as i32, sig);
        }
    }
}

/// Samples the tree's total VmRSS on a background thread until stopped.
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<RssPeak>>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct RssPeak {
    /// Largest sum of VmRSS over the tree seen in one sample, KiB.
    pub peak_kib: u64,
    pub samples: u64,
    pub max_procs: usize,
}

impl RssSampler {
    pub fn start(root: u32, every: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("rss-sampler".into())
            .spawn(move || {
                let mut peak = RssPeak::default();
                while !flag.load(Ordering::Relaxed) {
                    let (rss, _, n) = tree_rss_kib(root);
                    peak.peak_kib = peak.peak_kib.max(rss);
                    peak.max_procs = peak.max_procs.max(n);
                    peak.samples += 1;
                    std::thread::sleep(every);
                }
                peak
            })
            .expect("spawn the RSS sampler");
        RssSampler {
            stop,
            handle: Some(handle),
        }
    }

    pub fn finish(mut self) -> RssPeak {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.take().and_then(|h| h.join().ok()).unwrap_or_default()
    }
}

/// CPU time of the whole machine and of what this measurement accounts for, in clock ticks,
/// to tell how much other work ran meanwhile.
#[derive(Debug, Clone, Copy, Default)]
pub struct MachineCpu {
    /// All CPUs' non-idle time (/proc/stat: everything but idle and iowait).
    pub busy: u64,
    /// All CPUs' total time.
    pub total: u64,
    /// The driver itself plus its waited-for children (every bridge it ran and reaped).
    pub ours: u64,
}

pub fn machine_cpu(server_pid: Option<u32>) -> MachineCpu {
    let mut m = MachineCpu::default();
    if let Ok(s) = fs::read_to_string("/proc/stat")
        && let Some(line) = s.lines().next()
    {
        let f: Vec<u64> = line
            .split_ascii_whitespace()
            .skip(1)
            .take(8)
            .filter_map(|n| n.parse().ok())
            .collect();
        if f.len() == 8 {
            m.total = f.iter().sum();
            m.busy = m.total - f[3] - f[4];
        }
    }
    m.ours = stat_ticks(std::process::id()).unwrap_or(0) + server_pid.and_then(stat_ticks).unwrap_or(0);
    m
}

/// The share of all CPUs' time between two readings that went to other work, in percent.
/// Call `after` only once every bridge has been reaped (so its time is in the driver's).
pub fn foreign_pct(before: &MachineCpu, after: &MachineCpu) -> Option<f64> {
    let total = after.total.checked_sub(before.total)?;
    if total == 0 {
        return None;
    }
    let busy = after.busy.saturating_sub(before.busy);
    let ours = after.ours.saturating_sub(before.ours);
    Some(100.0 * busy.saturating_sub(ours) as f64 / total as f64)
}
