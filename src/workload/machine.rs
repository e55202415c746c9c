//! What machine a measurement ran on, and how much memory this process holds right now.
//!
//! Every number the examples print is printed beside the machine that produced it, so a reader can
//! compare with their own. These helpers read Linux's `/proc` files; elsewhere they answer
//! "unknown" (or `None`) instead of failing.

use std::fs;

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

#[cfg(test)]
mod tests {
    #[test]
    fn reads_this_machine() {
        assert!(super::cpus() >= 1);
        assert!(super::describe().contains("CPU"));
        assert!(super::resident_kib().is_some_and(|kib| kib > 0));
        assert!(super::status_kib("NoSuchField:").is_none());
    }
}
