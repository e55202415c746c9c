//! Waiting for time to pass: [`sleep`], [`sleep_until`] and [`timeout`].
//!
//! A [`Sleep`] is a leaf future: the first poll before its deadline puts an entry in the loop's
//! timer list (the `timers` module) with the task's waker, and returns `Pending`; the task waits in
//! the waiting list until the loop sees the deadline pass and wakes it. No thread sleeps. Dropping
//! a `Sleep` removes its entry, so cancelled timers cost nothing afterwards. These are asyncio's
//! `asyncio.sleep` and `asyncio.wait_for`/`asyncio.timeout`, and tokio's `tokio::time` functions of
//! the same names.
//!
//! A sleep is never early: it completes only once `Instant::now() >= deadline`. It may be late by
//! the time other tasks take to hand control back, plus epoll's millisecond granularity (mio rounds
//! the timeout up, so the wait never ends before the deadline).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use crate::context;
use crate::runtime::Core;
use crate::timers::{Refresh, TimerKey};
use crate::waiting::Wait;

/// Wait until `duration` has passed.
///
/// ```
/// use std::time::{Duration, Instant};
/// taketurns::block_on(async {
///     let start = Instant::now();
///     taketurns::time::sleep(Duration::from_millis(20)).await;
///     assert!(start.elapsed() >= Duration::from_millis(20));
/// });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    // A duration too large to add saturates to "practically never" (about 30 years).
    let now = Instant::now();
    let deadline = now
        .checked_add(duration)
        .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365 * 30));
    sleep_until(deadline)
}

/// Wait until `deadline`.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        entry: None,
    }
}

/// The future returned by [`sleep`] and [`sleep_until`].
#[must_use = "futures do nothing unless you .await them"]
pub struct Sleep {
    /// When the sleep ends.
    deadline: Instant,
    /// Our entry in the timer list of the runtime that last polled us, once a poll has
    /// registered it.
    entry: Option<TimerEntry>,
}

/// Where a [`Sleep`]'s timer lives.
struct TimerEntry {
    /// The runtime holding the entry; weak, so a sleeping task does not keep its runtime alive.
    core: Weak<Core>,
    /// That runtime's number: a poll from another runtime moves the entry there.
    runtime: u64,
    /// The entry's key in that runtime's timer list.
    key: TimerKey,
}

impl Sleep {
    /// When this sleep ends.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// True once the deadline has passed.
    pub fn is_elapsed(&self) -> bool {
        Instant::now() >= self.deadline
    }

    // ANCHOR: reset
    /// Move the deadline (earlier or later), even after the sleep completed. The next poll
    /// registers the new deadline; the old timer entry is removed now.
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.get_mut();
        this.unregister();
        this.deadline = deadline;
    }

    /// Remove our timer entry, if any.
    fn unregister(&mut self) {
        if let Some(entry) = self.entry.take()
            && let Some(core) = entry.core.upgrade()
        {
            let waker = core.timers.borrow_mut().remove(entry.key);
            drop(waker);
        }
    }
    // ANCHOR_END: reset
}

// ANCHOR: sleep_poll
impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        // Registered already, with the runtime polling us now: one lookup says whether the loop
        // has fired our entry, and keeps the waker of the latest poll (the task may now be polled
        // through a combinator with another waker). If the entry is still there but the deadline
        // has passed, we are ready anyway: a task that never gives the loop a turn (a `select`
        // that keeps finding its other branch ready) would otherwise never see its deadline,
        // because only the loop fires timers. (tokio does not read the clock here; its coop
        // budget forces such a task to yield, and then the driver fires the timer.)
        if let Some(entry) = &this.entry {
            let key = entry.key;
            let deadline = this.deadline;
            let refreshed = context::with_runtime(entry.runtime, |core| {
                let refresh = core.timers.borrow_mut().refresh(key, cx.waker());
                match refresh {
                    Refresh::Pending(old_waker) => {
                        drop(old_waker);
                        if Instant::now() >= deadline {
                            return None;
                        }
                        core.note_wait(Wait::Timer(deadline));
                        Some(Poll::Pending)
                    }
                    // Fired, so the deadline has passed; the clock check below confirms it
                    // (and registers again if the entry went for another reason).
                    Refresh::Gone => Some(Poll::Ready(())),
                }
            });
            match refreshed.flatten() {
                Some(Poll::Pending) => return Poll::Pending,
                Some(Poll::Ready(())) => this.entry = None,
                // Due, or polled by another runtime than the one holding our entry (the sleep
                // was moved): the entry belongs to that first runtime, so remove it there.
                None => this.unregister(),
            }
        }
        if Instant::now() >= this.deadline {
            this.unregister();
            return Poll::Ready(());
        }
        // First poll, or a new runtime: put an entry in this runtime's timer list.
        let core = context::current("time::sleep (its first poll)");
        let key = core
            .timers
            .borrow_mut()
            .insert(this.deadline, cx.waker().clone());
        this.entry = Some(TimerEntry {
            core: Rc::downgrade(&core),
            runtime: core.id,
            key,
        });
        core.note_wait(Wait::Timer(this.deadline));
        Poll::Pending
    }
}
// ANCHOR_END: sleep_poll

// ANCHOR: sleep_drop
impl Drop for Sleep {
    fn drop(&mut self) {
        self.unregister();
    }
}
// ANCHOR_END: sleep_drop

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("registered", &self.entry.is_some())
            .finish()
    }
}

/// Run `future`, but give up after `duration`: `Ok(output)` if it finished in time,
/// `Err(Elapsed)` if not (the future is then dropped, which cancels it).
///
/// ```
/// use std::time::Duration;
/// use taketurns::time::{sleep, timeout};
/// taketurns::block_on(async {
///     let quick = timeout(Duration::from_secs(5), async { 1 }).await;
///     assert_eq!(quick, Ok(1));
///     let slow = timeout(Duration::from_millis(10), sleep(Duration::from_secs(5))).await;
///     assert!(slow.is_err());
/// });
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep(duration),
    }
}

// ANCHOR: timeout
pin_project! {
    /// The future returned by [`timeout`]: the inner future raced against a [`Sleep`].
    #[must_use = "futures do nothing unless you .await them"]
    pub struct Timeout<F> {
        // The operation being timed. Polled first, so a future that is ready at the deadline wins.
        #[pin]
        future: F,
        // The deadline. Not structurally pinned: `Sleep` is `Unpin`.
        sleep: Sleep,
    }
}

impl<F> Timeout<F> {
    /// The wrapped future.
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// Take the wrapped future back (dropping the timer).
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match Pin::new(this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}
// ANCHOR_END: timeout

/// The error of a [`timeout`] whose deadline passed first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(e: Elapsed) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, e)
    }
}
