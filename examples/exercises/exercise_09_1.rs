//! Chapter 9, exercise 1: what a join of N futures costs in polls.
//!
//! N sleeps whose deadlines are spread over `--spread-ms` are awaited four ways: a naive join
//! that polls every unfinished child on every wake (what `Join2` does, for N), `futures`'
//! `join_all`, a `FuturesUnordered`, and one spawned task per sleep. Every sleep is wrapped in a
//! counter, so the example prints how many times the leaf futures were polled in all, beside the
//! wall time and the runtime's own poll count.
//!
//! ```console
//! $ cargo run --release --example exercise_09_1 -- --n 10,100,1000,10000
//! ```
//!
//! asyncio's `gather` wraps each coroutine in a task, so it behaves like the spawn column; tokio's
//! `join!` is the naive join for a fixed number of futures, and `JoinSet` is the spawn column.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use clap::Parser;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use pin_project_lite::pin_project;
use taketurns::Runtime;
use taketurns::time::sleep_until;
use taketurns::workload::machine::cpu_time;

/// Await N spread-out sleeps four ways and count the polls each way makes.
#[derive(Parser, Debug)]
#[command(name = "exercise_09_1", version)]
struct Args {
    /// How many sleeps, one run per value, separated by commas.
    #[arg(long, value_delimiter = ',', default_values_t = [10usize, 100, 1000, 10_000],
          value_parser = clap::value_parser!(usize))]
    n: Vec<usize>,
    /// The deadlines are spread evenly over this many milliseconds.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    spread_ms: u64,
}

pin_project! {
    /// A future that counts its polls in a shared cell.
    struct Counted<F> {
        #[pin]
        inner: F,
        // Shared by every child of one run; read after the run.
        polls: Rc<Cell<u64>>,
    }
}

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        this.polls.set(this.polls.get() + 1);
        this.inner.poll(cx)
    }
}

// ANCHOR: naive_join
/// `Join2` for N: every poll polls every child that has not finished, in order.
struct NaiveJoinAll<F: Future> {
    /// The children, boxed so that each stays pinned while the vector is ours; `None` once done.
    children: Vec<Option<Pin<Box<F>>>>,
    /// How many children are still running.
    left: usize,
}

impl<F: Future> Future for NaiveJoinAll<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self; // `NaiveJoinAll` is `Unpin`: its children are boxed
        for slot in this.children.iter_mut() {
            if let Some(child) = slot
                && child.as_mut().poll(cx).is_ready()
            {
                *slot = None;
                this.left -= 1;
            }
        }
        if this.left == 0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}
// ANCHOR_END: naive_join

/// One way of awaiting all the sleeps.
#[derive(Clone, Copy, Debug)]
enum Way {
    Naive,
    JoinAll,
    Unordered,
    Spawn,
}

/// What one run measured.
struct Run {
    leaf_polls: u64,
    task_polls: u64,
    wall: Duration,
    cpu: Duration,
}

fn run_one(way: Way, n: usize, spread: Duration) -> std::io::Result<Run> {
    let rt = Runtime::new()?;
    let polls = Rc::new(Cell::new(0));
    let cpu_before = cpu_time();
    let start = Instant::now();
    // ANCHOR: ways
    let sleeps = (0..n).map(|i| Counted {
        inner: sleep_until(start + spread * (i as u32 + 1) / n as u32),
        polls: polls.clone(),
    });
    rt.block_on(async {
        match way {
            Way::Naive => {
                let children: Vec<_> = sleeps.map(|s| Some(Box::pin(s))).collect();
                let left = children.len();
                NaiveJoinAll { children, left }.await;
            }
            Way::JoinAll => {
                futures::future::join_all(sleeps).await;
            }
            Way::Unordered => {
                let mut set: FuturesUnordered<_> = sleeps.collect();
                while set.next().await.is_some() {}
            }
            Way::Spawn => {
                let tasks: Vec<_> = sleeps.map(taketurns::spawn).collect();
                for task in tasks {
                    task.await.expect("a sleep task");
                }
            }
        }
    });
    // ANCHOR_END: ways
    Ok(Run {
        leaf_polls: polls.get(),
        task_polls: rt.stats().polls,
        wall: start.elapsed(),
        cpu: cpu_time() - cpu_before,
    })
}

fn main() {
    let args = Args::parse();
    if let Some(bad) = args.n.iter().find(|&&n| n == 0 || n > 1_000_000) {
        eprintln!("exercise_09_1: --n {bad}: each N must be between 1 and 1,000,000");
        std::process::exit(2);
    }
    let spread = Duration::from_millis(args.spread_ms);
    println!(
        "exercise_09_1: {}",
        taketurns::workload::machine::describe()
    );
    println!(
        "N sleeps, deadlines spread over {spread:?}; leaf polls = polls of the sleeps themselves"
    );
    println!(
        "{:>7}  {:<22} {:>12} {:>15} {:>10} {:>10}",
        "N", "way", "leaf polls", "polls per leaf", "wall", "CPU"
    );
    for &n in &args.n {
        for way in [Way::Naive, Way::JoinAll, Way::Unordered, Way::Spawn] {
            let run = match run_one(way, n, spread) {
                Ok(run) => run,
                Err(e) => {
                    eprintln!("exercise_09_1: could not create a runtime: {e}");
                    std::process::exit(1);
                }
            };
            let name = match way {
                Way::Naive => "naive join".to_string(),
                Way::JoinAll => "join_all".to_string(),
                Way::Unordered => "FuturesUnordered".to_string(),
                Way::Spawn => format!("spawn ({} polls)", run.task_polls),
            };
            println!(
                "{:>7}  {:<22} {:>12} {:>15.1} {:>10.1?} {:>10.1?}",
                n,
                name,
                run.leaf_polls,
                run.leaf_polls as f64 / n as f64,
                run.wall,
                run.cpu
            );
        }
    }
}
