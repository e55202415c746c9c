//! **taketurns** — an async runtime built by hand, to learn how one works.
//!
//! One thread takes turns between many tasks. Tasks that can make progress wait in a **ready
//! queue**; tasks that wait for something (a socket, a timer, another task) sit in a **waiting
//! list** until a **waker** moves them back. When nothing is ready, the loop asks the kernel
//! (`epoll`, through mio) which sockets became ready, and sleeps until then or until the next timer.
//! That is the picture asyncio draws with its `_ready` deque and its selector, written in Rust
//! with futures, and measured against one thread per task (the [`threaded`] module).
//!
//! ```
//! use std::time::Duration;
//!
//! let total = taketurns::block_on(async {
//!     let a = taketurns::spawn(async {
//!         taketurns::time::sleep(Duration::from_millis(30)).await;
//!         1
//!     });
//!     let b = taketurns::spawn(async {
//!         taketurns::time::sleep(Duration::from_millis(30)).await;
//!         2
//!     });
//!     a.await.unwrap() + b.await.unwrap() // both sleeps overlap: about 30 ms in all
//! });
//! assert_eq!(total, 3);
//! ```
//!
//! The modules follow the book's chapters: the ready queue and waiting list, wakers, the tick,
//! the reactor, timers, sockets. Read the book in `book/` alongside the code.
//!
//! # The layers
//! The source is built in layers whose imports point one way. At the bottom, `src/driver/`: the
//! reactor (epoll), the timer list, the inbox of wakes from other threads and the blocking pool,
//! which know wakers and never the runtime. In the middle, `src/runtime/`: the core, its tick, the
//! task table with the ready queue and the waiting list, the wakers and the thread's context.
//! Beside it, `src/observe/`: stats, the trace, the timeline, warnings and the lists export,
//! which the runtime feeds and which know nothing of it. Two leaves name what every layer shares:
//! `id` (task ids) and `lifecycle` (a task's states, what it waits for, how it ended). On top,
//! the leaf futures and public modules: `net`, `time`, `blocking`, `replay`, `hyper_rt`.
//!
//! # The two lists
//! [`Runtime::snapshot`] (or [`snapshot`] from inside a task) shows both lists at any moment.
//!
//! # Seeing the schedule
//! A runtime built with [`Builder::trace`] records every spawn, poll, wake and completion:
//! [`Runtime::timeline`] draws who ran when ([`Timeline::render_ascii`]) or exports it for Perfetto
//! ([`Timeline::write_chrome_trace`]), [`Runtime::task_stats`] gives per-task totals, and
//! [`Warning`]s report slow polls, lost wakers and tasks pending at shutdown. Name tasks with
//! [`task::Builder`].
//!
//! # The runtime and the lab bench
//! Everything above is the runtime, and depends only on mio, slab, pin-project-lite, futures-io,
//! socket2 and serde (the lists export's structs implement `Serialize` and `Deserialize`; the
//! runtime writes its JSON itself, so that no JSON library enters a program that uses it).
//! That matters more than it seems: a crate in the dependency graph can change type inference
//! in the program that uses this one. `serde_json`, for one, compares its `Value` with plain
//! numbers, and with it in the graph the last line below would stop compiling ("type
//! annotations needed"). This example is compiled as such a program, so it checks that the line
//! still compiles:
//!
//! ```
//! let n: u64 = taketurns::block_on(async { (0..1000u64).sum() });
//! assert_eq!(n, (0..1000u64).sum());
//! ```
//!
//! # Completion instead of readiness
//! With the `uring` feature (Linux 5.11 or later), [`Builder`]'s `io_uring(true)` builds the same
//! loop on io_uring: it waits in `io_uring_enter` instead of `epoll_wait`, and the sockets of the
//! `uring` module hand the kernel whole reads and writes that own their buffers. That feature
//! brings the `io-uring` and `libc` crates, and the one module of the crate where `unsafe` is
//! allowed (`src/driver/uring.rs`, with its buffer pool in `src/driver/uring/pool.rs`); without it
//! the crate is `forbid(unsafe_code)`. Chapter 15.
//!
//! The `workload` module is the lab bench the book measures the runtime with: a delay server,
//! four fetch clients, reports and the machine's limits. It sits behind the `workload` cargo feature, on by default; build with
//! `--no-default-features` for the runtime alone.

// Without the `uring` feature no line of the crate may be `unsafe`. With it, one module may:
// the completion driver (`src/driver/uring.rs` and its submodule `pool`), which hands the kernel
// pointers into buffers it owns; everything else stays denied.
#![cfg_attr(not(feature = "uring"), forbid(unsafe_code))]
#![cfg_attr(feature = "uring", deny(unsafe_code))]
#![warn(missing_docs)]

// The leaves: names every layer uses.
mod id;
mod lifecycle;

// The layers, bottom up: drivers, the runtime, and beside it what it reports.
mod driver;
mod observe;
mod runtime;

// On top: the leaf futures and the public modules.
pub mod blocking;
#[cfg(doctest)]
mod book;
#[cfg(feature = "hyper")]
pub mod hyper_rt;
pub mod net;
pub mod replay;
pub mod threaded;
pub mod time;
#[cfg(feature = "uring")]
pub mod uring;
#[cfg(feature = "workload")]
pub mod workload;

#[cfg(all(feature = "uring", not(target_os = "linux")))]
compile_error!(
    "the `uring` feature needs Linux (io_uring is a Linux interface); build without it for the readiness loop"
);

pub use observe::{timeline, trace, warnings};
pub use runtime::task;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

pub use blocking::spawn_blocking;
pub use id::TaskId;
pub use lifecycle::{Direction, TaskState, WaitReason};
pub use observe::stats::{Snapshot, Stats, TaskStats, TaskStatsRow};
pub use observe::timeline::Timeline;
pub use observe::warnings::{Dropped, Warning, WarningKind};
pub use runtime::task::{JoinError, JoinHandle};
pub use runtime::{Builder, DEFAULT_EVENT_INTERVAL, Runtime};

/// Run `future` to completion on a new runtime with the default settings, then drop the runtime
/// (and with it any task still pending).
///
/// # Panics
/// If the runtime cannot be created (out of file descriptors), if called inside a running
/// runtime, or if `future` panics.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let rt = Runtime::new().unwrap_or_else(|e| {
        panic!("taketurns: could not create a runtime ({e}); is the file descriptor limit reached?")
    });
    rt.block_on(future)
}

/// Spawn a task on the current runtime. It starts at the back of the ready queue.
///
/// The future needs no `Send` bound: it will only ever run on this thread, so it may hold an
/// `Rc` or a `RefCell`. (tokio's multi-threaded `spawn` requires `Send` because its tasks can move
/// between threads; its `spawn_local` does not.)
///
/// ```
/// use std::rc::Rc;
/// taketurns::block_on(async {
///     let shared = Rc::new(5);
///     let task = taketurns::spawn({
///         let shared = shared.clone();
///         async move { *shared * 2 }
///     });
///     assert_eq!(task.await.unwrap(), 10);
/// });
/// ```
///
/// # Panics
/// Outside a runtime: call it from inside [`block_on`] or [`Runtime::block_on`], or use
/// [`Runtime::spawn`].
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
{
    runtime::task::spawn(&runtime::context::current("taketurns::spawn"), future, None)
}

/// Hand control back to the loop once: the task goes to the back of the ready queue, behind every
/// task that was already ready. asyncio's `await asyncio.sleep(0)`; tokio's `task::yield_now`.
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
#[must_use = "futures do nothing unless you .await them"]
#[derive(Debug)]
pub struct YieldNow {
    /// Whether we have already returned `Pending` once.
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        // Wake ourselves first: the loop sees a wake that arrived during the poll and puts the
        // task at the back of the queue once the poll returns.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// The two lists of the runtime running on this thread, as seen from inside a task.
///
/// # Panics
/// Outside a runtime.
pub fn snapshot() -> Snapshot {
    runtime::context::current("taketurns::snapshot").snapshot()
}

/// The counters of the runtime running on this thread, as seen from inside a task.
///
/// # Panics
/// Outside a runtime.
pub fn stats() -> Stats {
    runtime::context::current("taketurns::stats").stats()
}
