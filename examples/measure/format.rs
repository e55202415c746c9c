//! Numbers as the tables show them: a time or a size in the unit that suits it, three
//! significant digits, thousands separators, ratios as `3.1×`; and the two statistics the tables
//! use, a median of batches and a percentile of latencies.
//!
//! Python's `statistics.median` and `f"{n:,}"` do the same jobs; a benchmark harness (criterion)
//! would add confidence intervals and outlier detection, which this program leaves out on
//! purpose: one run, medians, and a caption that says how loaded the machine was.

use std::time::Duration;

/// A time in the unit that suits it, three significant digits (whole nanoseconds): `143 ns`,
/// `1.52 µs`, `2.54 s`.
pub fn time(d: Duration) -> String {
    let ns = d.as_secs_f64() * 1e9;
    let (value, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    if unit == "ns" {
        // Nanoseconds are the clock's resolution: no decimals to show.
        return format!("{value:.0} ns");
    }
    format!("{} {unit}", sig3(value))
}

/// A size in KiB in the unit that suits it: `0.84 KiB`, `13.7 KiB`, `2.10 MiB`.
pub fn kib(kib: f64) -> String {
    if kib >= 1024.0 {
        format!("{} MiB", sig3(kib / 1024.0))
    } else {
        format!("{} KiB", sig3(kib))
    }
}

/// A number with three significant digits (no fewer than its integer digits).
fn sig3(x: f64) -> String {
    let decimals = if x >= 100.0 {
        0
    } else if x >= 10.0 {
        1
    } else {
        2
    };
    format!("{x:.decimals$}")
}

/// A whole number with thousands separators: `100,000`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `a ÷ b` as `3.1×`, or `–` when it means nothing.
pub fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 && a.is_finite() && a > 0.0 {
        format!("{}×", sig2(a / b))
    } else {
        "–".to_string()
    }
}

/// Two significant digits, for ratios.
fn sig2(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// The median of some durations (the upper one of an even count).
pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

/// The latency below which `fraction` of the sorted samples lie, in microseconds.
pub fn percentile(sorted: &[u32], fraction: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1;
    Duration::from_micros(u64::from(sorted[i]))
}
