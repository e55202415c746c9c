//! Fetch benchmarks: the workload (fetch many HTTP responses from a delay server) run by five
//! clients side by side, from 10 to 1,000 fetches at once.
//!
//! Run with `cargo bench --bench fetch` (about two and a quarter minutes on two cores), one group
//! with e.g. `cargo bench --bench fetch -- fetch_1000_delay_5ms`, or `cargo test --benches` to
//! run every benchmark once as a smoke test (a few seconds).
//!
//! # Groups
//!
//! One group per (fetch count, server delay): `fetch_{10,100,1000}_delay_{0,5}ms`. One iteration
//! is one whole run of the plan: `count` fetches of `GET /?delay_ms=D&size=1024`, all started at
//! once (except the pool's), each a new connection, every response read to its last byte and
//! checked (status 2xx, `Content-Length` equal to the body received). A run in which any fetch
//! fails panics: a benchmark of failures would be meaningless. Throughput is `count` elements,
//! so criterion's `thrpt` is fetches per second, and time per fetch is time per iteration divided
//! by `count`.
//!
//! - **delay 0**: the server answers at once. What is measured is the cost of the fetches
//!   themselves: connect, write, read, close, and the way each client waits and switches.
//! - **delay 5 ms**: every fetch also waits 5 ms on the server's timer. The ideal is
//!   5 ms + the delay-0 cost for the clients that have every fetch in flight at once; the pool
//!   of 64 needs `ceil(count / 64)` rounds of 5 ms.
//!
//! # Members
//!
//! - `taketurns`: the workload's `Client::EventLoop`, one taketurns task per fetch
//!   (`workload::fetch`, with its per-fetch timeout timer). Creating the runtime (an epoll
//!   instance and an eventfd: three system calls) is inside each iteration, as the client does it.
//! - `thread_per_task`: `Client::ThreadPerTask`, one OS thread per fetch, blocking `std::net`.
//! - `thread_pool`: `Client::ThreadPool(64)`; starting and joining the 64 threads is inside each
//!   iteration, as the client does it.
//! - `tokio_current_thread`: tokio's current-thread runtime with its I/O and time drivers,
//!   created once, outside the timing; the same steps as `workload::fetch`, one `tokio::spawn`
//!   per fetch, each inside `tokio::time::timeout`.
//! - `raw_mio`: the floor for a single-threaded readiness loop: one `mio::Poll`, a slab of
//!   connection state machines, no futures, no wakers, no per-fetch timer. Its `mio::Poll` is
//!   created per iteration, like taketurns'.
//!
//! Both are written in `benches/peers/mod.rs`, which `measure`'s `fetch_peers` table includes
//! too, so the book's table and this bench run the same code.
//!
//! # Keeping the server out of the measurement
//!
//! The delay server (`workload::serve`, on its own taketurns runtime) runs in a **child
//! process**: this bench binary starts itself again with `TAKETURNS_FETCH_BENCH_SERVER` set, the
//! child prints the address it listens on, and serves until its stdin closes (when this process
//! ends, however it ends). So the server shares no allocator, file table, address space or
//! scheduler queue with the clients, and it is started once, before any measurement. It does
//! share the machine: on two cores its work runs in parallel with the client's, and criterion
//! measures wall time, so every number here is "client plus a server answering it", and
//! anything else running on the machine shows up in it. CPU, system calls and memory per fetch
//! are not measured here: they need each client alone in its own process (see the targets).
//!
//! # Targets
//!
//! At 10,000 sockets and a 50 ms delay (too big to repeat under criterion; measured with each
//! client in its own process, `getrusage` around the run and `strace -f -c` for system calls, the
//! server in another process): taketurns' CPU per fetch ≤ 1.10 × `raw_mio`'s, its wall time
//! ≤ `tokio_current_thread`'s, ≤ 8 system calls per fetch, ≤ 1 KiB peak memory per fetch in
//! flight. The groups here show the same comparison at the sizes criterion can repeat.
//!
//! # At scale: `cargo bench --bench fetch -- --at-scale 10000`
//!
//! The targets' own measurement, outside criterion: the same server child, then each of
//! `taketurns`, `tokio_current_thread`, `raw_mio` and `thread_per_task` in a **child process of
//! its own** (this binary again, with [`CLIENT_ENV`] set), one run of `N` fetches with a 50 ms
//! delay (`--delay-ms`), the order rotated from round to round, `--runs` rounds (3 by default),
//! after one run not counted (a fresh server's first connections meet a cold server).
//! Each child reads `getrusage(RUSAGE_SELF)` and the clock around its run and prints one line;
//! the parent prints every run, then per member the median CPU per fetch (user + system), wall
//! time and peak-RSS growth per fetch, and per round the two ratios the targets name:
//! taketurns' CPU ÷ raw mio's, and taketurns' wall time ÷ tokio's. The same child mode serves
//! `strace -f -c` and `valgrind --tool=callgrind` on one client (see the book's appendix E).
//! `--only taketurns,raw_mio` runs a subset of the members, for more rounds of one ratio. The
//! book's table of the same comparison is `measure`'s (`--only peers`, `fetch_peers.md`), which
//! runs the same members through [`peers::run_alone`] and counts their system calls too.

use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};
use peers::{ChildRun, MEMBERS, run_raw_mio, run_tokio};
use taketurns::workload::{Client, FetchPlan, Tally, raise_fd_limit, spawn_server_thread};

/// The tokio and raw mio clients, and the list of members that can run alone (shared with
/// `measure`'s `fetch_peers` table).
mod peers;

/// Fetches per run, one group each.
const COUNTS: [usize; 3] = [10, 100, 1_000];
/// Server delays in milliseconds, one group each.
const DELAYS_MS: [u64; 2] = [0, 5];
/// Body bytes per response.
const BODY_BYTES: u64 = 1024;
/// Threads of the `thread_pool` member.
const POOL_THREADS: usize = 64;
/// Open files wanted by this process and by the server (1,000 sockets at once, plus slack).
const FILES: u64 = 4096;
/// Set in the environment of the child process that runs the server.
const SERVER_ENV: &str = "TAKETURNS_FETCH_BENCH_SERVER";
/// Set (to a member's name) in the environment of a child that runs one client at scale; the
/// child also reads [`ADDR_ENV`], [`COUNT_ENV`] and [`DELAY_ENV`].
const CLIENT_ENV: &str = "TAKETURNS_FETCH_BENCH_CLIENT";
/// The server's address, for a client child.
const ADDR_ENV: &str = "TAKETURNS_FETCH_BENCH_ADDR";
/// Fetches, for a client child.
const COUNT_ENV: &str = "TAKETURNS_FETCH_BENCH_COUNT";
/// Server delay in milliseconds, for a client child.
const DELAY_ENV: &str = "TAKETURNS_FETCH_BENCH_DELAY_MS";

// ---------------------------------------------------------------------------------------------
// The server, in a child process

/// The delay server running in a child process; dropping this stops it.
struct ServerProcess {
    /// The child; waited for on drop.
    child: Child,
    /// Its stdin: closing it is the signal to stop.
    stdin: Option<ChildStdin>,
    /// Where it listens.
    addr: SocketAddr,
}

impl ServerProcess {
    /// Start this executable again as the server and read the address it listens on.
    fn start() -> ServerProcess {
        let exe = std::env::current_exe().expect("find the bench executable");
        let mut child = Command::new(exe)
            .env(SERVER_ENV, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the delay server process");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("the server's stdout is piped");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the server's address");
        let addr = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the server printed {line:?}, not an address"));
        ServerProcess { child, stdin, addr }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// The child's side: serve on a thread of this process until stdin reaches end of file.
fn serve_until_stdin_closes() {
    let _ = raise_fd_limit(FILES);
    let (addr, server) = spawn_server_thread("127.0.0.1:0").expect("start the delay server");
    println!("{addr}");
    io::stdout().flush().expect("send the address to the bench");
    let _ = io::copy(&mut io::stdin().lock(), &mut io::sink());
    server.shutdown().expect("the delay server failed");
}

// ---------------------------------------------------------------------------------------------
// At scale: each client alone in a child process, CPU and memory from getrusage

/// The child's side: run `member` once on the plan in the environment, print one line
/// ([`ChildRun::line`]).
fn run_client_child(member: &str) {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set for the client child"))
    };
    let addr: SocketAddr = var(ADDR_ENV).parse().expect("a socket address");
    let count: usize = var(COUNT_ENV).parse().expect("a fetch count");
    let delay = Duration::from_millis(var(DELAY_ENV).parse().expect("a delay in ms"));
    let plan = FetchPlan::delay_server(addr, count, delay, BODY_BYTES);
    let run = peers::member(member)
        .and_then(|m| peers::run_alone(m, &plan))
        .unwrap_or_else(|e| panic!("{e}"));
    println!("{}", run.line());
}

/// Start this binary as a client child for `member` and read its line.
fn run_child(
    member: &str,
    addr: SocketAddr,
    count: usize,
    delay_ms: u64,
) -> Result<ChildRun, String> {
    let exe = std::env::current_exe().map_err(|e| format!("find the bench executable: {e}"))?;
    let out = Command::new(exe)
        .env(CLIENT_ENV, member)
        .env(ADDR_ENV, addr.to_string())
        .env(COUNT_ENV, count.to_string())
        .env(DELAY_ENV, delay_ms.to_string())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("start the {member} child: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    match text.lines().last().and_then(ChildRun::parse) {
        Some(run) if out.status.success() => Ok(run),
        _ => Err(format!(
            "the {member} child failed ({}), printed {text:?}",
            out.status
        )),
    }
}

/// The machine's idle share over the next `window`, from the first line of `/proc/stat`
/// (`None` where there is no such file).
fn idle_share(window: Duration) -> Option<f64> {
    let read = || -> Option<(u64, u64)> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let fields: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .filter_map(|f| f.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal …: idle and iowait are idle.
        let idle = fields.get(3)? + fields.get(4).unwrap_or(&0);
        Some((idle, fields.iter().sum()))
    };
    let (idle0, total0) = read()?;
    std::thread::sleep(window);
    let (idle1, total1) = read()?;
    Some((idle1 - idle0) as f64 / (total1 - total0).max(1) as f64)
}

/// Wait (up to `patience`) until the machine has been at least `wanted` idle for one second,
/// so that a round does not start while other work holds the cores. Returns the idle share seen
/// last, which the table prints.
fn wait_for_quiet(wanted: f64, patience: Duration) -> Option<f64> {
    let start = Instant::now();
    loop {
        let idle = idle_share(Duration::from_secs(1))?;
        if idle >= wanted || start.elapsed() >= patience {
            return Some(idle);
        }
    }
}

/// A run's CPU per fetch, in microseconds.
fn cpu_us(run: &ChildRun) -> f64 {
    run.cpu_per_fetch().as_secs_f64() * 1e6
}

/// The median of `values` (the lower middle one for an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values
        .get((values.len().max(1) - 1) / 2)
        .copied()
        .unwrap_or(f64::NAN)
}

/// The flags of `--at-scale`, read by [`AtScale::parse`].
struct AtScale {
    /// Fetches per client run (`--at-scale N`).
    count: usize,
    /// Rounds; every member runs once per round (`--runs R`).
    runs: usize,
    /// The server's delay before each answer (`--delay-ms D`).
    delay_ms: u64,
    /// The members to run, in [`MEMBERS`] order (`--only A,B`, or all of them).
    members: Vec<&'static str>,
}

impl AtScale {
    /// Read the flags; a bad one ends the process with exit code 2 and a message saying what
    /// the flag needs.
    fn parse(args: &[String]) -> AtScale {
        let value = |flag: &str, default: u64| -> u64 {
            match args.iter().position(|a| a == flag) {
                None => default,
                Some(i) => args
                    .get(i + 1)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| {
                        eprintln!("fetch bench: {flag} needs a whole number after it");
                        std::process::exit(2)
                    }),
            }
        };
        let count = value("--at-scale", 10_000) as usize;
        let runs = value("--runs", 3).max(1) as usize;
        // `--only taketurns,raw_mio`: a subset of the members, e.g. for more rounds of one ratio.
        let members: Vec<&str> = match args.iter().position(|a| a == "--only") {
            None => MEMBERS.iter().map(|m| m.name).collect(),
            Some(i) => {
                let wanted = args.get(i + 1).map(String::as_str).unwrap_or("");
                let chosen: Vec<&str> = peers::nameable()
                    .map(|m| m.name)
                    .filter(|m| wanted.split(',').any(|w| w == *m))
                    .collect();
                if chosen.is_empty() {
                    eprintln!(
                        "fetch bench: --only needs member names separated by commas, from \
                         {:?}",
                        peers::nameable().map(|m| m.name).collect::<Vec<_>>()
                    );
                    std::process::exit(2);
                }
                chosen
            }
        };
        AtScale {
            count,
            runs,
            delay_ms: value("--delay-ms", 50),
            members,
        }
    }
}

/// `--at-scale N [--runs R] [--delay-ms D] [--only A,B]`: see the module docs.
fn at_scale(args: &[String]) {
    let plan = AtScale::parse(args);
    if let Err(e) = raise_fd_limit(plan.count as u64 + 256) {
        eprintln!("fetch bench: {e}");
        std::process::exit(1);
    }
    let server = ServerProcess::start();
    eprintln!(
        "fetch bench at scale: {} fetches, {} ms delay, {} rounds, each client in its own \
         process; {}",
        plan.count,
        plan.delay_ms,
        plan.runs,
        taketurns::workload::machine::describe()
    );
    let all = at_scale_rounds(&plan, server.addr);
    drop(server);
    print_at_scale_medians(&plan, &all);
    print_at_scale_ratios(plan.runs, &all);
}

/// Every round of every member, one child process each, a row printed per run. Returns each
/// run that completed, with its round.
fn at_scale_rounds(plan: &AtScale, server: SocketAddr) -> Vec<(usize, ChildRun)> {
    println!(
        "round  idle  member                    ok      wall   CPU/fetch  user/fetch  sys/fetch  RSS/fetch"
    );
    let members = &plan.members;
    // A fresh server's first thousands of connections grow its tables and can overflow its
    // listen backlog (a run then waits out SYN retransmits); a run not counted meets that, so
    // that no counted run does. measure's fetch_peers.md does the same.
    if let Some(&first) = members.first()
        && let Err(e) = run_child(first, server, plan.count, plan.delay_ms)
    {
        eprintln!("the warm-up run failed: {e}");
    }
    let mut all: Vec<(usize, ChildRun)> = Vec::new();
    for round in 0..plan.runs {
        for k in 0..members.len() {
            let member = members[(round + k) % members.len()];
            // Each run starts once the machine has been 85% idle for a second (or after 30 s
            // of waiting): on a shared machine, other work is the biggest source of noise.
            let idle = wait_for_quiet(0.85, Duration::from_secs(30));
            let idle = idle.map_or_else(|| "?".to_string(), |i| format!("{:.0}%", i * 100.0));
            match run_child(member, server, plan.count, plan.delay_ms) {
                Ok(run) => {
                    println!(
                        "{:>5}  {idle:>4}  {:<22} {:>5}/{:<5} {:>6.0} ms {:>8.1} µs {:>8.1} µs {:>7.1} µs {:>6.2} KiB",
                        round + 1,
                        run.member,
                        run.ok,
                        run.count,
                        run.wall.as_secs_f64() * 1e3,
                        cpu_us(&run),
                        run.user.as_secs_f64() * 1e6 / run.count as f64,
                        run.sys.as_secs_f64() * 1e6 / run.count as f64,
                        run.kib_per_fetch()
                    );
                    all.push((round, run));
                }
                Err(e) => eprintln!("round {}: {e}", round + 1),
            }
        }
    }
    all
}

/// Each member's medians over the rounds it completed.
fn print_at_scale_medians(plan: &AtScale, all: &[(usize, ChildRun)]) {
    println!("\nmedians over {} rounds:", plan.runs);
    for &member in &plan.members {
        let mine: Vec<&ChildRun> = all
            .iter()
            .filter(|(_, r)| r.member == member)
            .map(|(_, r)| r)
            .collect();
        if mine.is_empty() {
            continue;
        }
        println!(
            "  {member:<22} CPU/fetch {:>6.1} µs  wall {:>6.0} ms  RSS/fetch {:.2} KiB  all ok: {}",
            median(mine.iter().map(|r| cpu_us(r)).collect()),
            median(mine.iter().map(|r| r.wall.as_secs_f64() * 1e3).collect()),
            median(mine.iter().map(|r| r.kib_per_fetch()).collect()),
            mine.iter().all(|r| r.ok == r.count)
        );
    }
}

/// The two ratios the targets are about, each taken within one round (the same machine state):
/// CPU per fetch of taketurns against the raw mio loop, wall time against tokio.
fn print_at_scale_ratios(runs: usize, all: &[(usize, ChildRun)]) {
    let ratio = |round: usize, a: &str, b: &str, f: fn(&ChildRun) -> f64| {
        let get = |m: &str| {
            all.iter()
                .find(|(r, run)| *r == round && run.member == m)
                .map(|(_, run)| f(run))
        };
        Some(get(a)? / get(b)?)
    };
    let cpu: Vec<f64> = (0..runs)
        .filter_map(|r| ratio(r, "taketurns", "raw_mio", cpu_us))
        .collect();
    let wall: Vec<f64> = (0..runs)
        .filter_map(|r| {
            ratio(r, "taketurns", "tokio_current_thread", |run| {
                run.wall.as_secs_f64()
            })
        })
        .collect();
    let show = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("\nper round, same run:");
    if !cpu.is_empty() {
        println!(
            "  CPU per fetch, taketurns ÷ raw_mio:        {} (median {:.2}; target ≤ 1.10)",
            show(&cpu),
            median(cpu.clone())
        );
    }
    if !wall.is_empty() {
        println!(
            "  wall time, taketurns ÷ tokio_current_thread: {} (median {:.2}; target ≤ 1.00)",
            show(&wall),
            median(wall.clone())
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The groups

/// Panic unless every fetch of the run succeeded.
fn expect_all_ok(member: &str, count: usize, tally: Tally) -> Tally {
    if tally.ok != count as u64 {
        panic!(
            "{member}: {} of {count} fetches succeeded ({}); first error: {}",
            tally.ok,
            tally.errors,
            tally
                .first_error
                .map_or_else(|| "none".to_string(), |e| e.to_string())
        );
    }
    tally
}

fn fetch_group(
    c: &mut Criterion,
    addr: SocketAddr,
    tokio: &tokio::runtime::Runtime,
    count: usize,
    delay_ms: u64,
) {
    let plan = FetchPlan::delay_server(addr, count, Duration::from_millis(delay_ms), BODY_BYTES);
    let request: Arc<[u8]> = plan.request().expect("a valid plan").into();

    let mut group = c.benchmark_group(format!("fetch_{count}_delay_{delay_ms}ms"));
    group.throughput(Throughput::Elements(count as u64));
    // From 1 to 30 ms per iteration at 100 fetches, 20 to 250 ms at 1,000 (more under load):
    // the same number of iterations in every sample, and only ten samples at 1,000.
    if count >= 100 {
        group.sampling_mode(SamplingMode::Flat);
    }
    if count >= 1_000 {
        group.sample_size(10);
    }

    let workload_clients = [
        ("taketurns", Client::EventLoop),
        ("thread_per_task", Client::ThreadPerTask),
        ("thread_pool", Client::ThreadPool(POOL_THREADS)),
    ];
    for (member, client) in workload_clients {
        group.bench_function(member, |b| {
            b.iter(|| {
                let tally = client.run(&plan).expect("the client could not run");
                expect_all_ok(member, count, tally)
            })
        });
    }
    group.bench_function("tokio_current_thread", |b| {
        b.iter(|| {
            expect_all_ok(
                "tokio_current_thread",
                count,
                run_tokio(tokio, &plan, &request),
            )
        })
    });
    group.bench_function("raw_mio", |b| {
        b.iter(|| {
            let tally = run_raw_mio(&plan, &request).expect("the raw mio loop failed");
            expect_all_ok("raw_mio", count, tally)
        })
    });
    group.finish();
}

fn config() -> Criterion {
    // 6 groups x 5 members x (0.5 s warm-up + 3 s measurement), plus the analysis: about two
    // and a half minutes on an idle two-core machine.
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .without_plots()
}

fn main() {
    if std::env::var_os(SERVER_ENV).is_some() {
        serve_until_stdin_closes();
        return;
    }
    if let Ok(member) = std::env::var(CLIENT_ENV) {
        run_client_child(&member);
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--at-scale") {
        at_scale(&args);
        return;
    }
    if let Err(e) = raise_fd_limit(FILES) {
        eprintln!("fetch bench: {e}; the 1,000-fetch groups may fail");
    }
    let server = ServerProcess::start();
    let tokio = peers::tokio_runtime().expect("create a tokio runtime");
    let mut criterion = config().configure_from_args();
    for count in COUNTS {
        for delay_ms in DELAYS_MS {
            fetch_group(&mut criterion, server.addr, &tokio, count, delay_ms);
        }
    }
    criterion.final_summary();
    drop(server);
}
