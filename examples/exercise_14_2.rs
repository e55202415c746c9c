//! Chapter 14, exercise 2: tokio's cooperative budget, seen from a task that never has to wait.
//!
//! A channel is filled with `--messages` messages before anything runs. A consumer task then
//! drains it, and a ticker task next to it counts how often it gets the thread. The consumer never
//! finds the channel empty, so nothing forces it to return `Pending`, unless the runtime's
//! channel does it on purpose. tokio's `mpsc` charges one unit of the task's budget (128 per
//! poll) for each message and returns `Pending` when the budget runs out; `futures`' channel and
//! taketurns have no budget. The consumer is wrapped in a timer that counts its polls and the
//! longest one.
//!
//! ```console
//! $ cargo run --release --example exercise_14_2 -- --messages 1000000
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use clap::Parser;
use futures::StreamExt;
use pin_project_lite::pin_project;

/// Drain a full channel next to a ticker task, with and without tokio's coop budget.
#[derive(Parser, Debug)]
#[command(name = "exercise_14_2", version)]
struct Args {
    /// Messages put in the channel before the consumer starts.
    #[arg(long, default_value_t = 1_000_000,
          value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    messages: u64,
}

pin_project! {
    /// Counts the polls of `inner` and keeps the longest; its output carries both.
    struct Timed<F> {
        #[pin]
        inner: F,
        polls: u64,
        longest: Duration,
    }
}

impl<F: Future> Future for Timed<F> {
    type Output = (F::Output, u64, Duration);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let start = Instant::now();
        let result = this.inner.poll(cx);
        *this.polls += 1;
        *this.longest = (*this.longest).max(start.elapsed());
        result.map(|out| (out, *this.polls, *this.longest))
    }
}

/// What one run measured.
struct Run {
    received: u64,
    consumer_polls: u64,
    longest_poll: Duration,
    /// Turns the ticker got while the consumer was draining.
    ticker_turns: u64,
    wall: Duration,
}

// ANCHOR: tokio_budget
/// tokio's current-thread runtime; `tokio_channel` picks tokio's mpsc (budgeted) or futures'.
fn on_tokio(messages: u64, tokio_channel: bool) -> std::io::Result<Run> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let done = Arc::new(AtomicBool::new(false));
    let turns = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let (received, consumer_polls, longest_poll) = rt.block_on(async {
        let ticker = tokio::spawn({
            let (done, turns) = (done.clone(), turns.clone());
            async move {
                while !done.load(Ordering::Relaxed) {
                    tokio::task::yield_now().await;
                    turns.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        let consumer = if tokio_channel {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            for n in 0..messages {
                tx.send(n).expect("the receiver is alive");
            }
            drop(tx);
            tokio::spawn(Timed {
                inner: async move {
                    let mut received = 0u64;
                    while rx.recv().await.is_some() {
                        received += 1;
                    }
                    received
                },
                polls: 0,
                longest: Duration::ZERO,
            })
        } else {
            let (tx, mut rx) = futures::channel::mpsc::unbounded();
            for n in 0..messages {
                tx.unbounded_send(n).expect("the receiver is alive");
            }
            drop(tx);
            tokio::spawn(Timed {
                inner: async move {
                    let mut received = 0u64;
                    while rx.next().await.is_some() {
                        received += 1;
                    }
                    received
                },
                polls: 0,
                longest: Duration::ZERO,
            })
        };
        let out = consumer.await.expect("the consumer");
        done.store(true, Ordering::Relaxed);
        ticker.await.expect("the ticker");
        out
    });
    Ok(Run {
        received,
        consumer_polls,
        longest_poll,
        ticker_turns: turns.load(Ordering::Relaxed),
        wall: start.elapsed(),
    })
}
// ANCHOR_END: tokio_budget

/// The same program on taketurns, with futures' channel (we have no budget).
fn on_taketurns(messages: u64) -> std::io::Result<Run> {
    let rt = taketurns::Runtime::new()?;
    let done = Arc::new(AtomicBool::new(false));
    let turns = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let (received, consumer_polls, longest_poll) = rt.block_on(async {
        let ticker = taketurns::spawn({
            let (done, turns) = (done.clone(), turns.clone());
            async move {
                while !done.load(Ordering::Relaxed) {
                    taketurns::yield_now().await;
                    turns.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        let (tx, mut rx) = futures::channel::mpsc::unbounded();
        for n in 0..messages {
            tx.unbounded_send(n).expect("the receiver is alive");
        }
        drop(tx);
        let consumer = taketurns::spawn(Timed {
            inner: async move {
                let mut received = 0u64;
                while rx.next().await.is_some() {
                    received += 1;
                }
                received
            },
            polls: 0,
            longest: Duration::ZERO,
        });
        let out = consumer.await.expect("the consumer");
        done.store(true, Ordering::Relaxed);
        ticker.await.expect("the ticker");
        out
    });
    Ok(Run {
        received,
        consumer_polls,
        longest_poll,
        ticker_turns: turns.load(Ordering::Relaxed),
        wall: start.elapsed(),
    })
}

fn main() {
    let args = Args::parse();
    let n = args.messages;
    println!("exercise_14_2: {}", taketurns::workload::machine::describe());
    println!("{n} messages queued before the consumer starts; a ticker task yields in a loop");
    println!("polls = the consumer's polls; ticker = the ticker's turns until the consumer finished");
    println!(
        "{:<34} {:>9} {:>9} {:>10} {:>13} {:>8} {:>9}",
        "runtime, channel", "received", "polls", "msgs/poll", "longest poll", "ticker", "wall"
    );
    let runs = [
        ("tokio, tokio::sync::mpsc", on_tokio(n, true)),
        ("tokio, futures::channel::mpsc", on_tokio(n, false)),
        ("taketurns, futures::channel::mpsc", on_taketurns(n)),
    ];
    for (name, run) in runs {
        let run = run.unwrap_or_else(|e| {
            eprintln!("exercise_14_2: {name}: could not create the runtime: {e}");
            std::process::exit(1);
        });
        println!(
            "{:<34} {:>9} {:>9} {:>10.1} {:>13.1?} {:>8} {:>9.1?}",
            name,
            run.received,
            run.consumer_polls,
            run.received as f64 / run.consumer_polls as f64,
            run.longest_poll,
            run.ticker_turns,
            run.wall
        );
    }
}
