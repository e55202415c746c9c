//! Chapter 4, exercise 1: `Both`, a future that runs two futures at once, written by hand and
//! polled by hand. Each poll of `Both` polls whichever half is not finished yet; `Both` is ready
//! when both are.
//!
//! ```console
//! $ cargo run --example exercise_04_1 -- --first-ms 20 --second-ms 30
//! ```
//!
//! Run one after the other, two timers of 20 and 30 ms take 50 ms; inside `Both` they take 30:
//! two things waited on at once by one thread, with no executor at all. This is `futures::join!`,
//! asyncio's `gather` for two awaitables, and tokio's `join!`. Left out: halves that are not
//! `Unpin` (an `async fn`'s future is not; `futures::join!` pins them in place with
//! `pin-project`-style projections, chapter 9), and more than two halves.

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use clap::Parser;

/// Wait for two timers one after the other, then both at once with a hand-written `Both`.
#[derive(Parser, Debug)]
#[command(name = "exercise_04_1", version)]
struct Cli {
    /// The first timer, in milliseconds.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    first_ms: u64,

    /// The second timer, in milliseconds.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    second_ms: u64,
}

// ANCHOR: both
/// One half of `Both`: still running, or finished with its output kept until the other is done.
enum Half<F: Future> {
    /// Not finished: poll it.
    Running(F),
    /// Finished: its output, waiting for the other half.
    Done(F::Output),
    /// The output was handed out: `Both` is finished.
    Taken,
}

impl<F: Future + Unpin> Half<F> {
    /// Poll the future if it is still running; `true` once it has an output.
    fn poll_half(&mut self, cx: &mut Context<'_>) -> bool {
        if let Half::Running(future) = self {
            match Pin::new(future).poll(cx) {
                Poll::Ready(output) => *self = Half::Done(output),
                Poll::Pending => return false,
            }
        }
        true
    }

    fn take(&mut self) -> F::Output {
        match std::mem::replace(self, Half::Taken) {
            Half::Done(output) => output,
            _ => unreachable!("take is called once, after both halves are done"),
        }
    }
}

/// Ready when both `a` and `b` are, with both outputs.
struct Both<A: Future, B: Future> {
    /// The first future, or its output.
    a: Half<A>,
    /// The second future, or its output.
    b: Half<B>,
}

// Everything `Unpin`, so that `get_mut` may hand out a plain `&mut Both`.
impl<A, B> Future for Both<A, B>
where
    A: Future + Unpin,
    B: Future + Unpin,
    A::Output: Unpin,
    B::Output: Unpin,
{
    type Output = (A::Output, B::Output);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        // Poll both every time: either may have been the one that woke us. (A real join keeps
        // a waker per half to poll only the one that woke; futures' `FuturesUnordered` does.)
        let a_done = this.a.poll_half(cx);
        let b_done = this.b.poll_half(cx);
        if a_done && b_done {
            Poll::Ready((this.a.take(), this.b.take()))
        } else {
            Poll::Pending
        }
    }
}
// ANCHOR_END: both

/// A timer finished by a helper thread (the `Timer` of `examples/poll_by_hand.rs`, shortened).
struct Timer {
    /// Set by the helper thread, with the waker to call.
    shared: Arc<Mutex<(bool, Option<Waker>)>>,
    /// What the timer answers with.
    name: &'static str,
}

impl Timer {
    fn after(delay: Duration, name: &'static str) -> Timer {
        let shared = Arc::new(Mutex::new((false, None::<Waker>)));
        let theirs = Arc::clone(&shared);
        thread::spawn(move || {
            thread::sleep(delay);
            let waker = {
                let mut state = theirs.lock().unwrap();
                state.0 = true;
                state.1.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        });
        Timer { shared, name }
    }
}

impl Future for Timer {
    type Output = &'static str;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        let mut state = self.shared.lock().unwrap();
        if state.0 {
            return Poll::Ready(self.name);
        }
        state.1 = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Unparks the polling thread.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Poll until ready, parking between polls; the output and the number of polls.
fn poll_loop<F: Future>(future: F) -> (F::Output, u64) {
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    let mut polls = 0;
    loop {
        polls += 1;
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return (output, polls);
        }
        thread::park();
    }
}

fn main() {
    let cli = Cli::parse();
    let (first, second) = (
        Duration::from_millis(cli.first_ms),
        Duration::from_millis(cli.second_ms),
    );

    let start = Instant::now();
    let (a, polls_a) = poll_loop(Timer::after(first, "first"));
    let (b, polls_b) = poll_loop(Timer::after(second, "second"));
    println!(
        "one after the other: {a}, {b} in {:.1} ms, {} polls",
        start.elapsed().as_secs_f64() * 1e3,
        polls_a + polls_b
    );

    let start = Instant::now();
    let both = Both {
        a: Half::Running(Timer::after(first, "first")),
        b: Half::Running(Timer::after(second, "second")),
    };
    let ((a, b), polls) = poll_loop(both);
    println!(
        "both at once:        {a}, {b} in {:.1} ms, {polls} polls",
        start.elapsed().as_secs_f64() * 1e3
    );
}
