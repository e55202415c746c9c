//! Blocking work off the loop: [`spawn_blocking`] runs a closure on a helper thread and hands its
//! result back to a task.
//!
//! The event loop has one thread. A task that computes for 200 ms, or calls a blocking function
//! (a file read, a DNS lookup, a C library), holds that thread for 200 ms, and no other task,
//! socket or timer is served meanwhile. `spawn_blocking(f)` moves `f` to a small pool of helper
//! threads. The loop gets a [`JoinHandle`] at once and goes on running tasks; when `f` returns,
//! the helper thread stores the result and wakes the waiting task through the runtime's *remote*
//! waker path (the inbox and the eventfd of the `waker` module), so a sleeping loop wakes at once.
//! asyncio's counterpart is `await loop.run_in_executor(None, f)` or `await asyncio.to_thread(f)`
//! (the loop's default `ThreadPoolExecutor`); tokio's is `tokio::task::spawn_blocking(f)`.
//!
//! How the result gets back. `spawn_blocking` does two things: it queues a job for the pool, and it
//! spawns an ordinary local task whose future, `WaitBlocking`, waits on a one-shot
//! `Completion` (a mutex around "the result, or the waker of whoever waits for it"). The pool
//! thread fills the completion and wakes that waker. The local task then finishes like any task,
//! so the `JoinHandle` is the crate's usual one: `.await` gives `Ok(value)`, a panic in `f` comes
//! back as a [`crate::JoinError`] with `is_panic()`, and `abort()` cancels the wait.
//!
//! The pool is [`crate::threaded`]'s, the code under [`crate::threaded::ThreadPool`], with other
//! sizes: a `ThreadPool` starts its `n` threads at once and keeps them, this one grows and shrinks.
//! Why it looks like this:
//! - **Lazily started**: no thread exists until the first `spawn_blocking` on a runtime.
//! - **Bounded**: at most [`MAX_BLOCKING_THREADS`] (16) threads per runtime; further jobs wait in a
//!   FIFO queue. tokio allows 512 (`max_blocking_threads`), asyncio `min(32, os.cpu_count() + 4)`.
//!   We pick a small cap because each thread costs a stack, a kernel task and a start-up, and
//!   because the pool exists for a handful of blocking calls at a time, not for one per connection.
//! - **Idle threads exit** after [`BLOCKING_KEEP_ALIVE`] (10 s, tokio's `thread_keep_alive`
//!   default) without a job, and all of them exit when the runtime is dropped: idle ones at once,
//!   busy ones as soon as their closure returns. Dropping the runtime does **not** wait for a
//!   running closure (tokio's `Runtime` drop does wait, unless you call `shutdown_background` or
//!   `shutdown_timeout`); a closure that never returns keeps its thread, and that is the caller's
//!   bug to fix.
//!
//! Cancellation. A closure that has started cannot be stopped: Rust has no way to interrupt a
//! thread from outside, and neither has tokio (its docs say the same of `spawn_blocking`). So
//! `abort()` on the handle, or dropping the runtime, cancels the *waiting task*; the closure runs
//! on to the end and its result is dropped. A closure still in the queue when its wait is
//! cancelled is skipped and never runs, as in tokio. Python's `Future.cancel()` has the same
//! rule: it succeeds only for a call that has not started.
//!
//! Where we simplify: tokio's blocking pool is shared by all of a runtime's workers, names and
//! sizes its threads from the builder, and can hand a worker's *core* to another thread
//! (`block_in_place`) instead of moving the closure. Ours is configured by constants, takes one
//! mutex per job, and has no `block_in_place`, because one loop thread and a few blocking calls
//! need nothing more. Left out: a per-call stack size, thread names
//! per job, and metrics beyond the runtime's wake counters.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread;

pub use crate::driver::blocking::{
    BLOCKING_KEEP_ALIVE, BLOCKING_THREAD_NAME, MAX_BLOCKING_THREADS,
};
use crate::runtime::context;
use crate::runtime::task::{self, JoinHandle};
use crate::threaded::Job;

// ANCHOR: spawn_blocking
/// Run `f` on a helper thread and return a handle that the loop can `.await` without blocking.
///
/// The loop keeps running other tasks while `f` runs. When `f` returns, the helper thread wakes
/// the waiting task from its own thread (a remote wake: `Stats::remote_wakes` counts it).
/// `f` must be `Send` because it moves to another thread, and so must its result.
///
/// ```
/// let sum = taketurns::block_on(async {
///     let handle = taketurns::spawn_blocking(|| (1..=1_000_000u64).sum::<u64>());
///     // The loop is free here: other tasks run while the helper thread adds.
///     handle.await.unwrap()
/// });
/// assert_eq!(sum, 500_000_500_000);
/// ```
///
/// A panic in `f` does not reach the loop or the helper thread: awaiting the handle gives a
/// [`crate::JoinError`] for which `is_panic()` is true, with the original payload.
/// `abort()` cancels the wait, not the closure (see the [module docs](crate::blocking)).
///
/// # Panics
/// Outside a runtime: call it from inside [`crate::block_on`] or `Runtime::block_on`, like
/// [`crate::spawn`].
#[track_caller]
pub fn spawn_blocking<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let core = context::current("taketurns::spawn_blocking");
    let completion = Arc::new(Completion::new());
    let job = {
        let completion = Arc::clone(&completion);
        Box::new(move || completion.run(f)) as Job
    };
    if let Err(error) = core.blocking().submit(job) {
        // No helper thread exists and the kernel refused to start one: the task fails with a
        // message instead of waiting forever.
        completion.fill(Err(Box::new(format!(
            "taketurns::spawn_blocking: could not start a helper thread ({error}); \
             the process is at a thread or memory limit (see `ulimit -u`)"
        ))));
    }
    task::spawn(&core, WaitBlocking { completion }, None)
}
// ANCHOR_END: spawn_blocking

// ANCHOR: completion
/// A one-shot slot that a helper thread fills and a task awaits: the result, or who to wake.
struct Completion<T> {
    /// Written once by the helper thread (or by `spawn_blocking` if no thread could start), read
    /// once by [`WaitBlocking`]. The waker is the waiting task's, stored by its latest poll.
    state: Mutex<Slot<T>>,
    /// Set when the waiting task is gone (aborted, or dropped with its runtime). A closure that
    /// has not started by then is skipped; one that has started runs on, and its result is dropped.
    abandoned: AtomicBool,
}

/// What the completion holds.
struct Slot<T> {
    /// `Ok(value)`, or the closure's panic payload; `None` until the closure has returned.
    result: Option<thread::Result<T>>,
    /// The waker of the task awaiting the result; taken by the helper thread when it fills
    /// `result`.
    waker: Option<Waker>,
}

impl<T> Completion<T> {
    fn new() -> Self {
        Completion {
            state: Mutex::new(Slot {
                result: None,
                waker: None,
            }),
            abandoned: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Slot<T>> {
        // No user code runs under this lock, so it cannot be poisoned; recover anyway.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// On the helper thread: run the closure (unless nobody waits any more), then deliver.
    fn run(&self, f: impl FnOnce() -> T) {
        if self.abandoned.load(Ordering::Acquire) {
            return; // cancelled before it started: never run it
        }
        let result = catch_unwind(AssertUnwindSafe(f));
        self.fill(result);
    }

    /// Store the result and wake the waiting task. Called from the helper thread, so the wake
    /// takes the runtime's remote path: inbox, then eventfd.
    fn fill(&self, result: thread::Result<T>) {
        let waker = {
            let mut slot = self.lock();
            slot.result = Some(result);
            slot.waker.take()
        };
        // Wake outside the lock: the waker may take the runtime's inbox lock.
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}
// ANCHOR_END: completion

// ANCHOR: wait_blocking
/// The future of the local task that `spawn_blocking` spawns: ready when the helper thread has
/// filled the completion.
struct WaitBlocking<T> {
    /// Shared with the job on the helper thread.
    completion: Arc<Completion<T>>,
}

impl<T> Future for WaitBlocking<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut slot = self.completion.lock();
        match slot.result.take() {
            Some(Ok(value)) => Poll::Ready(value),
            // Re-raise the closure's panic inside this task: the task's own `catch_unwind` turns
            // it into `JoinError::panic` with the same payload. (`resume_unwind` does not call
            // the panic hook again: the message was printed once, on the helper thread.)
            Some(Err(payload)) => {
                drop(slot);
                resume_unwind(payload)
            }
            None => {
                // Keep the waker from the latest poll (a stale one would wake the wrong task).
                match &slot.waker {
                    Some(old) if old.will_wake(cx.waker()) => {}
                    _ => slot.waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for WaitBlocking<T> {
    fn drop(&mut self) {
        // Finished or not, nobody will read the result now.
        self.completion.abandoned.store(true, Ordering::Release);
    }
}
// ANCHOR_END: wait_blocking
