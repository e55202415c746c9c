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
//! With `--budgeted`, a fourth row gives taketurns a budget of its own: the consumer reads through
//! `Budgeted`, a stream wrapper that returns `Pending` (after waking its task) every 128 items.
//!
//! ```console
//! $ cargo run --release --example exercise_14_2 -- --messages 1000000
//! $ cargo run --release --example exercise_14_2 -- --messages 1000000 --budgeted
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
    /// Add a run on taketurns with a 128-item budget on the consumer's stream (`Budgeted`).
    #[arg(long)]
    budgeted: bool,
}

// ANCHOR: budgeted
pin_project! {
    /// A stream that gives the thread back every `budget` items: after that many `Ready`s in a
    /// row it wakes its own task and returns `Pending` once, as tokio's leaf futures do when the
    /// task's coop budget is spent. *Toy marker:* tokio's budget belongs to the task and is
    /// shared by every leaf future the task polls; this one belongs to one stream.
    struct Budgeted<S> {
        #[pin]
        inner: S,
        // Items per turn.
        budget: u32,
        // Items left before we yield.
        left: u32,
    }
}

impl<S: futures::Stream> futures::Stream for Budgeted<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        if *this.left == 0 {
            *this.left = *this.budget;
            cx.waker().wake_by_ref(); // ready again at once: only the turn is given up
            return Poll::Pending;
        }
        let item = this.inner.poll_next(cx);
        match item {
            Poll::Ready(_) => *this.left -= 1,
            Poll::Pending => *this.left = *this.budget, // a real wait gives a fresh budget
        }
        item
    }
}
// ANCHOR_END: budgeted

pin_project! {
    /// Times every poll of `inner`; its output carries the durations, sorted.
    struct Timed<F> {
        #[pin]
        inner: F,
        // One entry per poll so far.
        polls: Vec<Duration>,
    }
}

impl<F> Timed<F> {
    fn new(inner: F) -> Timed<F> {
        Timed {
            inner,
            polls: Vec::new(),
        }
    }
}

impl<F: Future> Future for Timed<F> {
    type Output = (F::Output, Vec<Duration>);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let start = Instant::now();
        let result = this.inner.poll(cx);
        this.polls.push(start.elapsed());
        result.map(|out| {
            let mut polls = std::mem::take(this.polls);
            polls.sort();
            (out, polls)
        })
    }
}

/// Await a timed consumer that hands its receiver back, and drop the receiver outside the timing:
/// freeing a channel that held a million messages takes milliseconds, and is not a poll's work.
async fn untimed_drop<R, F>(consumer: Timed<F>) -> (u64, Vec<Duration>)
where
    F: Future<Output = (u64, R)>,
{
    let ((received, rx), polls) = consumer.await;
    drop(rx);
    (received, polls)
}

/// What one run measured.
struct Run {
    received: u64,
    /// The duration of each of the consumer's polls, sorted.
    polls: Vec<Duration>,
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
    let (received, polls) = rt.block_on(async {
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
            tokio::spawn(untimed_drop(Timed::new(async move {
                let mut received = 0u64;
                while rx.recv().await.is_some() {
                    received += 1;
                }
                (received, rx)
            })))
        } else {
            let (tx, mut rx) = futures::channel::mpsc::unbounded();
            for n in 0..messages {
                tx.unbounded_send(n).expect("the receiver is alive");
            }
            drop(tx);
            tokio::spawn(untimed_drop(Timed::new(async move {
                let mut received = 0u64;
                while rx.next().await.is_some() {
                    received += 1;
                }
                (received, rx)
            })))
        };
        let out = consumer.await.expect("the consumer");
        done.store(true, Ordering::Relaxed);
        ticker.await.expect("the ticker");
        out
    });
    Ok(Run {
        received,
        polls,
        ticker_turns: turns.load(Ordering::Relaxed),
        wall: start.elapsed(),
    })
}
// ANCHOR_END: tokio_budget

/// The same program on taketurns, with futures' channel (we have no budget), optionally read
/// through `Budgeted`.
fn on_taketurns(messages: u64, budgeted: bool) -> std::io::Result<Run> {
    let rt = taketurns::Runtime::new()?;
    let done = Arc::new(AtomicBool::new(false));
    let turns = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let (received, polls) = rt.block_on(async {
        let ticker = taketurns::spawn({
            let (done, turns) = (done.clone(), turns.clone());
            async move {
                while !done.load(Ordering::Relaxed) {
                    taketurns::yield_now().await;
                    turns.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        let (tx, rx) = futures::channel::mpsc::unbounded();
        for n in 0..messages {
            tx.unbounded_send(n).expect("the receiver is alive");
        }
        drop(tx);
        let budget = if budgeted { 128 } else { u32::MAX };
        let mut rx = Budgeted {
            inner: rx,
            budget,
            left: budget,
        };
        let consumer = taketurns::spawn(untimed_drop(Timed::new(async move {
            let mut received = 0u64;
            while rx.next().await.is_some() {
                received += 1;
            }
            (received, rx)
        })));
        let out = consumer.await.expect("the consumer");
        done.store(true, Ordering::Relaxed);
        ticker.await.expect("the ticker");
        out
    });
    Ok(Run {
        received,
        polls,
        ticker_turns: turns.load(Ordering::Relaxed),
        wall: start.elapsed(),
    })
}

fn main() {
    let args = Args::parse();
    let n = args.messages;
    println!(
        "exercise_14_2: {}",
        taketurns::workload::machine::describe()
    );
    println!("{n} messages queued before the consumer starts; a ticker task yields in a loop");
    println!(
        "polls = the consumer's polls; ticker = the ticker's turns until the consumer finished"
    );
    println!(
        "{:<34} {:>9} {:>7} {:>10} {:>10} {:>10} {:>7} {:>9}",
        "runtime, channel",
        "received",
        "polls",
        "msgs/poll",
        "p50 poll",
        "max poll",
        "ticker",
        "wall"
    );
    let mut runs = vec![
        ("tokio, tokio::sync::mpsc", on_tokio(n, true)),
        ("tokio, futures::channel::mpsc", on_tokio(n, false)),
        ("taketurns, futures::channel::mpsc", on_taketurns(n, false)),
    ];
    if args.budgeted {
        runs.push(("taketurns, mpsc + Budgeted(128)", on_taketurns(n, true)));
    }
    for (name, run) in runs {
        let run = run.unwrap_or_else(|e| {
            eprintln!("exercise_14_2: {name}: could not create the runtime: {e}");
            std::process::exit(1);
        });
        println!(
            "{:<34} {:>9} {:>7} {:>10.1} {:>10.1?} {:>10.1?} {:>7} {:>9.1?}",
            name,
            run.received,
            run.polls.len(),
            run.received as f64 / run.polls.len() as f64,
            run.polls[run.polls.len() / 2],
            run.polls[run.polls.len() - 1],
            run.ticker_turns,
            run.wall
        );
    }
}
