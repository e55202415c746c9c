//! Chapter 14, exercise 1: the same timers on taketurns and on tokio.
//!
//! N tasks each sleep until their own deadline, spread evenly over `--spread-ms`, and report how
//! late they woke. The program is written twice, once per runtime, line for line the same:
//! `taketurns::spawn` and `taketurns::time::sleep_until` against `tokio::spawn` and
//! `tokio::time::sleep_until` on a current-thread runtime built like `#[tokio::main(flavor =
//! "current_thread")]` builds it. It prints the wall time, the CPU time, and the lateness
//! percentiles, so that a `BTreeMap` of deadlines (ours) meets a hierarchical timer wheel with
//! millisecond slots (tokio's).
//!
//! ```console
//! $ cargo run --release --example exercise_14_1 -- --tasks 100,10000,100000
//! ```

use std::time::{Duration, Instant};

use clap::Parser;
use taketurns::workload::machine::cpu_time;

/// Sleep N tasks until spread-out deadlines on taketurns and on tokio; compare the lateness.
#[derive(Parser, Debug)]
#[command(name = "exercise_14_1", version)]
struct Args {
    /// How many sleeping tasks, one run per value, separated by commas.
    #[arg(long, value_delimiter = ',', default_values_t = [100usize, 10_000, 100_000])]
    tasks: Vec<usize>,
    /// The deadlines are spread evenly over this many milliseconds.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    spread_ms: u64,
    /// The first deadline is this many milliseconds after the start, so that every task is
    /// spawned and parked before any timer is due (100,000 tasks take tens of ms on a quiet
    /// machine, and hundreds on a busy one).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    lead_ms: u64,
    /// Runs of each runtime per size, alternating; every run is printed.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=100))]
    runs: u64,
}

/// What one run measured.
struct Run {
    /// How late each task woke after its deadline, sorted.
    late: Vec<Duration>,
    /// Tasks that woke before their deadline (there should be none).
    early: usize,
    wall: Duration,
    cpu: Duration,
}

impl Run {
    /// From each task's lateness (`None`: it woke early).
    fn new(woke: &mut [Option<Duration>], wall: Duration, cpu: Duration) -> Run {
        let mut late: Vec<Duration> = woke.iter().flatten().copied().collect();
        late.sort();
        let early = woke.len() - late.len();
        Run {
            late,
            early,
            wall,
            cpu,
        }
    }
}

/// When the deadlines begin, and over how long they are spread.
#[derive(Clone, Copy)]
struct Spread {
    lead: Duration,
    over: Duration,
}

/// The deadline of task `i` of `n`.
fn deadline(start: Instant, spread: Spread, i: usize, n: usize) -> Instant {
    start + spread.lead + spread.over * (i as u32 + 1) / n as u32
}

// ANCHOR: taketurns
fn on_taketurns(n: usize, spread: Spread) -> std::io::Result<Run> {
    let rt = taketurns::Runtime::new()?;
    let (cpu, start) = (cpu_time(), Instant::now());
    let mut woke = rt.block_on(async move {
        let tasks: Vec<_> = (0..n)
            .map(|i| {
                let due = deadline(start, spread, i, n);
                taketurns::spawn(async move {
                    taketurns::time::sleep_until(due).await;
                    Instant::now().checked_duration_since(due)
                })
            })
            .collect();
        let mut late = Vec::with_capacity(n);
        for task in tasks {
            late.push(task.await.expect("a sleeping task"));
        }
        late
    });
    let (wall, cpu) = (start.elapsed(), cpu_time() - cpu);
    Ok(Run::new(&mut woke, wall, cpu))
}
// ANCHOR_END: taketurns

// ANCHOR: tokio
fn on_tokio(n: usize, spread: Spread) -> std::io::Result<Run> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (cpu, start) = (cpu_time(), Instant::now());
    let mut woke = rt.block_on(async move {
        let tasks: Vec<_> = (0..n)
            .map(|i| {
                let due = deadline(start, spread, i, n);
                tokio::spawn(async move {
                    tokio::time::sleep_until(due.into()).await;
                    Instant::now().checked_duration_since(due)
                })
            })
            .collect();
        let mut late = Vec::with_capacity(n);
        for task in tasks {
            late.push(task.await.expect("a sleeping task"));
        }
        late
    });
    let (wall, cpu) = (start.elapsed(), cpu_time() - cpu);
    Ok(Run::new(&mut woke, wall, cpu))
}
// ANCHOR_END: tokio

/// The `q`-quantile of sorted `values` (nearest rank).
fn quantile(values: &[Duration], q: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((values.len() as f64 * q).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

fn main() {
    let args = Args::parse();
    if let Some(bad) = args.tasks.iter().find(|&&n| n == 0 || n > 1_000_000) {
        eprintln!("exercise_14_1: --tasks {bad}: each size must be between 1 and 1,000,000");
        std::process::exit(2);
    }
    let spread = Spread {
        lead: Duration::from_millis(args.lead_ms),
        over: Duration::from_millis(args.spread_ms),
    };
    println!(
        "exercise_14_1: {}",
        taketurns::workload::machine::describe()
    );
    println!(
        "N tasks sleep until deadlines spread over {:?}, the first {:?} after the start; \
         lateness = wake - deadline",
        spread.over, spread.lead
    );
    println!(
        "{:>7}  {:<9} {:>9} {:>9} {:>12} {:>9} {:>9} {:>9} {:>6}",
        "tasks", "runtime", "wall", "CPU", "CPU/task", "late p50", "late p99", "late max", "early"
    );
    for &n in &args.tasks {
        for _ in 0..args.runs {
            for (name, run) in [
                ("taketurns", on_taketurns(n, spread)),
                ("tokio", on_tokio(n, spread)),
            ] {
                let run = run.unwrap_or_else(|e| {
                    eprintln!("exercise_14_1: could not create the {name} runtime: {e}");
                    std::process::exit(1);
                });
                println!(
                    "{:>7}  {:<9} {:>9.1?} {:>9.1?} {:>12.1?} {:>9.1?} {:>9.1?} {:>9.1?} {:>6}",
                    n,
                    name,
                    run.wall,
                    run.cpu,
                    run.cpu / n as u32,
                    quantile(&run.late, 0.5),
                    quantile(&run.late, 0.99),
                    quantile(&run.late, 1.0),
                    run.early
                );
            }
        }
    }
}
