//! The inbox: how a wake from another thread reaches a loop that may be asleep in `epoll_wait`.
//!
//! A waker on another thread cannot touch the task table (it belongs to the loop's thread), so it
//! leaves the wake in a mutex-guarded list and makes sure the loop looks at it: if the loop may be
//! asleep, it writes to an eventfd that is in the loop's epoll set. The protocol has three flags:
//!
//! - `full`: something was pushed since the loop last took the list, so the loop's common case
//!   (nobody woke anything from outside) costs one atomic load and no lock;
//! - `notified`: the eventfd has been written and the loop has not yet seen the event, so later
//!   wakes push without another system call;
//! - `queued`, one per entry (a task's waker owns it): the entry is already in the list, so a
//!   task woken a million times from another thread is in the list once and memory stays flat
//!   (tokio's NOTIFIED bit).
//!
//! **Why no wake is lost.** The loop clears `notified` *before* it takes the list. A push that
//! found `notified` already set happened before that clear, and the list taken after the clear
//! holds it. An entry's `queued` flag is cleared when the loop takes it, before the task is moved
//! to the ready queue: a wake that finds it set is served by that move. The test at the end of
//! this file checks both arguments with `loom`, which runs every interleaving of the threads
//! (`RUSTFLAGS="--cfg taketurns_loom" cargo test --release --lib inbox`).
//!
//! asyncio's `call_soon_threadsafe` is the same idea: append to `_ready` under a lock, then write a
//! byte to the loop's self-pipe. tokio's current_thread scheduler pushes onto a mutex-guarded
//! inject queue and unparks the driver.

#[cfg(taketurns_loom)]
use loom::sync::Mutex;
#[cfg(taketurns_loom)]
pub(crate) use loom::sync::atomic::AtomicBool;
#[cfg(taketurns_loom)]
use loom::sync::atomic::Ordering;
#[cfg(not(taketurns_loom))]
use std::sync::Mutex;
/// The flag type of [`Queued`]: std's, or loom's in the model-checked build.
#[cfg(not(taketurns_loom))]
pub(crate) use std::sync::atomic::AtomicBool;
#[cfg(not(taketurns_loom))]
use std::sync::atomic::Ordering;

/// Something that wakes the loop from `epoll_wait`: the eventfd (`mio::Waker`) in the runtime, a
/// condition variable in the model-checked test.
pub(crate) trait Notify {
    /// Make the loop's next (or current) wait return at once.
    fn notify(&self);
}

impl Notify for mio::Waker {
    fn notify(&self) {
        // A write to the eventfd fails only if its counter is full, and then it is readable
        // anyway: the loop will wake.
        let _ = self.wake();
    }
}

/// An entry that can sit in the inbox: it carries its own "already in the inbox" flag.
pub(crate) trait Queued {
    /// The flag: set by the push that put the entry in, cleared by the loop when it takes it.
    fn queued(&self) -> &AtomicBool;
}

// ANCHOR: inbox
/// Wakes from other threads, waiting for the loop to take them.
pub(crate) struct Inbox<T> {
    /// The entries. Pushed by remote wakers, swapped out whole by the loop.
    entries: Mutex<Vec<T>>,
    /// Set after a push; lets the loop skip the mutex when nothing came in.
    full: AtomicBool,
    /// The loop was notified and has not yet seen the notification.
    notified: AtomicBool,
    /// The runtime is gone: pushes are refused instead of piling up.
    closed: AtomicBool,
}
// ANCHOR_END: inbox

impl<T: Queued> Inbox<T> {
    /// An empty inbox.
    pub(crate) fn new() -> Self {
        Inbox {
            entries: Mutex::new(Vec::new()),
            full: AtomicBool::new(false),
            notified: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        }
    }

    // ANCHOR: push
    /// Leave a copy of `entry` for the loop and make sure the loop will look, unless it is in
    /// the inbox already or the runtime is gone. Returns whether it was pushed.
    pub(crate) fn push(&self, entry: &T, loop_waker: &impl Notify) -> bool
    where
        T: Clone,
    {
        if self.closed.load(Ordering::Acquire) || entry.queued().swap(true, Ordering::AcqRel) {
            return false;
        }
        {
            let mut entries = self.lock();
            // Checked again under the lock: `close` empties the list under it, and an entry
            // pushed after that would never be taken.
            if self.closed.load(Ordering::Acquire) {
                return false;
            }
            entries.push(entry.clone());
        }
        self.full.store(true, Ordering::SeqCst);
        // Only the first push after the loop last saw a notification pays for the system call.
        if !self.notified.swap(true, Ordering::SeqCst) {
            loop_waker.notify();
        }
        true
    }
    // ANCHOR_END: push

    // ANCHOR: take
    /// The loop saw the notification: the next push must notify again. Call it before
    /// [`Inbox::take`].
    pub(crate) fn clear_notified(&self) {
        self.notified.store(false, Ordering::SeqCst);
    }

    /// Whether something was pushed since the loop last took the list (one atomic load).
    #[inline]
    pub(crate) fn is_full(&self) -> bool {
        self.full.load(Ordering::SeqCst)
    }

    /// Move every entry into `out` (one atomic load when there are none), clearing each entry's
    /// `queued` flag so that a later wake pushes it again.
    pub(crate) fn take(&self, out: &mut Vec<T>) {
        if self.full.load(Ordering::SeqCst) && self.full.swap(false, Ordering::SeqCst) {
            std::mem::swap(&mut *self.lock(), out);
            for entry in out.iter() {
                entry.queued().swap(false, Ordering::AcqRel);
            }
        }
    }
    // ANCHOR_END: take

    /// The runtime is gone: refuse further pushes and drop what is there.
    pub(crate) fn close(&self) -> Vec<T> {
        let mut entries = self.lock();
        self.closed.store(true, Ordering::Release);
        std::mem::take(&mut *entries)
    }

    /// The list, even if a thread panicked while holding the lock (a push cannot leave it
    /// inconsistent).
    #[cfg(not(taketurns_loom))]
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<T>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The list (loom's mutex is never poisoned in the model).
    #[cfg(taketurns_loom)]
    fn lock(&self) -> loom::sync::MutexGuard<'_, Vec<T>> {
        self.entries.lock().unwrap()
    }
}

/// The model-checked proof that no wake is lost and none is queued twice.
#[cfg(all(test, taketurns_loom))]
mod loom_tests {
    use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use loom::sync::{Arc, Condvar, Mutex};
    use loom::thread;

    use super::{Inbox, Notify, Queued};

    /// A task's waker, reduced to its flag.
    struct Entry {
        /// See [`Queued::queued`].
        queued: AtomicBool,
    }

    impl Queued for Arc<Entry> {
        fn queued(&self) -> &AtomicBool {
            &self.queued
        }
    }

    /// The eventfd: a counter the loop blocks on until it is written.
    #[derive(Default)]
    struct EventFd {
        /// Written and not yet read.
        readable: Mutex<bool>,
        /// Wakes the loop blocked in [`EventFd::wait`].
        changed: Condvar,
    }

    impl Notify for EventFd {
        fn notify(&self) {
            *self.readable.lock().unwrap() = true;
            self.changed.notify_one();
        }
    }

    impl EventFd {
        /// `epoll_wait` with no timeout and only the eventfd registered: block until written.
        fn wait(&self) {
            let mut readable = self.readable.lock().unwrap();
            while !*readable {
                readable = self.changed.wait(readable).unwrap();
            }
            *readable = false;
        }
    }

    /// Two threads each send a message and wake the same task; the loop thread sleeps in its
    /// "epoll_wait" whenever the inbox is empty, exactly as `tick` does. If a wake were lost, the
    /// loop would wait for ever and loom would report a deadlock; the counts check that the task
    /// was never in the inbox twice at once.
    #[test]
    fn no_remote_wake_is_lost_and_none_is_queued_twice() {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(3);
        builder.check(|| {
            let inbox = Arc::new(Inbox::<Arc<Entry>>::new());
            let eventfd = Arc::new(EventFd::default());
            let task = Arc::new(Entry {
                queued: AtomicBool::new(false),
            });
            let messages = Arc::new(AtomicUsize::new(0));
            let senders: Vec<_> = (0..2)
                .map(|_| {
                    let (inbox, eventfd, task, messages) = (
                        inbox.clone(),
                        eventfd.clone(),
                        task.clone(),
                        messages.clone(),
                    );
                    thread::spawn(move || {
                        messages.fetch_add(1, Ordering::Release);
                        inbox.push(&task, &*eventfd);
                    })
                })
                .collect();
            // The loop: take the inbox; "poll" the task if it was there; sleep if nothing came.
            let mut taken = Vec::new();
            loop {
                inbox.take(&mut taken);
                assert!(taken.len() <= 1, "the task was in the inbox twice");
                let polled = !taken.is_empty();
                taken.clear();
                if polled && messages.load(Ordering::Acquire) == 2 {
                    break;
                }
                if !polled {
                    eventfd.wait();
                    inbox.clear_notified();
                }
            }
            for sender in senders {
                sender.join().unwrap();
            }
        });
    }
}
