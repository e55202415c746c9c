//! Exercise 12.2, solution: how long does a ready task wait for its turn, as the number of ready
//! tasks grows? Measured from the timeline's spans.
//!
//! ```console
//! $ cargo run --release --example exercise_12_2 -- --tasks 10 --tasks 100 --tasks 1000
//! ```
//!
//! `N` tasks each yield `--rounds` times. Every yield sends the task to the back of the ready
//! queue, behind the other `N − 1`, so each wait in the queue should last about `N − 1` polls.
//! The program reads every "ready" span of every task from the timeline and prints the median
//! and the longest, next to the time of one poll (busy time / polls, from `task_stats`).

use std::time::Duration;

use clap::Parser;
use taketurns::Runtime;
use taketurns::timeline::TaskState;

/// Time in the ready queue against the number of ready tasks, from the trace.
#[derive(Parser)]
struct Cli {
    /// How many tasks (repeat the flag for several runs).
    #[arg(long, default_values_t = [10, 100, 1000], value_parser = clap::value_parser!(u64).range(1..=100_000))]
    tasks: Vec<u64>,
    /// How many times each task yields.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    rounds: u64,
}

// ANCHOR: measure
/// The median and longest time in the ready queue, and the mean poll, for `tasks` tasks.
fn measure(tasks: u64, rounds: u64) -> (Duration, Duration, Duration) {
    let events = (tasks * (4 * rounds + 4)) as usize; // spawn, per round 3 events, last poll, done
    let rt = Runtime::builder()
        .trace(true)
        .trace_capacity(events)
        .on_warning(|_| {})
        .build()
        .expect("create the runtime");
    rt.block_on(async {
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                taketurns::spawn(async move {
                    for _ in 0..rounds {
                        taketurns::yield_now().await;
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
    });
    let timeline = rt.timeline();
    assert_eq!(timeline.dropped(), 0, "the buffer was too small");
    // Every ready span but the first of each task (which also waits for the spawning to end).
    let mut waits: Vec<Duration> = timeline
        .tasks()
        .iter()
        .flat_map(|t| {
            timeline
                .spans(t.id)
                .into_iter()
                .filter(|s| s.state == TaskState::Ready)
                .skip(1)
                .map(|s| s.end - s.start)
        })
        .collect();
    waits.sort();
    let median = waits.get(waits.len() / 2).copied().unwrap_or_default();
    let longest = waits.last().copied().unwrap_or_default();
    let stats = rt.task_stats();
    let (busy, polls) = stats
        .rows()
        .iter()
        .fold((Duration::ZERO, 0), |(b, p), r| (b + r.busy, p + r.polls));
    (median, longest, busy / polls.max(1) as u32)
}
// ANCHOR_END: measure

fn main() {
    let cli = Cli::parse();
    println!(
        "{:>6}  {:>14}  {:>14}  {:>10}  {:>18}",
        "tasks", "median ready", "longest ready", "mean poll", "median / poll"
    );
    for &n in &cli.tasks {
        let (median, longest, poll) = measure(n, cli.rounds);
        let ratio = median.as_secs_f64() / poll.as_secs_f64().max(1e-12);
        println!(
            "{n:>6}  {:>14}  {:>14}  {:>10}  {ratio:>18.1}",
            format!("{median:.1?}"),
            format!("{longest:.1?}"),
            format!("{poll:.1?}")
        );
    }
}
