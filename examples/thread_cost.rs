//! What does an OS thread cost on this machine? The time to start and join one, the memory to keep
//! one waiting, the time for two threads to take turns, and the limits on how many the kernel will
//! give you. Chapter 2 of the book runs it and reads the output line by line:
//!
//! ```console
//! $ cargo run --release --example thread_cost
//! $ cargo run --release --example thread_cost -- --threads 10000 --stack-kib 16
//! ```
//!
//! Every thread is started with `taketurns::threaded::ThreadPerTask`, the book's thread-per-task
//! runner (Python: `threading.Thread`; tokio adds nothing to `std::thread` here). Beside each
//! thread figure the example prints the same figure for a taketurns task, for contrast.
//!
//! Linux only: memory, context switches and limits are read from `/proc` and `getrusage`.
//! Deliberately left out: pinning threads to cores (run the example under `taskset -c 0` for
//! that), and finding the thread limit by exhausting the machine. The example stops short of
//! `vm.max_map_count`, because a thread started past it can abort the whole process
//! (`--no-map-guard` shows it). The one failure it provokes on purpose is a thread whose stack
//! cannot exist, which `spawn` reports as an `io::Error`.

use std::fs;
use std::io;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use futures::StreamExt;
use futures::channel::{mpsc as async_mpsc, oneshot};
use nix::sys::resource::{UsageWho, getrusage};
use taketurns::threaded::{ThreadPerTask, ThreadPool};

/// Measure what an OS thread costs here: spawn + join time, memory per parked thread, the time
/// of a round trip between two threads, and the machine's thread limits. Each figure is shown
/// beside the same figure for a taketurns task.
#[derive(Parser, Debug)]
#[command(name = "thread_cost", version)]
struct Args {
    /// Threads to start and park at once for the memory measurement (and tasks, for contrast).
    #[arg(long, default_value_t = 1000)]
    threads: usize,
    /// The small stack, in KiB, measured beside Rust's default stack (2 MiB).
    #[arg(long, default_value_t = 64)]
    stack_kib: usize,
    /// Threads to spawn and join one after another for the timing (the median is shown).
    #[arg(long, default_value_t = 2000)]
    spawns: usize,
    /// Round trips between two threads (and between two tasks) to time.
    #[arg(long, default_value_t = 20_000)]
    round_trips: usize,
    /// Keep starting threads past vm.max_map_count. A thread started there can abort the whole
    /// process (std cannot map its signal stack); by default the example stops just before.
    #[arg(long)]
    no_map_guard: bool,
}

/// A stack no machine can give: 256 TiB, twice what a process can map on x86-64 Linux.
const IMPOSSIBLE_STACK: usize = 1 << 48;

/// Fast operations are timed in batches of this many; one sample is a batch's time divided by it.
const BATCH: usize = 1000;

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("thread_cost: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> io::Result<()> {
    let small = ThreadPerTask::new().stack_size(args.stack_kib.saturating_mul(1024));
    let default = ThreadPerTask::new();
    let small_name = format!("{} KiB stack", args.stack_kib);

    // The tasks' memory is measured first, while the heap has no free space left over from the
    // other measurements: a task is a few hundred bytes of heap, and reusing freed heap adds no RSS.
    let tasks = park_tasks(args.threads)?;

    println!("thread_cost: what an OS thread costs on this machine");
    println!("  {}", machine());
    println!();

    // Time.
    let spawns = args.spawns.max(1);
    let rounds = args.round_trips.max(BATCH);
    println!("Time (median)");
    let line =
        |what: &str, value: String, note: String| println!("  {what:<46} {value:>9}  {note}");
    for (name, spawner) in [("default stack", default), (small_name.as_str(), small)] {
        let what = format!("thread: spawn + join, {name}");
        match spawn_join(spawner, spawns) {
            Ok(samples) => line(&what, time(median(samples)), format!("of {spawns} threads")),
            Err(e) => line(&what, "failed".into(), format!("{e}")),
        }
    }
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let pool = ThreadPool::new(workers)?;
    line(
        "pool job: ThreadPool::spawn + join",
        time(median(pool_job(&pool, spawns))),
        format!(
            "of {spawns} jobs, {workers} worker{}",
            if workers == 1 { "" } else { "s" }
        ),
    );
    pool.shutdown();
    line(
        "task: taketurns::spawn + await",
        time(median(task_spawn_await(rounds)?)),
        format!("of {rounds} tasks"),
    );
    for (what, trips) in [
        (
            "round trip, two threads, std mpsc",
            thread_round_trips_mpsc(rounds)?,
        ),
        (
            "round trip, two threads, Mutex + Condvar",
            thread_round_trips_condvar(rounds)?,
        ),
        (
            "round trip, two tasks, one thread",
            task_round_trips(rounds)?,
        ),
    ] {
        let note = format!(
            "{:.2} voluntary + {:.2} involuntary switches each",
            trips.voluntary, trips.involuntary
        );
        line(what, time(median(trips.samples)), note);
    }
    println!();

    // Memory.
    let n = args.threads;
    println!("Memory: {n} threads, or {n} tasks, all waiting at once");
    let columns = [
        (
            "default stack",
            park_threads(default, n, !args.no_map_guard)?,
        ),
        (
            small_name.as_str(),
            park_threads(small, n, !args.no_map_guard)?,
        ),
        ("tasks", tasks),
    ];
    print_memory(&columns);
    println!();

    // Limits.
    println!("Limits: how many threads this machine allows");
    let maps_per_thread = columns[0].1.per_item(|m| m.maps);
    let rss_per_thread = columns[0].1.per_item(|m| m.rss_kib);
    let kernel_per_thread = columns[0].1.per_item(|m| m.kernel_stack_kib);
    print_limits(maps_per_thread, rss_per_thread + kernel_per_thread);
    println!();
    println!("When a thread cannot be created");
    println!("  {}", impossible_stack());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------------------------

// ANCHOR: spawn_join
/// Starts `n` threads that do nothing, one after another, and times each from `spawn` until
/// `join` has returned.
fn spawn_join(spawner: ThreadPerTask, n: usize) -> io::Result<Vec<Duration>> {
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        let handle = spawner.spawn(|| ())?;
        handle.join().expect("an empty thread cannot panic");
        samples.push(start.elapsed());
    }
    Ok(samples)
}
// ANCHOR_END: spawn_join

/// Hands `n` empty jobs to a pool one at a time, and times each from `spawn` until `join` has
/// returned. No thread is created: a worker that is already running picks the job up.
fn pool_job(pool: &ThreadPool, n: usize) -> Vec<Duration> {
    (0..n)
        .map(|_| {
            let start = Instant::now();
            pool.spawn(|| ()).join().expect("an empty job cannot panic");
            start.elapsed()
        })
        .collect()
}

/// Spawns and awaits `n` empty taketurns tasks, one after another, in batches of [`BATCH`].
fn task_spawn_await(n: usize) -> io::Result<Vec<Duration>> {
    let rt = taketurns::Runtime::new()?;
    Ok(rt.block_on(async {
        let mut samples = Vec::new();
        for _ in 0..n / BATCH {
            let start = Instant::now();
            for _ in 0..BATCH {
                taketurns::spawn(async {})
                    .await
                    .expect("an empty task cannot fail");
            }
            samples.push(start.elapsed() / BATCH as u32);
        }
        samples
    }))
}

/// The result of a ping-pong: the time of one round trip (one sample per batch of [`BATCH`]), and
/// how many context switches the kernel counted per round trip, over the whole process.
struct RoundTrips {
    samples: Vec<Duration>,
    voluntary: f64,
    involuntary: f64,
}

/// Context switches of the whole process so far, every thread included: (voluntary,
/// involuntary). A voluntary switch is a thread giving up its core because it must wait; an
/// involuntary one is the kernel taking the core away.
fn context_switches() -> io::Result<(f64, f64)> {
    let usage = getrusage(UsageWho::RUSAGE_SELF).map_err(io::Error::from)?;
    Ok((
        usage.voluntary_context_switches() as f64,
        usage.involuntary_context_switches() as f64,
    ))
}

/// Runs `rounds` round trips with `one_round`, in batches, counting context switches around it.
fn time_round_trips(rounds: usize, mut one_round: impl FnMut()) -> io::Result<RoundTrips> {
    let (vol_before, invol_before) = context_switches()?;
    let mut samples = Vec::new();
    for _ in 0..rounds / BATCH {
        let start = Instant::now();
        for _ in 0..BATCH {
            one_round();
        }
        samples.push(start.elapsed() / BATCH as u32);
    }
    let (vol_after, invol_after) = context_switches()?;
    let total = (rounds / BATCH * BATCH) as f64;
    Ok(RoundTrips {
        samples,
        voluntary: (vol_after - vol_before) / total,
        involuntary: (invol_after - invol_before) / total,
    })
}

// ANCHOR: ping_pong
/// Two threads take turns: this one passes the baton, the other passes it back. The baton is a
/// counter behind a mutex: odd means "the echo thread's turn", even "ours". A thread whose turn
/// it is not sleeps on the condvar, which parks it in the kernel until the other one notifies.
fn thread_round_trips_condvar(rounds: usize) -> io::Result<RoundTrips> {
    let baton = Arc::new((Mutex::new(0u64), Condvar::new()));
    let echo_baton = Arc::clone(&baton);
    let echo = ThreadPerTask::new().spawn(move || {
        let (turn, changed) = &*echo_baton;
        loop {
            let mut mine = turn.lock().unwrap();
            while *mine % 2 == 0 {
                mine = changed.wait(mine).unwrap(); // asleep until the main thread passes
            }
            if *mine == u64::MAX {
                return; // the main thread's "stop"
            }
            *mine += 1; // pass it back
            drop(mine); // unlock before waking the other thread, so it need not wait for the lock
            changed.notify_one();
        }
    })?;
    let (turn, changed) = &*baton;
    let trips = time_round_trips(rounds, || {
        *turn.lock().unwrap() += 1; // pass the baton (and unlock)
        changed.notify_one();
        let mut mine = turn.lock().unwrap();
        while *mine % 2 == 1 {
            mine = changed.wait(mine).unwrap(); // asleep until the echo thread passes it back
        }
    })?;
    *turn.lock().unwrap() = u64::MAX;
    changed.notify_one();
    echo.join().expect("the echo thread panicked");
    Ok(trips)
}
// ANCHOR_END: ping_pong

/// The same ping-pong over two std channels: a `recv` that finds no message parks the thread
/// (`std::thread::park`, a futex wait), and `send` unparks it, so it costs what the condvar does.
fn thread_round_trips_mpsc(rounds: usize) -> io::Result<RoundTrips> {
    let (to_echo, echo_inbox) = mpsc::channel::<u64>();
    let (to_main, main_inbox) = mpsc::channel::<u64>();
    let echo = ThreadPerTask::new().spawn(move || {
        for ball in echo_inbox {
            if to_main.send(ball).is_err() {
                break;
            }
        }
    })?;
    let trips = time_round_trips(rounds, || {
        to_echo.send(1).expect("the echo thread hung up");
        main_inbox.recv().expect("the echo thread hung up");
    })?;
    drop(to_echo); // ends the echo thread's `for` loop
    echo.join().expect("the echo thread panicked");
    Ok(trips)
}

/// The same ping-pong between two taketurns tasks on one thread, over two futures channels.
fn task_round_trips(rounds: usize) -> io::Result<RoundTrips> {
    let rt = taketurns::Runtime::new()?;
    rt.block_on(async {
        let (to_echo, mut echo_inbox) = async_mpsc::unbounded::<u64>();
        let (to_main, mut main_inbox) = async_mpsc::unbounded::<u64>();
        let echo = taketurns::spawn(async move {
            while let Some(ball) = echo_inbox.next().await {
                let _ = to_main.unbounded_send(ball);
            }
        });
        let (vol_before, invol_before) = context_switches()?;
        let mut samples = Vec::new();
        for _ in 0..rounds / BATCH {
            let start = Instant::now();
            for _ in 0..BATCH {
                to_echo.unbounded_send(1).expect("the echo task ended");
                main_inbox.next().await.expect("the echo task ended");
            }
            samples.push(start.elapsed() / BATCH as u32);
        }
        let (vol_after, invol_after) = context_switches()?;
        drop(to_echo);
        echo.await.expect("the echo task panicked");
        let total = (rounds / BATCH * BATCH) as f64;
        Ok(RoundTrips {
            samples,
            voluntary: (vol_after - vol_before) / total,
            involuntary: (invol_after - invol_before) / total,
        })
    })
}

// ---------------------------------------------------------------------------------------------
// Memory
// ---------------------------------------------------------------------------------------------

// ANCHOR: memory_now
/// What the kernel says about this process's memory at one moment.
#[derive(Clone, Copy, Debug, Default)]
struct Memory {
    /// Memory actually in RAM: pages this process has touched (`VmRSS`), in KiB.
    rss_kib: u64,
    /// Address space reserved, touched or not (`VmSize`), in KiB.
    virtual_kib: u64,
    /// Threads in this process, the main one included (`Threads`).
    threads: u64,
    /// Memory mappings (lines of `/proc/self/maps`); `vm.max_map_count` caps them.
    maps: u64,
    /// Kernel stacks of every thread on the machine (`KernelStack` in `/proc/meminfo`), in KiB.
    kernel_stack_kib: u64,
}

fn memory_now() -> io::Result<Memory> {
    let status = fs::read_to_string("/proc/self/status")?;
    let meminfo = fs::read_to_string("/proc/meminfo")?;
    Ok(Memory {
        rss_kib: field(&status, "VmRSS:")?,
        virtual_kib: field(&status, "VmSize:")?,
        threads: field(&status, "Threads:")?,
        maps: fs::read_to_string("/proc/self/maps")?.lines().count() as u64,
        kernel_stack_kib: field(&meminfo, "KernelStack:")?,
    })
}

/// The number after `name` in a `/proc` file made of `Name:   value [kB]` lines.
fn field(text: &str, name: &str) -> io::Result<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .ok_or_else(|| io::Error::other(format!("no `{name}` line in /proc")))
}
// ANCHOR_END: memory_now

// ANCHOR: gate
/// Where the parked threads wait: they check in, then sleep until the gate opens.
#[derive(Default)]
struct Gate {
    state: Mutex<GateState>,
    /// Threads sleep here until the gate opens; the main thread sleeps here until all checked in.
    changed: Condvar,
}

#[derive(Default)]
struct GateState {
    /// Threads that have checked in. Only they increment it.
    checked_in: usize,
    /// Set once, by the main thread, to let every thread go.
    open: bool,
}

impl Gate {
    /// Called by each parked thread: check in, then sleep until the gate opens.
    fn check_in_and_wait(&self) {
        let mut state = self.state.lock().unwrap();
        state.checked_in += 1;
        self.changed.notify_all();
        while !state.open {
            state = self.changed.wait(state).unwrap();
        }
    }

    /// Called by the main thread: sleep until `n` threads have checked in.
    fn wait_for(&self, n: usize) {
        let mut state = self.state.lock().unwrap();
        while state.checked_in < n {
            state = self.changed.wait(state).unwrap();
        }
    }

    /// Called by the main thread: let every thread go.
    fn open(&self) {
        self.state.lock().unwrap().open = true;
        self.changed.notify_all();
    }
}
// ANCHOR_END: gate

/// Memory before, while and after `created` threads (or tasks) waited at once.
struct Parked {
    requested: usize,
    created: usize,
    before: Memory,
    parked: Memory,
    after: Memory,
    /// Why fewer than the requested number were created, if they were.
    error: Option<io::Error>,
}

impl Parked {
    /// What one waiting thread or task added to a figure: (parked - before) / created.
    fn per_item(&self, figure: impl Fn(&Memory) -> u64) -> f64 {
        let added = figure(&self.parked) as f64 - figure(&self.before) as f64;
        added / self.created.max(1) as f64
    }
}

// ANCHOR: park_threads
/// Starts `n` threads that each check in at a gate and sleep there, reads the process's memory
/// while all of them sleep, then opens the gate and joins them. A failed spawn stops the
/// starting; the threads already started are measured and joined all the same. With
/// `map_guard`, it also stops before the threads would pass `vm.max_map_count`.
fn park_threads(spawner: ThreadPerTask, n: usize, map_guard: bool) -> io::Result<Parked> {
    let gate = Arc::new(Gate::default());
    let mut handles = Vec::with_capacity(n); // allocated before the first reading
    let mut error = None;
    let before = memory_now()?;
    let room = if map_guard {
        threads_below_map_limit(before.maps)
    } else {
        usize::MAX
    };
    for k in 0..n {
        if k == room {
            error = Some(io::Error::other(
                "the next one could pass vm.max_map_count, and then the whole process \
                 may abort (pass --no-map-guard to see it)",
            ));
            break;
        }
        let gate = Arc::clone(&gate);
        match spawner.spawn(move || gate.check_in_and_wait()) {
            Ok(handle) => handles.push(handle),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    gate.wait_for(handles.len());
    let parked = memory_now()?;
    gate.open();
    let created = handles.len();
    for handle in handles {
        handle.join().expect("a parked thread panicked");
    }
    let after = memory_now()?;
    Ok(Parked {
        requested: n,
        created,
        before,
        parked,
        after,
        error,
    })
}
// ANCHOR_END: park_threads

// ANCHOR: map_guard
/// Mappings one thread adds, as measured: its stack and the guard page below it (made by
/// glibc), and the small stack Rust's std gives each thread for signal handlers, with its own
/// guard page.
const MAPS_PER_THREAD: u64 = 4;

/// Mappings kept spare for everything else that maps memory meanwhile (malloc's arenas).
const SPARE_MAPS: u64 = 64;

/// How many more threads fit under `vm.max_map_count`, counting from `maps_now` mappings.
///
/// Past that limit, starting a thread fails in one of two ways. If glibc cannot map the stack,
/// `spawn` returns `Err`, as it should. But if the stack fits and the signal stack does not,
/// only the new thread finds out, while std is still setting it up: it panics outside any code of
/// ours, and the whole process aborts. So we stop before.
fn threads_below_map_limit(maps_now: u64) -> usize {
    match sysctl("/proc/sys/vm/max_map_count").parse::<u64>() {
        Ok(max) => (max.saturating_sub(maps_now + SPARE_MAPS) / MAPS_PER_THREAD) as usize,
        Err(_) => usize::MAX,
    }
}
// ANCHOR_END: map_guard

// ANCHOR: park_tasks
/// The same with taketurns tasks: `n` tasks each wait for a message on their own oneshot
/// channel, all on this one thread.
fn park_tasks(n: usize) -> io::Result<Parked> {
    let rt = taketurns::Runtime::new()?;
    rt.block_on(async {
        let mut senders = Vec::with_capacity(n);
        let mut handles = Vec::with_capacity(n);
        let before = memory_now()?;
        for _ in 0..n {
            let (sender, receiver) = oneshot::channel::<()>();
            senders.push(sender);
            handles.push(taketurns::spawn(async move {
                let _ = receiver.await;
            }));
        }
        // One tick runs every task once; each finds its channel empty and goes to the waiting
        // list.
        taketurns::yield_now().await;
        let parked = memory_now()?;
        drop(senders); // each receiver now ends with `Canceled`, which wakes its task
        let created = handles.len();
        for handle in handles {
            handle.await.expect("a parked task panicked");
        }
        let after = memory_now()?;
        Ok(Parked {
            requested: n,
            created,
            before,
            parked,
            after,
            error: None,
        })
    })
}
// ANCHOR_END: park_tasks

fn print_memory(columns: &[(&str, Parked)]) {
    let row = |what: &str, cell: &dyn Fn(&Parked) -> String| {
        print!("  {what:<34}");
        for (_, parked) in columns {
            print!(" {:>17}", cell(parked));
        }
        println!();
    };
    print!("  {:<34}", "");
    for (name, _) in columns {
        print!(" {name:>17}");
    }
    println!();
    let mib = |kib: u64| format!("{:.0}", kib as f64 / 1024.0);
    row("created", &|p| p.created.to_string());
    row("threads in the process, waiting", &|p| {
        p.parked.threads.to_string()
    });
    row("RSS before/waiting/after (MiB)", &|p| {
        format!(
            "{:.1}/{:.1}/{:.1}",
            p.before.rss_kib as f64 / 1024.0,
            p.parked.rss_kib as f64 / 1024.0,
            p.after.rss_kib as f64 / 1024.0
        )
    });
    row("RSS per waiting one", &|p| size(p.per_item(|m| m.rss_kib)));
    row("VmSize before/waiting/after (MiB)", &|p| {
        format!(
            "{}/{}/{}",
            mib(p.before.virtual_kib),
            mib(p.parked.virtual_kib),
            mib(p.after.virtual_kib)
        )
    });
    row("VmSize per waiting one", &|p| {
        size(p.per_item(|m| m.virtual_kib))
    });
    row("memory maps per waiting one", &|p| {
        format!("{:.2}", p.per_item(|m| m.maps))
    });
    row("kernel stack per waiting one", &|p| {
        size(p.per_item(|m| m.kernel_stack_kib))
    });
    for (name, parked) in columns {
        if let Some(e) = &parked.error {
            println!(
                "  {name}: thread {} of {} was not started: {e} (kind: {:?})",
                parked.created + 1,
                parked.requested,
                e.kind()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------------

// ANCHOR: limits
/// One line of `/proc/self/limits`, such as `Max processes  96364  96364  processes`, as
/// (soft, hard) strings.
fn rlimit(name: &str) -> Option<(String, String)> {
    let limits = fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find_map(|line| line.strip_prefix(name))?;
    let mut words = line.split_whitespace();
    Some((words.next()?.to_string(), words.next()?.to_string()))
}

/// A one-number file such as `/proc/sys/kernel/threads-max`, as a string.
fn sysctl(path: &str) -> String {
    fs::read_to_string(path).map_or_else(|_| "unreadable".into(), |s| s.trim().to_string())
}
// ANCHOR_END: limits

/// Prints each limit and, where it can, how many threads it allows: `maps_per_thread` and
/// `kib_per_thread` (RSS plus kernel stack) come from the memory measurement.
fn print_limits(maps_per_thread: f64, kib_per_thread: f64) {
    let line =
        |what: &str, value: String, note: String| println!("  {what:<34} {value:>15}  {note}");
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    line(
        "cores (available_parallelism)",
        cores.to_string(),
        "threads that can run at the same instant".into(),
    );
    line(
        "kernel.threads-max",
        sysctl("/proc/sys/kernel/threads-max"),
        "threads on the whole machine".into(),
    );
    line(
        "kernel.pid_max",
        sysctl("/proc/sys/kernel/pid_max"),
        "every thread takes a pid, machine-wide".into(),
    );
    // The fourth field of /proc/loadavg is "running/total" scheduling entities: every thread of
    // every process on the machine.
    let loadavg = sysctl("/proc/loadavg");
    if let Some(total) = loadavg
        .split_whitespace()
        .nth(3)
        .and_then(|f| f.split_once('/'))
        .map(|(_, total)| total.to_string())
    {
        line(
            "threads on the machine now",
            total,
            "all processes, from /proc/loadavg".into(),
        );
    }
    let root = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| field(&s, "Uid:").ok())
        == Some(0);
    if let Some((soft, hard)) = rlimit("Max processes") {
        let note = if root {
            "threads of this user; not enforced for root"
        } else {
            "threads of this user, all processes"
        };
        line(
            "RLIMIT_NPROC (ulimit -u)",
            format!("{soft} / {hard}"),
            note.into(),
        );
    }
    if let Some((soft, _)) = rlimit("Max stack size") {
        let kib = soft
            .parse::<u64>()
            .map_or(soft, |b| format!("{} KiB", b / 1024));
        line(
            "RLIMIT_STACK (ulimit -s)",
            kib,
            "the main thread's stack; not Rust threads'".into(),
        );
    }
    let max_maps = sysctl("/proc/sys/vm/max_map_count");
    let allows = match max_maps.parse::<f64>() {
        Ok(max) if maps_per_thread > 0.0 => format!(
            "about {:.0} threads at {maps_per_thread:.2} maps each",
            max / maps_per_thread
        ),
        _ => String::new(),
    };
    line("vm.max_map_count", max_maps, allows);
    line(
        "cgroup pids.max",
        cgroup_pids_max(),
        "tasks in this cgroup".into(),
    );
    if let Ok(meminfo) = fs::read_to_string("/proc/meminfo")
        && let Ok(total) = field(&meminfo, "MemTotal:")
    {
        let allows = if kib_per_thread > 0.0 {
            format!(
                "about {:.0} waiting threads at {} each (RSS + kernel stack)",
                total as f64 / kib_per_thread,
                size(kib_per_thread)
            )
        } else {
            String::new()
        };
        line("RAM (MemTotal)", size(total as f64), allows);
    }
}

/// This process's cgroup `pids.max`, cgroup v2 or v1, or "none" if no limit is set.
fn cgroup_pids_max() -> String {
    let cgroups = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    for line in cgroups.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next(), parts.next(), parts.next());
        let dir = match (controllers, path) {
            (Some(""), Some(path)) => format!("/sys/fs/cgroup{path}"),
            (Some(c), Some(path)) if c.split(',').any(|c| c == "pids") => {
                format!("/sys/fs/cgroup/pids{path}")
            }
            _ => continue,
        };
        if let Ok(max) = fs::read_to_string(format!("{}/pids.max", dir.trim_end_matches('/'))) {
            return max.trim().to_string();
        }
    }
    "none".into()
}

// ANCHOR: spawn_error
/// Asks for a thread whose stack cannot exist and reports what the runner hands back. A runner
/// that gets this error can wait, queue the work, or fall back to a pool; `std::thread::spawn`
/// would have panicked instead.
fn impossible_stack() -> String {
    let tib = IMPOSSIBLE_STACK >> 40;
    match ThreadPerTask::new()
        .stack_size(IMPOSSIBLE_STACK)
        .spawn(|| ())
    {
        Ok(handle) => {
            let _ = handle.join();
            format!("a {tib} TiB stack was granted: spawn did not fail on this machine")
        }
        Err(e) => format!(
            "spawn with a {tib} TiB stack returned Err: {e} (kind: {:?})",
            e.kind()
        ),
    }
}
// ANCHOR_END: spawn_error

// ---------------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------------

fn median(mut samples: Vec<Duration>) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// A duration as nanoseconds below a microsecond, else microseconds with one decimal.
fn time(d: Duration) -> String {
    if d < Duration::from_micros(1) {
        format!("{} ns", d.as_nanos())
    } else {
        format!("{:.1} µs", d.as_secs_f64() * 1e6)
    }
}

/// A size given in KiB, in bytes below 1 KiB, in KiB below 10 MiB, else in MiB.
fn size(kib: f64) -> String {
    if kib.abs() < 1.0 {
        format!("{:.0} B", kib * 1024.0)
    } else if kib.abs() < 10.0 * 1024.0 {
        format!("{kib:.1} KiB")
    } else {
        format!("{:.1} MiB", kib / 1024.0)
    }
}

/// "2 cores, AMD EPYC, Linux 6.x, Rust default thread stack 2 MiB".
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = taketurns::workload::machine::cpu_model();
    let kernel = sysctl("/proc/sys/kernel/osrelease");
    let stack = std::env::var("RUST_MIN_STACK").map_or_else(
        |_| "2 MiB".into(),
        |s| format!("{s} bytes (RUST_MIN_STACK)"),
    );
    let plural = if cores == 1 { "" } else { "s" };
    format!("{cores} core{plural}, {cpu}, Linux {kernel}; Rust's default thread stack: {stack}")
}
