//! The parent: settle the plan from the flags, check the machine's limits before anything
//! starts, start the delay server in a child process, run each client in a child of its own and
//! read its report back, then hand everything to `output.rs` for the table or the JSON.
//!
//! Each client gets a fresh process because peak memory (`ru_maxrss`) is a process-wide
//! high-water mark: measured in one process, the second client would inherit the first one's
//! peak. Python's `concurrent.futures.ProcessPoolExecutor` would reuse its workers, which is
//! exactly what this avoids. The limits (open files, local ports, threads) are checked up front
//! so that a run never fails half-way for want of one.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use taketurns::workload::{
    Client, FetchErrorKind, FetchPlan, Report, check_local_ports, check_thread_limit,
    raise_fd_limit,
};

use crate::output::{print_table, to_json, verdict};
use crate::python::run_python_side;
use crate::traced::traced_fetch;
use crate::{
    Cli, DEFAULT_DELAY_MS, DEFAULT_SIZE, DEFAULT_TARGET_CONCURRENCY, FD_MARGIN, Runner,
    THREAD_MARGIN, TIMELINE_MAX_ROWS,
};

/// A child process that is killed and reaped when this guard goes, on every way out.
struct ChildGuard {
    /// The process.
    child: Child,
    /// Our end of its stdin: while we hold it, the child's watcher sees no end of file.
    _stdin: Option<ChildStdin>,
    /// Its stdout, kept open so that a late print cannot kill it with SIGPIPE.
    _stdout: Option<BufReader<ChildStdout>>,
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start the delay server in a child process and read its address.
fn start_server(exe: &Path) -> Result<(SocketAddr, ChildGuard), String> {
    let mut child = Command::new(exe)
        .args(["serve", "--addr", "127.0.0.1:0", "--watch-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start the delay server ({}): {e}", exe.display()))?;
    let stdin = child.stdin.take();
    let mut stdout = child.stdout.take().map(BufReader::new);
    let mut line = String::new();
    if let Some(out) = stdout.as_mut() {
        let _ = out.read_line(&mut line);
    }
    let guard = ChildGuard {
        child,
        _stdin: stdin,
        _stdout: stdout,
    };
    let addr = line.trim().parse().map_err(|_| {
        format!(
            "the delay server did not start (it printed {:?} instead of its address; \
             its own message, if any, is above)",
            line.trim()
        )
    })?;
    Ok((addr, guard))
}

/// Run one client in a child process and read its report.
fn run_child(
    exe: &Path,
    client: Client,
    plan: &FetchPlan,
    delay: Option<Duration>,
) -> Result<Report, String> {
    let mut command = Command::new(exe);
    command
        .arg("run-client")
        .args(["--client", &Runner::of(client).flag()])
        .args(["--count", &plan.count.to_string()])
        .args(["--addr", &plan.addr.to_string()])
        .args(["--host", &plan.host])
        .args(["--path", &plan.path])
        .args(["--timeout-ms", &plan.timeout.as_millis().to_string()])
        .arg("--watch-stdin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Client::ThreadPool(n) = client {
        command.args(["--pool-size", &n.to_string()]);
    }
    if let Some(delay) = delay {
        command.args(["--delay-ms", &delay.as_millis().to_string()]);
    }
    if let Some(limit) = plan.limit {
        command.args(["--limit", &limit.to_string()]);
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start a child process: {e}"))?;
    // Hold stdin open while the child runs (its watcher exits on end of file).
    let stdin = child.stdin.take();
    let output = child
        .wait_with_output()
        .map_err(|e| format!("lost the child process: {e}"))?;
    drop(stdin);
    report_from(&output)
}

/// The report a child printed as its last line, or why there is none.
pub fn report_from(output: &std::process::Output) -> Result<Report, String> {
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
    if !output.status.success() {
        return Err(if stderr.is_empty() {
            format!("the child process failed ({})", output.status)
        } else {
            stderr
        });
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    serde_json::from_str::<Report>(line.trim())
        .map_err(|e| format!("unreadable report from the child: {e}"))
}

/// What the parent ran and found, for the table or the JSON.
pub struct Outcome {
    /// The reports of the clients that ran (Rust first, then Python's with --python).
    pub reports: Vec<Report>,
    /// Clients that could not run, with why.
    pub failures: Vec<(String, String)>,
    /// Sentences the reader should see under the table.
    pub notes: Vec<String>,
}

/// What a run is about, settled from the flags before anything starts.
pub struct Setup {
    /// The delay each fetch asks the delay server for; `None` with --target (that server
    /// decides, and we do not know).
    pub delay: Option<Duration>,
    /// The body size each fetch asks for; `None` with --target.
    pub size: Option<u64>,
    /// The cap on fetches in flight, for every client; `None`: no cap.
    pub limit: Option<usize>,
    /// The --target plan, resolved; `None` when the delay server's plan is made once it runs.
    target_plan: Option<FetchPlan>,
    /// Which clients run, each on how many fetches, in order.
    runs: Vec<(Client, usize)>,
}

/// The parent's whole run; its exit code.
pub fn parent(cli: &Cli) -> i32 {
    if let Err(e) = check_timeline(cli) {
        eprintln!("fetch_many: {e}");
        return 2;
    }
    let mut outcome = Outcome {
        reports: Vec::new(),
        failures: Vec::new(),
        notes: Vec::new(),
    };
    let setup = match settle(cli, &mut outcome.notes) {
        Ok(setup) => setup,
        Err(e) => {
            eprintln!("fetch_many: {e}");
            return 1;
        }
    };
    let runnable = match check_limits(cli, &setup, &mut outcome.failures) {
        Ok(runnable) => runnable,
        Err(e) => {
            eprintln!("fetch_many: {e}");
            return 1;
        }
    };
    let (exe, plan, server) = match start(cli, &setup) {
        Ok(started) => started,
        Err(e) => {
            eprintln!("fetch_many: {e}");
            return 1;
        }
    };
    for (client, n) in &runnable {
        let plan = plan.clone().with_count(*n);
        let result = run_child(&exe, *client, &plan, setup.delay);
        record(&client.name(), *n, result, &mut outcome);
    }
    if cli.python {
        run_python_side(&setup, &runnable, &plan, &mut outcome);
    }
    let traced = (cli.trace.is_some() || cli.timeline)
        .then(|| traced_fetch(&plan, cli.trace.as_deref()))
        .and_then(|traced| {
            traced
                .map_err(|e| {
                    eprintln!("fetch_many: the traced run failed: {e}");
                    outcome.failures.push(("traced run".to_string(), e));
                })
                .ok()
        });
    drop(server);
    closing_notes(cli, &setup, &mut outcome);
    let verdict = verdict(&outcome.reports);
    if cli.json {
        println!(
            "{}",
            to_json(cli, &plan, &setup, &outcome, verdict.as_deref())
        );
    } else {
        print_table(&plan, &setup, &outcome, verdict.as_deref());
        if let (true, Some(timeline)) = (cli.timeline, &traced) {
            println!("\nThe traced run, one row per fetch (time since its runtime was built):\n");
            print!("{timeline}");
        }
    }
    let all_ok = outcome.failures.is_empty() && outcome.reports.iter().all(Report::all_ok);
    if all_ok { 0 } else { 1 }
}

/// `--timeline` draws one row per fetch: refuse plans too big to draw before anything runs.
fn check_timeline(cli: &Cli) -> Result<(), String> {
    if cli.timeline && cli.count > TIMELINE_MAX_ROWS {
        return Err(format!(
            "--timeline draws one row per fetch, so at most {TIMELINE_MAX_ROWS} (asked for {}); \
             use --count {TIMELINE_MAX_ROWS} or less, or --trace FILE and Perfetto for bigger runs",
            cli.count
        ));
    }
    Ok(())
}

/// Settle the delay, size, cap, target and clients from the flags.
fn settle(cli: &Cli, notes: &mut Vec<String>) -> Result<Setup, String> {
    let count = cli.count as usize;
    // With --target the server is someone else's: its delay is unknown, and a burst of
    // connections may overflow its listen backlog, so fetches get a cap unless told otherwise.
    let (delay, size, target_plan) = match &cli.target {
        Some(target) => {
            if cli.delay_ms.is_some() || cli.size.is_some() {
                notes.push(
                    "--delay-ms and --size are ignored with --target: that server decides"
                        .to_string(),
                );
            }
            let plan = FetchPlan::from_target(target, count).map_err(|e| e.to_string())?;
            (None, None, Some(plan))
        }
        None => (
            Some(Duration::from_millis(
                cli.delay_ms.unwrap_or(DEFAULT_DELAY_MS),
            )),
            Some(cli.size.unwrap_or(DEFAULT_SIZE)),
            None,
        ),
    };
    let limit = match (cli.concurrency, &cli.target) {
        (Some(n), _) => Some(n as usize),
        (None, Some(_)) => Some(DEFAULT_TARGET_CONCURRENCY),
        (None, None) => None,
    };
    let runs = plan_runs(cli, delay, limit, notes);
    Ok(Setup {
        delay,
        size,
        limit,
        target_plan,
        runs,
    })
}

/// Which clients run, on how many fetches each.
fn plan_runs(
    cli: &Cli,
    delay: Option<Duration>,
    limit: Option<usize>,
    notes: &mut Vec<String>,
) -> Vec<(Client, usize)> {
    let count = cli.count as usize;
    let mut pool_size = cli.pool_size as usize;
    if let Some(limit) = limit.filter(|&limit| limit < pool_size) {
        pool_size = limit;
        if matches!(cli.runner, Runner::All | Runner::ThreadPool) {
            notes.push(format!(
                "the pool has {limit} threads, not --pool-size {}: --concurrency caps every client",
                cli.pool_size
            ));
        }
    }
    if let Some(client) = cli.runner.client(pool_size) {
        return vec![(client, count)];
    }
    let sequential = count.min(cli.sequential_count as usize);
    if sequential < count {
        let at = delay.map_or(String::new(), |d| {
            format!(
                " (all {count} would take at least {:.0} s)",
                d.as_secs_f64() * count as f64
            )
        });
        notes.push(format!(
            "sequential ran {sequential} of the {count} fetches{at}; compare its per-fetch \
             numbers, not its totals (--sequential-count)"
        ));
    }
    vec![
        (Client::Sequential, sequential),
        (Client::ThreadPerTask, count),
        (Client::ThreadPool(pool_size), count),
        (Client::EventLoop, count),
    ]
}

/// Fetches in flight for `client` on `n` fetches under the cap.
fn in_flight(client: Client, n: usize, limit: Option<usize>) -> usize {
    let uncapped = client.concurrency(n);
    limit.map_or(uncapped, |limit| uncapped.min(limit))
}

/// Check the open-file, port and thread limits before anything starts. The clients that can run;
/// with --runner all, a client the thread limit rules out is skipped (and listed in `failures`).
fn check_limits(
    cli: &Cli,
    setup: &Setup,
    failures: &mut Vec<(String, String)>,
) -> Result<Vec<(Client, usize)>, String> {
    let most = setup
        .runs
        .iter()
        .map(|&(client, n)| in_flight(client, n, setup.limit) as u64)
        .max()
        .unwrap_or(1);
    check_local_ports(most).map_err(|e| e.to_string())?;
    raise_fd_limit(most + FD_MARGIN).map_err(|e| e.to_string())?;
    let mut runnable = Vec::new();
    for &(client, n) in &setup.runs {
        let threads = match client {
            Client::ThreadPerTask | Client::ThreadPool(_) => in_flight(client, n, setup.limit),
            Client::Sequential | Client::EventLoop => 0,
            #[cfg(feature = "uring")]
            Client::Uring => 0,
        };
        if threads > 0
            && let Err(e) = check_thread_limit(threads as u64 + THREAD_MARGIN)
        {
            if cli.runner != Runner::All {
                return Err(e.to_string());
            }
            eprintln!("fetch_many: skipping {}: {e}", client.name());
            failures.push((client.name(), format!("skipped: {e}")));
            continue;
        }
        runnable.push((client, n));
    }
    Ok(runnable)
}

/// Find our own executable, start the delay server unless --target names another, and make the
/// plan every client runs.
fn start(cli: &Cli, setup: &Setup) -> Result<(PathBuf, FetchPlan, Option<ChildGuard>), String> {
    let exe = std::env::current_exe()
        .map_err(|e| format!("cannot find my own executable to start the children: {e}"))?;
    let (plan, server) = match &setup.target_plan {
        Some(plan) => (plan.clone(), None),
        None => {
            let (addr, guard) = start_server(&exe)?;
            let plan = FetchPlan::delay_server(
                addr,
                cli.count as usize,
                setup.delay.unwrap_or_default(),
                setup.size.unwrap_or_default(),
            );
            (plan, Some(guard))
        }
    };
    let plan = plan
        .with_timeout(Duration::from_millis(cli.timeout_ms))
        .with_limit(setup.limit);
    eprintln!(
        "fetch_many: GET http://{}{} ({}, {}), each client in its own process",
        plan.host,
        plan.path,
        match setup.delay {
            Some(d) => format!("{} ms delay", d.as_millis()),
            None => "another server: delay unknown".to_string(),
        },
        cap_words(setup.limit),
    );
    Ok((exe, plan, server))
}

/// `at most 50 in flight`, or `no cap on fetches in flight`.
pub fn cap_words(limit: Option<usize>) -> String {
    match limit {
        Some(n) => format!("at most {n} in flight"),
        None => "no cap on fetches in flight".to_string(),
    }
}

/// Say how a child went, on stderr, and keep its report or why it failed.
pub fn record(name: &str, n: usize, result: Result<Report, String>, outcome: &mut Outcome) {
    eprint!("fetch_many: {name:<18} {n} fetches ... ");
    match result {
        Ok(report) => {
            eprintln!("{} ok in {:.2} s", report.ok, report.wall.as_secs_f64());
            outcome.reports.push(report);
        }
        Err(e) => {
            eprintln!("failed");
            outcome.failures.push((name.to_string(), e));
        }
    }
}

/// The notes under the table that depend on what happened: what wall−delay means, and why
/// fetches from another server may have timed out.
fn closing_notes(cli: &Cli, setup: &Setup, outcome: &mut Outcome) {
    if setup.delay.is_some() {
        outcome.notes.push(
            "wall−delay: wall time minus the delay the server was asked for, once per round of \
             fetches in flight (1 round for thread-per-task and event-loop, one per fetch for \
             sequential, ceil(fetches/pool) for the pool, ceil(fetches/N) under --concurrency N); \
             RSS/fetch: peak RSS growth during the run / fetches"
                .to_string(),
        );
    } else {
        outcome
            .notes
            .push("wall−delay is `?`: the target server's delay is unknown".to_string());
    }
    let timeouts: u64 = outcome
        .reports
        .iter()
        .map(|r| r.errors.get(FetchErrorKind::Timeout))
        .sum();
    if cli.target.is_some() && timeouts > 0 {
        outcome.notes.push(format!(
            "{timeouts} fetches timed out. A server with a small listen backlog drops bursts of \
             connections, and the dropped clients wait 1, 3, 7, 15 s… for the kernel to retry: \
             python3 -m http.server listens with a backlog of 5 (`ss -ltn` shows it under \
             Send-Q). Fetch fewer at once (a smaller --concurrency; this run had {}), or allow \
             a longer --timeout-ms",
            cap_words(setup.limit)
        ));
    }
}
