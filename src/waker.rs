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
//! - **remote** (another thread, or the loop's thread outside `block_on`): the waker pushes onto
//!   the shared *inbox* under a mutex and, unless a notification is already on its way, wakes the
//!   loop through a `mio::Waker` (an eventfd that epoll watches), so a sleeping loop wakes at once.
//!
//! *Honest toy marker:* std's [`std::task::Wake`] trait builds the waker from an `Arc` without
//! `unsafe`. tokio builds a `RawWaker` vtable by hand so that the waker *is* the task's reference
//! count and a wake needs no table lookup.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Wake;

use crate::context;
use crate::task::TaskId;

/// The slot key that stands for the future passed to `block_on` (it is not in the task table).
pub(crate) const MAIN_KEY: usize = usize::MAX;

// ANCHOR: shared
/// The thread-safe part of a runtime: what a waker on another thread can reach.
pub(crate) struct Shared {
    /// Wakes from other threads, waiting for the loop to move them into the ready queue.
    /// Pushed by remote wakers, drained by the loop once per tick when `inbox_full` is set.
    inbox: Mutex<Vec<(usize, TaskId)>>,
    /// Set by a remote waker after it pushes; lets the loop skip the mutex when nothing came in.
    inbox_full: AtomicBool,
    /// A notification is on its way: the eventfd was written and the loop has not yet seen the
    /// event. While set, more remote wakes only push (no more system calls).
    notified: AtomicBool,
    /// The runtime was dropped; remote wakes are ignored instead of piling up.
    closed: AtomicBool,
    /// How many wakes came from outside the loop (reported as `Stats::remote_wakes`).
    remote_wakes: AtomicU64,
    /// Interrupts the loop's `epoll_wait` (an eventfd registered with the loop's `mio::Poll`).
    waker: mio::Waker,
}
// ANCHOR_END: shared

impl Shared {
    pub(crate) fn new(waker: mio::Waker) -> Self {
        Shared {
            inbox: Mutex::new(Vec::new()),
            inbox_full: AtomicBool::new(false),
            notified: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            remote_wakes: AtomicU64::new(0),
            waker,
        }
    }

    // ANCHOR: wake_remote
    /// A wake from outside the loop: queue it and make sure the loop notices.
    fn wake_remote(&self, key: usize, id: TaskId) {
        if self.closed.load(Ordering::Acquire) {
            return;
        }
        self.remote_wakes.fetch_add(1, Ordering::Relaxed);
        self.inbox
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((key, id));
        self.inbox_full.store(true, Ordering::SeqCst);
        // Only the first wake after the loop last saw a notification pays for the system call.
        // No wakeup is lost: the loop clears `notified` *before* it drains the inbox, so a push
        // that saw `notified == true` is drained by that same pass (see `Core::drain_inbox`).
        if !self.notified.swap(true, Ordering::SeqCst) {
            // The write to the eventfd can only fail if the counter is full, which mio handles.
            let _ = self.waker.wake();
        }
    }
    // ANCHOR_END: wake_remote

    // ANCHOR: take_inbox
    /// The loop saw the eventfd fire: the next remote wake must notify again.
    pub(crate) fn clear_notified(&self) {
        self.notified.store(false, Ordering::SeqCst);
    }

    /// Move every remote wake into `out` (cheap when there are none: one atomic load).
    pub(crate) fn take_inbox(&self, out: &mut Vec<(usize, TaskId)>) {
        // A plain load first: the common case (no remote wake) then costs no locked instruction.
        if self.inbox_full.load(Ordering::SeqCst) && self.inbox_full.swap(false, Ordering::SeqCst) {
            let mut inbox = self.inbox.lock().unwrap_or_else(|e| e.into_inner());
            std::mem::swap(&mut *inbox, out);
        }
    }
    // ANCHOR_END: take_inbox

    /// How many remote wakes there have been.
    pub(crate) fn remote_wakes(&self) -> u64 {
        self.remote_wakes.load(Ordering::Relaxed)
    }

    /// The runtime is gone: stop accepting wakes.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.inbox.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

// ANCHOR: task_waker
/// The state behind a task's [`std::task::Waker`]: which task, in which runtime.
pub(crate) struct TaskWaker {
    /// The runtime's unique number: a local wake applies only to the runtime running on this
    /// thread right now, and only if it is this one.
    pub(crate) runtime_id: u64,
    /// The task's slot in the task table (or [`MAIN_KEY`] for the `block_on` future).
    pub(crate) key: usize,
    /// The task's id: a wake for a slot now held by another task is ignored.
    pub(crate) id: TaskId,
    /// The runtime's thread-safe part, for wakes from elsewhere.
    pub(crate) shared: Arc<Shared>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let woken_locally =
            context::with_runtime(self.runtime_id, |core| core.wake_local(self.key, self.id));
        if woken_locally.is_none() {
            self.shared.wake_remote(self.key, self.id);
        }
    }
}
// ANCHOR_END: task_waker
