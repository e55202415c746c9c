//! The project's main job: fetch many responses four ways (one after another, a thread per
//! fetch, a pool of threads, the event loop) from the same slow server, and measure each.
//!
//! ```console
//! $ cargo run --release --example fetch_many                          # 1,000 fetches, 50 ms each
//! $ cargo run --release --example fetch_many -- --count 10000
//! $ cargo run --release --example fetch_many -- --runner event-loop --json
//! $ cargo run --release --example fetch_many -- --python             # and Python's, same plan
//! $ python3 -m http.server 8000 &                                      # any HTTP server will do
//! $ cargo run --release --example fetch_many -- --target http://127.0.0.1:8000/ --count 2000
//! $ cargo run --release --example fetch_many -- --target 127.0.0.1:8080/ --concurrency 50
//! $ cargo run --release --example fetch_many -- --runner event-loop --count 10 --timeline
//! $ cargo run --release --example fetch_many -- --runner event-loop --trace out.json
//! ```
//!
//! `--concurrency N` caps the fetches in flight for every client (see `FetchPlan::limit`): none
//! against our delay server, whose comparison is "everything at once", and 5 with `--target`,
//! which fits the listen backlog of `python3 -m http.server`. `--python` runs
//! `examples/fetch_many.py`, the same plan with Python's asyncio and threads, one `python3`
//! process per runner, and adds its rows (named `py-…`) to the table.
//!
//! `--trace FILE` and `--timeline` fetch the plan once more, after the measured runs, on a traced
//! event loop in this process (one task per fetch, named `fetch N`), and write its Chrome trace
//! (open it at ui.perfetto.dev) or draw its timeline. That extra run is not in the table.
//!
//! How it stays honest. The delay server runs in a **child process** (this same binary, run with
//! the hidden `serve` subcommand), so its CPU and memory are not the client's. Each client also
//! runs in a child process of its own (`run-client`), because peak memory (`ru_maxrss`) is a
//! process-wide high-water mark: measured in one process, the second client would inherit the
//! first one's peak. A child prints its [`Report`] as one JSON line, which this parent reads back.
//! Limits are checked before anything starts: the open-file limit is raised toward the hard
//! limit (children inherit it), and if it or the thread or port limit is still too low, the
//! message names the limit and how to raise it. A run never fails half-way for want of a limit.
//!
//! Children end with the parent: Ctrl-C reaches the whole process group, and each child also
//! watches its stdin, a pipe the parent holds, and exits when the pipe closes (the parent died
//! some other way). The server child is killed and reaped by a guard on every way out.
//!
//! Exit codes: 0 when every client ran and every fetch succeeded; 1 when a limit was too low, a
//! client could not run, or some fetches failed (the table is still printed); 2 for a bad flag
//! (clap's message). `--count 0` is a bad flag: there is nothing to measure.

use std::io::{BufRead, BufReader, BufWriter, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::rc::Rc;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use taketurns::net::TcpListener;
use taketurns::task::Builder;
use taketurns::workload::{
    Client, FetchErrorKind, FetchPlan, Report, ServerOptions, check_local_ports,
    check_thread_limit, fetch, raise_fd_limit, serve,
};

/// Fetch many HTTP responses four ways (sequential, a thread per fetch, a thread pool, the
/// event loop) from a server that answers after a delay, and compare wall time, CPU and memory.
#[derive(Parser, Debug)]
#[command(name = "fetch_many", version, after_help = AFTER_HELP)]
struct Cli {
    /// Internal: the child processes this program starts.
    #[command(subcommand)]
    internal: Option<Internal>,

    /// Which client to run; `all` runs the four one after another, each in its own process.
    #[arg(long, value_enum, default_value_t = Runner::All)]
    runner: Runner,

    /// Fetches per client (the sequential client runs at most --sequential-count of them when
    /// --runner is all).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    count: u64,

    /// How long the server waits before each answer, in milliseconds [default: 50].
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    delay_ms: Option<u64>,

    /// Body size of each answer, in bytes [default: 1024].
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=268_435_456))]
    size: Option<u64>,

    /// Worker threads of the thread-pool client.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pool_size: u64,

    /// Fetches the sequential client makes when --runner is all (it would take count × delay).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..))]
    sequential_count: u64,

    /// How long one fetch may take, connect to last byte, in milliseconds.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    timeout_ms: u64,

    /// Print one JSON object (plan, reports, notes, verdict) instead of the table.
    #[arg(long)]
    json: bool,

    /// Fetch from an existing HTTP server instead of starting the delay server: HOST:PORT/PATH
    /// or a pasted URL, e.g. http://127.0.0.1:8000/ for `python3 -m http.server 8000`. Its
    /// delay is unknown. No https (there is no TLS here).
    #[arg(long, value_name = "URL")]
    target: Option<String>,

    /// At most N fetches in flight at once, for every client (a thread pool is never bigger
    /// than N) [default: no cap against the delay server; 5 with --target, which fits the listen
    /// backlog of `python3 -m http.server`].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    concurrency: Option<u64>,

    /// Also run examples/fetch_many.py (Python's asyncio and threads on the same plan, each
    /// runner in its own python3 process) and add its rows to the table.
    #[arg(long)]
    python: bool,

    /// After the measured runs, fetch once more on a traced event loop in this process and write
    /// its Chrome trace (JSON; open it at ui.perfetto.dev) to FILE. Not part of the table.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,

    /// After the measured runs, fetch once more on a traced event loop and draw its timeline:
    /// one row per fetch, so at most 40 fetches.
    #[arg(long, conflicts_with = "json")]
    timeline: bool,
}

/// The most fetches `--timeline` draws (one row each).
const TIMELINE_MAX_ROWS: u64 = 40;

/// The cap on fetches in flight with --target unless --concurrency says otherwise. A server's
/// listen backlog bounds the connections waiting to be accepted (Linux queues backlog + 1), and
/// a connection beyond it waits for a retransmission 1, 3, 7, 15 s later. `python3 -m
/// http.server`, the server people try first, listens with socketserver's backlog of 5, so 5
/// in flight can never overflow it. Load tools such as hey and oha start 50 at once, which suits
/// servers with a backlog of 128 or more (nginx, Go's net/http): give them `--concurrency 50`.
const DEFAULT_TARGET_CONCURRENCY: usize = 5;

const AFTER_HELP: &str = "\
Examples:
  fetch_many                                  all four clients, 1,000 fetches, 50 ms delay
  fetch_many --count 10000 --runner event-loop
  fetch_many --python                         the same plan in Python too: asyncio and threads
  fetch_many --target http://127.0.0.1:8000/ --count 2000   (e.g. python3 -m http.server 8000)
  fetch_many --target 127.0.0.1:8080/ --concurrency 50     (a server with a bigger backlog)";

/// Which client(s) to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Runner {
    /// All four, one after another.
    All,
    /// One fetch after another.
    Sequential,
    /// One OS thread per fetch.
    ThreadPerTask,
    /// A fixed pool of --pool-size threads.
    ThreadPool,
    /// One task per fetch on the taketurns event loop.
    EventLoop,
}

impl Runner {
    fn client(self, pool_size: usize) -> Option<Client> {
        match self {
            Runner::All => None,
            Runner::Sequential => Some(Client::Sequential),
            Runner::ThreadPerTask => Some(Client::ThreadPerTask),
            Runner::ThreadPool => Some(Client::ThreadPool(pool_size)),
            Runner::EventLoop => Some(Client::EventLoop),
        }
    }

    fn of(client: Client) -> Runner {
        match client {
            Client::Sequential => Runner::Sequential,
            Client::ThreadPerTask => Runner::ThreadPerTask,
            Client::ThreadPool(_) => Runner::ThreadPool,
            Client::EventLoop => Runner::EventLoop,
        }
    }

    fn flag(self) -> String {
        self.to_possible_value()
            .map(|v| v.get_name().to_string())
            .unwrap_or_default()
    }
}

/// The child processes' subcommands (hidden from --help).
#[derive(Subcommand, Debug)]
enum Internal {
    /// Run the delay server; print its address as the first line of stdout.
    #[command(hide = true)]
    Serve {
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:0")]
        addr: String,
        /// Exit when stdin closes (the parent holds the other end).
        #[arg(long)]
        watch_stdin: bool,
    },
    /// Run one client on one plan; print its report as one JSON line.
    #[command(hide = true)]
    RunClient {
        /// Which client.
        #[arg(long, value_enum)]
        client: Runner,
        /// Threads of the pool client.
        #[arg(long, default_value_t = 64)]
        pool_size: usize,
        /// Fetches.
        #[arg(long)]
        count: usize,
        /// Server address.
        #[arg(long)]
        addr: SocketAddr,
        /// Host header.
        #[arg(long)]
        host: String,
        /// Request target.
        #[arg(long)]
        path: String,
        /// Per-fetch timeout.
        #[arg(long)]
        timeout_ms: u64,
        /// At most this many fetches in flight.
        #[arg(long)]
        limit: Option<usize>,
        /// The delay the server was asked for, if known (for the report).
        #[arg(long)]
        delay_ms: Option<u64>,
        /// Exit when stdin closes (the parent holds the other end).
        #[arg(long)]
        watch_stdin: bool,
    },
}

/// Descriptors a process needs beyond one per connection: std streams, epoll, eventfd, pipes.
const FD_MARGIN: u64 = 64;
/// Threads a process needs beyond one per fetch: main thread, stdin watcher, and slack for the
/// user's other processes, which RLIMIT_NPROC also counts.
const THREAD_MARGIN: u64 = 64;
const DEFAULT_DELAY_MS: u64 = 50;
const DEFAULT_SIZE: u64 = 1024;

fn main() {
    let cli = Cli::parse();
    let code = match &cli.internal {
        Some(Internal::Serve { addr, watch_stdin }) => child_serve(addr, *watch_stdin),
        Some(Internal::RunClient {
            client,
            pool_size,
            count,
            addr,
            host,
            path,
            timeout_ms,
            limit,
            delay_ms,
            watch_stdin,
        }) => {
            let plan = FetchPlan {
                count: *count,
                limit: limit.filter(|&n| n > 0),
                addr: *addr,
                host: host.clone(),
                path: path.clone(),
                timeout: Duration::from_millis(*timeout_ms),
            };
            let delay = delay_ms.map(Duration::from_millis);
            child_run_client(*client, *pool_size, &plan, delay, *watch_stdin)
        }
        None => parent(&cli),
    };
    std::process::exit(code);
}

// ---------------------------------------------------------------------------------------------
// The children
// ---------------------------------------------------------------------------------------------

/// Exit as soon as stdin reaches end of file: the parent holds the pipe's other end, so that
/// happens when the parent exits, however it exits.
fn exit_when_stdin_closes() {
    let watcher = std::thread::Builder::new()
        .name("parent-watch".to_string())
        .spawn(|| {
            let mut stdin = std::io::stdin().lock();
            let mut sink = [0u8; 64];
            loop {
                match stdin.read(&mut sink) {
                    Ok(0) | Err(_) => std::process::exit(0),
                    Ok(_) => {}
                }
            }
        });
    if let Err(e) = watcher {
        eprintln!("fetch_many: cannot watch for the parent's exit ({e}); continuing without");
    }
}

fn child_serve(addr: &str, watch_stdin: bool) -> i32 {
    if watch_stdin {
        exit_when_stdin_closes();
    }
    let result = taketurns::block_on(async {
        let listener = TcpListener::bind(addr).await?;
        // The parent reads this first line to learn the port.
        println!("{}", listener.local_addr()?);
        serve(listener, ServerOptions::default()).await
    });
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("fetch_many serve: {e}");
            1
        }
    }
}

fn child_run_client(
    runner: Runner,
    pool_size: usize,
    plan: &FetchPlan,
    delay: Option<Duration>,
    watch_stdin: bool,
) -> i32 {
    if watch_stdin {
        exit_when_stdin_closes();
    }
    let Some(client) = runner.client(pool_size) else {
        eprintln!("fetch_many run-client: name one client, not `all`");
        return 1;
    };
    // Normally inherited from the parent already; needed when this is run by hand.
    if let Err(e) = raise_fd_limit(client.in_flight(plan) as u64 + FD_MARGIN) {
        eprintln!("{e}");
        return 1;
    }
    match Report::measure(client, plan, delay) {
        Ok(report) => {
            println!("{}", report.to_json());
            0
        }
        Err(e) => {
            eprintln!("{e}");
            3
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The parent
// ---------------------------------------------------------------------------------------------

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
fn report_from(output: &std::process::Output) -> Result<Report, String> {
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
    serde_json::from_str::<Report>(line.trim()).map_err(|e| format!("unreadable report from the child: {e}"))
}

/// What the parent ran and found, for the table or the JSON.
struct Outcome {
    /// The reports of the clients that ran (Rust first, then Python's with --python).
    reports: Vec<Report>,
    /// Clients that could not run, with why.
    failures: Vec<(String, String)>,
    /// Sentences the reader should see under the table.
    notes: Vec<String>,
}

/// What a run is about, settled from the flags before anything starts.
struct Setup {
    /// The delay each fetch asks the delay server for; `None` with --target (that server
    /// decides, and we do not know).
    delay: Option<Duration>,
    /// The body size each fetch asks for; `None` with --target.
    size: Option<u64>,
    /// The cap on fetches in flight, for every client; `None`: no cap.
    limit: Option<usize>,
    /// The --target plan, resolved; `None` when the delay server's plan is made once it runs.
    target_plan: Option<FetchPlan>,
    /// Which clients run, each on how many fetches, in order.
    runs: Vec<(Client, usize)>,
}

fn parent(cli: &Cli) -> i32 {
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
fn cap_words(limit: Option<usize>) -> String {
    match limit {
        Some(n) => format!("at most {n} in flight"),
        None => "no cap on fetches in flight".to_string(),
    }
}

/// Say how a child went, on stderr, and keep its report or why it failed.
fn record(name: &str, n: usize, result: Result<Report, String>, outcome: &mut Outcome) {
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

// ---------------------------------------------------------------------------------------------
// The Python side (--python)
// ---------------------------------------------------------------------------------------------

/// `examples/fetch_many.py`, in the source tree this binary was built from.
const PYTHON_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/fetch_many.py");

/// The interpreter `--python` runs, looked up on the PATH.
const PYTHON: &str = "python3";

/// The Python runner that waits the way `client` does, and its row's name.
fn python_runner(client: Client) -> (&'static str, String) {
    let runner = match client {
        Client::Sequential => "sequential",
        Client::ThreadPerTask => "thread-per-task",
        Client::ThreadPool(_) => "thread-pool",
        Client::EventLoop => "asyncio",
    };
    let name = match client {
        Client::ThreadPool(n) => format!("py-thread-pool({n})"),
        _ => format!("py-{runner}"),
    };
    (runner, name)
}

/// Run the Python counterpart of every Rust client that ran, each in its own `python3` process,
/// and add their reports; without `python3` on the PATH, say so and add nothing.
fn run_python_side(
    setup: &Setup,
    runnable: &[(Client, usize)],
    plan: &FetchPlan,
    outcome: &mut Outcome,
) {
    let version = match Command::new(PYTHON).arg("--version").output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_string(),
        _ => {
            let why = "--python: python3 is not on the PATH (or does not run), so the table has \
                       no Python rows; install Python 3 (any 3.8 or later) to compare";
            eprintln!("fetch_many: {why}");
            outcome.notes.push(why.to_string());
            return;
        }
    };
    if !Path::new(PYTHON_SCRIPT).is_file() {
        outcome.failures.push((
            "python".to_string(),
            format!("{PYTHON_SCRIPT} is missing: --python runs the script from the source tree"),
        ));
        return;
    }
    for &(client, n) in runnable {
        let (runner, name) = python_runner(client);
        let result = run_python(runner, client, &plan.clone().with_count(n), setup.delay);
        record(&name, n, result, outcome);
    }
    outcome.notes.push(format!(
        "py-*: the same plan fetched by examples/fetch_many.py on {version}, standard library \
         only (one after another; ThreadPoolExecutor with a worker per fetch, and with the \
         pool's size; asyncio.open_connection), each runner in its own python3 process; its CPU \
         and memory include the interpreter's"
    ));
}

/// Run one Python runner in a `python3` process and read its report line.
fn run_python(
    runner: &str,
    client: Client,
    plan: &FetchPlan,
    delay: Option<Duration>,
) -> Result<Report, String> {
    let mut command = Command::new(PYTHON);
    command
        .arg(PYTHON_SCRIPT)
        .args(["--runner", runner])
        .args(["--addr", &plan.addr.to_string()])
        .args(["--host", &plan.host])
        .args(["--path", &plan.path])
        .args(["--count", &plan.count.to_string()])
        .args(["--timeout-ms", &plan.timeout.as_millis().to_string()]);
    if let Client::ThreadPool(n) = client {
        command.args(["--pool-size", &n.to_string()]);
    }
    if let Some(limit) = plan.limit {
        command.args(["--concurrency", &limit.to_string()]);
    }
    if let Some(delay) = delay {
        command.args(["--delay-ms", &delay.as_millis().to_string()]);
    }
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start {PYTHON}: {e}"))?;
    report_from(&output)
}

// ANCHOR: traced_fetch
/// Fetch the plan once on a traced event loop in this process, one named task per fetch; write
/// the Chrome trace to `trace` if given, and return the drawn timeline.
fn traced_fetch(plan: &FetchPlan, trace: Option<&Path>) -> Result<String, String> {
    let request: Rc<[u8]> = plan
        .request()
        .map_err(|e| format!("cannot build the request: {e}"))?
        .into();
    let rt = taketurns::Runtime::builder()
        .trace(true)
        .build()
        .map_err(|e| format!("cannot create the runtime: {e}"))?;
    let (addr, timeout) = (plan.addr, plan.timeout);
    let failed = rt.block_on(async {
        let fetches: Vec<_> = (1..=plan.count)
            .map(|i| {
                let request = Rc::clone(&request);
                Builder::new()
                    .name(format!("fetch {i}"))
                    .spawn(async move { fetch(addr, &request, timeout).await })
            })
            .collect();
        let mut failed = 0;
        for handle in fetches {
            if !matches!(handle.await, Ok(Ok(_))) {
                failed += 1;
            }
        }
        failed
    });
    let timeline = rt.timeline();
    if let Some(path) = trace {
        let file = std::fs::File::create(path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        timeline
            .write_chrome_trace(BufWriter::new(file))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!(
            "fetch_many: traced run: {} fetches ({failed} failed), {} events ({} dropped), \
             Chrome trace written to {} (open it at ui.perfetto.dev)",
            plan.count,
            timeline.events().len(),
            timeline.dropped(),
            path.display()
        );
    }
    Ok(timeline.render_ascii(64))
}
// ANCHOR_END: traced_fetch

fn print_table(plan: &FetchPlan, setup: &Setup, outcome: &Outcome, verdict: Option<&str>) {
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
fn verdict(reports: &[Report]) -> Option<String> {
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

fn to_json(
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
