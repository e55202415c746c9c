//! Build track, step 1, your starting point: poll one future by hand.
//!
//! A chef to poll, and the printing every step shares, with the new part declared and left to
//! write: `YieldNow::poll` and the polling loop in `main` are `todo!()`, and each one's doc
//! comment says what it must do. Write them in your own copy (in your project,
//! `src/bin/step_01.rs`), run it, and check it against the reference with the course's checker
//! (chapter 4 sets up the `check` alias):
//!
//! ```console
//! $ check 1 --bin step_01
//! ```

#![allow(unused)] // the gaps leave names unused; remove this line once they are filled in

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
        todo!("write YieldNow::poll")
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
    todo!("write the polling loop of main")
}
