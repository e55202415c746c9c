//! Figures as `thread_cost` prints them: the median of some samples, a time in nanoseconds or
//! microseconds, a size in bytes, KiB or MiB, and the one line that names the machine (cores,
//! CPU, kernel, Rust's default thread stack) above the tables.
//!
//! Python would use `statistics.median` and f-strings; nothing here is specific to threads or
//! tasks. No statistics beyond the median.

use std::time::Duration;

use crate::limits::sysctl;

/// The median of some durations (the upper one of an even count), or zero when there are none.
pub fn median(mut samples: Vec<Duration>) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// A duration as nanoseconds below a microsecond, else microseconds with one decimal.
pub fn time(d: Duration) -> String {
    if d < Duration::from_micros(1) {
        format!("{} ns", d.as_nanos())
    } else {
        format!("{:.1} µs", d.as_secs_f64() * 1e6)
    }
}

/// A size given in KiB, in bytes below 1 KiB, in KiB below 10 MiB, else in MiB.
pub fn size(kib: f64) -> String {
    if kib.abs() < 1.0 {
        format!("{:.0} B", kib * 1024.0)
    } else if kib.abs() < 10.0 * 1024.0 {
        format!("{kib:.1} KiB")
    } else {
        format!("{:.1} MiB", kib / 1024.0)
    }
}

/// "2 cores, AMD EPYC, Linux 6.x, Rust default thread stack 2 MiB".
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = taketurns::workload::machine::cpu_model();
    let kernel = sysctl("/proc/sys/kernel/osrelease");
    let stack = std::env::var("RUST_MIN_STACK").map_or_else(
        |_| "2 MiB".into(),
        |s| format!("{s} bytes (RUST_MIN_STACK)"),
    );
    let plural = if cores == 1 { "" } else { "s" };
    format!("{cores} core{plural}, {cpu}, Linux {kernel}; Rust's default thread stack: {stack}")
}
