//! Chapter 3, exercise 1: make the lost updates countable. Increment with `compare_exchange` in a
//! retry loop, and count how often the exchange failed: each failure is a moment where the
//! `load`-then-`store` version would have overwritten another thread's increment.
//!
//! ```console
//! $ cargo run --release --example exercise_03_1 -- --threads 2 --increments 1000000
//! ```
//!
//! `compare_exchange(seen, seen + 1)` stores only if the counter still holds `seen`; otherwise it
//! fails and returns what is there now, and we try again from that. It is how `fetch_add` is
//! built on machines without an atomic add, and how lock-free structures update shared state.
//! Python has no user-level compare-and-swap; tokio's internals (task state words) use it
//! everywhere. Left out: `compare_exchange_weak` (may fail spuriously; fine in a loop, and cheaper
//! on ARM), and back-off between retries.

use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

use clap::Parser;

/// Count with compare_exchange, and with load-then-store, and compare.
#[derive(Parser, Debug)]
#[command(name = "exercise_03_1", version)]
struct Cli {
    /// Threads counting at once.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=1000))]
    threads: u64,

    /// Increments per thread.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    increments: u64,
}

// ANCHOR: cas
/// Increment `counter` `increments` times; returns how many exchanges failed and were retried.
fn count_with_cas(counter: &AtomicU64, increments: u64) -> u64 {
    let mut retries = 0;
    for _ in 0..increments {
        let mut seen = counter.load(Ordering::Relaxed);
        // Store seen + 1 only if nobody stored since we looked; otherwise look again.
        while let Err(now) =
            counter.compare_exchange(seen, seen + 1, Ordering::Relaxed, Ordering::Relaxed)
        {
            retries += 1;
            seen = now;
        }
    }
    retries
}
// ANCHOR_END: cas

fn main() {
    let cli = Cli::parse();
    let expected = cli.threads * cli.increments;

    let counter = AtomicU64::new(0);
    let retries: u64 = thread::scope(|s| {
        let handles: Vec<_> = (0..cli.threads)
            .map(|_| s.spawn(|| count_with_cas(&counter, cli.increments)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let counted = counter.into_inner();
    println!(
        "compare_exchange: counted {counted} of {expected}, lost {}, retries {retries}",
        expected - counted
    );

    let counter = AtomicU64::new(0);
    thread::scope(|s| {
        for _ in 0..cli.threads {
            s.spawn(|| {
                for _ in 0..cli.increments {
                    let seen = counter.load(Ordering::Relaxed);
                    counter.store(seen + 1, Ordering::Relaxed);
                }
            });
        }
    });
    let counted = counter.into_inner();
    println!(
        "load then store:  counted {counted} of {expected}, lost {}",
        expected - counted
    );
}
