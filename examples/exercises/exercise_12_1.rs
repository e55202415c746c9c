//! Exercise 12.1, solution: find the task that holds the thread, with `task_stats`, then fix it
//! by cutting its work into slices with `yield_now`, and measure what the fix buys the others.
//!
//! ```console
//! $ cargo run --release --example exercise_12_1 -- --work-ms 200
//! ```
//!
//! Two tasks share the loop. `reporter` sleeps 5 ms, twenty times, and notes how late each sleep
//! ends. `cruncher` does `--work-ms` of CPU work (a spin on the clock, standing in for parsing or
//! hashing). First it does all of it in one poll; then in slices of `--slice-ms`, yielding after
//! each; then the same slices on a runtime that checks its timers after every poll
//! (`event_interval(1)`). Each run is traced; the program prints its stats table, then a summary.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use clap::Parser;
use taketurns::Runtime;
use taketurns::task::Builder;
use taketurns::time::sleep;

/// Find a task that blocks the loop with task_stats, then fix it with yield_now.
#[derive(Parser)]
struct Cli {
    /// Milliseconds of CPU work the cruncher does.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    work_ms: u64,
    /// In the fixed run, milliseconds of work between two yields.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    slice_ms: u64,
}

/// Keep the CPU busy for `d` (a stand-in for real work; no system call, no sleep).
fn spin(d: Duration) {
    let end = Instant::now() + d;
    while Instant::now() < end {
        std::hint::spin_loop();
    }
}

// ANCHOR: run
/// One traced run; returns the cruncher's longest poll and the reporter's worst lateness.
fn run(work: Duration, slice: Option<Duration>, event_interval: u32) -> (Duration, Duration) {
    let rt = Runtime::builder()
        .event_interval(event_interval)
        .trace(true)
        .on_warning(|_| {}) // the table says it all; keep stderr quiet
        .build()
        .expect("create the runtime");
    let lateness = Rc::new(RefCell::new(Vec::new()));
    rt.block_on(async {
        let late = lateness.clone();
        let reporter = Builder::new().name("reporter").spawn(async move {
            for _ in 0..20 {
                let due = Instant::now() + Duration::from_millis(5);
                sleep(Duration::from_millis(5)).await;
                late.borrow_mut().push(Instant::now() - due);
            }
        });
        let cruncher = Builder::new().name("cruncher").spawn(async move {
            match slice {
                None => spin(work), // all in one poll: the loop stops for `work`
                Some(slice) => {
                    let mut done = Duration::ZERO;
                    while done < work {
                        let step = slice.min(work - done);
                        spin(step);
                        done += step;
                        taketurns::yield_now().await; // let the loop look at its timers
                    }
                }
            }
        });
        cruncher.await.unwrap();
        reporter.await.unwrap();
    });
    let stats = rt.task_stats();
    print!("{stats}");
    let longest = stats
        .get("cruncher")
        .map_or(Duration::ZERO, |r| r.longest_poll);
    let worst = lateness.borrow().iter().copied().max().unwrap_or_default();
    (longest, worst)
}
// ANCHOR_END: run

fn main() {
    let cli = Cli::parse();
    let work = Duration::from_millis(cli.work_ms);
    let slice = Duration::from_millis(cli.slice_ms);
    let default = taketurns::DEFAULT_EVENT_INTERVAL;
    println!("cruncher works {work:?} in one poll:");
    let one_poll = run(work, None, default);
    println!("\ncruncher works {work:?} in slices of {slice:?}, yielding after each:");
    let sliced = run(work, Some(slice), default);
    println!("\nthe same slices, with the timers checked after every poll (event_interval 1):");
    let checked = run(work, Some(slice), 1);
    println!();
    for (what, (longest, late)) in [
        ("one poll:           ", one_poll),
        ("sliced:             ", sliced),
        ("sliced, interval 1: ", checked),
    ] {
        println!(
            "{what}cruncher's longest poll {longest:>8.1?}, reporter's worst sleep late by {late:>8.1?}"
        );
    }
}
