//! Exercise 6.1, "Several waiters": a one-shot flag that any number of tasks can wait on, where
//! `set` wakes them all and a task that polls twice is stored once.
//!
//! This runs on taketurns as shipped: the flag is user code, built on the public API. It puts two
//! flags side by side. `OneWaker` keeps a single waker, like the `Flag` of `examples/wakers.rs`:
//! each new waiter replaces the previous one's waker, so only the last waiter is woken and the
//! others wait until their timeout. `ManyWakers` keeps one waker per waiting future, in a vector,
//! and each future remembers its index so its second poll updates its own entry. tokio's `Notify`
//! does the same job with an intrusive linked list (one node inside each waiting future, unlinked
//! when the future is dropped, which needs `unsafe`); asyncio's `Event` keeps a list of futures,
//! one per `wait()` call.
//!
//! ```console
//! $ cargo run --example exercise_06_1 -- --waiters 3
//! ```

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use clap::Parser;

/// Let several tasks wait on a one-waker flag and on a many-waker flag; count who gets woken.
#[derive(Parser, Debug)]
#[command(name = "exercise_06_1")]
struct Args {
    /// How many tasks wait on each flag.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    waiters: u32,
}

// ANCHOR: flag
/// A one-shot flag that any number of tasks can wait on.
#[derive(Clone, Default)]
struct Flag {
    inner: Rc<RefCell<FlagState>>,
}

#[derive(Default)]
struct FlagState {
    /// `set` has been called.
    set: bool,
    /// `true`: keep only one waker, the latest (the `Flag` of `examples/wakers.rs`).
    one_waker: bool,
    /// One waker per waiting future: the waker of its latest poll. Taken by `set`.
    wakers: Vec<Waker>,
}

impl Flag {
    fn new(one_waker: bool) -> Flag {
        let flag = Flag::default();
        flag.inner.borrow_mut().one_waker = one_waker;
        flag
    }

    /// Set the flag and wake every waiting task.
    fn set(&self) {
        let wakers = {
            let mut state = self.inner.borrow_mut();
            state.set = true;
            std::mem::take(&mut state.wakers)
        };
        // Wake after the borrow has ended: a wake may run code that looks at this flag.
        for waker in wakers {
            waker.wake();
        }
    }

    fn wait(&self) -> Wait {
        Wait {
            flag: self.clone(),
            index: None,
        }
    }

    /// How many wakers the flag holds.
    fn stored(&self) -> usize {
        self.inner.borrow().wakers.len()
    }
}

struct Wait {
    flag: Flag,
    /// Where this future's waker is in `wakers`, once it has stored one. The indexes stay valid
    /// because entries are only added, until `set` takes them all.
    index: Option<usize>,
}

impl Future for Wait {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let mut state = this.flag.inner.borrow_mut();
        if state.set {
            return Poll::Ready(());
        }
        if state.one_waker {
            // The old flag: whoever polled last owns the only slot.
            state.wakers.clear();
            state.wakers.push(cx.waker().clone());
            return Poll::Pending;
        }
        match this.index {
            // The same task polling again: nothing to store (`will_wake` saves the clone).
            Some(i) if state.wakers[i].will_wake(cx.waker()) => {}
            // Moved to another task (or another runtime): replace our own entry.
            Some(i) => state.wakers[i] = cx.waker().clone(),
            None => {
                this.index = Some(state.wakers.len());
                state.wakers.push(cx.waker().clone());
            }
        }
        Poll::Pending
    }
}
// ANCHOR_END: flag

// ANCHOR: run
/// What happened to the waiters of one flag.
struct Outcome {
    /// Wakers the flag held once every waiter had polled twice.
    stored: usize,
    /// Waiters that finished in the ticks right after `set`.
    woken: usize,
    /// Waiters still in the waiting list after that: nothing will ever wake them. They are
    /// dropped with the runtime.
    still_waiting: usize,
}

fn run(one_waker: bool, waiters: u32) -> std::io::Result<Outcome> {
    let rt = taketurns::Runtime::new()?;
    Ok(rt.block_on(async {
        let flag = Flag::new(one_waker);
        let finished = Rc::new(Cell::new(0));
        for _ in 0..waiters {
            let (flag, finished) = (flag.clone(), finished.clone());
            // Detached: a waiter that is never woken must not keep `block_on` from returning.
            drop(taketurns::spawn(async move {
                let mut wait = flag.wait();
                // Poll once by hand, then await: two polls of the same future.
                let first =
                    std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut wait).poll(cx))).await;
                assert!(first.is_pending(), "the flag is not set yet");
                wait.await;
                finished.set(finished.get() + 1);
            }));
        }
        taketurns::yield_now().await; // one tick: every waiter polls twice and parks
        let stored = flag.stored();
        flag.set();
        // Two ticks: the woken waiters run in the first one.
        taketurns::yield_now().await;
        taketurns::yield_now().await;
        Outcome {
            stored,
            woken: finished.get(),
            still_waiting: taketurns::snapshot().waiting.len(),
        }
    }))
}
// ANCHOR_END: run

fn main() {
    let args = Args::parse();
    for (name, one_waker) in [("one waker", true), ("many wakers", false)] {
        match run(one_waker, args.waiters) {
            Ok(o) => println!(
                "{name}: waiters={} stored={} woken={} still_waiting={}",
                args.waiters, o.stored, o.woken, o.still_waiting
            ),
            Err(e) => {
                eprintln!("exercise_06_1: could not create a taketurns runtime: {e}");
                std::process::exit(1);
            }
        }
    }
}
