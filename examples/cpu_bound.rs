//! The CPU-bound job of chapters 1 and 11, five ways: one thread, N threads, N tasks on the event
//! loop, N calls to `spawn_blocking`, and N child processes. Prints the wall time, the CPU time,
//! and the speed-up of each against one thread.
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
//! Python's `multiprocessing` does with its `spawn` start method. The job and the code of each
//! way are the lab bench's (`taketurns::workload::cpu`), which `measure` also runs for the book's
//! table; this program is the one to run by hand, with your own sizes.

use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use taketurns::workload::cpu::{self, ChildProgram, Split, Way};
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

/// The five ways this program runs, as the lab bench's [`Way`]s: the table's row names and
/// its ways, in order. The lab bench (`taketurns::workload::cpu`) has the job and the code of
/// every way; `measure` runs the same code for the book's table, with a thread pool besides.
const MODES: [(&str, Way); 5] = [
    ("sequential (1 thread)", Way::OneAfterAnother),
    ("threads", Way::ThreadPerJob),
    ("event loop (tasks)", Way::EventLoop),
    ("spawn_blocking", Way::SpawnBlocking),
    ("processes", Way::Processes),
];

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
    /// Run `way` once more and record it.
    fn run(&mut self, way: Way, split: &Split, child: &ChildProgram) {
        let (cpu0, t0) = (cpu_time(), Instant::now());
        let sum = cpu::run(way, split, Some(child)).unwrap_or_else(|e| {
            eprintln!("cpu_bound: {e}");
            std::process::exit(1);
        });
        self.sums.push(sum);
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
        println!("{}", cpu::sum_of_squares(start..end));
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
    // One job per worker, and the children are this program again, with `chunk`.
    let split = Split {
        n: cli.n,
        jobs: workers,
        workers,
    };
    let child = ChildProgram {
        program: std::env::current_exe().expect("the program knows its own path"),
        args: vec!["chunk".into()],
    };
    let modes = MODES;
    // ANCHOR: rounds
    // Round-robin: each round runs every mode once, so that a burst of load from other programs
    // falls on all modes alike instead of on whichever mode happened to be running.
    let mut measured: Vec<Measured> = modes.iter().map(|_| Measured::default()).collect();
    for _ in 0..cli.runs {
        for ((_, way), m) in modes.iter().zip(&mut measured) {
            m.run(*way, &split, &child);
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
