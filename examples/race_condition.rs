//! The classic shared counter: 5,000 workers each add 1 a hundred times. Five ways
//! that compile, and how many increments each one loses.
//!
//! ```console
//! $ cargo run --release --example race_condition
//! $ cargo run --release --example race_condition -- --workers 4 --increments 1000000
//! ```
//!
//! 1. **Threads, `load` then `store`** on an `AtomicU64`. Safe Rust, and no undefined behaviour:
//!    every single access is atomic. The *pair* is not, so two threads can read the same value and
//!    both write it plus one. That is Python's `counter += 1` under threads, and it loses updates
//!    whenever two threads overlap.
//! 2. **Threads, `fetch_add`**: the read, the add and the write are one indivisible instruction
//!    (`lock xadd` on x86-64). Nothing is lost.
//! 3. **Threads, `Mutex<u64>`**: the lock makes the read-then-write one step for everyone else.
//!    Nothing is lost. (Python's fix: `with lock: counter += 1`.)
//! 4. **Event loop, `Rc<Cell<u64>>`**: one thread, tasks switch only at `.await`. Each task yields
//!    after every increment, so the 5,000 tasks interleave all the time, but never between a read
//!    and its write. Nothing is lost, with no lock and no atomic.
//! 5. **Event loop, an `.await` between the read and the write**: the task reads, yields, and
//!    writes what it read plus one. Every other task reads the same value meanwhile. The race is
//!    back, and on our FIFO loop it is exactly reproducible: every round of 5,000 increments adds 1.
//!
//! What the plain, unsynchronised Rust version (`static mut`, or a `&mut` shared by threads) does
//! is in the book, chapter 3: it does not compile.
//!
//! The Python version (`ThreadPoolExecutor(max_workers=5000)` and `counter += 1`) maps to row 1;
//! asyncio's `await asyncio.sleep(0)` between a read and a write maps to row 5. tokio would give
//! the same rows: `tokio::spawn` needs `Send`, so the counter would be an `Arc<AtomicU64>` or an
//! `Arc<Mutex<u64>>` (rows 1 to 3); `spawn_local` on a `LocalSet` allows the `Rc<Cell<u64>>` (rows
//! 4 and 5). Left out: memory orderings other than `Relaxed` and `SeqCst` (a single counter needs
//! no ordering with other memory), and read-write locks.

use std::cell::Cell;
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;

/// Count to workers × increments five ways, and print how many increments each one lost.
#[derive(Parser, Debug)]
#[command(name = "race_condition", version)]
struct Cli {
    /// Workers: OS threads for the threaded versions, tasks for the event-loop versions.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..=20_000))]
    workers: u64,

    /// Increments each worker makes.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    increments: u64,

    /// How many times to run the racy threaded version (its losses change from run to run).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=1000))]
    runs: u64,

    /// Hold every thread at a barrier until all have started, so that they overlap as much as
    /// possible (the Python article's pool starts them one by one).
    #[arg(long)]
    start_together: bool,
}

/// One version's result.
struct Outcome {
    /// What the counter read at the end.
    counted: u64,
    /// Wall time of the whole version: creating the workers, counting, joining.
    took: Duration,
}

// ANCHOR: racy
/// Row 1: each increment is a `load`, then a `store` of what was loaded plus one.
fn threads_load_store(workers: u64, increments: u64, start_together: bool) -> u64 {
    let counter = AtomicU64::new(0);
    let gate = Barrier::new(if start_together { workers as usize } else { 1 });
    thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                gate.wait();
                for _ in 0..increments {
                    let seen = counter.load(Ordering::Relaxed);
                    // Another thread may store here, between our load and our store: its
                    // increment is then overwritten by ours. Safe Rust; still a lost update.
                    counter.store(seen + 1, Ordering::Relaxed);
                }
            });
        }
    });
    counter.into_inner()
}
// ANCHOR_END: racy

// ANCHOR: fetch_add
/// Row 2: the read, the add and the write are one atomic instruction.
fn threads_fetch_add(workers: u64, increments: u64) -> u64 {
    let counter = AtomicU64::new(0);
    thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                for _ in 0..increments {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    counter.into_inner()
}
// ANCHOR_END: fetch_add

// ANCHOR: mutex
/// Row 3: the lock is held from the read to the write.
fn threads_mutex(workers: u64, increments: u64) -> u64 {
    let counter = Mutex::new(0u64);
    thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                for _ in 0..increments {
                    // The guard derefs to the u64; `+= 1` reads and writes under the lock.
                    *counter.lock().unwrap() += 1;
                }
            });
        }
    });
    counter.into_inner().unwrap()
}
// ANCHOR_END: mutex

// ANCHOR: event_loop
/// Row 4: one thread, one task per worker, a plain `Cell` shared through an `Rc`. Each task yields
/// after every increment, so the tasks take turns all the time, but never inside an increment.
fn event_loop(workers: u64, increments: u64) -> u64 {
    let counter = Rc::new(Cell::new(0u64));
    taketurns::block_on(async {
        let tasks: Vec<_> = (0..workers)
            .map(|_| {
                let counter = Rc::clone(&counter);
                taketurns::spawn(async move {
                    for _ in 0..increments {
                        counter.set(counter.get() + 1); // no .await inside: nobody can cut in
                        taketurns::yield_now().await; // the only place this task lets others run
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    counter.get()
}
// ANCHOR_END: event_loop

// ANCHOR: await_between
/// Row 5: the same tasks, with an `.await` between the read and the write.
fn event_loop_await_between(workers: u64, increments: u64) -> u64 {
    let counter = Rc::new(Cell::new(0u64));
    taketurns::block_on(async {
        let tasks: Vec<_> = (0..workers)
            .map(|_| {
                let counter = Rc::clone(&counter);
                taketurns::spawn(async move {
                    for _ in 0..increments {
                        let seen = counter.get();
                        // Every other task runs here, and reads the same `seen`.
                        taketurns::yield_now().await;
                        counter.set(seen + 1);
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    counter.get()
}
// ANCHOR_END: await_between

fn timed(f: impl FnOnce() -> u64) -> Outcome {
    let start = Instant::now();
    let counted = f();
    Outcome {
        counted,
        took: start.elapsed(),
    }
}

fn row(name: &str, expected: u64, outcome: &Outcome) {
    let lost = expected.saturating_sub(outcome.counted);
    println!(
        "{name:<44} {expected:>12} {:>12} {lost:>12} {:>9.1} ms",
        outcome.counted,
        outcome.took.as_secs_f64() * 1e3
    );
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(expected) = cli.workers.checked_mul(cli.increments) else {
        eprintln!(
            "race_condition: --workers × --increments does not fit in a u64; make one smaller"
        );
        return ExitCode::from(2);
    };
    println!(
        "{} workers x {} increments (expected {expected}); {} CPUs: {}",
        cli.workers,
        cli.increments,
        taketurns::workload::machine::cpus(),
        taketurns::workload::machine::cpu_model()
    );
    println!(
        "{:<44} {:>12} {:>12} {:>12} {:>12}",
        "version", "expected", "counted", "lost", "time"
    );
    let together = if cli.start_together { ", together" } else { "" };
    let mut racy_lost = Vec::new();
    for run in 1..=cli.runs {
        let outcome = timed(|| threads_load_store(cli.workers, cli.increments, cli.start_together));
        racy_lost.push(expected - outcome.counted);
        row(
            &format!("threads, load then store{together}, run {run}"),
            expected,
            &outcome,
        );
    }
    row(
        "threads, fetch_add",
        expected,
        &timed(|| threads_fetch_add(cli.workers, cli.increments)),
    );
    row(
        "threads, Mutex<u64>",
        expected,
        &timed(|| threads_mutex(cli.workers, cli.increments)),
    );
    row(
        "event loop, Rc<Cell<u64>>",
        expected,
        &timed(|| event_loop(cli.workers, cli.increments)),
    );
    row(
        "event loop, .await between read and write",
        expected,
        &timed(|| event_loop_await_between(cli.workers, cli.increments)),
    );
    let losing_runs = racy_lost.iter().filter(|&&lost| lost > 0).count();
    println!(
        "load-then-store lost updates in {losing_runs} of {} runs (at most {} in one run)",
        racy_lost.len(),
        racy_lost.iter().max().copied().unwrap_or(0)
    );
    ExitCode::SUCCESS
}
