//! Chapter 4, exercise 3: two futures polled by hand, taking turns. Step 1's `main` polls one
//! future until it is done; this one polls the chef and a guest, one poll each in turn, until
//! both are done, with the same `Waker::noop()`.
//!
//! Each poll's line shows the other task as `ready`: while one runs, the other waits for its
//! turn, and the turns alternate until one of them finishes. This is the first event loop of the
//! book, with the ready queue written as a fixed array. Left out: a queue that grows (`spawn`,
//! step 2), and any way to skip a future that cannot go on (wakers, step 3): here a finished
//! future is skipped, nothing else is.
//!
//! ```console
//! $ cargo run --example exercise_04_3
//! ```

#[path = "../course/show.rs"]
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

/// The guest: two steps, giving the thread back after each.
async fn guest() {
    for step in ["sits", "reads"] {
        println!("guest: {step}");
        yield_now().await;
    }
}

// ANCHOR: main
/// Poll the chef, task 1, and the guest, task 2, one poll each in turn, until both have returned
/// `Ready`. Before each poll print its line, with the other task in the ready queue until it has
/// finished; after it, say what the poll returned.
fn main() {
    show::args();
    // By task number less one; `None` once the task has returned `Ready`.
    let mut tasks: [Option<Pin<Box<dyn Future<Output = ()>>>>; 2] =
        [Some(Box::pin(chef())), Some(Box::pin(guest()))];
    let mut cx = Context::from_waker(Waker::noop());
    let mut number = 0;
    while tasks.iter().any(Option::is_some) {
        for (task, other) in [(1, 2), (2, 1)] {
            let ready: &[usize] = match tasks[other - 1] {
                Some(_) => &[other],
                None => &[],
            };
            let Some(future) = tasks[task - 1].as_mut() else {
                continue; // finished: never poll a future after `Ready`
            };
            number += 1;
            show::poll(number, task, ready, &[]);
            if future.as_mut().poll(&mut cx).is_ready() {
                println!("poll {number}: task {task} returned Ready");
                tasks[task - 1] = None;
            } else {
                println!("poll {number}: task {task} returned Pending");
            }
        }
    }
}
// ANCHOR_END: main
