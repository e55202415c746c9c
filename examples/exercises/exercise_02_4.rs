//! Exercise 2.4, "Pool size": where does a pool stop getting faster, for jobs that wait and for
//! jobs that compute?
//!
//! This uses taketurns' public `threaded::ThreadPool`, so it runs directly. For each pool size of
//! `--workers`, it runs `--waits` jobs that each block for `--wait-ms` (`std::thread::sleep`, a
//! stand-in for a blocking read), then `--computations` jobs that each do the same arithmetic, and
//! times each batch. A worker overlaps nothing with itself, so the waits can never take less than
//! `wait × ceil(waits / workers)`: the example checks that floor, and that every computation
//! returned the same number. Python's `ThreadPoolExecutor` defaults to `min(32, cpu + 4)`
//! workers; tokio's blocking pool grows to 512 threads; rayon's pool and tokio's worker threads
//! default to one per core.
//!
//! ```console
//! $ cargo run --release --example exercise_02_4
//! ```

use std::time::{Duration, Instant};

use clap::Parser;
use taketurns::threaded::ThreadPool;

/// Time blocking jobs and computing jobs on pools of several sizes.
#[derive(Parser, Debug)]
#[command(name = "exercise_02_4")]
struct Args {
    /// The pool sizes to try.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8,32", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    workers: Vec<u32>,
    /// Jobs that block.
    #[arg(long, default_value_t = 32)]
    waits: u32,
    /// How long each blocking job blocks, in milliseconds.
    #[arg(long, default_value_t = 10)]
    wait_ms: u64,
    /// Jobs that compute.
    #[arg(long, default_value_t = 8)]
    computations: u32,
    /// Steps of arithmetic per computing job (4,000,000 is a few milliseconds here).
    #[arg(long, default_value_t = 4_000_000)]
    steps: u64,
}

// ANCHOR: pool
/// Runs `jobs` copies of `job` on a pool of `workers` threads; returns the wall time and every
/// job's result.
fn run(
    workers: usize,
    jobs: u32,
    job: impl Fn() -> u64 + Clone + Send + 'static,
) -> std::io::Result<(Duration, Vec<u64>)> {
    let pool = ThreadPool::new(workers)?;
    let start = Instant::now();
    let handles: Vec<_> = (0..jobs).map(|_| pool.spawn(job.clone())).collect();
    let results = handles
        .into_iter()
        .map(|h| h.join().expect("a job does not panic"))
        .collect();
    Ok((start.elapsed(), results))
}

/// Keeps a core busy with the same arithmetic every time.
fn compute(steps: u64) -> u64 {
    (0..steps).fold(0, |acc, i| {
        std::hint::black_box(acc.wrapping_mul(31).wrapping_add(i))
    })
}
// ANCHOR_END: pool

fn main() {
    let args = Args::parse();
    let wait = Duration::from_millis(args.wait_ms);
    let steps = args.steps;
    let expected = compute(steps);
    for workers in args.workers.iter().map(|&w| w as usize) {
        let outcome = (|| -> std::io::Result<_> {
            let (waiting, _) = run(workers, args.waits, move || {
                std::thread::sleep(wait);
                0
            })?;
            let (computing, results) = run(workers, args.computations, move || compute(steps))?;
            Ok((waiting, computing, results))
        })();
        let (waiting, computing, results) = match outcome {
            Ok(o) => o,
            Err(e) => {
                eprintln!("exercise_02_4: could not start a pool of {workers} threads: {e}");
                std::process::exit(1);
            }
        };
        let rounds = args.waits.div_ceil(workers.max(1) as u32);
        let floor = wait * rounds;
        let same = results.iter().all(|&r| r == expected);
        println!(
            "pool of {workers:>2}: waits={} in {:.1?} (floor {rounds} x {}ms = {floor:.0?}) above_floor={} computations={} in {computing:.1?} same_result={same}",
            args.waits,
            waiting,
            args.wait_ms,
            waiting >= floor,
            args.computations
        );
    }
}
