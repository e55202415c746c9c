//! `fetch_peers.md`: chapter 13's question, how close taketurns comes to tokio and to the floor
//! on a real workload. Each client makes the same fetches of the delay server, all at once
//! (10,000 in the full run, 1,000 with `--quick`; the server waits 50 ms before each 1 KiB
//! answer): taketurns' event loop, the raw mio loop (no tasks, no wakers, no timers: the floor),
//! and tokio's current-thread runtime with its I/O and time drivers.
//!
//! Each run is a client alone in a child process of its own (this binary's `child-fetch`), so
//! its CPU time (`getrusage`) and peak memory (`VmHWM`) are that client's; after one run not
//! counted, which warms the server up, the clients take turns, the order rotated from round to
//! round, and each figure is the median of the rounds. System calls are
//! counted as the fetch bench counts them, with `strace -f -c`: one more run of each client at
//! the full count and one at no fetches, the difference divided by the count, so that start-up
//! is left out. Without `strace` on the PATH the column says `–` and the caption says how to get
//! it. The delay server runs on a thread of this process, which does nothing else meanwhile.
//!
//! The clients are the fetch bench's (`benches/peers/mod.rs`, which `main.rs` includes with
//! `#[path]`), so the book's table and the bench run the same code. To add a row, add the client
//! there (its doc says how), then a [`Row`] to [`ROWS`]. asyncio has no row: its figures would
//! measure the Python interpreter more than the loop (chapter 10's table has Python's clients).

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use taketurns::workload::{FetchPlan, check_local_ports, raise_fd_limit, spawn_server_thread};

use crate::children::this_binary;
use crate::format::{count, kib, median, ratio, time};
use crate::output::Table;
use crate::peers::{self, ChildRun};
use crate::{Experiment, Size};

/// `--only peers`.
pub const EXPERIMENT: Experiment = Experiment {
    name: "peers",
    file: "fetch_peers.md",
    about: "taketurns against the raw mio loop and tokio, each alone in a process",
    skip: None,
    run: |run| peers_table(run.size),
};

/// One row of the table: a client of `benches/peers` and how the table names it.
struct Row {
    /// The client's name in `benches/peers`' `MEMBERS`.
    member: &'static str,
    /// The row's first cell.
    label: &'static str,
    /// How the caption's ratio sentence names this client's figures ("tokio's").
    theirs: &'static str,
}

/// The rows, taketurns first: the caption compares it with every other row.
const ROWS: [Row; 3] = [
    Row {
        member: "taketurns",
        label: "taketurns (event loop)",
        theirs: "taketurns'",
    },
    Row {
        member: "raw_mio",
        label: "raw mio loop (the floor)",
        theirs: "the raw mio loop's",
    },
    Row {
        member: "tokio_current_thread",
        label: "tokio current_thread (I/O and time drivers)",
        theirs: "tokio's",
    },
];

/// What the server waits before each answer.
const DELAY_MS: u64 = 50;
/// Body bytes of each answer.
const BODY_BYTES: u64 = 1024;
/// Open files beyond one per fetch: the standard streams, epoll, eventfds, the listener.
const FD_MARGIN: u64 = 256;

/// `child-fetch`: run one client alone on `count` fetches of the delay server at `addr` and
/// print its [`ChildRun`] line.
pub fn child_fetch(client: &str, addr: std::net::SocketAddr, fetches: usize) -> ExitCode {
    if let Err(e) = raise_fd_limit(fetches as u64 + FD_MARGIN) {
        eprintln!("measure child-fetch: {e}");
        return ExitCode::FAILURE;
    }
    let plan = FetchPlan::delay_server(addr, fetches, Duration::from_millis(DELAY_MS), BODY_BYTES);
    match peers::member(client).and_then(|m| peers::run_alone(m, &plan)) {
        Ok(run) => {
            println!("{}", run.line());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("measure child-fetch: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Run `member` in a `child-fetch` child, under `strace -f -c -o STRACE_OUT` when given, and
/// read its line.
fn run_child(
    member: &str,
    addr: std::net::SocketAddr,
    fetches: usize,
    strace_out: Option<&Path>,
) -> Result<ChildRun, String> {
    let exe = this_binary()?;
    let mut command = match strace_out {
        Some(out) => {
            let mut strace = Command::new("strace");
            strace.args(["-f", "-c", "-o"]).arg(out).arg(&exe);
            strace
        }
        None => Command::new(&exe),
    };
    command
        .arg("child-fetch")
        .args(["--client", member, "--addr", &addr.to_string()])
        .args(["--count", &fetches.to_string()])
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    let output = command
        .output()
        .map_err(|e| format!("cannot start the {member} child: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprint!("{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    match stdout.lines().last().and_then(ChildRun::parse) {
        Some(run) if output.status.success() => Ok(run),
        _ => Err(format!(
            "the {member} child exited with {} ({})",
            output.status,
            stderr.lines().last().unwrap_or("nothing on stderr")
        )),
    }
}

/// Why `strace` cannot count this program's system calls, if it cannot.
fn strace_missing() -> Option<String> {
    match Command::new("strace").arg("-V").output() {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!(
            "`strace -V` failed ({})",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(_) => Some(
            "`strace` is not on the PATH (install it with your package manager, e.g. `sudo \
             apt-get install strace`, and run this table again)"
                .into(),
        ),
    }
}

/// The calls column of `strace -c`'s `total` line.
fn total_calls(summary: &str) -> Option<u64> {
    let line = summary
        .lines()
        .rfind(|l| l.split_whitespace().last() == Some("total"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// `member`'s system calls per fetch: a run of `fetches` under `strace -f -c`, less a run of
/// none (start-up and shutdown), divided by `fetches`.
fn calls_per_fetch(
    member: &str,
    addr: std::net::SocketAddr,
    fetches: usize,
) -> Result<f64, String> {
    let out = std::env::temp_dir().join(format!(
        "taketurns-measure-strace-{}-{member}",
        std::process::id()
    ));
    let calls = |n: usize| -> Result<u64, String> {
        let run = run_child(member, addr, n, Some(&out))?;
        if run.ok != run.count {
            return Err(format!(
                "{} of {n} fetches failed under strace",
                run.count - run.ok
            ));
        }
        let summary = std::fs::read_to_string(&out)
            .map_err(|e| format!("cannot read strace's summary {}: {e}", out.display()))?;
        total_calls(&summary)
            .ok_or_else(|| format!("no `total` line in strace's summary: {summary:?}"))
    };
    let (busy, idle) = (calls(fetches), calls(0));
    let _ = std::fs::remove_file(&out);
    let (busy, idle) = (busy?, idle?);
    Ok(busy.saturating_sub(idle) as f64 / fetches.max(1) as f64)
}

/// The median of `values` (the upper one of an even count).
fn median_f64(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// What one row measured: its runs, and its system calls per fetch (or why not).
struct Measured {
    /// Every run that completed, one per round.
    runs: Vec<ChildRun>,
    /// `strace`'s count per fetch, or why there is none.
    calls: Result<f64, String>,
}

impl Measured {
    /// The median wall time over the runs.
    fn wall(&self) -> Duration {
        median(self.runs.iter().map(|r| r.wall).collect())
    }

    /// The median CPU per fetch over the runs.
    fn cpu(&self) -> Duration {
        median(self.runs.iter().map(ChildRun::cpu_per_fetch).collect())
    }

    /// The median share of the CPU time spent in the kernel (system time), from 0 to 1.
    fn kernel_share(&self) -> f64 {
        median_f64(
            self.runs
                .iter()
                .map(|r| r.sys.as_secs_f64() / (r.user + r.sys).as_secs_f64().max(1e-9))
                .collect(),
        )
    }

    /// The median peak memory per fetch over the runs, in KiB.
    fn kib(&self) -> f64 {
        median_f64(self.runs.iter().map(ChildRun::kib_per_fetch).collect())
    }
}

/// The floor alone: the median run (by CPU per fetch) of 3 runs of the raw mio loop on
/// `fetches` fetches, each in a child of its own, after a warm-up run not counted, and its
/// system calls per fetch counted as for this table (for `fetch_uring.md`).
pub fn floor_once(fetches: usize) -> Result<(ChildRun, Result<f64, String>), String> {
    check_local_ports(fetches as u64).map_err(|e| e.to_string())?;
    raise_fd_limit(fetches as u64 + FD_MARGIN).map_err(|e| e.to_string())?;
    let (addr, server) = spawn_server_thread("127.0.0.1:0")
        .map_err(|e| format!("cannot start the delay server: {e}"))?;
    let member = ROWS[1].member;
    let run = run_child(member, addr, fetches, None).and_then(|_warm_up| {
        let mut runs = (0..3)
            .map(|_| run_child(member, addr, fetches, None))
            .collect::<Result<Vec<_>, _>>()?;
        runs.sort_by_key(ChildRun::cpu_per_fetch);
        Ok(runs.swap_remove(1))
    });
    let calls = match strace_missing() {
        Some(why) => Err(why),
        None => calls_per_fetch(member, addr, fetches),
    };
    server
        .shutdown()
        .map_err(|e| format!("the delay server failed: {e}"))?;
    Ok((run?, calls))
}

/// fetch_peers.md: every row's runs in turn, then its system calls, then the table.
fn peers_table(size: Size) -> Result<Table, String> {
    let fetches = size.peer_fetches;
    check_local_ports(fetches as u64).map_err(|e| e.to_string())?;
    raise_fd_limit(fetches as u64 + FD_MARGIN).map_err(|e| e.to_string())?;
    let (addr, server) = spawn_server_thread("127.0.0.1:0")
        .map_err(|e| format!("cannot start the delay server: {e}"))?;
    let mut failures = Vec::new();
    let mut measured: Vec<Measured> = ROWS
        .iter()
        .map(|_| Measured {
            runs: Vec::new(),
            calls: Err(String::new()),
        })
        .collect();
    // The server's first thousands of connections grow its tables and touch fresh pages; a run
    // not counted meets that, so that no row does.
    eprintln!("measure:   a warm-up run, not counted …");
    run_child(ROWS[0].member, addr, fetches, None)?;
    for round in 0..size.peer_rounds {
        for k in 0..ROWS.len() {
            let i = (round + k) % ROWS.len();
            eprintln!(
                "measure:   round {} of {}: {} …",
                round + 1,
                size.peer_rounds,
                ROWS[i].member
            );
            match run_child(ROWS[i].member, addr, fetches, None) {
                Ok(run) => measured[i].runs.push(run),
                Err(e) => failures.push(e),
            }
        }
    }
    let missing = strace_missing();
    for (row, m) in ROWS.iter().zip(&mut measured) {
        m.calls = match &missing {
            Some(why) => Err(why.clone()),
            None => {
                eprintln!("measure:   {} under strace …", row.member);
                calls_per_fetch(row.member, addr, fetches)
            }
        };
    }
    server
        .shutdown()
        .map_err(|e| format!("the delay server failed: {e}"))?;
    Ok(render(&size, &measured, &failures, missing.as_deref()))
}

/// The table and its sentences, from what was measured.
fn render(size: &Size, measured: &[Measured], failures: &[String], missing: Option<&str>) -> Table {
    let mut table = Table::new(&[
        "client",
        "wall time",
        "CPU per fetch",
        "of it, in the kernel",
        "peak memory per fetch",
        "system calls per fetch",
    ]);
    for (row, m) in ROWS.iter().zip(measured) {
        if m.runs.is_empty() {
            let cells = vec![row.label.to_string()];
            table.row(
                cells
                    .into_iter()
                    .chain(std::iter::repeat_n("did not run".to_string(), 5))
                    .collect(),
            );
            continue;
        }
        table.row(vec![
            row.label.to_string(),
            time(m.wall()),
            time(m.cpu()),
            format!("{:.0}%", m.kernel_share() * 100.0),
            kib(m.kib()),
            m.calls
                .as_ref()
                .map_or_else(|_| "–".to_string(), |c| format!("{c:.1}")),
        ]);
    }
    let rounds = match size.peer_rounds {
        1 => "one run of each client".to_string(),
        n => format!("the median of {n} runs of each client, taken in turn"),
    };
    let calls = if missing.is_none() {
        "; system calls counted by `strace -f -c` in one more run, less a run of no fetches"
    } else {
        ""
    };
    table.sentences.push(format!(
        "Each client made {} fetches at once from a server that waits {DELAY_MS} ms before each \
         1 KiB answer, alone in a process of its own; {rounds}{calls}.",
        count(size.peer_fetches as u64)
    ));
    table.sentences.extend(comparisons(measured));
    table.sentences.push(format!(
        "The taketurns row differs from fetch_scale.md's event loop because it is another \
         measurement: here {rounds} in children of `measure`, there one run of `fetch_many`."
    ));
    if let Some(why) = missing {
        table
            .sentences
            .push(format!("System calls were not counted: {why}."));
    } else if let Some((row, Err(why))) = ROWS
        .iter()
        .zip(measured)
        .map(|(row, m)| (row, &m.calls))
        .find(|(_, calls)| calls.is_err())
    {
        table.sentences.push(format!(
            "System calls were not counted for {}: {why}.",
            row.label
        ));
    }
    for (row, m) in ROWS.iter().zip(measured) {
        let failed: u64 = m.runs.iter().map(|r| r.count - r.ok).sum();
        if failed > 0 {
            table.sentences.push(format!(
                "{} of {}'s fetches failed; its figures include them.",
                count(failed),
                row.label
            ));
        }
    }
    for failure in failures {
        eprintln!("measure:   {failure}");
        table
            .sentences
            .push(format!("A run could not complete ({failure})."));
    }
    table
}

/// "On this run taketurns used N× the raw mio loop's CPU per fetch and M× tokio's", and the
/// same for wall time: taketurns (the first row) against every other row that ran.
fn comparisons(measured: &[Measured]) -> Vec<String> {
    let Some(ours) = measured.first().filter(|m| !m.runs.is_empty()) else {
        return Vec::new();
    };
    let others: Vec<(&Row, &Measured)> = ROWS
        .iter()
        .zip(measured)
        .skip(1)
        .filter(|(_, m)| !m.runs.is_empty())
        .collect();
    if others.is_empty() {
        return Vec::new();
    }
    let list = |what: &str, f: &dyn Fn(&Measured) -> f64| {
        let parts: Vec<String> = others
            .iter()
            .enumerate()
            .map(|(i, (row, m))| {
                let r = ratio(f(ours), f(m));
                if i == 0 {
                    format!("{r} {} {what}", row.theirs)
                } else {
                    format!("{r} {}", row.theirs)
                }
            })
            .collect();
        match parts.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, first)) => format!("{} and {last}", first.join(", ")),
            None => String::new(),
        }
    };
    vec![
        format!(
            "On this run taketurns used {}.",
            list("CPU per fetch", &|m| m.cpu().as_secs_f64())
        ),
        format!(
            "Its wall time was {}.",
            list("wall time", &|m| m.wall().as_secs_f64())
        ),
    ]
}
