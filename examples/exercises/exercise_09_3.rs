//! Chapter 9, exercise 3: a `select` that always polls the same branch first.
//!
//! A loop selects between a branch that is always ready (the next message of a full channel)
//! and a deadline `--deadline-ms` away, the way a worker loop checks for a shutdown signal while
//! it processes messages. `Select2`, written by hand, polls its branches either always in the
//! same order (biased, like `futures::select_biased!` or tokio's `biased;`) or alternating the
//! first branch on every poll (like the rotation in `tokio::join!`). The example prints after how
//! many turns of the loop the deadline was noticed, and how many turns ran after it had passed.
//!
//! ```console
//! $ cargo run --example exercise_09_3
//! ```
//!
//! The loop is stopped after `--give-up-ms` if the deadline is never noticed.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use clap::Parser;
use futures::StreamExt;
use futures::future::Either;
use taketurns::time::sleep;

/// Race an always-ready branch against a deadline, biased and alternating.
#[derive(Parser, Debug)]
#[command(name = "exercise_09_3", version)]
struct Args {
    /// When the deadline falls, in milliseconds after the start.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    deadline_ms: u64,
    /// Stop a loop that has not noticed the deadline after this many milliseconds.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    give_up_ms: u64,
}

// ANCHOR: select2
/// The first of two futures to finish, and the other one, handed back. Both must be `Unpin`
/// (as for `futures::future::select`), so no field is pinned and no projection is needed.
struct Select2<A, B> {
    /// `Option`s, so that the loser can be moved out when the winner is ready.
    a: Option<A>,
    /// The second branch.
    b: Option<B>,
    /// Poll `a` first on every poll (biased), or take turns.
    biased: bool,
    /// When taking turns: whether `b` goes first at the next poll.
    b_first: bool,
}

impl<A: Future + Unpin, B: Future + Unpin> Future for Select2<A, B> {
    type Output = Either<(A::Output, B), (B::Output, A)>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let b_first = !this.biased && this.b_first;
        this.b_first = !this.b_first;
        for turn in 0..2 {
            if (turn == 0) == b_first {
                let b = this.b.as_mut().expect("Select2 polled after it finished");
                if let Poll::Ready(out) = Pin::new(b).poll(cx) {
                    let loser = this.a.take().expect("the other branch is still here");
                    return Poll::Ready(Either::Right((out, loser)));
                }
            } else {
                let a = this.a.as_mut().expect("Select2 polled after it finished");
                if let Poll::Ready(out) = Pin::new(a).poll(cx) {
                    let loser = this.b.take().expect("the other branch is still here");
                    return Poll::Ready(Either::Left((out, loser)));
                }
            }
        }
        Poll::Pending
    }
}

fn select2<A, B>(a: A, b: B, biased: bool, b_first: bool) -> Select2<A, B> {
    Select2 {
        a: Some(a),
        b: Some(b),
        biased,
        b_first,
    }
}
// ANCHOR_END: select2

/// What one loop saw.
struct Outcome {
    /// Turns of the loop (messages handled) before the deadline's branch won, if it did.
    noticed_after: Option<u64>,
    /// Turns that ran while the deadline had already passed.
    late_turns: u64,
    /// How long after the deadline the loop stopped.
    stopped_late_by: Duration,
}

// ANCHOR: worker
/// A worker loop: handle the next message, unless the deadline has come.
async fn worker(biased: bool, deadline: Duration, give_up: Duration) -> Outcome {
    let start = Instant::now();
    // A channel that always has a message: the worker never has to wait for one.
    let (tx, mut messages) = futures::channel::mpsc::unbounded::<u64>();
    let mut alarm = sleep(deadline); // `Sleep` is `Unpin`: `&mut alarm` is a future too
    let (mut turns, mut late_turns, mut b_first) = (0u64, 0u64, false);
    loop {
        tx.unbounded_send(turns).expect("the receiver is alive");
        let next = messages.next();
        match select2(next, &mut alarm, biased, b_first).await {
            Either::Left((_message, _alarm)) => {
                turns += 1;
                if alarm.is_elapsed() {
                    late_turns += 1;
                }
            }
            Either::Right(((), _next)) => {
                return Outcome {
                    noticed_after: Some(turns),
                    late_turns,
                    stopped_late_by: start.elapsed().saturating_sub(deadline),
                };
            }
        }
        b_first = !b_first; // each select starts where the last one would have continued
        if start.elapsed() >= give_up {
            return Outcome {
                noticed_after: None,
                late_turns,
                stopped_late_by: start.elapsed().saturating_sub(deadline),
            };
        }
    }
}
// ANCHOR_END: worker

fn main() {
    let args = Args::parse();
    if args.give_up_ms <= args.deadline_ms {
        eprintln!(
            "exercise_09_3: --give-up-ms ({}) must be longer than --deadline-ms ({}), or no loop \
             can notice the deadline",
            args.give_up_ms, args.deadline_ms
        );
        std::process::exit(2);
    }
    let deadline = Duration::from_millis(args.deadline_ms);
    let give_up = Duration::from_millis(args.give_up_ms);
    println!(
        "a worker handles messages from an always-full channel; the deadline falls after {deadline:?}"
    );
    for (name, biased) in [("biased (a first)", true), ("alternating", false)] {
        let outcome = taketurns::block_on(worker(biased, deadline, give_up));
        let noticed = match outcome.noticed_after {
            Some(turns) => format!("noticed after {turns} turns"),
            None => format!("never noticed; gave up after {give_up:?}"),
        };
        println!(
            "{name:<17} {noticed}; {} turns after the deadline; stopped {:.1?} after it",
            outcome.late_turns, outcome.stopped_late_by
        );
    }
}
