//! The naive event loop (after each task, look at every waiting one), taken literally, against
//! the real one.
//!
//! ```console
//! $ cargo run --release --example scan_loop                       # 100, 1,000, 10,000 fetches
//! $ cargo run --release --example scan_loop -- --tasks 100,1000 --delay-ms 50
//! ```
//!
//! The drawing: a loop keeps a *ready* list and a *waiting* list. After it runs a task, it goes
//! through **every** waiting task to see whether it has become ready. Here that loop is written
//! out in about forty lines ([`ScanLoop`]). It has no wakers and no epoll: the only way to ask a
//! future "are you ready now?" is to poll it, so the scan polls every waiting task, with a waker
//! that does nothing (`Waker::noop()`). Each of those polls tries its socket once.
//!
//! Both loops run the same workload: `--tasks` fetches from the delay server (every one started at
//! once, each answered after `--delay-ms`), the same request bytes, the same checks of the
//! response. The real loop is taketurns, running `taketurns::workload::fetch` in one task per
//! fetch: a socket that would block parks its task, and epoll says which ones to poll again.
//!
//! **Keeping the comparison honest.** The scan loop's sockets are mio's non-blocking `TcpStream`s
//! *not registered with any epoll instance*: plain non-blocking sockets, so every check is one real
//! `write` or `read` system call answered "would block" by the kernel, which is what "see whether
//! it has become ready" costs without epoll. (`taketurns::net` sockets would not do: they answer
//! from the readiness epoll reported, so without a reactor they would never see any.) The scan
//! loop is given every advantage we could think of: it checks a connect and sends the request in
//! one `write` (one system call, not two), it reads until `Content-Length` is reached like
//! `fetch`, and it keeps no timer, only a clock check against the same per-fetch timeout. The
//! server runs in a child process (this binary with the hidden `--serve` flag), so that neither
//! its CPU nor its sockets count against the client; CPU time is measured with
//! `getrusage(RUSAGE_THREAD)` on the thread that runs the loop (the kernel's loopback work is
//! split between client and server, the same way for both loops).
//!
//! The literal loop never sleeps: when nothing is ready it scans again at once, so it burns a CPU
//! for as long as the slowest fetch waits. `--scan-limit-secs` stops it if it runs too long; the
//! row then says so and counts only the fetches that finished.
//!
//! asyncio's real loop does not scan either: its selector (`epoll` on Linux) says which sockets
//! are ready, and their callbacks go to `_ready`. tokio and smol do the same with mio and polling.
//! `--nap-us` lets the scan loops sleep after a pass that found nothing (chapter 4, exercise 3).
//! Left out: any smarter way for the scan loops to know when to look; that is what wakers and
//! epoll are.

use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::{Child, Command, ExitCode, Stdio};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use clap::Parser;
use nix::sys::resource::{UsageWho, getrusage};
use nix::sys::time::TimeValLike;
use taketurns::Runtime;
use taketurns::net::TcpListener;
use taketurns::workload::{FetchPlan, ServerOptions, Tally, fetch, raise_fd_limit, serve};

/// Fetch from a slow server with the literal scan-every-waiting-task loop and with the real
/// waker/epoll loop, and print polls per fetch and CPU time as the number of waiting tasks grows.
#[derive(Parser, Debug)]
#[command(name = "scan_loop", version, after_help = AFTER_HELP)]
struct Cli {
    /// Fetches per run, all started at once: one row per number, e.g. 100,1000,10000.
    #[arg(long, value_delimiter = ',', default_value = "100,1000,10000",
          value_parser = clap::value_parser!(u64).range(1..=30_000))]
    tasks: Vec<u64>,

    /// How long the server waits before each answer, in milliseconds.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    delay_ms: u64,

    /// Body size of each answer, in bytes.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(0..=1_048_576))]
    size: u64,

    /// How long one fetch may take, connect to last byte, in milliseconds.
    #[arg(long, default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..))]
    timeout_ms: u64,

    /// Stop the scan loop after this many seconds of one run (it can take minutes at 10,000).
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..))]
    scan_limit_secs: u64,

    /// Let the scan loops sleep this many microseconds after a pass that finished nothing while
    /// no task was ready (0: never sleep, as the articles' loop).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    nap_us: u64,

    /// Run only one of the loops.
    #[arg(long, value_enum)]
    only: Option<Which>,

    /// Internal: be the delay server (print the address, serve until stdin closes).
    #[arg(long, hide = true)]
    serve: bool,
}

const AFTER_HELP: &str = "\
Examples:
  scan_loop                              100, 1,000 and 10,000 fetches, 50 ms each
  scan_loop --tasks 100,1000 --delay-ms 200
  scan_loop --tasks 10000 --only epoll";

/// One of the loops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Which {
    /// The literal loop: re-poll every waiting task after each task.
    Scan,
    /// The scan loop, scanning only when no task is ready (once per turn).
    #[value(name = "idle")]
    ScanIdle,
    /// taketurns: wakers and epoll.
    Epoll,
}

/// What one run of one loop measured.
struct Run {
    /// Fetches asked for.
    tasks: u64,
    /// Fetches that got a whole 200 response.
    ok: u64,
    /// Fetches that failed.
    failed: u64,
    /// The first failure, to show one real message.
    first_error: Option<String>,
    /// Polls of task futures.
    polls: u64,
    /// The scan loop: passes over the waiting list. taketurns: `epoll_wait` calls.
    checks: u64,
    /// The most tasks waiting at once (scan loop: measured; taketurns: every fetch waits in
    /// the first tick, so the number of fetches).
    max_waiting: u64,
    /// CPU time (user + system) of the loop's thread.
    cpu: Duration,
    /// Wall time of the run.
    wall: Duration,
    /// Set when `--scan-limit-secs` stopped the scan loop.
    stopped_early: bool,
}

// ANCHOR: scan_fetch
/// One fetch for the scan loop: the steps of `taketurns::workload::fetch`, on a plain
/// non-blocking socket. Every poll tries the socket once and, if the kernel says "would block",
/// returns `Pending` *without keeping the waker*: nobody will wake this task; the loop will
/// simply poll it again.
async fn scan_fetch(addr: SocketAddr, request: Rc<[u8]>, timeout: Duration) -> Result<u64, String> {
    let deadline = Instant::now() + timeout;
    let late = move || Instant::now() >= deadline;
    // A non-blocking connect: returns at once, the handshake goes on in the kernel.
    let mut stream = mio::net::TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    // Send the request. While the handshake is under way, `write` says "would block" (Linux),
    // so the first successful write also tells us we are connected: one system call per check.
    let mut sent = 0;
    poll_fn(|_cx| {
        while sent < request.len() {
            match stream.write(&request[sent..]) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && !late() => return Poll::Pending,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Poll::Ready(Err(format!("timed out after {timeout:?}")));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(format!("write: {e}"))),
            }
        }
        Poll::Ready(Ok(()))
    })
    .await?;
    // Read until the response is complete, reading into the stack like `fetch` does.
    let mut response = Response::default();
    poll_fn(|_cx| {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf) {
                Ok(n) => {
                    if let Some(done) = response.feed(&buf[..n]) {
                        return Poll::Ready(done);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && !late() => return Poll::Pending,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Poll::Ready(Err(format!("timed out after {timeout:?}")));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(format!("read: {e}"))),
            }
        }
    })
    .await
}
// ANCHOR_END: scan_fetch

/// A response read chunk by chunk: the head is parsed with httparse, the body only counted.
#[derive(Default)]
struct Response {
    /// Bytes of a head that has not arrived whole yet.
    head: Vec<u8>,
    /// Once the head is parsed: body bytes expected (`Content-Length`) and received.
    body: Option<(u64, u64)>,
}

impl Response {
    /// Take one chunk (empty: the server closed). `Some` once the fetch is decided.
    fn feed(&mut self, chunk: &[u8]) -> Option<Result<u64, String>> {
        if let Some((expected, received)) = &mut self.body {
            *received += chunk.len() as u64;
            return match (*received >= *expected, chunk.is_empty()) {
                (true, _) => Some(Ok(*expected)),
                (false, true) => Some(Err(format!("short body: {received} of {expected} bytes"))),
                (false, false) => None,
            };
        }
        if chunk.is_empty() {
            return Some(Err(
                "the server closed before a whole response head".to_string()
            ));
        }
        self.head.extend_from_slice(chunk);
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut parsed = httparse::Response::new(&mut headers);
        let head_len = match parsed.parse(&self.head) {
            Ok(httparse::Status::Partial) => return None,
            Ok(httparse::Status::Complete(n)) => n,
            Err(e) => return Some(Err(format!("malformed response: {e}"))),
        };
        if parsed.code != Some(200) {
            return Some(Err(format!("status {:?}, not 200", parsed.code)));
        }
        let Some(expected) = parsed
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("content-length"))
            .and_then(|h| {
                std::str::from_utf8(h.value)
                    .ok()?
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
        else {
            return Some(Err("no Content-Length in the response".to_string()));
        };
        self.body = Some((expected, 0));
        let rest = self.head.split_off(head_len);
        self.head = Vec::new();
        if rest.is_empty() && expected > 0 {
            None
        } else {
            self.feed(&rest)
        }
    }
}

/// A task of the scan loop: a fetch, boxed so that every task has the same type.
type Task = Pin<Box<dyn Future<Output = Result<u64, String>>>>;

// ANCHOR: scan_loop
/// The literal two-list loop: no wakers, no epoll.
struct ScanLoop {
    /// Every task, by key; `None` once finished. Only `run` touches it.
    tasks: Vec<Option<Task>>,
    /// Tasks that have not been polled yet, oldest first. Filled before the run; never refilled,
    /// because a check that finds a task ready has already run it (see `run`).
    ready: VecDeque<usize>,
    /// Tasks whose last poll answered `Pending`, in the order they started waiting.
    waiting: Vec<usize>,
    /// The articles' rule: scan after *each* task. `false`: scan only once the ready list is
    /// empty (one scan per turn, as a loop that calls `select` once per turn would).
    after_each_task: bool,
    /// How long to sleep after a pass that finished no task while none is ready (`--nap-us`;
    /// zero, the default, never sleeps, as the articles' loop does not).
    nap: Duration,
}

impl ScanLoop {
    /// Run every task to completion, or until `limit` has passed. Returns what was counted.
    fn run(mut self, limit: Duration) -> (Tally, Counters) {
        let started = Instant::now();
        let mut cx = Context::from_waker(Waker::noop());
        let mut tally = Tally::default();
        let mut counters = Counters::default();
        loop {
            // 1. Run the task that has been ready the longest, and file it.
            if let Some(key) = self.ready.pop_front() {
                counters.polls += 1;
                match self.tasks[key]
                    .as_mut()
                    .expect("a ready task exists")
                    .as_mut()
                    .poll(&mut cx)
                {
                    Poll::Ready(outcome) => finish(&mut self.tasks[key], outcome, &mut tally),
                    Poll::Pending => self.waiting.push(key),
                }
                if !self.after_each_task && !self.ready.is_empty() {
                    continue;
                }
            } else if self.waiting.is_empty() {
                break;
            }
            // 2. Go through every waiting task to see whether it has become ready. A future can
            //    only be asked by polling it, so asking *is* running it: a task that is ready
            //    runs on the spot, and one that is not costs a poll (and a system call) anyway.
            counters.scans += 1;
            counters.max_waiting = counters.max_waiting.max(self.waiting.len() as u64);
            let (tasks, finished_before) = (&mut self.tasks, tally.fetches());
            self.waiting.retain(|&key| {
                counters.polls += 1;
                let task = tasks[key].as_mut().expect("a waiting task exists");
                match task.as_mut().poll(&mut cx) {
                    Poll::Ready(outcome) => {
                        finish(&mut tasks[key], outcome, &mut tally);
                        false
                    }
                    Poll::Pending => true,
                }
            });
            // 3. Nothing ready and nothing finished: nap (if asked to) before the next pass.
            if self.ready.is_empty() && tally.fetches() == finished_before && !self.nap.is_zero() {
                std::thread::sleep(self.nap);
            }
            if started.elapsed() > limit {
                counters.stopped_early = true;
                break;
            }
        }
        (tally, counters)
    }
}
// ANCHOR_END: scan_loop

/// The scan loop's own counters.
#[derive(Default)]
struct Counters {
    /// Polls of tasks: first runs and checks.
    polls: u64,
    /// Passes over the waiting list.
    scans: u64,
    /// The longest the waiting list has been at the start of a pass.
    max_waiting: u64,
    /// The time limit ended the run.
    stopped_early: bool,
}

/// Record a finished task and drop its future (closing its socket).
fn finish(slot: &mut Option<Task>, outcome: Result<u64, String>, tally: &mut Tally) {
    *slot = None;
    match outcome {
        Ok(bytes) => {
            tally.ok += 1;
            tally.bytes += bytes;
        }
        Err(e) => {
            // Counted as "other": the scan fetch keeps its own error strings.
            tally.errors.add(taketurns::workload::FetchErrorKind::Other);
            tally
                .first_error
                .get_or_insert(taketurns::workload::FetchError::Other(io::Error::other(e)));
        }
    }
}

/// CPU time (user + system) of the calling thread so far.
fn thread_cpu() -> Duration {
    let usage = getrusage(UsageWho::RUSAGE_THREAD).expect("getrusage(RUSAGE_THREAD)");
    let micros = usage.user_time().num_microseconds() + usage.system_time().num_microseconds();
    Duration::from_micros(u64::try_from(micros).unwrap_or(0))
}

fn run_scan(
    plan: &FetchPlan,
    after_each_task: bool,
    nap: Duration,
    limit: Duration,
) -> io::Result<Run> {
    let request: Rc<[u8]> = plan.request()?.into();
    let scan = ScanLoop {
        tasks: (0..plan.count)
            .map(|_| {
                Some(Box::pin(scan_fetch(plan.addr, Rc::clone(&request), plan.timeout)) as Task)
            })
            .collect(),
        ready: (0..plan.count).collect(),
        waiting: Vec::with_capacity(plan.count),
        after_each_task,
        nap,
    };
    let (cpu_before, start) = (thread_cpu(), Instant::now());
    let (tally, counters) = scan.run(limit);
    let (wall, cpu) = (start.elapsed(), thread_cpu().saturating_sub(cpu_before));
    Ok(Run {
        tasks: plan.count as u64,
        ok: tally.ok,
        failed: tally.errors.total(),
        first_error: tally.first_error.map(|e| e.to_string()),
        polls: counters.polls,
        checks: counters.scans,
        max_waiting: counters.max_waiting,
        cpu,
        wall,
        stopped_early: counters.stopped_early,
    })
}

// ANCHOR: epoll_run
/// The same fetches on taketurns: one task per fetch, `taketurns::workload::fetch`.
fn run_epoll(plan: &FetchPlan) -> io::Result<Run> {
    let request: Rc<[u8]> = plan.request()?.into();
    let rt = Runtime::new()?;
    let (cpu_before, start) = (thread_cpu(), Instant::now());
    let tally = rt.block_on(async {
        let fetches: Vec<_> = (0..plan.count)
            .map(|_| {
                let request = Rc::clone(&request);
                let (addr, timeout) = (plan.addr, plan.timeout);
                taketurns::spawn(async move { fetch(addr, &request, timeout).await })
            })
            .collect();
        let mut tally = Tally::default();
        for fetch in fetches {
            tally.record(fetch.await.expect("a fetch task panicked"));
        }
        tally
    });
    let (wall, cpu) = (start.elapsed(), thread_cpu().saturating_sub(cpu_before));
    let stats = rt.stats();
    Ok(Run {
        tasks: plan.count as u64,
        ok: tally.ok,
        failed: tally.errors.total(),
        first_error: tally.first_error.map(|e| e.to_string()),
        polls: stats.polls,
        checks: stats.io_polls,
        max_waiting: plan.count as u64,
        cpu,
        wall,
        stopped_early: false,
    })
}
// ANCHOR_END: epoll_run

fn print_row(name: &str, run: &Run) {
    let done = run.ok + run.failed;
    let per_fetch = |x: f64| if done == 0 { f64::NAN } else { x / done as f64 };
    println!(
        "{:>7} {name:<6} {:>7} {:>10} {:>12} {:>12.1} {:>10} {:>10.1} {:>11.3} {:>9.0}",
        run.tasks,
        done,
        run.max_waiting,
        run.polls,
        per_fetch(run.polls as f64),
        run.checks,
        run.cpu.as_secs_f64() * 1e3,
        per_fetch(run.cpu.as_secs_f64() * 1e3),
        run.wall.as_secs_f64() * 1e3,
    );
    if run.stopped_early {
        println!(
            "        (stopped by --scan-limit-secs: {done} of {} fetches finished)",
            run.tasks
        );
    }
    if let Some(e) = &run.first_error {
        println!("        {} failed; the first: {e}", run.failed);
    }
}

/// The delay server in a child process: killed and reaped on every way out of `main`.
struct Server {
    /// The child; its stdin is a pipe we hold, so it also exits if we die.
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start this binary with `--serve` and read the address it prints.
fn start_server(biggest: u64) -> Result<(SocketAddr, Server), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let mut child = Command::new(&exe)
        .args(["--serve".to_string(), format!("--tasks={biggest}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the delay server ({}): {e}", exe.display()))?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    let server = Server { child };
    let addr = line.trim().parse().map_err(|_| {
        format!(
            "the delay server did not start (it printed {:?}, not its address)",
            line.trim()
        )
    })?;
    Ok((addr, server))
}

/// The child: serve on 127.0.0.1 until stdin closes.
fn be_the_server(fds: u64) -> ExitCode {
    if let Err(e) = raise_fd_limit(fds) {
        eprintln!("scan_loop --serve: {e}");
        return ExitCode::FAILURE;
    }
    std::thread::spawn(|| {
        let _ = io::copy(&mut io::stdin(), &mut io::sink());
        std::process::exit(0);
    });
    let served = taketurns::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        println!("{}", listener.local_addr()?);
        serve(listener, ServerOptions::default()).await
    });
    if let Err(e) = served {
        eprintln!("scan_loop --serve: {e}");
    }
    ExitCode::FAILURE
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let biggest = cli.tasks.iter().copied().max().unwrap_or(0);
    // One descriptor per socket, in the client and (inherited) in the server.
    if let Err(e) = raise_fd_limit(biggest + 64) {
        eprintln!("scan_loop: {e}");
        return ExitCode::FAILURE;
    }
    if cli.serve {
        return be_the_server(biggest + 64);
    }
    let (addr, server) = match start_server(biggest) {
        Ok(started) => started,
        Err(e) => {
            eprintln!("scan_loop: {e}");
            return ExitCode::FAILURE;
        }
    };
    let delay = Duration::from_millis(cli.delay_ms);
    println!(
        "{}; server delay {delay:?}, body {} bytes, server in a child process",
        taketurns::workload::machine::describe(),
        cli.size
    );
    if cli.nap_us > 0 {
        println!(
            "the scan loops nap {:?} after a pass that finished nothing",
            Duration::from_micros(cli.nap_us)
        );
    }
    println!(
        "scan: after each task; idle: when nothing is ready; epoll: taketurns\n\
         checks: scan and idle = passes over the waiting list; epoll = epoll_wait calls"
    );
    println!(
        "{:>7} {:<6} {:>7} {:>10} {:>12} {:>12} {:>10} {:>10} {:>11} {:>9}",
        "tasks",
        "loop",
        "done",
        "waiting",
        "polls",
        "polls/fetch",
        "checks",
        "CPU ms",
        "CPU ms/fetch",
        "wall ms"
    );
    let limit = Duration::from_secs(cli.scan_limit_secs);
    let nap = Duration::from_micros(cli.nap_us);
    let mut all_ok = true;
    for &tasks in &cli.tasks {
        let plan = FetchPlan::delay_server(addr, tasks as usize, delay, cli.size)
            .with_timeout(Duration::from_millis(cli.timeout_ms));
        let runs = [
            (Which::Scan, "scan"),
            (Which::ScanIdle, "idle"),
            (Which::Epoll, "epoll"),
        ];
        for (which, name) in runs {
            if cli.only.is_some_and(|only| only != which) {
                continue;
            }
            let run = match which {
                Which::Scan => run_scan(&plan, true, nap, limit),
                Which::ScanIdle => run_scan(&plan, false, nap, limit),
                Which::Epoll => run_epoll(&plan),
            };
            match run {
                Ok(run) => {
                    all_ok &= run.failed == 0 && !run.stopped_early;
                    print_row(name, &run);
                }
                Err(e) => {
                    eprintln!("scan_loop: the {name} run of {tasks} fetches could not start: {e}");
                    all_ok = false;
                }
            }
        }
    }
    drop(server);
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
