//! The seeds' CPU-bound job, five ways: one thread, N threads, N tasks on the event loop, N calls
//! to `spawn_blocking`, and N child processes. Prints the wall time, the CPU time, and the
//! speed-up of each against one thread.
//!
//! ```console
//! $ cargo run --release --example cpu_bound
//! $ cargo run --release --example cpu_bound -- --workers 4 --n 200000000 --runs 5
//! ```
//!
//! The job is a sum of squares modulo a prime over `0..n`, cut into N equal chunks: pure
//! arithmetic, no I/O, no shared data. Python's advice for such a job is "processes, not threads":
//! CPython's threads take turns holding the GIL, so N of them compute no faster than one. Rust has
//! no GIL, so N threads run on N cores at once, and a process buys nothing a thread does not,
//! except isolation. The event loop runs its N tasks on one thread, one after another: no speed-up,
//! as with asyncio. Every mode must give the same sum; the program checks it and exits with 1 if
//! not.
//!
//! The processes are this same binary, re-executed with the hidden `chunk` subcommand, which
//! computes one range and prints its sum: the same trick as `fetch_many`'s `serve`, and what
//! Python's `multiprocessing` does with its `spawn` start method.

use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use taketurns::workload::machine;

/// One CPU-bound job (a sum of squares modulo a prime), run sequentially, on threads, as tasks on
/// the event loop, through spawn_blocking, and in child processes; prints the speed-ups.
#[derive(Parser, Debug)]
#[command(name = "cpu_bound", version)]
struct Cli {
    /// Internal: the child processes this program starts.
    #[command(subcommand)]
    internal: Option<Internal>,

    /// How many numbers to sum (the job's size; 0..n).
    #[arg(long, default_value_t = 600_000_000, value_parser = clap::value_parser!(u64).range(1..=4_000_000_000))]
    n: u64,

    /// Threads, tasks or processes to split the job between [default: the number of CPUs].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=256))]
    workers: Option<u64>,

    /// Rounds to run; each round runs every mode once. The table shows each mode's fastest run
    /// and its median.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=100))]
    runs: u64,
}

/// The child processes' subcommand (hidden from --help).
#[derive(Subcommand, Debug)]
enum Internal {
    /// Sum one chunk, start..end, and print the sum on one line.
    #[command(hide = true)]
    Chunk {
        /// First number of the chunk.
        #[arg(long)]
        start: u64,
        /// One past the last number.
        #[arg(long)]
        end: u64,
    },
}

// ANCHOR: job
/// The job: the sum of `i * i % 1_000_003` over a range. The modulo keeps the compiler from
/// replacing the loop with a closed formula, so the time is real arithmetic. `inline(never)`: every
/// mode runs this same machine code, instead of a copy the compiler optimised differently.
#[inline(never)]
fn sum_of_squares(range: std::ops::Range<u64>) -> u64 {
    range.map(|i| i * i % 1_000_003).sum()
}

/// `0..n` cut into `parts` ranges of nearly equal length.
fn chunks(n: u64, parts: u64) -> Vec<std::ops::Range<u64>> {
    (0..parts)
        .map(|k| (n * k / parts)..(n * (k + 1) / parts))
        .collect()
}
// ANCHOR_END: job

// ANCHOR: modes
/// One thread does everything.
fn sequential(n: u64, _workers: u64) -> u64 {
    sum_of_squares(0..n)
}

/// One OS thread per chunk; they run at the same time on different cores.
fn threads(n: u64, workers: u64) -> u64 {
    thread::scope(|s| {
        let handles: Vec<_> = chunks(n, workers)
            .into_iter()
            .map(|range| s.spawn(move || sum_of_squares(range)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    })
}

/// One taketurns task per chunk. A task that never awaits runs to the end in one poll, so the
/// tasks run one after another on the loop's single thread.
fn event_loop(n: u64, workers: u64) -> u64 {
    taketurns::block_on(async move {
        let tasks: Vec<_> = chunks(n, workers)
            .into_iter()
            .map(|range| taketurns::spawn(async move { sum_of_squares(range) }))
            .collect();
        let mut total = 0;
        for task in tasks {
            total += task.await.unwrap();
        }
        total
    })
}

/// One `spawn_blocking` call per chunk, awaited from the loop: the chunks run on the runtime's
/// helper threads, in parallel, and the loop stays free.
fn blocking_pool(n: u64, workers: u64) -> u64 {
    taketurns::block_on(async move {
        let calls: Vec<_> = chunks(n, workers)
            .into_iter()
            .map(|range| taketurns::spawn_blocking(move || sum_of_squares(range)))
            .collect();
        let mut total = 0;
        for call in calls {
            total += call.await.unwrap();
        }
        total
    })
}

/// One child process per chunk: this binary again, with `chunk --start S --end E`. All children
/// start before the first is read, so they run at the same time.
fn processes(n: u64, workers: u64) -> u64 {
    let exe = std::env::current_exe().expect("the program knows its own path");
    let children: Vec<_> = chunks(n, workers)
        .into_iter()
        .map(|range| {
            Command::new(&exe)
                .args(["chunk", "--start", &range.start.to_string()])
                .args(["--end", &range.end.to_string()])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("could not start a child process: {e}"))
        })
        .collect();
    children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().expect("the child ran");
            assert!(out.status.success(), "a child failed: {}", out.status);
            let line = String::from_utf8_lossy(&out.stdout);
            line.trim()
                .parse::<u64>()
                .unwrap_or_else(|_| panic!("a child printed {line:?}, not a sum"))
        })
        .sum()
}
// ANCHOR_END: modes

/// One way to run the job: `(n, workers) -> sum`.
type Mode = fn(u64, u64) -> u64;

/// CPU time (user + system) used so far by this process and by its waited-for children (the
/// child-process mode's work is billed to the children).
fn cpu_time() -> Duration {
    machine::cpu_time() + machine::children_cpu_time()
}

/// Several runs of one mode.
#[derive(Default)]
struct Measured {
    /// The sum of each run (they must all agree).
    sums: Vec<u64>,
    /// (wall time, CPU time) of each run, in the order they were made.
    samples: Vec<(Duration, Duration)>,
}

impl Measured {
    /// Run `mode` once more and record it.
    fn run(&mut self, mode: Mode, n: u64, workers: u64) {
        let (cpu0, t0) = (cpu_time(), Instant::now());
        self.sums.push(mode(n, workers));
        self.samples.push((t0.elapsed(), cpu_time() - cpu0));
    }
    /// The fastest run: (wall, CPU).
    fn best(&self) -> (Duration, Duration) {
        self.samples.iter().copied().min().unwrap_or_default()
    }
    /// The median wall time.
    fn median(&self) -> Duration {
        let mut walls: Vec<Duration> = self.samples.iter().map(|s| s.0).collect();
        walls.sort();
        walls[walls.len() / 2]
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let cli = Cli::parse();
    if let Some(Internal::Chunk { start, end }) = cli.internal {
        if start > end {
            eprintln!("cpu_bound chunk: --start {start} is after --end {end}");
            std::process::exit(2);
        }
        println!("{}", sum_of_squares(start..end));
        return;
    }
    let cpus = taketurns::workload::machine::cpus();
    let workers = cli.workers.unwrap_or(cpus.max(1) as u64);
    println!(
        "cpu_bound: sum of i*i % 1000003 for i in 0..{}, split {workers} ways, best and median of {} rounds (each round runs every mode once)",
        cli.n, cli.runs
    );
    println!(
        "machine: {}; std::thread::available_parallelism() = {cpus}",
        taketurns::workload::machine::describe()
    );
    println!();
    println!(
        "{:<28}{:>12}{:>12}{:>10}{:>13}   sum",
        "mode", "best", "median", "speed-up", "cores busy"
    );
    let modes: [(&str, Mode); 5] = [
        ("sequential (1 thread)", sequential),
        ("threads", threads),
        ("event loop (tasks)", event_loop),
        ("spawn_blocking", blocking_pool),
        ("processes", processes),
    ];
    // ANCHOR: rounds
    // Round-robin: each round runs every mode once, so that a burst of load from other programs
    // falls on all modes alike instead of on whichever mode happened to be running.
    let mut measured: Vec<Measured> = modes.iter().map(|_| Measured::default()).collect();
    for _ in 0..cli.runs {
        for ((_, mode), m) in modes.iter().zip(&mut measured) {
            m.run(*mode, cli.n, workers);
        }
    }
    // ANCHOR_END: rounds
    let base = measured[0].best().0;
    let mut sums = Vec::new();
    for ((name, _), m) in modes.iter().zip(&measured) {
        let label = if name.starts_with("sequential") {
            name.to_string()
        } else {
            format!("{name} × {workers}")
        };
        let (wall, cpu) = m.best();
        println!(
            "{label:<28}{:>12}{:>12}{:>9.2}×{:>13.2}   {}",
            ms(wall),
            ms(m.median()),
            base.as_secs_f64() / wall.as_secs_f64().max(1e-9),
            cpu.as_secs_f64() / wall.as_secs_f64().max(1e-9),
            m.sums[0]
        );
        sums.extend(m.sums.iter().copied());
    }
    println!();
    if sums.iter().all(|&s| s == sums[0]) {
        println!("results: every run of all five modes gave the same sum");
    } else {
        println!("results: the modes DISAGREE: {sums:?}");
        std::process::exit(1);
    }
    println!(
        "note: speed-up = sequential best / this mode's best; cores busy = CPU time (this process \
         and its children) / wall time of the fastest run"
    );
}
