//! `fetch_uring.md`: the question of chapter 15, what waiting on completions instead of
//! readiness saves and what it costs, on the fetch plan (10,000 fetches of the delay server; 1,000
//! with `--quick`). Needs `--features uring`; a build without it skips the table.
//!
//! Three rows. The event loop on epoll and the same loop on io_uring (`fetch_many --runner
//! event-loop` and `--runner uring`, each in a child process of its own, as in the other fetch
//! tables): wall time, CPU per fetch and memory per fetch from their reports; system calls per
//! fetch counted by `strace -f -c` on the client process alone, against a delay server in another
//! process, the same way for both (the method of appendix E), with start-up and shutdown
//! cancelled by counting a run of one fetch too and dividing the difference by the difference in
//! fetches; and, for io_uring, the entries handed to the kernel per `io_uring_enter`, from the
//! ring's own counters in the run without strace. Then chapter 13's floor, the raw mio loop,
//! measured the way `fetch_peers.md` measures it (the median of 3 `child-fetch` children after a
//! warm-up; `strace` against a run of no fetches), so that the table answers the chapter's
//! question against the floor too.
//! Sentences under the table give the ratios to the floor and list the system calls each loop
//! makes per fetch.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use taketurns::workload::Report;

use crate::children::{fetch_many, fetch_many_binary};
use crate::fetch_1000::find;
use crate::fetch_peers;
use crate::format::{count, kib, ratio, time};
use crate::output::Table;
use crate::{Experiment, Size};

/// `--only uring`.
pub const EXPERIMENT: Experiment = Experiment {
    name: "uring",
    file: "fetch_uring.md",
    about: "the event loop on epoll and on io_uring, system calls per fetch (strace)",
    skip: if cfg!(feature = "uring") {
        None
    } else {
        Some("it needs `--features uring` (cargo run --release --features uring --example measure)")
    },
    run: |run| uring_table(run.size),
};

/// The two loops: fetch_many's `--runner`, the report's client name, and the row's name.
const LOOPS: [(&str, &str, &str); 2] = [
    ("event-loop", "event-loop", "event loop on epoll"),
    ("uring", "io-uring", "event loop on io_uring"),
];

/// The plan's request path: fetch_many's default delay and body size.
const PATH: &str = "/?delay_ms=50&size=1024";

/// fetch_uring.md: both loops on the same plan.
fn uring_table(size: Size) -> Result<Table, String> {
    let fetches: u64 = if size.quick { 1_000 } else { 10_000 };
    let mut table = Table::new(&[
        "client",
        "fetches",
        "wall time",
        "CPU per fetch",
        "memory per fetch",
        "system calls per fetch",
        "operations per io_uring_enter",
    ]);
    let mut reports = Vec::new();
    for (runner, client, _) in LOOPS {
        eprintln!("measure:   fetch_many --runner {runner} at {fetches} fetches …");
        let (mut got, failures) =
            fetch_many(&["--count", &fetches.to_string(), "--runner", runner])?;
        if find(&got, client).is_none() {
            return Err(format!("{client} did not run: {}", failures.join("; ")));
        }
        reports.append(&mut got);
    }
    let counted = count_system_calls(fetches);
    for (runner, client, row) in LOOPS {
        let report = find(&reports, client).expect("checked above");
        let calls = counted.as_ref().ok().and_then(|c| c.get(runner));
        table.row(vec![
            row.to_string(),
            count(report.fetches),
            time(report.wall),
            time(report.cpu_per_fetch()),
            kib(report.kib_per_fetch()),
            calls.map_or_else(
                || "–".to_string(),
                |c| format!("{:.2}", c.values().sum::<f64>()),
            ),
            operations_per_enter(report),
        ]);
    }
    eprintln!("measure:   the raw mio loop (chapter 13's floor) at {fetches} fetches …");
    match fetch_peers::floor_once(fetches as usize) {
        Ok((floor, floor_calls)) => {
            table.row(vec![
                "raw mio loop (the floor)".to_string(),
                count(floor.count),
                time(floor.wall),
                time(floor.cpu_per_fetch()),
                kib(floor.kib_per_fetch()),
                floor_calls
                    .as_ref()
                    .map_or_else(|_| "–".to_string(), |c| format!("{c:.2}")),
                "–".to_string(),
            ]);
            let ring = find(&reports, LOOPS[1].1).expect("checked above");
            let mut sentence = format!(
                "On this run the loop on io_uring used {} the raw mio loop's CPU per fetch",
                ratio(
                    ring.cpu_per_fetch().as_secs_f64(),
                    floor.cpu_per_fetch().as_secs_f64()
                )
            );
            let ring_calls = counted
                .as_ref()
                .ok()
                .and_then(|c| c.get(LOOPS[1].0))
                .map(|c| c.values().sum::<f64>());
            if let (Some(ours), Ok(theirs)) = (ring_calls, &floor_calls) {
                sentence += &format!(" and {} its system calls per fetch", ratio(ours, *theirs));
            }
            table.sentences.push(format!(
                "{sentence}. The raw mio row is the median of 3 runs in children of `measure`, after one \
                 not counted, with its system calls counted as in fetch_peers.md (which shows \
                 the median of its own runs).",
            ));
        }
        Err(e) => {
            eprintln!("measure:   the raw mio loop did not run: {e}");
            table
                .sentences
                .push(format!("The raw mio loop did not run: {e}."));
        }
    }
    match &counted {
        Ok(counted) => {
            for (runner, _, row) in LOOPS {
                if let Some(calls) = counted.get(runner) {
                    table
                        .sentences
                        .push(format!("Per fetch, {row}: {}.", breakdown(calls)));
                }
            }
        }
        Err(e) => {
            eprintln!("measure:   system calls not counted: {e}");
            table
                .sentences
                .push(format!("System calls were not counted: {e}."));
        }
    }
    Ok(table)
}

/// The ring's entries per `io_uring_enter`, for a report that has a ring; `–` otherwise.
#[cfg(feature = "uring")]
fn operations_per_enter(report: &Report) -> String {
    match report.ring {
        Some(ring) if ring.enters > 0 => format!("{:.1}", ring.submitted_per_enter()),
        _ => "–".to_string(),
    }
}

/// Without the `uring` feature no report has a ring (and the table is skipped anyway).
#[cfg(not(feature = "uring"))]
fn operations_per_enter(_report: &Report) -> String {
    "–".to_string()
}

/// The system calls that make up a fetch (those at 0.01 a fetch or more), most frequent first:
/// `connect 1.00, socket 1.00, …`.
fn breakdown(calls: &BTreeMap<String, f64>) -> String {
    let mut rows: Vec<(&String, &f64)> = calls.iter().filter(|(_, n)| **n >= 0.01).collect();
    rows.sort_by(|a, b| b.1.total_cmp(a.1).then(a.0.cmp(b.0)));
    rows.iter()
        .map(|(name, n)| format!("{name} {n:.2}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// For each loop, the system calls of one fetch by name: `strace -f -c` on `fetch_many
/// run-client` with `fetches` fetches and with one, against one delay server in another
/// process; (calls at `fetches` − calls at 1) ÷ (`fetches` − 1).
fn count_system_calls(
    fetches: u64,
) -> Result<BTreeMap<&'static str, BTreeMap<String, f64>>, String> {
    Command::new("strace")
        .arg("-V")
        .output()
        .map_err(|_| "strace is not installed (apt-get install strace)".to_string())?;
    let binary = fetch_many_binary()?;
    let server = Server::start(&binary)?;
    let mut per_fetch = BTreeMap::new();
    for (runner, _, _) in LOOPS {
        eprintln!("measure:   strace -f -c on {runner} …");
        let many = strace_counts(&binary, &server.addr, runner, fetches)?;
        let one = strace_counts(&binary, &server.addr, runner, 1)?;
        let mut calls = BTreeMap::new();
        for (name, n) in &many {
            let extra = n.saturating_sub(one.get(name).copied().unwrap_or(0));
            calls.insert(name.clone(), extra as f64 / (fetches - 1) as f64);
        }
        per_fetch.insert(runner, calls);
    }
    Ok(per_fetch)
}

/// The calls by name of one `run-client` run under `strace -f -c`.
fn strace_counts(
    binary: &Path,
    addr: &str,
    runner: &str,
    fetches: u64,
) -> Result<BTreeMap<String, u64>, String> {
    let summary = std::env::temp_dir().join(format!(
        "taketurns-measure-{}-{runner}-{fetches}.strace",
        std::process::id()
    ));
    let output = Command::new("strace")
        .args(["-f", "-c", "-o"])
        .arg(&summary)
        .arg(binary)
        .args([
            "run-client",
            "--client",
            runner,
            "--count",
            &fetches.to_string(),
        ])
        .args([
            "--addr",
            addr,
            "--host",
            addr,
            "--path",
            PATH,
            "--timeout-ms",
            "30000",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run strace: {e}"))?;
    let text = std::fs::read_to_string(&summary);
    let _ = std::fs::remove_file(&summary);
    if !output.status.success() {
        return Err(format!(
            "`strace fetch_many run-client --client {runner}` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let text = text.map_err(|e| format!("strace wrote no summary: {e}"))?;
    Ok(parse_strace_summary(&text))
}

/// `strace -c`'s table: `% time  seconds  usecs/call  calls  [errors]  syscall` rows between
/// two dashed lines, then the total (left out).
fn parse_strace_summary(text: &str) -> BTreeMap<String, u64> {
    let mut calls = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split_whitespace().collect();
        let (Some(name), Some(n)) = (cells.last(), cells.get(3)) else {
            continue;
        };
        if *name == "total" || *name == "syscall" {
            continue;
        }
        if let Ok(n) = n.parse::<u64>() {
            *calls.entry((*name).to_string()).or_insert(0) += n;
        }
    }
    calls
}

/// A delay server in a child process (`fetch_many serve`), killed when dropped.
struct Server {
    /// The process.
    child: Child,
    /// Where it listens.
    addr: String,
}

impl Server {
    fn start(binary: &Path) -> Result<Server, String> {
        let mut child = Command::new(binary)
            .args(["serve", "--addr", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start the delay server: {e}"))?;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        let addr = line.trim().to_string();
        let server = Server { child, addr };
        if server.addr.parse::<std::net::SocketAddr>().is_err() {
            return Err(format!(
                "the delay server printed {line:?}, not its address"
            ));
        }
        Ok(server)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
