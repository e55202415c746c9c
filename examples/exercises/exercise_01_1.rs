//! Chapter 1, exercise 1: sandwiches and roasts. Ten jobs that mostly *wait* (a roast in the
//! oven: a timer) and ten jobs that *compute* (making a sandwich: CPU work), each run three ways:
//! one after another, as tasks on one event loop, and on one thread each.
//!
//! ```console
//! $ cargo run --release --example exercise_01_1
//! $ cargo run --release --example exercise_01_1 -- --jobs 20 --ms 20
//! ```
//!
//! Waiting jobs overlap on one thread: the loop sleeps once for all of them. Computing jobs do
//! not: one thread can only compute one at a time, so the loop takes as long as the sequential
//! run, and only threads on several cores go faster, at most by the number of cores.

use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;

/// Jobs that wait and jobs that compute, run sequentially, as event-loop tasks, and on threads.
#[derive(Parser, Debug)]
#[command(name = "exercise_01_1", version)]
struct Cli {
    /// How many jobs of each kind.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1000))]
    jobs: u64,
    /// How long each job takes alone, in milliseconds (waiting, or computing on this machine).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    ms: u64,
}

/// The computing job: a sum of squares modulo a prime over `0..n` (see `examples/cpu_bound.rs`).
#[inline(never)] // one copy of the machine code for every caller, so timings compare
fn compute(n: u64) -> u64 {
    (0..black_box(n)).map(|i| i * i % 1_000_003).sum()
}

/// How many numbers `compute` gets through in `target`: the fastest of five trials.
fn calibrate(target: Duration) -> u64 {
    let trial = 1_000_000;
    let fastest = (0..5)
        .map(|_| {
            let t = Instant::now();
            black_box(compute(trial));
            t.elapsed()
        })
        .min()
        .unwrap_or_default();
    ((target.as_secs_f64() / fastest.as_secs_f64().max(1e-9)) * trial as f64) as u64
}

// ANCHOR: ways
/// Wall time of `jobs` jobs run one after another on this thread. Returns the total, and the sum
/// of the time each job took by itself.
fn one_after_another(jobs: u64, job: impl Fn()) -> (Duration, Duration) {
    let start = Instant::now();
    let mut alone = Duration::ZERO;
    for _ in 0..jobs {
        let t = Instant::now();
        job();
        alone += t.elapsed();
    }
    (start.elapsed(), alone)
}

/// Wall time of `jobs` tasks on one taketurns loop.
fn on_the_loop<F: Future<Output = ()> + 'static>(jobs: u64, job: impl Fn() -> F) -> Duration {
    let start = Instant::now();
    taketurns::block_on(async {
        let tasks: Vec<_> = (0..jobs).map(|_| taketurns::spawn(job())).collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    start.elapsed()
}

/// Wall time of `jobs` OS threads, one per job.
fn on_threads(jobs: u64, job: impl Fn() + Sync) -> Duration {
    let start = Instant::now();
    thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(&job);
        }
    });
    start.elapsed()
}
// ANCHOR_END: ways

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let cli = Cli::parse();
    let each = Duration::from_millis(cli.ms);
    let n = calibrate(each);
    println!(
        "exercise_01_1: {} jobs of {} each, on {}",
        cli.jobs,
        ms(each),
        taketurns::workload::machine::describe()
    );
    println!();
    println!(
        "{:<22}{:>18}{:>18}{:>18}",
        "kind of job", "one after another", "event loop", "thread per job"
    );
    // ANCHOR: run
    let (wait_seq, _) = one_after_another(cli.jobs, || thread::sleep(each));
    let wait_loop = on_the_loop(cli.jobs, || taketurns::time::sleep(each));
    let wait_threads = on_threads(cli.jobs, || thread::sleep(each));

    let (cpu_seq, _) = one_after_another(cli.jobs, || {
        black_box(compute(n));
    });
    let cpu_loop = on_the_loop(cli.jobs, || async move {
        black_box(compute(n));
    });
    let cpu_threads = on_threads(cli.jobs, || {
        black_box(compute(n));
    });
    // ANCHOR_END: run
    for (kind, a, b, c) in [
        ("waiting (a roast)", wait_seq, wait_loop, wait_threads),
        ("computing (a sandwich)", cpu_seq, cpu_loop, cpu_threads),
    ] {
        println!("{kind:<22}{:>18}{:>18}{:>18}", ms(a), ms(b), ms(c));
    }
    println!();
    println!(
        "cores: {} (std::thread::available_parallelism)",
        taketurns::workload::machine::cpus()
    );
}
