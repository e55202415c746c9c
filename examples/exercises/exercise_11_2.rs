//! Chapter 11, exercise 2: blocking calls are not free on the loop either. 64 jobs that each
//! block for 50 ms (a `std::thread::sleep`, standing for a blocking read), run through
//! `spawn_blocking`, against 64 tasks that await `time::sleep` for the same 50 ms.
//!
//! ```console
//! $ cargo run --release --example exercise_11_2
//! $ cargo run --release --example exercise_11_2 -- --jobs 200 --ms 20
//! ```
//!
//! The pool runs at most `MAX_BLOCKING_THREADS` (16) closures at once, so 64 blocking jobs take
//! at least 64 / 16 = 4 rounds of 50 ms, and start up to 16 threads. The 64 timers wait together
//! on the loop's one thread: one round. asyncio's default executor has `min(32, cpus + 4)`
//! threads (6 on a 2-core machine: 11 rounds), tokio's blocking pool 512 (one round, 64 threads).

use std::time::{Duration, Instant};

use clap::Parser;
use taketurns::blocking::MAX_BLOCKING_THREADS;

/// Many blocking sleeps through spawn_blocking, against as many async sleeps on the loop.
#[derive(Parser, Debug)]
#[command(name = "exercise_11_2", version)]
struct Cli {
    /// How many jobs.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    jobs: u64,
    /// How long each job waits, in milliseconds.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    ms: u64,
}

/// Threads of this process named like the blocking pool's (Linux keeps 15 bytes of the name).
fn pool_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|dir| {
            dir.filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("comm")).ok())
                .filter(|name| name.trim_end() == "taketurns-block")
                .count()
        })
        .unwrap_or(0)
}

fn main() {
    let cli = Cli::parse();
    let each = Duration::from_millis(cli.ms);
    let rounds = cli.jobs.div_ceil(MAX_BLOCKING_THREADS as u64);
    println!(
        "exercise_11_2: {} jobs that wait {} ms each, on {}",
        cli.jobs,
        cli.ms,
        taketurns::workload::machine::describe()
    );
    println!();
    // ANCHOR: both
    let (blocking, threads) = taketurns::block_on(async {
        let start = Instant::now();
        let calls: Vec<_> = (0..cli.jobs)
            .map(|_| taketurns::spawn_blocking(move || std::thread::sleep(each)))
            .collect();
        let mut threads = 0;
        for (i, call) in calls.into_iter().enumerate() {
            call.await.unwrap();
            if i == 0 {
                threads = pool_threads(); // the first round has started, and named its threads
            }
        }
        (start.elapsed(), threads)
    });
    let asynchronous = taketurns::block_on(async {
        let start = Instant::now();
        let tasks: Vec<_> = (0..cli.jobs)
            .map(|_| taketurns::spawn(taketurns::time::sleep(each)))
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        start.elapsed()
    });
    // ANCHOR_END: both
    println!(
        "spawn_blocking(thread::sleep): {:>8.1} ms  ({} helper threads; at least {rounds} rounds of {} ms)",
        blocking.as_secs_f64() * 1e3,
        threads,
        cli.ms
    );
    println!(
        "spawn(time::sleep):            {:>8.1} ms  (no thread; one round)",
        asynchronous.as_secs_f64() * 1e3
    );
}
