//! Build track, step 1: poll one future by hand.
//!
//! A future has one method, `poll`: it runs the future until it finishes (`Poll::Ready`) or
//! reaches an `.await` that cannot finish yet (`Poll::Pending`). In Python, `poll` is
//! `coro.send(None)` and `Ready` is `StopIteration`. Here a leaf future written by hand
//! (`YieldNow`), an `async fn` chef that awaits it after each step, and a `main` that polls the
//! chef again and again, with `Waker::noop()`: nobody listens to that waker, and the loop polls
//! again anyway. There is no runtime; Python has none either until `asyncio.run`.
//!
//! Run it and you see four polls, three `Pending` and one `Ready`. Both lists are empty: the one
//! task is running, and a running task is in neither list.
//!
//! Next, step 2 runs several tasks, taking turns through a first-in, first-out ready queue.
//!
//! ```console
//! $ cargo run --example step_01_poll_by_hand
//! ```

mod show;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// A leaf future that gives the thread back once: asyncio's `await asyncio.sleep(0)`.
struct YieldNow {
    /// Whether this future has returned `Pending` once already.
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    /// The first poll wakes this future's own task and returns `Pending`; the next returns
    /// `Ready`. The wake keeps the promise of `Pending`: nothing else will ever wake this future,
    /// so it asks to be polled again itself.
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

// The dinner: what the tasks do. Everything above it is the runtime.

/// The chef: three steps, giving the thread back after each.
async fn chef() {
    for step in ["chop", "stir", "taste"] {
        println!("chef: {step}");
        yield_now().await;
    }
}

/// Poll the chef, task 1, until it returns `Ready`: box and pin its future, build a `Context`
/// around `Waker::noop()`, and before each poll print the poll's line (`show::poll`); after it,
/// say what the poll returned.
fn main() {
    show::args();
    let mut chef = Box::pin(chef());
    let mut cx = Context::from_waker(Waker::noop());
    for number in 1.. {
        show::poll(number, 1, &[], &[]);
        if chef.as_mut().poll(&mut cx).is_ready() {
            println!("poll {number}: task 1 returned Ready");
            break;
        }
        println!("poll {number}: task 1 returned Pending");
    }
}
