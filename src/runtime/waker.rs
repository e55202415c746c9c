//! Wakers: how a waiting task gets back into the ready queue.
//!
//! When a future cannot make progress it returns `Pending` and keeps a clone of the task's
//! [`Waker`]. Whoever can end the wait (the reactor when a socket turns ready, the timer list when
//! a deadline passes, a channel when a message arrives, another thread) calls `wake()`, and the
//! task moves from the waiting list to the back of the ready queue. asyncio does the same with
//! `loop.call_soon(task.__step)` from a future's done-callback, and with `call_soon_threadsafe`
//! from other threads.
//!
//! A waker must be `Send + Sync` (any thread may hold one), while our tasks are `!Send`. So a waker
//! holds no pointer to the task, only its address in the task table (`key` and `id`) and the
//! runtime's thread-safe [`Shared`] part. Two paths:
//!
//! - **local** (the wake happens on the loop's own thread, inside the runtime): the waker finds
//!   the runtime in a thread-local and pushes onto the ready queue directly. No lock, no system
//!   call.
//! - **remote** (another thread, or the loop's thread outside `block_on`): the waker leaves the
//!   task in the shared *inbox* (at most once, however often it is woken) and, unless a
//!   notification is already on its way, wakes the loop through a `mio::Waker` (an eventfd that
//!   epoll watches), so a sleeping loop wakes at once. The protocol is in `driver::inbox`.
//!
//! Where we simplify: std's [`std::task::Wake`] trait builds the waker from an `Arc` without
//! `unsafe`. tokio builds a `RawWaker` vtable by hand so that the waker *is* the task's reference
//! count and a wake needs no table lookup.

use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Wake;

use crate::driver::inbox::{AtomicBool, Inbox, Queued};
use crate::id::TaskId;

/// How a waker reaches its runtime when it is woken on that runtime's own thread: the local fast
/// path. The runtime's context implements it (`context::OnThisThread`); this file needs nothing
/// else of the runtime, so the waker does not name the runtime's core.
pub(crate) trait LocalWake: 'static {
    /// Schedule the task in slot `key` (with `id`) if runtime `runtime_id` is the one running on
    /// this thread right now; `false` if it is not (the wake must then go through the inbox).
    fn wake_local(runtime_id: u64, key: usize, id: TaskId) -> bool;
}

/// The slot key that stands for the future passed to `block_on` (it is not in the task table).
pub(crate) const MAIN_KEY: usize = usize::MAX;

// ANCHOR: shared
/// The thread-safe part of a runtime: what a waker on another thread can reach.
pub(crate) struct Shared<L: LocalWake> {
    /// Wakes from other threads, each task at most once, waiting for the loop to move them into
    /// the ready queue (see `driver::inbox`).
    inbox: Inbox<Arc<TaskWaker<L>>>,
    /// How many wakes came from outside the loop (reported as `Stats::remote_wakes`), counting
    /// those that found their task already in the inbox.
    remote_wakes: AtomicU64,
    /// Interrupts the loop's `epoll_wait` (an eventfd registered with the loop's `mio::Poll`).
    waker: mio::Waker,
}
// ANCHOR_END: shared

impl<L: LocalWake> Shared<L> {
    /// The shared part of a new runtime, which interrupts the loop's `epoll_wait` with `waker`.
    pub(crate) fn new(waker: mio::Waker) -> Self {
        Shared {
            inbox: Inbox::new(),
            remote_wakes: AtomicU64::new(0),
            waker,
        }
    }

    // ANCHOR: wake_remote
    /// A wake from outside the loop: leave it in the inbox (once) and make sure the loop notices.
    fn wake_remote(&self, task: &Arc<TaskWaker<L>>) {
        self.remote_wakes.fetch_add(1, Ordering::Relaxed);
        self.inbox.push(task, &self.waker);
    }
    // ANCHOR_END: wake_remote

    /// The loop saw the eventfd fire: the next remote wake must notify again.
    pub(crate) fn clear_notified(&self) {
        self.inbox.clear_notified();
    }

    /// Whether a remote wake is waiting in the inbox (one atomic load).
    #[inline]
    pub(crate) fn has_remote_wakes(&self) -> bool {
        self.inbox.is_full()
    }

    /// Move every remote wake into `out` (cheap when there are none: one atomic load).
    pub(crate) fn take_inbox(&self, out: &mut Vec<Arc<TaskWaker<L>>>) {
        self.inbox.take(out);
    }

    /// How many remote wakes there have been.
    pub(crate) fn remote_wakes(&self) -> u64 {
        self.remote_wakes.load(Ordering::Relaxed)
    }

    /// The runtime is gone: stop accepting wakes, and hand back those still in the inbox (they
    /// hold an `Arc` of this struct: dropping them breaks the cycle).
    pub(crate) fn close(&self) -> Vec<Arc<TaskWaker<L>>> {
        self.inbox.close()
    }
}

// ANCHOR: task_waker
/// The state behind a task's [`std::task::Waker`]: which task, in which runtime.
pub(crate) struct TaskWaker<L: LocalWake> {
    /// The runtime's unique number: a local wake applies only to the runtime running on this
    /// thread right now, and only if it is this one.
    pub(crate) runtime_id: u64,
    /// The task's slot in the task table (or [`MAIN_KEY`] for the `block_on` future).
    pub(crate) key: usize,
    /// The task's id: a wake for a slot now held by another task is ignored.
    pub(crate) id: TaskId,
    /// The task is in the inbox already: set by the remote wake that put it there, cleared by the
    /// loop when it takes it. Every clone of the waker shares it.
    pub(crate) queued: AtomicBool,
    /// The runtime's thread-safe part, for wakes from elsewhere.
    pub(crate) shared: Arc<Shared<L>>,
    /// How a local wake finds the runtime (a type, not a value: it costs nothing to store).
    local: PhantomData<fn() -> L>,
}

impl<L: LocalWake> TaskWaker<L> {
    /// The waker state of the task in slot `key` (with `id`) of runtime `runtime_id`.
    pub(crate) fn new(
        runtime_id: u64,
        key: usize,
        id: TaskId,
        queued: AtomicBool,
        shared: Arc<Shared<L>>,
    ) -> Self {
        TaskWaker {
            runtime_id,
            key,
            id,
            queued,
            shared,
            local: PhantomData,
        }
    }
}

impl<L: LocalWake> Wake for TaskWaker<L> {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !L::wake_local(self.runtime_id, self.key, self.id) {
            self.shared.wake_remote(self);
        }
    }
}
// ANCHOR_END: task_waker

impl<L: LocalWake> Queued for Arc<TaskWaker<L>> {
    fn queued(&self) -> &AtomicBool {
        &self.queued
    }
}
