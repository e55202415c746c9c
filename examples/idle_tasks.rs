//! What does a task cost while it waits? This parks a million tasks (by default), each on its own
//! `futures::channel::oneshot`, and reads the process's resident memory (`VmRSS` in
//! `/proc/self/status`) before and after: the difference, divided by the number of tasks, is what
//! one idle task costs. Then it wakes them all and times how long the runtime takes to run every
//! one of them to completion. With `--timers` it measures the other kind of waiting instead:
//! 100,000 sleeps with distinct deadlines, checked to fire in deadline order.
//!
//! ```console
//! $ cargo run --release --example idle_tasks
//! $ cargo run --release --example idle_tasks -- --runtime taketurns --tasks 100000
//! $ cargo run --release --example idle_tasks -- --timers
//! ```
//!
//! Each figure is given for taketurns and for tokio's current-thread runtime (`--runtime both`,
//! the default, runs each in a child process of its own, so that neither reuses heap the other
//! freed). The tasks are detached (their `JoinHandle`s dropped), as a server's connection tasks
//! usually are, so the figure is the runtime's own cost per task; a kept handle adds its size.
//!
//! **How "beyond the future" is measured.** First the futures themselves are made (with their
//! channels and senders) and kept in a `Vec`, and the memory is read; then they are spawned, which
//! moves each one into its task, and the `Vec` is freed. The growth from there, divided by the
//! number of tasks, is what the runtime adds around a future: task header, waker, table slot,
//! queue entry, allocator overhead. Adding back `size_of_val` of one future gives the whole task.
//! A run queue keeps its capacity, so the figure includes one queue entry per task: they were all
//! ready at once, right after spawning.
//!
//! Linux only (`/proc`). Deliberately left out: memory of tasks that are *not* idle (a running
//! task's future may be much larger), and allocators other than the system's.

use std::cell::{Cell, RefCell};
use std::fs;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::process::{Command, ExitCode};
use std::task::{Poll, Waker};
use std::thread::LocalKey;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use futures::channel::oneshot;
use taketurns::workload::machine::cpu_time;

/// Measure what an idle task costs (memory, and the time to wake and finish it) on taketurns and
/// on tokio's current-thread runtime; or, with --timers, how fast 100,000 sleeps fire in order.
#[derive(Parser, Debug)]
#[command(name = "idle_tasks", version)]
struct Args {
    /// Which runtime to measure; `both` runs each in a child process of its own.
    #[arg(long, value_enum, default_value_t = Which::Both)]
    runtime: Which,
    /// Idle tasks to park at once.
    #[arg(long, default_value_t = 1_000_000)]
    tasks: usize,
    /// Measure timers instead of idle tasks: --timer-count sleeps, each a few milliseconds.
    #[arg(long)]
    timers: bool,
    /// Sleeping tasks for --timers.
    #[arg(long, default_value_t = 100_000)]
    timer_count: u64,
    /// How far ahead of its first poll each sleep's deadline lies, in milliseconds (--timers).
    /// Task i sleeps this long plus i × 10 ns, so every deadline is distinct.
    #[arg(long, default_value_t = 3)]
    timer_lead_ms: u64,
    /// Set by `--runtime both` for its children: print no machine header.
    #[arg(long, hide = true)]
    child: bool,
}

/// The runtimes this example can measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Which {
    /// taketurns::Runtime.
    Taketurns,
    /// tokio's current-thread runtime (`enable_time` only, for --timers; no drivers otherwise).
    Tokio,
    /// Both, one after the other, each in a child process.
    Both,
}

/// Issue 5's targets for taketurns.
const TARGET_BYTES_BEYOND_FUTURE: f64 = 300.0;
/// Issue 5's target for 100,000 timers.
const TARGET_TIMERS: Duration = Duration::from_millis(100);

fn main() -> ExitCode {
    let args = Args::parse();
    if !args.child {
        println!("idle_tasks: {}", taketurns::workload::machine::describe());
    }
    let result = match args.runtime {
        Which::Both => run_children(&args),
        which if args.timers => timers(which, &args),
        which => idle_tasks(which, args.tasks),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("idle_tasks: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--runtime both`: run this program again once per runtime, so each measures a fresh heap.
fn run_children(args: &Args) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    for runtime in ["taketurns", "tokio"] {
        let mut command = Command::new(&exe);
        command
            .args(["--child", "--runtime", runtime])
            .args(["--tasks", &args.tasks.to_string()])
            .args(["--timer-count", &args.timer_count.to_string()])
            .args(["--timer-lead-ms", &args.timer_lead_ms.to_string()]);
        if args.timers {
            command.arg("--timers");
        }
        let status = command
            .status()
            .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
        if !status.success() {
            return Err(format!("the {runtime} measurement failed ({status})"));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Idle tasks
// ---------------------------------------------------------------------------------------------

/// A number that tasks on this thread count up and the main future can wait on.
///
/// Both runtimes here run every task on the thread that calls `block_on`, so a thread-local is
/// enough, and it keeps the measured future down to its channel: tokio's `spawn` wants `Send`
/// futures, which rules out an `Rc<Cell<…>>` in each task, and an `Arc` would add 8 bytes to each.
struct Tally {
    /// How many times `bump` was called since `reset`.
    count: Cell<usize>,
    /// The count the waiter waits for.
    target: Cell<usize>,
    /// The main future's waker, woken when `count` reaches `target`.
    waiter: RefCell<Option<Waker>>,
}

impl Tally {
    const fn new() -> Tally {
        Tally {
            count: Cell::new(0),
            target: Cell::new(usize::MAX),
            waiter: RefCell::new(None),
        }
    }

    /// Count one; wake the waiter on reaching the target.
    fn bump(&self) {
        self.count.set(self.count.get() + 1);
        if self.count.get() == self.target.get()
            && let Some(waker) = self.waiter.borrow_mut().take()
        {
            waker.wake();
        }
    }

    /// Start again from zero.
    fn reset(&self) {
        self.count.set(0);
        self.target.set(usize::MAX);
    }
}

/// Completes once `tally`'s count has reached `target`.
fn reached(tally: &'static LocalKey<Tally>, target: usize) -> impl Future<Output = ()> {
    poll_fn(move |cx| {
        tally.with(|t| {
            t.target.set(target);
            if t.count.get() >= target {
                Poll::Ready(())
            } else {
                *t.waiter.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
    })
}

thread_local! {
    /// Idle tasks that have been polled once, and so are parked on their channel.
    static PARKED: Tally = const { Tally::new() };
    /// Idle tasks that have finished.
    static DONE: Tally = const { Tally::new() };
}

/// The measured task: wait for a message on its own channel, and that is all.
async fn idle_task(wake: oneshot::Receiver<()>) {
    PARKED.with(Tally::bump);
    let _ = wake.await;
    DONE.with(Tally::bump);
}

/// What one runtime has to offer this measurement.
trait Spawner {
    /// Run `future` to completion on the runtime, with the runtime's tasks.
    fn block_on<F: Future>(&self, future: F) -> F::Output;
    /// Spawn a detached task (called from inside `block_on`).
    fn spawn_detached<F: Future<Output = ()> + Send + 'static>(&self, future: F);
}

impl Spawner for taketurns::Runtime {
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        taketurns::Runtime::block_on(self, future)
    }
    fn spawn_detached<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        drop(taketurns::spawn(future));
    }
}

impl Spawner for tokio::runtime::Runtime {
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        tokio::runtime::Runtime::block_on(self, future)
    }
    fn spawn_detached<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        drop(tokio::spawn(future));
    }
}

/// Memory readings of one idle-task run, in bytes, and its times.
struct IdleReport {
    /// `size_of_val` of one task's future, before it was spawned.
    future_size: usize,
    /// Resident memory with the runtime created and nothing else yet.
    rss_start: u64,
    /// ... plus every channel, sender and future, the futures kept in a `Vec`.
    rss_futures: u64,
    /// ... after spawning every future (the `Vec` freed) and polling each once: all idle.
    rss_idle: u64,
    /// From the first spawn until every task had been polled once.
    spawn_and_park: Span,
    /// From the first send until every task had finished.
    wake_and_finish: Span,
    /// Resident memory once every task had finished.
    rss_finished: u64,
}

/// Park `n` tasks on `which`, measure, wake them, measure.
fn idle_tasks(which: Which, n: usize) -> Result<(), String> {
    if n == 0 {
        return Err("--tasks must be at least 1".into());
    }
    let report = match which {
        Which::Taketurns => {
            let rt =
                taketurns::Runtime::new().map_err(|e| format!("cannot create a runtime: {e}"))?;
            measure_idle(&rt, n)?
        }
        Which::Tokio => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .map_err(|e| format!("cannot create a tokio runtime: {e}"))?;
            measure_idle(&rt, n)?
        }
        Which::Both => unreachable!("`both` runs children"),
    };
    print_idle(which, n, &report);
    Ok(())
}

// ANCHOR: measure_idle
/// The measurement itself, the same for every runtime.
fn measure_idle<R: Spawner>(rt: &R, n: usize) -> Result<IdleReport, String> {
    PARKED.with(Tally::reset);
    DONE.with(Tally::reset);
    let rss_start = rss()?;

    // The workload without a runtime: every channel, every sender, every future.
    let mut senders = Vec::with_capacity(n);
    let mut futures = Vec::with_capacity(n);
    for _ in 0..n {
        let (tx, rx) = oneshot::channel();
        senders.push(tx);
        futures.push(idle_task(rx));
    }
    let future_size = std::mem::size_of_val(&futures[0]);
    let rss_futures = rss()?;

    // Spawn them all (each future moves into its task), and let each be polled once.
    let clock = Stopwatch::start();
    rt.block_on(async {
        for future in futures.drain(..) {
            rt.spawn_detached(future);
        }
        reached(&PARKED, n).await;
    });
    let spawn_and_park = clock.elapsed();
    drop(futures);
    let rss_idle = rss()?;

    // Wake every task and wait until the last one has finished.
    let wake_and_finish = rt.block_on(async {
        let clock = Stopwatch::start();
        for tx in senders {
            tx.send(()).expect("the task waits on its receiver");
        }
        reached(&DONE, n).await;
        clock.elapsed()
    });
    let rss_finished = rss()?;
    Ok(IdleReport {
        future_size,
        rss_start,
        rss_futures,
        rss_idle,
        spawn_and_park,
        wake_and_finish,
        rss_finished,
    })
}
// ANCHOR_END: measure_idle

fn print_idle(which: Which, n: usize, r: &IdleReport) {
    let per = |bytes: i64| bytes as f64 / n as f64;
    let beyond = per(r.rss_idle as i64 - r.rss_futures as i64);
    let task = beyond + r.future_size as f64;
    let all = per(r.rss_idle as i64 - r.rss_start as i64);
    let workload = per(r.rss_futures as i64 - r.rss_start as i64);
    let name = match which {
        Which::Taketurns => "taketurns",
        Which::Tokio => "tokio current_thread",
        Which::Both => "both",
    };
    println!();
    println!(
        "{name}: {n} idle tasks, each waiting on its own oneshot (load {})",
        load()
    );
    let line = |what: &str, value: String| println!("  {what:<66} {value}");
    line(
        "future: size_of_val of one task's future",
        format!("{} B", r.future_size),
    );
    line(
        "memory per task: runtime beyond the future",
        format!("{beyond:.1} B"),
    );
    line(
        "memory per task: the whole task (runtime + future)",
        format!("{task:.1} B"),
    );
    line(
        "memory per task: everything (+ channel and sender)",
        format!("{all:.1} B"),
    );
    line(
        "  of which the workload alone (channel, sender, future)",
        format!("{workload:.1} B"),
    );
    line(
        "resident memory: start / futures made / tasks idle / all done",
        format!(
            "{} / {} / {} / {}",
            mib(r.rss_start),
            mib(r.rss_futures),
            mib(r.rss_idle),
            mib(r.rss_finished)
        ),
    );
    line(
        "time: spawn all + poll each once",
        r.spawn_and_park.show(n as u64, "task"),
    );
    line(
        "time: wake all + run each to completion",
        r.wake_and_finish.show(n as u64, "task"),
    );
    if which == Which::Taketurns {
        let verdict = if beyond <= TARGET_BYTES_BEYOND_FUTURE {
            "met"
        } else {
            "MISSED"
        };
        line(
            &format!("target: <= {TARGET_BYTES_BEYOND_FUTURE:.0} B beyond the future"),
            verdict.into(),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Timers
// ---------------------------------------------------------------------------------------------

thread_local! {
    /// Each sleeping task's deadline, by task number, written at its first poll.
    static DEADLINES: RefCell<Vec<Option<Instant>>> = const { RefCell::new(Vec::new()) };
    /// `(task number, when it woke, whether its timer fired)`, in the order the tasks woke. A
    /// sleep already due at its first poll completes there and then, without a timer.
    static WOKE: RefCell<Vec<(u64, Instant, bool)>> = const { RefCell::new(Vec::new()) };
    /// When the last task was first polled (and so had registered its timer).
    static LAST_REGISTERED: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Task `i` of the timer run, first poll: its deadline, `lead` plus 10 ns per earlier task ahead.
///
/// The deadline is taken at the first poll, not at spawn, so that it lies `lead` ahead of the
/// moment the sleep registers, however long spawning the others took; first polls happen in spawn
/// order, so deadlines are distinct and grow with `i`.
fn deadline_for(i: u64, lead: Duration) -> Instant {
    let deadline = Instant::now() + lead + Duration::from_nanos(10 * i);
    DEADLINES.with(|d| d.borrow_mut()[i as usize] = Some(deadline));
    LAST_REGISTERED.set(Some(Instant::now()));
    deadline
}

/// Task `i` of the timer run, after its sleep: note when it woke and whether it waited for its
/// timer (false: the deadline had passed by the first poll), count it done.
fn woke(i: u64, by_timer: bool) {
    WOKE.with(|w| w.borrow_mut().push((i, Instant::now(), by_timer)));
    DONE.with(Tally::bump);
}

/// Await `sleep`, telling whether it had to wait: `false` if it was ready at its first poll
/// (its deadline had passed already), `true` if it completed at a later poll, after a wake.
async fn waited<S: Future<Output = ()>>(sleep: S) -> bool {
    let mut sleep = pin!(sleep);
    let mut polls = 0;
    poll_fn(|cx| {
        polls += 1;
        sleep.as_mut().poll(cx)
    })
    .await;
    polls > 1
}

/// `--timers`: spawn `timer_count` sleeping tasks, await them all, check the order.
fn timers(which: Which, args: &Args) -> Result<(), String> {
    let n = args.timer_count;
    if n == 0 {
        return Err("--timer-count must be at least 1".into());
    }
    let lead = Duration::from_millis(args.timer_lead_ms);
    DEADLINES.with(|d| *d.borrow_mut() = vec![None; n as usize]);
    DONE.with(Tally::reset);
    WOKE.with(|w| *w.borrow_mut() = Vec::with_capacity(n as usize));
    let (run, start, fired_by_timer_list) = match which {
        Which::Taketurns => {
            let rt =
                taketurns::Runtime::new().map_err(|e| format!("cannot create a runtime: {e}"))?;
            let clock = rt.block_on(async {
                let clock = Stopwatch::start();
                for i in 0..n {
                    drop(taketurns::spawn(async move {
                        let sleep = taketurns::time::sleep_until(deadline_for(i, lead));
                        woke(i, waited(sleep).await);
                    }));
                }
                reached(&DONE, n as usize).await;
                clock
            });
            (clock.elapsed(), clock.wall, Some(rt.stats().timers_fired))
        }
        Which::Tokio => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .map_err(|e| format!("cannot create a tokio runtime: {e}"))?;
            let clock = rt.block_on(async {
                let clock = Stopwatch::start();
                for i in 0..n {
                    drop(tokio::spawn(async move {
                        let deadline = tokio::time::Instant::from_std(deadline_for(i, lead));
                        woke(i, waited(tokio::time::sleep_until(deadline)).await);
                    }));
                }
                reached(&DONE, n as usize).await;
                clock
            });
            (clock.elapsed(), clock.wall, None)
        }
        Which::Both => unreachable!("`both` runs children"),
    };

    let deadlines: Vec<Instant> = DEADLINES.with(|d| {
        d.borrow()
            .iter()
            .map(|d| d.expect("every task was polled"))
            .collect()
    });
    let woke = WOKE.with(|w| w.borrow().clone());
    let registered = LAST_REGISTERED.get().expect("at least one task ran") - start;
    let by_timer: Vec<u64> = woke.iter().filter(|w| w.2).map(|w| w.0).collect();
    let total = run.wall;
    let span = *deadlines.last().expect("a deadline") - deadlines[0];
    // In deadline order: the numbers of the tasks whose timer fired (deadlines grow with the
    // numbers) come out sorted.
    let out_of_order = by_timer.windows(2).filter(|w| w[0] > w[1]).count();
    let fired = by_timer.len() as u64;
    let mut late: Vec<Duration> = woke
        .iter()
        .map(|&(i, at, _)| at.saturating_duration_since(deadlines[i as usize]))
        .collect();
    late.sort();
    let pick = |q: f64| late[((late.len() - 1) as f64 * q) as usize];

    let name = match which {
        Which::Taketurns => "taketurns",
        _ => "tokio current_thread (enable_time)",
    };
    println!();
    println!(
        "{name}: {n} sleeps, deadlines {} ms after each first poll + i × 10 ns (load {})",
        args.timer_lead_ms,
        load()
    );
    let line = |what: &str, value: String| println!("  {what:<58} {value}");
    line(
        "spawn all + register every timer (wall)",
        format!("{:.1} ms", ms(registered)),
    );
    line("first spawn to last wake-up", run.show(n, "timer"));
    line(
        "  of which the deadlines' own spread (first to last)",
        format!("{:.1} ms", ms(span)),
    );
    line(
        "  floor: the last deadline after the first spawn",
        format!(
            "{:.1} ms",
            ms(*deadlines.last().expect("a deadline") - start)
        ),
    );
    line(
        "lateness after the deadline: median / p99 / max",
        format!(
            "{:.2} / {:.2} / {:.2} ms",
            ms(pick(0.5)),
            ms(pick(0.99)),
            ms(pick(1.0))
        ),
    );
    line(
        "waited for their timer / already due at the first poll",
        format!("{fired} / {}", n - fired),
    );
    line(
        "timers fired out of deadline order (adjacent pairs)",
        out_of_order.to_string(),
    );
    if let Some(fired_by_timer_list) = fired_by_timer_list {
        line(
            "fired by the timer list (Runtime::stats)",
            format!("{fired_by_timer_list} of {n}"),
        );
        let verdict = if out_of_order == 0 && total <= TARGET_TIMERS {
            "met"
        } else {
            "MISSED"
        };
        line(
            &format!(
                "target: {n} timers fire in order in <= {} ms",
                TARGET_TIMERS.as_millis()
            ),
            verdict.into(),
        );
        if out_of_order != 0 {
            return Err("taketurns timers fired out of deadline order".into());
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Reading /proc, printing
// ---------------------------------------------------------------------------------------------

/// Wall-clock time and this process's CPU time (user + system, `getrusage`) from one moment.
///
/// Other programs on a busy machine stretch the wall-clock time of a measurement but hardly its
/// CPU time, so both are shown: the CPU time is what the runtime itself spent.
#[derive(Clone, Copy)]
struct Stopwatch {
    /// When it was started.
    wall: Instant,
    /// The process's CPU time then.
    cpu: Duration,
}

impl Stopwatch {
    fn start() -> Stopwatch {
        Stopwatch {
            wall: Instant::now(),
            cpu: cpu_time(),
        }
    }

    /// `(wall, cpu)` since the start.
    fn elapsed(&self) -> Span {
        Span {
            wall: self.wall.elapsed(),
            cpu: cpu_time().saturating_sub(self.cpu),
        }
    }
}

/// A stretch of wall-clock time and the CPU time the process spent in it.
#[derive(Clone, Copy)]
struct Span {
    /// Elapsed real time.
    wall: Duration,
    /// CPU time used by this process meanwhile.
    cpu: Duration,
}

impl Span {
    /// "W ms wall, C ms CPU (N ns/task wall)": both times, and the wall time per `unit`.
    fn show(&self, per: u64, unit: &str) -> String {
        format!(
            "{:.1} ms wall, {:.1} ms CPU ({:.0} ns/{unit} wall)",
            ms(self.wall),
            ms(self.cpu),
            self.wall.as_nanos() as f64 / per as f64
        )
    }
}

/// This process's resident memory (`VmRSS`), in bytes.
fn rss() -> Result<u64, String> {
    taketurns::workload::machine::resident_kib()
        .map(|kib| kib * 1024)
        .ok_or_else(|| "could not read VmRSS from /proc/self/status".into())
}

/// The 1-minute load average: other work on the machine skews every time shown.
fn load() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
