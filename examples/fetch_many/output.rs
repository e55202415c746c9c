//! What the reader sees: the table (one row per client, from `Report::table`), the notes under
//! it and a one-line verdict computed from the numbers, or with `--json` one JSON object with the
//! plan, the reports, the failures, the notes and the verdict, which `measure` reads back.
//!
//! The JSON is written by hand with a small escaping helper (Python would call `json.dumps`);
//! the verdict compares CPU per fetch, memory and wall time, and says when failed fetches make
//! the comparison unfair.

use std::time::Duration;

use taketurns::workload::{FetchPlan, Report};

use crate::Cli;
use crate::parent::{Outcome, Setup, cap_words};

/// Print the table, the clients that did not run, the notes and the verdict.
pub fn print_table(plan: &FetchPlan, setup: &Setup, outcome: &Outcome, verdict: Option<&str>) {
    let what = match (setup.delay, setup.size) {
        (Some(d), Some(s)) => format!("{} ms delay, {s}-byte body", d.as_millis()),
        _ => "delay unknown".to_string(),
    };
    println!(
        "{} fetches of http://{}{} ({what}, timeout {} ms, {}) on {}",
        plan.count,
        plan.host,
        plan.path,
        plan.timeout.as_millis(),
        cap_words(setup.limit),
        taketurns::workload::machine::describe()
    );
    println!();
    print!("{}", Report::table(&outcome.reports));
    for (client, why) in &outcome.failures {
        println!("{client}: did not run: {why}");
    }
    println!();
    for note in &outcome.notes {
        println!("note: {note}");
    }
    if let Some(verdict) = verdict {
        println!("verdict: {verdict}");
    }
}

/// "N× less CPU per fetch", or "N× more ...", from our cost and theirs.
fn compare(ours: f64, theirs: f64, what: &str) -> String {
    if ours <= 0.0 || theirs <= 0.0 {
        return format!("{what}: too small to compare");
    }
    let ratio = theirs / ours;
    if ratio >= 1.0 {
        format!("{ratio:.1}× less {what}")
    } else {
        format!("{:.1}× more {what}", 1.0 / ratio)
    }
}

/// `0.85 s`, or `41 ms` under a second.
fn seconds(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{:.2} s", d.as_secs_f64())
    } else {
        format!("{:.0} ms", d.as_secs_f64() * 1e3)
    }
}

/// One line comparing the event loop with a thread per task (or the pool), from the numbers.
pub fn verdict(reports: &[Report]) -> Option<String> {
    let event_loop = reports.iter().find(|r| r.client == "event-loop")?;
    let threads = reports
        .iter()
        .find(|r| r.client == "thread-per-task")
        .or_else(|| reports.iter().find(|r| r.client.starts_with("thread-pool")))?;
    let per_fetch_us = |r: &Report| r.cpu_per_fetch().as_secs_f64() * 1e6;
    let mut line = format!(
        "event loop vs {}: {} ({:.0} µs vs {:.0} µs), {} (peak RSS grew {} KiB vs {} KiB), \
         wall time {} vs {}",
        threads.client,
        compare(
            per_fetch_us(event_loop),
            per_fetch_us(threads),
            "CPU per fetch"
        ),
        per_fetch_us(event_loop),
        per_fetch_us(threads),
        compare(
            event_loop.rss_growth_kib() as f64,
            threads.rss_growth_kib() as f64,
            "memory"
        ),
        event_loop.rss_growth_kib(),
        threads.rss_growth_kib(),
        seconds(event_loop.wall),
        seconds(threads.wall),
    );
    let failed = event_loop.fetches - event_loop.ok + threads.fetches - threads.ok;
    if failed > 0 {
        line.push_str(&format!(
            " (but {failed} fetches failed: not a fair comparison)"
        ));
    }
    if let Some(asyncio) = reports.iter().find(|r| r.client == "py-asyncio") {
        line.push_str(&format!(
            "; vs Python's asyncio: {} ({:.0} µs vs {:.0} µs), wall time {} vs {}",
            compare(
                per_fetch_us(event_loop),
                per_fetch_us(asyncio),
                "CPU per fetch"
            ),
            per_fetch_us(event_loop),
            per_fetch_us(asyncio),
            seconds(event_loop.wall),
            seconds(asyncio.wall),
        ));
    }
    Some(line)
}

/// `s` as a JSON string, quotes and escapes included.
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The `--json` object: machine, plan, reports, failures, notes and verdict.
pub fn to_json(
    cli: &Cli,
    plan: &FetchPlan,
    setup: &Setup,
    outcome: &Outcome,
    verdict: Option<&str>,
) -> String {
    let (delay, size) = (setup.delay, setup.size);
    let null_or = |v: Option<u64>| v.map_or("null".to_string(), |v| v.to_string());
    let reports: Vec<String> = outcome.reports.iter().map(Report::to_json).collect();
    let failures: Vec<String> = outcome
        .failures
        .iter()
        .map(|(client, why)| {
            format!(
                "{{\"client\":{},\"message\":{}}}",
                json_string(client),
                json_string(why)
            )
        })
        .collect();
    let notes: Vec<String> = outcome.notes.iter().map(|n| json_string(n)).collect();
    format!(
        "{{\"machine\":{},\"plan\":{{\"count\":{},\"host\":{},\"path\":{},\"delay_ms\":{},\
         \"size\":{},\"timeout_ms\":{},\"pool_size\":{},\"concurrency\":{}}},\"reports\":[{}],\
         \"failures\":[{}],\"notes\":[{}],\"verdict\":{}}}",
        json_string(&taketurns::workload::machine::describe()),
        plan.count,
        json_string(&plan.host),
        json_string(&plan.path),
        null_or(delay.map(|d| d.as_millis() as u64)),
        null_or(size),
        plan.timeout.as_millis(),
        cli.pool_size,
        null_or(setup.limit.map(|n| n as u64)),
        reports.join(","),
        failures.join(","),
        notes.join(","),
        verdict.map_or("null".to_string(), json_string),
    )
}
