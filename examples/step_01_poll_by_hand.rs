//! Build track, step 1: poll one future by hand.
//!
//! A future has one method, `poll`: it runs the future until it finishes (`Poll::Ready`) or
//! reaches an `.await` that cannot finish yet (`Poll::Pending`). In Python, `poll` is
//! `coro.send(None)` and `Ready` is `StopIteration`. Here a leaf future written by hand
//! (`YieldNow`), an `async fn` chef that awaits it after each step, and a `main` that polls the
//! chef again and again, with `Waker::noop()`: nobody listens to that waker, and the loop polls
//! again anyway. There is no runtime; Python has none either until `asyncio.run`.
//!
//! Run it and you see four ticks, three `Pending` and one `Ready`. Both lists are empty: the one
//! task is running, and a running task is in neither list.
//!
//! Next, step 2 runs several tasks, taking turns through a first-in, first-out ready queue.
//!
//! ```console
//! $ cargo run --example step_01_poll_by_hand
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};

// ANCHOR: yield_now
/// A leaf future: `Pending` the first time it is polled, `Ready` the second. It wakes its own task
/// before it returns `Pending`, so a loop that listens to wakers puts the task straight back in
/// the ready queue (asyncio's `await asyncio.sleep(0)`).
struct YieldNow {
    /// Whether this future has returned `Pending` once already.
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Give the thread back to the loop once.
fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}
// ANCHOR_END: yield_now

/// Set by `--quiet`: print what the tasks say, not the lists.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Read the command line: `--quiet` is the only flag; anything else is an error (exit code 2).
fn parse_args() {
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--quiet" => QUIET.store(true, Ordering::Relaxed),
            other => {
                eprintln!(
                    "{}: unknown argument {other:?}; the only flag is --quiet",
                    env!("CARGO_CRATE_NAME")
                );
                std::process::exit(2);
            }
        }
    }
}

/// A list of task numbers as Python prints a list: `[2, 0]`. A long list shows its first five
/// and last two numbers and its length.
fn show<'a>(list: impl IntoIterator<Item = &'a usize>) -> String {
    let all: Vec<String> = list.into_iter().map(|task| task.to_string()).collect();
    if all.len() <= 10 {
        return format!("[{}]", all.join(", "));
    }
    let (head, tail) = (&all[..5], &all[all.len() - 2..]);
    format!(
        "[{}, ..., {}] ({} tasks)",
        head.join(", "),
        tail.join(", "),
        all.len()
    )
}

/// One line per tick: which task runs, then both lists.
fn print_tick<'a>(
    tick: u64,
    running: usize,
    ready: impl IntoIterator<Item = &'a usize>,
    waiting: impl IntoIterator<Item = &'a usize>,
) {
    if !QUIET.load(Ordering::Relaxed) {
        let (ready, waiting) = (show(ready), show(waiting));
        println!("tick {tick}: running {running} | ready: {ready} | waiting: {waiting}");
    }
}

// ANCHOR: kitchen
/// The chef: three steps, giving the thread back after each.
async fn chef() {
    for step in ["chop", "stir", "taste"] {
        println!("chef: {step}");
        yield_now().await;
    }
}
// ANCHOR_END: kitchen

// ANCHOR: main
fn main() {
    parse_args();
    let mut future = Box::pin(chef());
    let mut cx = Context::from_waker(Waker::noop());
    let mut tick = 0;
    loop {
        tick += 1;
        print_tick(tick, 0, &[], &[]);
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(()) => break,
            Poll::Pending => println!("tick {tick}: task 0 returned Pending"),
        }
    }
    println!("tick {tick}: task 0 returned Ready");
}
// ANCHOR_END: main
