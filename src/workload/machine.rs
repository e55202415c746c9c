//! What machine a measurement ran on, and how much memory and CPU time this process has used.
//!
//! Every number the examples print is printed beside the machine that produced it, so a reader can
//! compare with their own. These helpers read Linux's `/proc` files; elsewhere they answer
//! "unknown" (or `None`) instead of failing. CPU time comes from `getrusage`, as Python's
//! `time.process_time()` and `resource.getrusage` read it.

use std::fs;
use std::time::Duration;

use nix::sys::resource::{Usage, UsageWho, getrusage};
use nix::sys::time::{TimeVal, TimeValLike};

/// The CPU model from `/proc/cpuinfo` (e.g. `AMD EPYC`), or `"unknown CPU"`.
pub fn cpu_model() -> String {
    fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string())
}

/// How many CPUs this process may run on (0 if unknown).
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get())
}

/// One line for a report: `"2 CPUs, AMD EPYC"`.
pub fn describe() -> String {
    let cpus = cpus();
    let plural = if cpus == 1 { "" } else { "s" };
    format!("{cpus} CPU{plural}, {}", cpu_model())
}

/// A field of `/proc/self/status` measured in kB (`"VmRSS:"`, `"VmSize:"`, `"VmHWM:"`), in KiB.
pub fn status_kib(field: &str) -> Option<u64> {
    fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// This process's resident memory now (`VmRSS`), in KiB.
pub fn resident_kib() -> Option<u64> {
    status_kib("VmRSS:")
}

/// CPU time (user plus system) this process has used so far: every thread, finished threads
/// included. Take it before and after a piece of work and subtract. Python's
/// `time.process_time()`.
pub fn cpu_time() -> Duration {
    total(&rusage(UsageWho::RUSAGE_SELF))
}

/// CPU time (user plus system) of this process's children that have finished and been waited
/// for. Python's `resource.getrusage(resource.RUSAGE_CHILDREN)`.
pub fn children_cpu_time() -> Duration {
    total(&rusage(UsageWho::RUSAGE_CHILDREN))
}

/// A `getrusage` reading.
fn rusage(who: UsageWho) -> Usage {
    // getrusage fails only for a bad `who` or a bad pointer; nix rules both out.
    getrusage(who).expect("getrusage cannot fail for SELF or CHILDREN")
}

/// User plus system time of a reading.
fn total(usage: &Usage) -> Duration {
    from_timeval(usage.user_time()) + from_timeval(usage.system_time())
}

/// A `timeval` as a `Duration` (a negative one, which getrusage never returns, as zero).
pub(crate) fn from_timeval(tv: TimeVal) -> Duration {
    Duration::from_micros(u64::try_from(tv.num_microseconds()).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_this_machine() {
        assert!(super::cpus() >= 1);
        assert!(super::describe().contains("CPU"));
        assert!(super::resident_kib().is_some_and(|kib| kib > 0));
        assert!(super::status_kib("NoSuchField:").is_none());
    }

    #[test]
    fn cpu_time_counts_a_busy_loop() {
        let before = super::cpu_time();
        let give_up = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut x = 0u64;
        while super::cpu_time() == before && std::time::Instant::now() < give_up {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        assert!(
            super::cpu_time() > before,
            "10 s of spinning were not billed as CPU time"
        );
    }
}
