//! The facts every caption and README repeats: the machine (CPUs, model, kernel, RAM), the
//! command line that reproduces the sweep, the load average, the date and time in UTC (without a
//! date crate), and durations as people read them (`1.25 s`, `41 ms`, `1:05`).
//!
//! Python reads the same files (`/proc/cpuinfo`, `os.getloadavg()`) and formats the date with
//! `datetime.now(timezone.utc)`. Linux only: other systems get "unknown" where `/proc` is
//! missing.

use std::time::{SystemTime, UNIX_EPOCH};

/// `2 CPUs, AMD EPYC, Linux 6.1.0, 23.5 GiB RAM`.
pub fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown CPU".to_string(), |m| m.trim().to_string());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or(String::new(), |k| format!(", Linux {}", k.trim()));
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let kib: f64 = info
                .lines()
                .find(|l| l.starts_with("MemTotal:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some(format!(", {:.1} GiB RAM", kib / 1024.0 / 1024.0))
        })
        .unwrap_or_default();
    format!("{cpus} CPUs, {model}{kernel}{memory}")
}

/// `cargo run --release --example sweep -- <our arguments>`.
pub fn command_line(profile: &str) -> String {
    let profile_flag = match profile {
        "release" => " --release".to_string(),
        "debug" => String::new(),
        other => format!(" --profile {other}"),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut line = format!("cargo run{profile_flag} --example sweep");
    if !args.is_empty() {
        line.push_str(" -- ");
        line.push_str(&args.join(" "));
    }
    line
}

/// `/proc/loadavg`'s 1, 5 and 15 minute load averages: `0.52, 1.10, 3.04`.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|| "unknown".to_string())
}

/// The date and time now, UTC, without a date crate: days since 1970 to a civil date (Howard
/// Hinnant's `civil_from_days`).
pub fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60
    )
}

/// `1.25 s`, or `41 ms` under a second.
pub fn seconds(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.2} s")
    } else {
        format!("{:.0} ms", s * 1e3)
    }
}

/// `1:05` (minutes and seconds), `1:02:05` past an hour; `?` for nonsense.
pub fn clock(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "?".to_string();
    }
    let s = seconds.round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}
