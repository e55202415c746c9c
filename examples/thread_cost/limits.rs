//! Limits: how many threads this machine allows, read from `/proc` and `/sys` (cores,
//! `kernel.threads-max`, `kernel.pid_max`, `RLIMIT_NPROC`, `vm.max_map_count`, the cgroup's
//! `pids.max`, RAM), each with the number of threads it allows where the memory measurement
//! says; and what `spawn` hands back when a thread cannot be created: an `io::Error`, provoked
//! on purpose with a stack no machine can give.
//!
//! Python's `threading.Thread.start()` raises `RuntimeError: can't start new thread` at the same
//! limits; `std::thread::spawn` panics, which is why the book's runner returns the error instead.
//! Left out: finding the real limit by starting threads until one fails.

use std::fs;

use taketurns::threaded::ThreadPerTask;

use crate::format::size;
use crate::memory::field;

/// A stack no machine can give: 256 TiB, twice what a process can map on x86-64 Linux.
const IMPOSSIBLE_STACK: usize = 1 << 48;

/// The "Limits" section and the "When a thread cannot be created" one. `maps_per_thread` and
/// `kib_per_thread` come from the memory measurement.
pub fn print_sections(maps_per_thread: f64, kib_per_thread: f64) {
    println!("Limits: how many threads this machine allows");
    print_limits(maps_per_thread, kib_per_thread);
    println!();
    println!("When a thread cannot be created");
    println!("  {}", impossible_stack());
}

// ANCHOR: limits
/// One line of `/proc/self/limits`, such as `Max processes  96364  96364  processes`, as
/// (soft, hard) strings.
fn rlimit(name: &str) -> Option<(String, String)> {
    let limits = fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find_map(|line| line.strip_prefix(name))?;
    let mut words = line.split_whitespace();
    Some((words.next()?.to_string(), words.next()?.to_string()))
}

/// A one-number file such as `/proc/sys/kernel/threads-max`, as a string.
pub fn sysctl(path: &str) -> String {
    fs::read_to_string(path).map_or_else(|_| "unreadable".into(), |s| s.trim().to_string())
}
// ANCHOR_END: limits

/// Prints each limit and, where it can, how many threads it allows: `maps_per_thread` and
/// `kib_per_thread` (RSS plus kernel stack) come from the memory measurement.
fn print_limits(maps_per_thread: f64, kib_per_thread: f64) {
    let line =
        |what: &str, value: String, note: String| println!("  {what:<34} {value:>15}  {note}");
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    line(
        "cores (available_parallelism)",
        cores.to_string(),
        "threads that can run at the same instant".into(),
    );
    line(
        "kernel.threads-max",
        sysctl("/proc/sys/kernel/threads-max"),
        "threads on the whole machine".into(),
    );
    line(
        "kernel.pid_max",
        sysctl("/proc/sys/kernel/pid_max"),
        "every thread takes a pid, machine-wide".into(),
    );
    // The fourth field of /proc/loadavg is "running/total" scheduling entities: every thread of
    // every process on the machine.
    let loadavg = sysctl("/proc/loadavg");
    if let Some(total) = loadavg
        .split_whitespace()
        .nth(3)
        .and_then(|f| f.split_once('/'))
        .map(|(_, total)| total.to_string())
    {
        line(
            "threads on the machine now",
            total,
            "all processes, from /proc/loadavg".into(),
        );
    }
    let root = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| field(&s, "Uid:").ok())
        == Some(0);
    if let Some((soft, hard)) = rlimit("Max processes") {
        let note = if root {
            "threads of this user; not enforced for root"
        } else {
            "threads of this user, all processes"
        };
        line(
            "RLIMIT_NPROC (ulimit -u)",
            format!("{soft} / {hard}"),
            note.into(),
        );
    }
    if let Some((soft, _)) = rlimit("Max stack size") {
        let kib = soft
            .parse::<u64>()
            .map_or(soft, |b| format!("{} KiB", b / 1024));
        line(
            "RLIMIT_STACK (ulimit -s)",
            kib,
            "the main thread's stack; not Rust threads'".into(),
        );
    }
    let max_maps = sysctl("/proc/sys/vm/max_map_count");
    let allows = match max_maps.parse::<f64>() {
        Ok(max) if maps_per_thread > 0.0 => format!(
            "about {:.0} threads at {maps_per_thread:.2} maps each",
            max / maps_per_thread
        ),
        _ => String::new(),
    };
    line("vm.max_map_count", max_maps, allows);
    line(
        "cgroup pids.max",
        cgroup_pids_max(),
        "tasks in this cgroup".into(),
    );
    if let Ok(meminfo) = fs::read_to_string("/proc/meminfo")
        && let Ok(total) = field(&meminfo, "MemTotal:")
    {
        let allows = if kib_per_thread > 0.0 {
            format!(
                "about {:.0} waiting threads at {} each (RSS + kernel stack)",
                total as f64 / kib_per_thread,
                size(kib_per_thread)
            )
        } else {
            String::new()
        };
        line("RAM (MemTotal)", size(total as f64), allows);
    }
}

/// This process's cgroup `pids.max`, cgroup v2 or v1, or "none" if no limit is set.
fn cgroup_pids_max() -> String {
    let cgroups = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    for line in cgroups.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next(), parts.next(), parts.next());
        let dir = match (controllers, path) {
            (Some(""), Some(path)) => format!("/sys/fs/cgroup{path}"),
            (Some(c), Some(path)) if c.split(',').any(|c| c == "pids") => {
                format!("/sys/fs/cgroup/pids{path}")
            }
            _ => continue,
        };
        if let Ok(max) = fs::read_to_string(format!("{}/pids.max", dir.trim_end_matches('/'))) {
            return max.trim().to_string();
        }
    }
    "none".into()
}

// ANCHOR: spawn_error
/// Asks for a thread whose stack cannot exist and reports what the runner hands back. A runner
/// that gets this error can wait, queue the work, or fall back to a pool; `std::thread::spawn`
/// would have panicked instead.
fn impossible_stack() -> String {
    let tib = IMPOSSIBLE_STACK >> 40;
    match ThreadPerTask::new()
        .stack_size(IMPOSSIBLE_STACK)
        .spawn(|| ())
    {
        Ok(handle) => {
            let _ = handle.join();
            format!("a {tib} TiB stack was granted: spawn did not fail on this machine")
        }
        Err(e) => format!(
            "spawn with a {tib} TiB stack returned Err: {e} (kind: {:?})",
            e.kind()
        ),
    }
}
// ANCHOR_END: spawn_error
